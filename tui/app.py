"""The frontdesk console: conversation list, thread with composer, contact panel, on one desk."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Footer, Static

from frontdesk.desk import Change, ChangeKind, Desk, View, in_view
from frontdesk.desk.hooks import HookJob
from frontdesk.model import Contact, Conversation, Delivery, Direction, Message as DeskMessage, MessageKind, Status
from frontdesk.tui.safe import clean_line
from frontdesk.tui.screens.contact_dialog import ContactDialog, ContactEdit
from frontdesk.tui.screens.escalate_dialog import EscalateDialog, Escalation
from frontdesk.tui.screens.merge_confirm import ConfirmMerge
from frontdesk.tui.screens.merge_picker import MergePicker
from frontdesk.tui.widgets.composer import Composer
from frontdesk.tui.widgets.contact_panel import ContactPanel
from frontdesk.tui.widgets.conversation_list import ConversationList
from frontdesk.tui.widgets.thread_view import ThreadView

COALESCE_SECONDS = 0.03
"""How long the change feed waits after a change so a burst is handled as one refresh."""
TYPING_SECONDS = 6.0
VIEW_CYCLE = (View.ALL, View.MINE, View.UNASSIGNED, View.SNOOZED, View.RESOLVED)
_CHANNEL_STATE = {"ok": "green", "connecting": "yellow", "down": "red"}


@dataclass
class DeskChanged(Message):
    """One or more changes published by the desk (a burst, coalesced)."""

    changes: tuple[Change, ...]


@dataclass
class ThreadLoaded(Message):
    """A conversation's thread and contact, read from the desk for the middle and right panes."""

    conversation: Conversation
    messages: list[DeskMessage]
    contact: Contact | None
    others: list[Conversation]
    typing: bool
    hooks: list[HookJob] = field(default_factory=list)


