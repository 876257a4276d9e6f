"""The canned-reply flow: pick a reply, ask its `{ask:…}` values, fill it into the composer."""

from __future__ import annotations

from textual import work

from frontdesk.desk.canned import CannedError, CannedReply, TemplateError, asks, fill
from frontdesk.tui.safe import clean
from frontdesk.tui.screens.ask_dialog import AskDialog
from frontdesk.tui.screens.canned_picker import CannedPicker
from frontdesk.tui.widgets.composer import Composer


class CannedFlow:
    """Mixed into the App (which has the desk, the panes and the screens this flow uses)."""

    async def action_open_canned(self) -> None:
        """`c` answers the customer: reply mode; the composer takes focus only once a reply is
        inserted, so keys after a cancelled picker go where the agent was."""
        if await self._write_for_highlighted("reply"):
            self.insert_canned()

    def on_composer_canned_requested(self) -> None:
        if self._current() is not None:
            self.insert_canned()

    def on_composer_shortcode_typed(self, message: Composer.ShortcodeTyped) -> None:
        if self._current() is not None:
            self.insert_canned(message.shortcode, message.start, message.end)

    @work(exclusive=True, group="canned", exit_on_error=False)
    async def insert_canned(
        self,
        shortcode: str | None = None,
        start: tuple[int, int] | None = None,
        end: tuple[int, int] | None = None,
    ) -> None:
        """Pick (or look up `shortcode`), ask for its `{ask:…}` values, fill it and put it in the composer."""
        conv_id = self.conversation_list.current_id
        if conv_id is None:
            return
        try:
            library = self.canned.current()
        except CannedError as exc:
            self._error("Canned replies not loaded", exc)
            return
        reply = library.find(shortcode) if shortcode is not None else None
        if reply is None and shortcode is not None:
            starting = [
                r
                for r in library.replies
                if r.shortcode.casefold().startswith(shortcode.casefold())
            ]
            if len(starting) == 1:
                reply = starting[0]  # /ref Tab completes /refund
            elif not starting:
                self.notify(
                    f"No canned reply /{shortcode}; {self._key_for('insert-canned', 'composer')} lists them "
                    f"({library.source}).",
                    severity="warning",
                    timeout=5,
                    markup=False,
                )
                return
        if reply is None:  # the picker: asked for, or several shortcodes start with what was typed
            language = ""
            contact = self.contact_panel.contact
            if contact is not None and self.contact_panel.conversation_id == conv_id:
                language = contact.language
            try:
                variables = await self.desk.canned_variables(conv_id)
            except Exception:
                variables = None  # the preview shows the raw text; inserting reports the problem
            reply = await self.push_screen_wait(
                CannedPicker(library, language=language, query=shortcode or "", variables=variables)
            )
            if reply is None:
                return
        text = await self._fill_canned(conv_id, reply, library.where(reply))
        if text is not None and conv_id == self.conversation_list.current_id:
            self.composer.insert_canned_text(text, start, end)
            self.composer.focus()

    async def _fill_canned(self, conv_id: int, reply: CannedReply, where: str) -> str | None:
        """The reply's text for this conversation, after asking each `{ask:…}`; None when not inserted."""
        try:
            variables = await self.desk.canned_variables(conv_id)
            labels = asks(reply.body)
            # report unknown variables before asking
            fill(reply.body, variables, dict.fromkeys(labels, "?"))
        except TemplateError as exc:
            self.notify(
                f"/{reply.shortcode} ({where}): {exc}",
                title="Canned reply not inserted",
                severity="error",
                timeout=10,
                markup=False,
            )
            return None
        except Exception as exc:
            self._error("Canned reply not inserted", exc)
            return None
        answers: dict[str, str] = {}
        for step, label in enumerate(labels, start=1):
            answer = await self.push_screen_wait(AskDialog(label, reply.title, step, len(labels)))
            if answer is None:
                return None
            answers[label] = answer
        try:
            return clean(fill(reply.body, variables, answers))
        except TemplateError as exc:
            self.notify(
                f"/{reply.shortcode} ({where}): {exc}",
                title="Canned reply not inserted",
                severity="error",
                timeout=10,
                markup=False,
            )
            return None
