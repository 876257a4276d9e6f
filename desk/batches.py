"""The Desk's write helpers: a command's batch with its inline event, a message appended
to its conversation's counters and preview, and what a person's reply does to it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime

from frontdesk.desk.changes import Broker, Change, ChangeKind
from frontdesk.model import Conversation, Direction, EventKind, Message, MessageKind, Status
from frontdesk.store import OutboxEntry, Store

PREVIEW_CHARS = 200


def _preview(message: Message) -> str:
    first = next((line for line in message.body.splitlines() if line.strip()), "")
    if not first and message.attachments:
        first = "📎 " + message.attachments[0].name
    return first[:PREVIEW_CHARS]


class Batches:
    """The part of the Desk that writes a command's batch (`_change`), its inline event
    (`_add_event`) and a message's effect on its conversation (`_append`)."""

    store: Store
    agent: str
    now: Callable[[], datetime]
    _broker: Broker
    _taken_by_person: Callable[[Conversation, str, list[Change]], bool]
    _handed_over: Callable[[int], None]

    def _append(self, conv: Conversation, message: Message) -> None:
        conv.message_count += 1
        if message.kind is not MessageKind.ACTIVITY:
            conv.preview = _preview(message) or conv.preview
        conv.last_activity_at = max(conv.last_activity_at, message.created_at)

    async def _change(
        self, conv: Conversation, kind: EventKind, text: str, apply: Callable[[Conversation], None]
    ) -> None:
        """Apply a command to `conv` with its inline event; shown at once, returns once durable
        (the journal's sync runs off the event loop, as ingest's does)."""
        changes: list[Change] = []
        with self.store.batch(durable=False):
            handed = self._taken_by_person(conv, text, changes)
            apply(conv)
            self._add_event(conv, kind, f"{self.agent_name(self.agent)} {text}", changes)
            self.store.put_conversation(conv)
        changes.append(Change(ChangeKind.CONVERSATION, conv.id))
        self._broker.publish(changes)
        await self.store.sync()
        if handed:
            self._handed_over(conv.id)

    def _put_outgoing(
        self,
        conv: Conversation,
        message: Message,
        now: datetime,
        extra: Mapping[str, object] | None = None,
    ) -> None:
        """In the caller's batch: a message to send, its conversation, and its outbox entry
        (a new idempotency key; `extra` for the backend, e.g. a template)."""
        self.store.put_message(message)
        self.store.put_conversation(conv)
        entry_extra = {"key": uuid.uuid4().hex, **(extra or {})}
        self.store.put_outbox(
            OutboxEntry(message.id, conv.id, conv.channel, created_at=now, extra=entry_extra)
        )

    def _add_event(
        self,
        conv: Conversation,
        kind: EventKind,
        text: str,
        changes: list[Change],
        author: str | None = None,
    ) -> None:
        event = Message(
            id=self.store.new_id("message"),
            conversation_id=conv.id,
            direction=Direction.OUT,
            body=text,
            kind=MessageKind.ACTIVITY,
            private=True,
            author=self.agent if author is None else author,
            created_at=self.now(),
            event=kind,
        )
        self._append(conv, event)
        self.store.put_message(event)
        changes.append(Change(ChangeKind.MESSAGE, conv.id, event.id))


def mark_answered(conv: Conversation, now: datetime) -> None:
    """A person's reply (text or template) answers the customer: nobody waits, nothing unread,
    a pending conversation is open again."""
    conv.first_reply_at = conv.first_reply_at or now
    conv.waiting_since = None
    conv.unread = 0
    if conv.status is Status.PENDING:
        conv.status = Status.OPEN
