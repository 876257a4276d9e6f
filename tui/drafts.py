"""Drafts: what the agent wrote and has not sent, per conversation and mode, kept and saved."""

from __future__ import annotations

from collections.abc import Mapping

from textual import work
from textual.widgets import TextArea

DRAFT_SAVE_SECONDS = 1.0
"""How long after a change a draft is written to the desk (and at quit): a crash loses at most this."""


class Drafts:
    """The session's drafts; the desk keeps them across restarts.

    A reply and a note are separate drafts: switching the composer's mode never turns one
    into the other, so a note can never be sent to the customer by pressing `r`.
    """

    def __init__(self) -> None:
        self._texts: dict[int, dict[str, str]] = {}
        self._unsaved: set[int] = set()

    def known(self, conv_id: int) -> bool:
        return conv_id in self._texts

    def adopt(self, conv_id: int, stored: Mapping[str, str]) -> None:
        """Take what the desk kept for `conv_id`, unless this session already holds newer text."""
        if conv_id not in self._texts:
            self._texts[conv_id] = {mode: text for mode, text in stored.items() if text}

    def text(self, conv_id: int, mode: str) -> str:
        return self._texts.get(conv_id, {}).get(mode, "")

    def put(self, conv_id: int, mode: str, text: str) -> None:
        """Record what the composer holds; a change is saved with the next `take_unsaved`."""
        texts = self._texts.setdefault(conv_id, {})
        if texts.get(mode, "") == text:
            return
        if text:
            texts[mode] = text
        else:
            texts.pop(mode, None)
        self._unsaved.add(conv_id)

    def take_unsaved(self) -> dict[int, dict[str, str]]:
        """The drafts changed since the last call (an empty dict: forget that conversation's)."""
        taken = {conv_id: dict(self._texts.get(conv_id, {})) for conv_id in sorted(self._unsaved)}
        self._unsaved.clear()
        return taken

    def keep_unsaved(self, conv_id: int) -> None:
        """Saving failed: try again with the next save."""
        self._unsaved.add(conv_id)


class DraftKeeping:
    """Mixed into the App: the composer shows the draft of its conversation and mode, and a
    changed draft is written to the desk a moment later (and at quit)."""

    def _swap_draft(self, conv_id: int, stored: dict[str, str], mode: str = "reply") -> None:
        """Keep what the agent wrote with its conversation: a draft (a canned reply with a name
        filled in …) never follows the agent to another customer. Every conversation opens in
        reply mode unless the agent asked for a note: note mode never carries over."""
        if self._draft_for == conv_id:
            return
        self._keep_draft()
        self._drafts.adopt(conv_id, stored)
        self._draft_for = conv_id
        self._show_draft(mode)

    def _switch_mode(self, mode: str) -> None:
        """Reply or note: each has its own draft, so a note's text never becomes a reply."""
        if self.composer.mode != mode:
            self._keep_draft()
            self._show_draft(mode)

    def _keep_draft(self) -> None:
        if self._draft_for is not None:
            self._drafts.put(self._draft_for, self.composer.mode, self.composer.text)

    def _show_draft(self, mode: str) -> None:
        composer = self.composer
        composer.set_mode(mode)  # type: ignore[arg-type]
        self.show_files()  # the reply's files belong to its conversation, as its draft does
        text = self._drafts.text(self._draft_for, mode) if self._draft_for is not None else ""
        # an unchanged composer stays untouched (reloading it redraws the footer)
        if text != composer.text:
            composer.load_text(text)
            composer.move_cursor(composer.document.end)

    def on_text_area_changed(self, message: TextArea.Changed) -> None:
        if message.text_area.id == "composer":
            self._draft_changed()

    def _draft_changed(self) -> None:
        if self.panes_gone:  # a change still queued as the console quits (the quit kept the draft)
            return
        self._keep_draft()
        self.composer_typed()
        if self._draft_timer is None:
            self._draft_timer = self.set_timer(DRAFT_SAVE_SECONDS, self._save_drafts_later)

    def _save_drafts_later(self) -> None:
        self._draft_timer = None
        self.save_drafts()

    @work(group="drafts", exit_on_error=False)
    async def save_drafts(self) -> None:
        """Write the changed drafts to the desk, so a restart (or a crash) keeps them."""
        await self._save_drafts()

    async def _save_drafts(self) -> None:
        for conv_id, texts in self._drafts.take_unsaved().items():
            try:
                await self.desk.save_draft(conv_id, texts)
            except Exception as exc:
                self._drafts.keep_unsaved(conv_id)
                self._error("Draft not saved", exc)

    async def action_quit(self) -> None:
        """Quit, keeping what the agent wrote and did not send."""
        if not self.panes_gone:
            self._keep_draft()
        await self._save_drafts()
        await self.leave_desk()
        self.exit()
