"""The canned-reply flow: pick a reply, ask its `{ask:…}` values, fill it into the composer; the
replies the account shares, fetched at start and when the desk says to reload."""

from __future__ import annotations

from collections.abc import Sequence

from textual import work

from frontdesk.desk.canned import CannedError, CannedReply, TemplateError, asks, fill
from frontdesk.desk.changes import Change, ChangeKind
from frontdesk.tui.canned_choice import MAX_SHARED, CannedChoice
from frontdesk.tui.safe import clean, clean_line
from frontdesk.tui.screens.ask_dialog import AskDialog
from frontdesk.tui.screens.canned_picker import CannedPicker
from frontdesk.tui.widgets.composer import Composer


class CannedFlow:
    """Mixed into the App (which has the desk, the panes and the screens this flow uses, and
    `_shared_canned`, the account's replies as last fetched, `_shared_canned_failed`, whether
    the last fetch failed)."""

    @work(exclusive=True, group="shared-canned", exit_on_error=False)
    async def load_shared_canned(self) -> None:
        """Fetch the replies the account shares (none on a local desk); a failure keeps what the
        last fetch brought and is notified once, until a fetch succeeds again."""
        try:
            shared = tuple(await self.desk.shared_canned())
        except Exception as exc:
            if not self._shared_canned_failed:
                self._shared_canned_failed = True
                why = clean_line(str(exc))
                self.notify(
                    f"{why}; your own canned replies ({self.canned.path}) still work.",
                    title="Account's canned replies not loaded",
                    severity="warning",
                    timeout=8,
                    markup=False,
                )
            return
        self._shared_canned_failed = False
        already_told = len(self._shared_canned) > MAX_SHARED
        self._shared_canned = shared
        if len(shared) > MAX_SHARED and not already_told:
            self.notify(
                f"Your account shares {len(shared):,} canned replies; the first {MAX_SHARED:,} "
                "are offered.",
                severity="warning",
                timeout=8,
                markup=False,
            )

    def follow_shared_canned(self, changes: Sequence[Change]) -> None:
        """After a RESET (a server's link back, a feed that fell behind) the account's replies may
        have changed: fetch them again. Nothing else does: keys never ask the desk."""
        if any(change.kind is ChangeKind.RESET for change in changes):
            self.load_shared_canned()

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
        choice = CannedChoice.of(library, self._shared_canned)
        reply = choice.find(shortcode) if shortcode is not None else None
        if reply is None and shortcode is not None:
            starting = choice.starting(shortcode)
            if len(starting) == 1:
                reply = starting[0]  # /ref Tab completes /refund
            elif not starting:
                self.notify(
                    f"No canned reply /{shortcode}; {self._key_for('insert-canned', 'composer')} lists them "
                    f"({choice.source}).",
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
                CannedPicker(
                    library,
                    language=language,
                    query=shortcode or "",
                    variables=variables,
                    shared=self._shared_canned,
                )
            )
            if reply is None:
                return
        text = await self._fill_canned(conv_id, reply, choice.where(reply))
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
