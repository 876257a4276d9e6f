"""Ingest: persist what a channel reports (messages, delivery, typing, status), then its cursor."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from frontdesk.backends.base import Backend
from frontdesk.desk.automation import Automation, Trigger, TriggerKind, is_live
from frontdesk.desk.automation.csat import survey_answer
from frontdesk.desk.changes import Broker, Change, ChangeKind
from frontdesk.desk.outbox import may_replace
from frontdesk.model import (
    ChannelEvent,
    ChannelStatus,
    Contact,
    ContactProfile,
    Conversation,
    Delivery,
    DeliveryUpdate,
    Direction,
    EventKind,
    Identity,
    Inbound,
    Message,
    MessageKind,
    Status,
    Typing,
    Unparsable,
)
from frontdesk.store import Store, StoreError

log = logging.getLogger("frontdesk.desk")

#: a received body is kept up to this many bytes of UTF-8 …
MAX_BODY_BYTES = 256 * 1024
#: … and this many lines (a body of very many short lines holds the thread view for seconds)
MAX_BODY_LINES = 2_000
TRUNCATED = "[… frontdesk kept only the start of this message: it had"


def bound_body(body: str) -> str:
    """`body` cut to MAX_BODY_LINES lines and MAX_BODY_BYTES bytes, ending with a note that says
    it was cut and how big the original was; a body within both limits is returned unchanged."""
    lines = body.count("\n") + 1
    if lines <= MAX_BODY_LINES and len(body) * 4 <= MAX_BODY_BYTES:
        return body
    size = len(body.encode("utf-8", "surrogatepass"))
    if lines <= MAX_BODY_LINES and size <= MAX_BODY_BYTES:
        return body
    kept = "\n".join(body.split("\n", MAX_BODY_LINES)[:MAX_BODY_LINES])
    data = kept.encode("utf-8", "surrogatepass")
    if len(data) > MAX_BODY_BYTES:
        kept = data[:MAX_BODY_BYTES].decode("utf-8", "ignore")
    return f"{kept}\n{TRUNCATED} {size:,} bytes in {lines:,} lines; ask the customer for the rest or read it on the channel]"


class Ingest:
    """The Sink the backends call (with the desk's `_append`, `_add_event`, `_set_channel_status`)."""

    store: Store
    channels: dict[str, Backend]
    agent: str
    _broker: Broker
    automation: Automation
    now: Callable[[], datetime]
    _first_status: Callable[[str, Inbound], Status]
    #: when each conversation's customer was last seen typing (monotonic seconds)
    _typing: dict[int, float]

    async def ingest(
        self, channel: str, events: Sequence[ChannelEvent], cursor: str | None = None
    ) -> None:
        """Persist `events` from `channel` with `cursor` in one batch, publish the changes, and
        return once the batch is durable (the backend acknowledges to its channel after that).

        The screen shows the changes while the disk syncs: a sync can take a few hundred
        milliseconds, and what is on screen is in the journal already (only a power cut
        before the sync would lose it, and then the channel sends it again).
        A malformed event is quarantined with a log line; the rest of the batch is kept.
        A batch too large for the space left on the disk is split in halves, each its own
        batch, the cursor with the last: what fits is kept, and the channel's retry of the
        rest is deduplicated against it.
        """
        changes: list[Change] = []
        triggers: list[Trigger] = []
        try:
            with self.store.batch(durable=False):
                for event in events:
                    try:
                        self._ingest_one(channel, event, changes, triggers)
                    except Exception as exc:
                        self._quarantine(channel, event, exc)
                if cursor is not None:
                    self.store.set_cursor(channel, cursor)
        except StoreError as exc:
            if not exc.disk_full or len(events) < 2:
                raise
            half = len(events) // 2
            await self.ingest(channel, events[:half])
            await self.ingest(channel, events[half:], cursor)
            return
        self._broker.publish(changes)
        await self.store.sync()
        self.automation.submit(triggers)

    def _ingest_one(
        self, channel: str, event: ChannelEvent, changes: list[Change], triggers: list[Trigger]
    ) -> None:
        match event:
            case Inbound():
                self._ingest_message(channel, event, changes, triggers)
            case DeliveryUpdate():
                self._apply_delivery(channel, event, changes)
            case Typing():
                conv = self.store.find_conversation(channel, event.thread_key)
                if conv is not None:
                    self._typing[conv.id] = time.monotonic()
                    changes.append(Change(ChangeKind.TYPING, conv.id))
            case ChannelStatus():
                backend = self.channels.get(channel)
                detail = backend.redact(event.detail) if backend is not None else event.detail
                self._set_channel_status(channel, ChannelStatus(event.state, detail))
            case ContactProfile():
                self._learn_profile(channel, event, changes)
            case Unparsable():
                log.warning(
                    "channel %s: quarantined what it could not read (%s)", channel, event.reason
                )
                self.store.quarantine(channel, event.payload, event.reason)
            case _:
                raise TypeError(f"not a channel event: {type(event).__name__}")

    def _quarantine(self, channel: str, event: object, exc: Exception) -> None:
        backend = self.channels.get(channel)
        clean = backend.redact if backend is not None else str
        reason = clean(f"{type(exc).__name__}: {exc}")
        log.warning("channel %s: quarantined a bad event (%s)", channel, reason)
        self.store.quarantine(channel, clean(repr(event)[:10_000]), reason)

    def _ingest_message(
        self, channel: str, ev: Inbound, changes: list[Change], triggers: list[Trigger]
    ) -> None:
        if not ev.external_id or not ev.thread_key:
            raise ValueError("message without external id or thread key")
        if self.store.lookup_external(channel, ev.external_id) is not None:
            return  # already stored: a re-poll after restart, or a duplicate delivery
        contact = self._contact_for(channel, ev)
        conv = self.store.find_conversation(channel, ev.thread_key)
        created = conv is None
        if conv is None:
            conv = Conversation(
                id=self.store.new_id("conversation"),
                channel=channel,
                contact_id=contact.id,
                thread_key=ev.thread_key,
                subject=ev.subject,
                status=self._first_status(channel, ev),
                created_at=ev.created_at,
                last_activity_at=ev.created_at,
            )
        inbound = ev.direction is Direction.IN
        message = Message(
            id=self.store.new_id("message"),
            conversation_id=conv.id,
            direction=ev.direction,
            body=bound_body(ev.body),
            kind=MessageKind.ATTACHMENT if ev.attachments and not ev.body else MessageKind.TEXT,
            attachments=list(ev.attachments),
            external_id=ev.external_id,
            delivery=Delivery.RECEIVED if inbound else Delivery.SENT,
            author=contact.name if inbound else (ev.sender.name or self.agent),
            created_at=ev.created_at,
        )
        rating = survey_answer(conv, ev.body, ev.created_at) if inbound and not created else None
        if rating is not None:
            self._take_rating(conv, message, contact.name, rating, changes)
            return
        reopened = inbound and conv.status in (Status.RESOLVED, Status.SNOOZED)
        if reopened:
            self._add_event(
                conv, EventKind.STATUS, f"{contact.name} wrote again: reopened", changes, author=""
            )
            conv.status, conv.snoozed_until = Status.OPEN, None
        self._append(conv, message)
        if inbound:
            conv.unread += 1
            conv.waiting_since = conv.waiting_since or ev.created_at
            conv.window_expires_at = ev.window_expires_at or self._window_after(
                channel, ev.created_at
            )
            self._typing.pop(conv.id, None)
        self.store.put_message(message, channel)
        self.store.put_conversation(conv)
        changes += [
            Change(ChangeKind.MESSAGE, conv.id, message.id),
            Change(ChangeKind.CONVERSATION, conv.id),
        ]
        if inbound and self.automation.automata:  # no automata: nothing to hand over
            triggers += self._triggers_of(conv.id, message, created, reopened)

    def _take_rating(
        self, conv: Conversation, message: Message, name: str, rating: int, changes: list[Change]
    ) -> None:
        """The customer answered the survey: keep the answer and the rating, and the
        conversation stays resolved (a rating is not a new request)."""
        conv.rating, conv.rated_at = rating, message.created_at
        self._append(conv, message)
        self._add_event(conv, EventKind.RATED, f"{name} rated this {rating}/5", changes, author="")
        self.store.put_message(message, conv.channel)
        self.store.put_conversation(conv)
        changes += [
            Change(ChangeKind.MESSAGE, conv.id, message.id),
            Change(ChangeKind.CONVERSATION, conv.id),
        ]

    def _triggers_of(
        self, conv_id: int, message: Message, created: bool, reopened: bool
    ) -> list[Trigger]:
        """What a stored customer message tells automation: the conversation's news first."""
        at, live = message.created_at, is_live(message.created_at, self.now())
        kinds = [TriggerKind.CONVERSATION_CREATED] if created else []
        kinds += [TriggerKind.CONVERSATION_REOPENED] if reopened else []
        return [
            *(Trigger(kind, conv_id, at, live=live, text=message.body) for kind in kinds),
            Trigger(TriggerKind.MESSAGE_CREATED, conv_id, at, message.id, live, message.body),
        ]

    def _window_after(self, channel: str, at: datetime) -> datetime | None:
        backend = self.channels.get(channel)
        window = backend.messaging_window if backend is not None else None
        return at + window if window else None

    def _contact_for(self, channel: str, ev: Inbound) -> Contact:
        sender = ev.sender
        contact = self.store.find_contact(channel, sender.address)
        if contact is not None:
            return contact
        contact = Contact(
            id=self.store.new_id("contact"),
            name=sender.name or sender.address,
            emails=[sender.email] if sender.email else [],
            phones=[sender.phone] if sender.phone else [],
            language=sender.language,
            identities=[Identity(channel, sender.address)],
        )
        self.store.put_contact(contact)
        return contact

    def _learn_profile(self, channel: str, ev: ContactProfile, changes: list[Change]) -> None:
        """Fill a contact's name and language from the channel's profile where none was known."""
        contact = self.store.find_contact(channel, ev.address)
        if contact is None:
            return
        named = bool(ev.name) and contact.name in ("", ev.address)
        if named:
            contact.name = ev.name
        if ev.language and not contact.language:
            contact.language = ev.language
        elif not named:
            return
        self.store.put_contact(contact)
        for conv in self.store.conversations():
            if conv.contact_id != contact.id:
                continue
            changes.append(Change(ChangeKind.CONVERSATION, conv.id))
            if named and conv.channel == channel:
                self._name_earlier_messages(conv.id, ev.address, contact.name, changes)

    def _name_earlier_messages(
        self, conv_id: int, address: str, name: str, changes: list[Change]
    ) -> None:
        """Messages stored before the name was known are authored by the bare address (a PSID)."""
        for message in self.store.messages(conv_id):
            if message.direction is Direction.IN and message.author == address:
                message.author = name
                self.store.put_message(message)
                changes.append(Change(ChangeKind.MESSAGE, conv_id, message.id))

    def _apply_delivery(self, channel: str, ev: DeliveryUpdate, changes: list[Change]) -> None:
        found = self.store.lookup_external(channel, ev.external_id)
        if found is None:
            log.info("channel %s: delivery report for unknown message %s", channel, ev.external_id)
            return
        conv_id, message_id = found
        message = self.store.message(conv_id, message_id)
        if message is None or not may_replace(message.delivery, ev.delivery):
            return
        message.delivery = ev.delivery
        message.delivery_reason = ev.reason if ev.delivery is Delivery.FAILED else ""
        self.store.put_message(message)
        changes.append(Change(ChangeKind.MESSAGE, conv_id, message_id))

    async def load_workspace(
        self,
        contacts: Iterable[Contact],
        conversations: Iterable[Conversation],
        messages: Iterable[Message],
    ) -> None:
        """Import a whole workspace (the demo's history, a benchmark cache); ids are kept."""
        conversations = list(conversations)
        channel_of = {c.id: c.channel for c in conversations}
        with self.store.batch():
            for contact in contacts:
                self.store.put_contact(contact)
            for conv in conversations:
                self.store.put_conversation(conv)
            for message in messages:
                self.store.put_message(message, channel_of.get(message.conversation_id))
        self._broker.publish([Change(ChangeKind.RESET)])
