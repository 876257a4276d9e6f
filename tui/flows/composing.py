"""Writing: point the composer at a conversation, send what it submits, report @mentions."""

from __future__ import annotations

import re

from frontdesk.tui.flows.desk_calls import FAILED
from frontdesk.tui.widgets.composer import Composer

MENTIONED = re.compile(r"(?:^|(?<=\s))@(\w[\w.-]*\w|\w)")
"""An @name at the start of a word (not the domain of an e-mail address), without trailing punctuation."""


class Composing:
    """Mixed into the App (which has the desk, the panes and the drafts this uses)."""

    async def action_reply(self) -> None:
        await self._start_writing("reply")

    async def action_note(self) -> None:
        await self._start_writing("note")

    async def _start_writing(self, mode: str) -> None:
        if await self._write_for_highlighted(mode):
            self.composer.focus()

    async def _write_for_highlighted(self, mode: str) -> bool:
        """Point the composer at the highlighted conversation in `mode` (right after quick moves
        the thread may still be catching up); False when no conversation is highlighted."""
        conv_id = self.conversation_list.current_id
        if conv_id is None:
            self._current()  # says so
            return False
        self.show_highlighted()
        if conv_id == self._draft_for:
            self._switch_mode(mode)
            return True
        try:
            stored = await self.desk.draft(conv_id)
        except Exception:
            stored = {}  # the thread load reports what is wrong
        self._swap_draft(conv_id, stored, mode)
        return True

    async def on_composer_submitted(self, message: Composer.Submitted) -> None:
        conv_id = (
            self._draft_for or self.thread.conversation_id or self.conversation_list.current_id
        )
        if conv_id is None:
            self.notify("No conversation selected.", severity="warning")
            return
        if message.mode == "reply" and await self.traffic_cop(conv_id, message):
            return  # another agent answered meanwhile: the agent is asked first
        if message.mode == "note":
            saving = self.desk.note(conv_id, message.text)
        else:
            files = await self.files_to_send(conv_id)
            if files is None:
                return
            saving = (
                self.desk.reply(conv_id, message.text, files)
                if files
                else self.desk.reply(conv_id, message.text)
            )
        failure = "Not sent" if message.mode == "reply" else "Note not saved"
        sent = await self._attempt(failure, saving)
        if sent is FAILED:
            return
        message.composer.clear()
        if message.mode == "reply":
            self.files_sent(conv_id)
        self.writing_ended(conv_id)
        self.thread.upsert(sent)
        if message.mode == "reply":
            self.refresh_allowance(conv_id)  # what a reply costs (LINE's quota) just changed
        if message.mode == "note":
            # a note is one deliberate message; what follows is a reply again
            self._switch_mode("reply")
            self._report_mentions(message.text, sent.mentions)

    def _report_mentions(self, text: str, mentions: list[str]) -> None:
        """Say who a note mentions, and which @names are not agents (so not recorded)."""
        names = [self.desk.agent_name(m) for m in mentions]
        recorded = {m.casefold() for m in [*mentions, *names]}  # "@Chloé" mentions user chloe
        strangers = list(
            dict.fromkeys(m for m in MENTIONED.findall(text) if m.casefold() not in recorded)
        )
        if mentions:
            self.notify(f"Note saved — mentioned {', '.join(names)}.", timeout=3, markup=False)
        if strangers:
            self.notify(
                f"@{', @'.join(strangers)}: not an agent, so not recorded as a mention "
                "(agents come from [agent] agents in the config).",
                severity="warning",
                timeout=6,
                markup=False,
            )
