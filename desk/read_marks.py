"""Read marks: opening a conversation clears its unread count and tells the channel, if it listens."""

from __future__ import annotations

import asyncio
import logging

from frontdesk.backends.base import Backend
from frontdesk.desk.changes import Broker, Change, ChangeKind
from frontdesk.model import Conversation, Direction
from frontdesk.store import Store

log = logging.getLogger("frontdesk.desk")


class ReadMarks:
    """The part of the Desk that marks a conversation read (with the desk's `conversation`)."""

    store: Store
    channels: dict[str, Backend]
    _broker: Broker
    _receipts: set[asyncio.Task[None]]

    async def mark_read(self, conv_id: int) -> None:
        conv = await self.conversation(conv_id)
        if conv.unread == 0:
            return
        self._report_read(conv, conv.unread)
        with self.store.batch(
            durable=False
        ):  # opening a conversation: its sync must not hold the screen
            conv.unread = 0
            self.store.put_conversation(conv)
        self._broker.publish([Change(ChangeKind.CONVERSATION, conv.id)])
        await self.store.sync()

    def _report_read(self, conv: Conversation, unread: int) -> None:
        """Tell a channel with read receipts that the agent read the `unread` newest inbound
        messages, in the background: the agent never waits on it and a failure is only logged."""
        backend = self.channels.get(conv.channel)
        if backend is None or not backend.supports_read_receipts:
            return
        inbound = [
            m.external_id
            for m in self.store.messages(conv.id)
            if m.direction is Direction.IN and m.external_id and not m.private
        ]
        if not inbound[-unread:]:
            return
        task = asyncio.create_task(
            self._send_read(backend, conv.thread_key, inbound[-unread:]), name="read-receipt"
        )
        self._receipts.add(task)
        task.add_done_callback(self._receipts.discard)

    @staticmethod
    async def _send_read(backend: Backend, thread_key: str, external_ids: list[str]) -> None:
        try:
            await backend.mark_read(thread_key, external_ids)
        except Exception as exc:
            log.warning(
                "channel %s: read receipt not sent: %s", backend.name, backend.redact(str(exc))
            )
