"""Threads of a Chatwoot account as the console reads them, and what it keeps locally (drafts).

Mixed into `ChatwootDesk`, which provides `_api`, `_state`, `_ask` and `_problem`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from frontdesk.chatwoot.mapping import Unreadable, message_from, payload
from frontdesk.desk.errors import DeskError
from frontdesk.desk.limits import WindowState
from frontdesk.model import Direction, EventKind, Message, MessageKind

log = logging.getLogger("frontdesk.chatwoot")

THREAD_MOST = 200
"""Messages of a thread read when it is opened (the latest, then older pages with `before=`)."""
THREAD_PAGE = 20


def earlier_on_server(first: Message) -> Message:
    """The thread's first line when the server holds older messages than the console read: an
    event line (id 0, never a record's) saying where they are, rather than a thread that seems
    to start at its 200th-last message."""
    return Message(
        id=0,
        conversation_id=first.conversation_id,
        direction=Direction.OUT,
        body=(
            f"Earlier messages are on Chatwoot: this console reads the latest {THREAD_MOST} "
            "of a conversation; open it in Chatwoot's dashboard for the rest"
        ),
        kind=MessageKind.ACTIVITY,
        private=True,
        event=EventKind.STATUS,
        created_at=first.created_at,
    )


class Threads:
    """The thread reads of `ChatwootDesk`."""

    async def thread(self, conv_id: int) -> list[Message]:
        """The kept thread; else read from the server (the latest messages, then older pages up to
        `THREAD_MOST`) and kept from then on."""
        kept = self._state.thread(conv_id)
        if kept is None:
            if self._problem:
                raise DeskError(
                    f"conversation #{conv_id}'s thread was not read before and {self._api.host} "
                    "is not answering"
                )
            kept = await self._ask(
                f"Could not read conversation #{conv_id}", lambda: self._read_thread(conv_id)
            )
        if kept and self._state.older.get(conv_id):
            return [earlier_on_server(kept[0]), *kept]
        return kept

    async def _read_thread(self, conv_id: int) -> list[Message]:
        messages = self._messages(await self._api.messages(conv_id), conv_id)
        older = len(messages) >= THREAD_PAGE
        while older and len(messages) < THREAD_MOST:
            page = self._messages(await self._api.messages(conv_id, before=messages[0].id), conv_id)
            messages = page + messages
            older = len(page) >= THREAD_PAGE
        return self._state.keep_thread(conv_id, messages, older)

    def _messages(self, answer: Any, conv_id: int) -> list[Message]:
        found = []
        records = payload(answer)
        for record in records if isinstance(records, list) else []:
            try:
                message = message_from(record, self._state)
            except Unreadable as exc:
                log.warning("skipped a message Chatwoot sent: %s", exc)
                continue
            if message.conversation_id == conv_id:
                found.append(message)
        found.sort(key=lambda m: m.id)
        return found

    async def message(self, conv_id: int, message_id: int) -> Message | None:
        kept, message = self._state.message(conv_id, message_id)
        if kept:
            return message
        await self.thread(conv_id)
        return self._state.message(conv_id, message_id)[1]

    async def window(self, conv_id: int) -> WindowState | None:
        """Closed when the server last said the conversation cannot be replied to (`can_reply`:
        a channel's messaging window ended); None otherwise, since Chatwoot enforces the windows
        itself and says so when a reply fails."""
        if self._can_reply.get(conv_id) is not False:
            return None
        conv = self._state.conversations.get(conv_id)
        channel = self.channel_name(conv.channel) if conv is not None else "channel"
        return WindowState(
            label=f"{channel} window closed",
            closed=True,
            explanation=(
                "Chatwoot will not send a reply here until the customer writes again: write a "
                "note, or send an approved template from Chatwoot's dashboard."
            ),
            ends_at=self.now(),
        )

    async def set_viewing(self, conv_id: int | None) -> None:
        self._viewing = conv_id

    async def draft(self, conv_id: int) -> dict[str, str]:
        return dict(self._drafts.get(conv_id, {}))

    async def save_draft(self, conv_id: int, texts: Mapping[str, str]) -> None:
        kept = {k: v for k, v in texts.items() if v}
        if kept:
            self._drafts[conv_id] = kept
        else:
            self._drafts.pop(conv_id, None)