class FrontdeskApp(App[None]):
    """One agent's console on one desk."""

    CSS_PATH = "app.tcss"
    TITLE = "frontdesk"

    BINDINGS = [
        Binding("r", "reply", "Reply", id="reply", tooltip="Write a reply to the customer"),
        Binding("n", "note", "Note", id="note", tooltip="Write an internal note (never sent)"),
        Binding("e", "toggle_resolved", "Resolve/reopen", id="toggle-resolved", tooltip="Resolve or reopen"),
        Binding("v", "next_view", "View", id="next-view", tooltip="All → Mine → Unassigned → Snoozed → Resolved"),
        Binding("x", "escalate", "Escalate", show=False, id="escalate", tooltip="Escalate to a team or tier with a reason (runs the hooks)"),
        Binding("i", "edit_contact", "Contact", show=False, id="edit-contact", tooltip="Edit the contact's notes and attributes"),
        Binding("o", "other_conversations", "Others", show=False, id="other-conversations", tooltip="Go to the contact's other conversations (Enter opens one)"),
        Binding("m", "merge_contact", "Merge", show=False, id="merge-contact", tooltip="Merge another contact into this one"),
        Binding("ctrl+r", "retry_delivery", "Retry", id="retry-delivery", tooltip="Send the last failed or unconfirmed reply again (or re-run failed escalation hooks)"),
        Binding("tab", "focus_next", "Next pane", show=False, id="focus-next"),
        Binding("shift+tab", "focus_previous", "Previous pane", show=False, id="focus-previous"),
        Binding("escape", "focus_list", "List", show=False, id="focus-list", tooltip="Back to the conversation list"),
        Binding("q", "quit", "Quit", id="quit", tooltip="Quit frontdesk"),
    ]

    def __init__(
        self,
        desk: Desk,
        *,
        keymap: dict[str, str] | None = None,
        clock: Callable[[], datetime] | None = None,
        title: str = "frontdesk",
        theme: str | None = None,
        cursor_blink: bool = True,
    ) -> None:
        super().__init__()
        self.desk = desk
        self.clock = clock or desk.now
        self.title = title
        self.view = View.ALL
        self.names: dict[int, str] = {}
        self._keymap_overrides = dict(keymap or {})
        self._theme_name = theme
        self._cursor_blink = cursor_blink
        self._typing_timer = None

    @classmethod
    def binding_ids(cls) -> dict[str, str]:
        """Every binding id of the console and the context it applies in ("app" is everywhere)."""
        ids: dict[str, str] = {}
        owners = (("app", cls), ("list", ConversationList), ("thread", ThreadView), ("composer", Composer))
        for context, owner in owners:
            for binding in owner.BINDINGS:
                if isinstance(binding, Binding) and binding.id:
                    ids.setdefault(binding.id, context)
        return ids

    # ---- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="header-bar")
        with Horizontal(id="panes"):
            yield ConversationList(id="conversations", clock=self.clock, channel_kind=self.desk.channel_kind)
            with Vertical(id="middle"):
                yield ThreadView(id="thread", clock=self.clock)
                yield Composer(id="composer", cursor_blink=self._cursor_blink)
            yield ContactPanel(id="contact", clock=self.clock, channel_kind=self.desk.channel_kind)
        yield Footer()

    @property
    def conversation_list(self) -> ConversationList:
        return self.query_one("#conversations", ConversationList)

    @property
    def thread(self) -> ThreadView:
        return self.query_one("#thread", ThreadView)

    @property
    def composer(self) -> Composer:
        return self.query_one("#composer", Composer)

    @property
    def contact_panel(self) -> ContactPanel:
        return self.query_one("#contact", ContactPanel)

    async def on_mount(self) -> None:
        if self._keymap_overrides:
            self.set_keymap(self._keymap_overrides)
        if self._theme_name:
            try:
                self.theme = self._theme_name
            except Exception as exc:
                self.notify(escape(f"theme {self._theme_name!r}: {exc}"), severity="warning")
        self.conversation_list.border_title = "Conversations"
        self.contact_panel.border_title = "Contact"
        self.thread.border_title = "Thread"
        self.thread.retry_key = self._key_for("retry-delivery")
        self.contact_panel.retry_key = self.thread.retry_key
        self.conversation_list.focus()
        await self.reload_list()
        self.watch_desk()

    def _key_for(self, binding_id: str) -> str:
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.id == binding_id:
                keys = self._keymap_overrides.get(binding_id, binding.key)
                return self.get_key_display(binding.with_key(keys.split(",")[0].strip()))
        return binding_id

    # ---- reading from the desk ---------------------------------------------------------

    async def reload_list(self, renamed: Iterable[int] = ()) -> None:
        """Read the current view from the desk; the cursor stays on its conversation."""
        try:
            conversations = await self.desk.conversations(self.view)
            await self._learn_names(conversations, set(renamed))
            counts = await self.desk.counts()
        except Exception as exc:
            self._error("Could not read conversations", exc)
            return
        view_list = self.conversation_list
        view_list.empty_text = f"No conversations in {self.view.title}."
        view_list.set_conversations(conversations, self.names)
        self._update_header(counts)
        if not conversations:
            self.thread.show(None, [])
            self.contact_panel.show(None)
        elif self.thread.conversation_id is None and view_list.current_id is not None:
            self.load_thread(view_list.current_id)

    async def _learn_names(self, conversations: Iterable[Conversation], refresh: set[int]) -> None:
        for conv in conversations:
            if conv.contact_id not in self.names or conv.id in refresh:
                try:
                    self.names[conv.contact_id] = (await self.desk.contact(conv.contact_id)).name
                except Exception:
                    self.names[conv.contact_id] = f"#{conv.contact_id}"

    @work(exclusive=True, group="thread", exit_on_error=False)
    async def load_thread(self, conv_id: int) -> None:
        """Read one thread, its contact and the contact's other conversations."""
        try:
            conv = await self.desk.conversation(conv_id)
            messages = await self.desk.thread(conv_id)
            try:
                contact = await self.desk.contact(conv.contact_id)
                others = await self.desk.contact_conversations(conv.contact_id)
            except Exception:
                contact, others = None, []
        except Exception as exc:
            self._error("Could not open the conversation", exc)
            return
        hooks = self.desk.hook_jobs(conv_id)
        self.post_message(ThreadLoaded(conv, messages, contact, others, self.desk.is_typing(conv_id), hooks))

    def on_thread_loaded(self, loaded: ThreadLoaded) -> None:
        conv = loaded.conversation
        if conv.id != self.conversation_list.current_id and self.thread.conversation_id != conv.id:
            return  # the agent moved on while it loaded
        name = loaded.contact.name if loaded.contact else self.names.get(conv.contact_id, "")
        self.thread.show(conv, loaded.messages, contact_name=name, typing=loaded.typing)
        title = Text(clean_line(name) or f"#{conv.id}")
        if conv.subject:
            title.append(" · " + clean_line(conv.subject))
        self.thread.border_title = title
        self.contact_panel.show(loaded.contact, loaded.others, conv.id, loaded.hooks)
        kind = self.desk.channel_kind(conv.channel)
        self.composer.set_mode(self.composer.mode, channel=kind if kind == conv.channel else f"{kind} ({conv.channel})")

    @work(group="desk-changes", exit_on_error=False)
    async def watch_desk(self) -> None:
        """Follow the desk's change feed; post one message per burst of changes."""
        subscription = self.desk.subscribe()
        try:
            async for change in subscription:
                await asyncio.sleep(COALESCE_SECONDS)
                self.post_message(DeskChanged((change, *subscription.pending())))
        finally:
            subscription.close()

    async def on_desk_changed(self, message: DeskChanged) -> None:
        kinds = {change.kind for change in message.changes}
        touched = {c.conversation_id for c in message.changes if c.conversation_id is not None}
        current = self.thread.conversation_id
        if kinds & {ChangeKind.CONVERSATION, ChangeKind.MESSAGE, ChangeKind.RESET, ChangeKind.HOOK}:
            await self.reload_list(renamed=touched)
            if current is not None and (ChangeKind.RESET in kinds or current in touched):
                if current == self.conversation_list.current_id:
                    self.load_thread(current)
        if ChangeKind.TYPING in kinds and current in touched:
            self.thread.set_typing(self.desk.is_typing(current))
            if self._typing_timer is not None:
                self._typing_timer.stop()
            self._typing_timer = self.set_timer(TYPING_SECONDS + 0.2, self._recheck_typing)
        for change in message.changes:
            if change.kind is ChangeKind.HOOK and change.detail:
                severity = "error" if change.failed else "information"
                self.notify(escape(clean_line(change.detail)), title="Escalation hook", severity=severity, timeout=10 if change.failed else 5)
        if ChangeKind.CHANNEL in kinds:
            try:
                self._update_header(await self.desk.counts())
            except Exception as exc:
                self._error("Could not read counts", exc)

    def _recheck_typing(self) -> None:
        current = self.thread.conversation_id
        self.thread.set_typing(current is not None and self.desk.is_typing(current))

    def _update_header(self, counts: dict[View, int]) -> None:
        header = Text(" ")
        header.append(clean_line(self.desk.agent), "bold")
        header.append("  │  ")
        header.append(f"{self.view.title} ({counts.get(self.view, 0)})", "bold")
        others = [f"{v.title} {counts.get(v, 0)}" for v in VIEW_CYCLE if v is not self.view]
        header.append("  " + " · ".join(others), "dim")
        header.append("  │  ")
        for name, status in sorted(self.desk.channel_status.items()):
            header.append("● ", _CHANNEL_STATE.get(status.state, "yellow"))
            header.append(clean_line(name) + " ")
            if status.state != "ok":
                header.append(f"{clean_line(status.state)} ", "dim")
        self.query_one("#header-bar", Static).update(header)

    # ---- the list ----------------------------------------------------------------------

    @on(ConversationList.Highlighted)
    def _highlighted(self, message: ConversationList.Highlighted) -> None:
        if message.conversation_id != self.thread.conversation_id:
            self.load_thread(message.conversation_id)

    @on(ConversationList.Selected)
    async def _selected(self, message: ConversationList.Selected) -> None:
        await self.open_conversation(message.conversation_id)
        self.thread.focus()

    async def open_conversation(self, conv_id: int) -> None:
        """Show a conversation and mark it read."""
        if conv_id != self.thread.conversation_id:
            self.load_thread(conv_id)
        try:
            await self.desk.mark_read(conv_id)
        except Exception as exc:
            self._error("Could not mark as read", exc)

    # ---- commands ----------------------------------------------------------------------

    def _current(self) -> Conversation | None:
        conv = self.conversation_list.current
        if conv is None:
            self.notify("No conversation selected.", severity="warning")
        return conv

    def action_reply(self) -> None:
        if self._current() is not None:
            self.composer.set_mode("reply")
            self.composer.focus()

    def action_note(self) -> None:
        if self._current() is not None:
            self.composer.set_mode("note")
            self.composer.focus()

    def action_focus_list(self) -> None:
        self.conversation_list.focus()

    async def action_toggle_resolved(self) -> None:
        conv = self._current()
        if conv is None:
            return
        status = Status.OPEN if conv.status is Status.RESOLVED else Status.RESOLVED
        try:
            await self.desk.set_status(conv.id, status)
        except Exception as exc:
            self._error("Could not change the status", exc)
            return
        self.notify("Reopened." if status is Status.OPEN else "Resolved.", timeout=2)

    async def action_next_view(self) -> None:
        self.view = VIEW_CYCLE[(VIEW_CYCLE.index(self.view) + 1) % len(VIEW_CYCLE)] if self.view in VIEW_CYCLE else View.ALL
        await self.reload_list()

    async def action_retry_delivery(self) -> None:
        conv_id = self.thread.conversation_id
        failed = [
            m for m in self.thread.messages
            if m.direction is Direction.OUT and not m.private and m.kind is not MessageKind.ACTIVITY
            and m.delivery in (Delivery.FAILED, Delivery.UNCONFIRMED)
        ]
        if conv_id is not None and not failed and any(j.state == "failed" for j in self.desk.hook_jobs(conv_id)):
            await self._retry_hooks(conv_id)
            return
        if conv_id is None or not failed:
            self.notify("No failed or unconfirmed reply in this thread.", severity="warning")
            return
        try:
            await self.desk.retry(conv_id, failed[-1].id)
        except Exception as exc:
            self._error("Could not retry", exc)
            return
        self.notify("Sending again.", timeout=2)

    def action_escalate(self) -> None:
        conv = self._current()
        if conv is None:
            return
        name = self.names.get(conv.contact_id, "")
        hooks = [f"{spec.name} ({'HTTP' if spec.url else 'command'})" for spec in self.desk.hooks.values()]
        dialog = EscalateDialog(
            self.desk.escalation_targets, priority=conv.priority, conversation=f"#{conv.id} · {name}", hooks=hooks
        )
        self.push_screen(dialog, lambda chosen: self._escalate(conv.id, chosen))

    async def _escalate(self, conv_id: int, chosen: Escalation | None) -> None:
        if chosen is None:
            return
        try:
            jobs = await self.desk.escalate(conv_id, chosen.target, chosen.reason, chosen.priority)
        except Exception as exc:
            self._error("Not escalated", exc)
            return
        hooks = f"; running {', '.join(j.hook for j in jobs)}" if jobs else ""
        self.notify(escape(f"Escalated to {chosen.target}{hooks}."), timeout=3)

    def _shown_contact(self) -> Contact | None:
        contact = self.contact_panel.contact
        if contact is None:
            self.notify("No contact shown.", severity="warning")
        return contact

    def action_edit_contact(self) -> None:
        contact = self._shown_contact()
        if contact is not None:
            dialog = ContactDialog(contact, cursor_blink=self._cursor_blink)
            self.push_screen(dialog, lambda edit: self._save_contact(contact.id, edit))

    async def _save_contact(self, contact_id: int, edit: ContactEdit | None) -> None:
        if edit is None:
            return
        try:
            await self.desk.update_contact(contact_id, notes=edit.notes, attributes=edit.attributes)
        except Exception as exc:
            self._error("Contact not saved", exc)
            return
        self.notify("Contact saved.", timeout=2)

    def action_other_conversations(self) -> None:
        if self._shown_contact() is not None and not self.contact_panel.focus_others():
            self.notify("This contact has no other conversations.", severity="warning")

    @on(ContactPanel.OpenConversation)
    async def _open_other(self, message: ContactPanel.OpenConversation) -> None:
        """Show another conversation of the contact in the list and the thread."""
        try:
            conv = await self.desk.conversation(message.conversation_id)
        except Exception as exc:
            self._error("Could not open the conversation", exc)
            return
        if not in_view(conv, self.view, self.desk.agent):
            self.view = next((v for v in (View.ALL, *View) if in_view(conv, v, self.desk.agent)), View.ALL)
            await self.reload_list()
        self.conversation_list.select_id(conv.id)
        await self.open_conversation(conv.id)
        self.thread.focus()

    def action_merge_contact(self) -> None:
        keep = self._shown_contact()
        if keep is not None:
            self.push_screen(MergePicker(keep, self.desk.find_contacts), lambda other: self._confirm_merge(keep, other))

    async def _confirm_merge(self, keep: Contact, other: Contact | None) -> None:
        if other is None:
            return
        moving = len(await self.desk.contact_conversations(other.id))
        self.push_screen(ConfirmMerge(keep, other, moving), lambda yes: self._merge(keep, other, yes))

    async def _merge(self, keep: Contact, other: Contact, confirmed: bool | None) -> None:
        if not confirmed:
            return
        try:
            await self.desk.merge_contacts(keep.id, other.id)
        except Exception as exc:
            self._error("Contacts not merged", exc)
            return
        self.notify(escape(f"Merged {clean_line(other.name)} into {clean_line(keep.name)}."), timeout=3)

    async def _retry_hooks(self, conv_id: int) -> None:
        try:
            jobs = await self.desk.retry_hooks(conv_id)
        except Exception as exc:
            self._error("Could not retry the hooks", exc)
            return
        self.notify(escape(f"Running {', '.join(j.hook for j in jobs)} again."), timeout=2)

    @on(Composer.Submitted)
    async def _submitted(self, message: Composer.Submitted) -> None:
        conv_id = self.thread.conversation_id or self.conversation_list.current_id
        if conv_id is None:
            self.notify("No conversation selected.", severity="warning")
            return
        try:
            if message.mode == "note":
                sent = await self.desk.note(conv_id, message.text)
            else:
                sent = await self.desk.reply(conv_id, message.text)
        except Exception as exc:
            self._error("Not sent" if message.mode == "reply" else "Note not saved", exc)
            return
        message.composer.clear()
        self.thread.upsert(sent)

    @on(Composer.Cancelled)
    def _cancelled(self) -> None:
        self.conversation_list.focus()

    def _error(self, what: str, exc: Exception) -> None:
        self.notify(escape(f"{exc}"), title=escape(what), severity="error", timeout=8)
