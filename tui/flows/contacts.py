"""The contact flows: edit the contact, go to its other conversations, merge another into it."""

from __future__ import annotations

from rich.markup import escape

from frontdesk.model import Contact
from frontdesk.tui.flows.desk_calls import FAILED
from frontdesk.tui.safe import clean_line
from frontdesk.tui.screens.contact_dialog import ContactDialog, ContactEdit
from frontdesk.tui.screens.merge_confirm import ConfirmMerge
from frontdesk.tui.screens.merge_picker import MergePicker


class ContactFlows:
    """Mixed into the App (which has the desk, the panes and the screens these flows use)."""

    def _shown_contact(self) -> Contact | None:
        contact = self.contact_panel.contact
        if contact is None:
            self.notify("No contact shown.", severity="warning")
        return contact

    def _panes_behind(self) -> int | None:
        """The highlighted conversation when the thread and contact panel do not show it yet
        (right after quick moves they catch up once the cursor rests); None when they do."""
        current = self.conversation_list.current_id
        return current if current is not None and not self.thread_shows(current) else None

    async def _highlighted_contact(self) -> Contact | None:
        """The contact of the highlighted conversation, read from the desk if the panel lags."""
        behind = self._panes_behind()
        if behind is None:
            return self._shown_contact()
        self.show_highlighted()
        try:
            return await self.desk.contact((await self.desk.conversation(behind)).contact_id)
        except Exception as exc:
            self._error("Could not read the contact", exc)
            return None

    async def action_edit_contact(self) -> None:
        contact = await self._highlighted_contact()
        if contact is not None:
            dialog = ContactDialog(contact, cursor_blink=self._cursor_blink)
            self.push_screen(dialog, lambda edit: self._save_contact(contact.id, edit))

    async def _save_contact(self, contact_id: int, edit: ContactEdit | None) -> None:
        if edit is None:
            return
        if (
            await self._attempt(
                "Contact not saved",
                self.desk.update_contact(contact_id, notes=edit.notes, attributes=edit.attributes),
            )
            is FAILED
        ):
            return
        self.notify("Contact saved.", timeout=2)

    def action_other_conversations(self) -> None:
        behind = self._panes_behind()
        if behind is None:
            self._focus_other_conversations()
        else:  # the panel lists another contact's conversations until the thread load lands
            self._once_shown = (behind, self._focus_other_conversations)
            self.show_highlighted()

    def _focus_other_conversations(self) -> None:
        if self.contact_panel.others:
            self._show_contact()  # hidden on a narrow screen: the list to pick from must be seen
        if self._shown_contact() is not None and not self.contact_panel.focus_others():
            self.notify("This contact has no other conversations.", severity="warning")

    async def action_merge_contact(self) -> None:
        keep = await self._highlighted_contact()
        if keep is not None:
            self.push_screen(
                MergePicker(keep, self.desk.find_contacts),
                lambda other: self._confirm_merge(keep, other),
            )

    async def _confirm_merge(self, keep: Contact, other: Contact | None) -> None:
        if other is None:
            return
        moving = len(await self.desk.contact_conversations(other.id))
        self.push_screen(
            ConfirmMerge(keep, other, moving), lambda yes: self._merge(keep, other, yes)
        )

    async def _merge(self, keep: Contact, other: Contact, confirmed: bool | None) -> None:
        if not confirmed:
            return
        if (
            await self._attempt("Contacts not merged", self.desk.merge_contacts(keep.id, other.id))
            is FAILED
        ):
            return
        self.notify(
            escape(f"Merged {clean_line(other.name)} into {clean_line(keep.name)}."), timeout=3
        )
