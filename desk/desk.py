"""The desk: the UI-agnostic service between channel backends, the cache and the console.

Ingest persists events, then commits the channel's cursor, then publishes changes.
Replies go to the durable outbox first and reach their channel from the dispatcher, which
runs a sender per channel (a slow channel delays only its own replies, in order).
Commands (reply, note, assign, status …) each write one atomic batch and leave an
inline event in the thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from frontdesk.backends.base import Backend, BackendError, ConfigError, DeadlineError
from frontdesk.desk.canned import CHANNEL_NAMES, variables_for
from frontdesk.desk.changes import Broker, Change, ChangeKind, Subscription
from frontdesk.desk.contacts import check_attributes, check_notes, merged_contact
from frontdesk.desk.hooks import HookError, HookSpec, build_payload, run_hook
from frontdesk.desk.limits import SMS_KINDS, SmsLength, WindowState, sms_length, window_state
from frontdesk.desk.outbox import after_failure, backoff, may_replace
from frontdesk.desk.views import Filters, Sort, View, ViewTally, filter_conversations, in_view, sort_conversations
from frontdesk.model import (
    ChannelEvent,
    ChannelStatus,
    Contact,
    Conversation,
    Delivery,
    DeliveryUpdate,
    Direction,
    EventKind,
    Identity,
    Inbound,
    Message,
    MessageKind,
    Outgoing,
    Priority,
    Status,
    Typing,
    Unparsable,
    utcnow,
)
from frontdesk.store import HookJob, OutboxEntry, Store, StoreError
from frontdesk.store.search import SearchHit, SearchIndex, matching_detail

log = logging.getLogger("frontdesk.desk")

TYPING_SECONDS = 6.0
#: seconds a sender or hook run that failed on a bug waits before it is started again
BUG_PAUSE = 5.0
PREVIEW_CHARS = 200
#: a received body is kept up to this many bytes of UTF-8 …
MAX_BODY_BYTES = 256 * 1024
#: … and this many lines (100,000 short lines took 11 s to open in the thread view)
MAX_BODY_LINES = 2_000
TRUNCATED = "[… frontdesk kept only the start of this message: it had"
MENTION = re.compile(r"@([\w.-]+)")
DRAFT_MODES = ("reply", "note")
"""The composer's modes a draft is kept for."""
_STATUS_VERB = {
    Status.OPEN: "reopened this",
    Status.PENDING: "marked this pending",
    Status.RESOLVED: "resolved this",
    Status.SNOOZED: "snoozed this",
}


class DeskError(Exception):
    """A command that cannot be carried out; the message is meant for the agent."""


@dataclass(frozen=True, slots=True)
class SearchMatch:
    """A conversation found by a search, with the text that matched.

    `text` is untrusted and uncleaned: clean it first, then cut it with `views.snippet`, so
    escape sequences never count towards (or get cut into) what is shown.
    """

    conversation: Conversation
    contact_name: str
    text: str  # the newest matching message (body and attachment names), or the contact's name
    message_id: int | None  # None: the contact's name matched
    hits: int  # how many of its messages (and its name) matched


def _preview(message: Message) -> str:
    first = next((line for line in message.body.splitlines() if line.strip()), "")
    if not first and message.attachments:
        first = "📎 " + message.attachments[0].name
    return first[:PREVIEW_CHARS]


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


class Desk:
    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Backend] | None = None,
        *,
        agent: str = "agent",
        agents: Iterable[str] = (),
        clock: Callable[[], datetime] = utcnow,
        escalation_targets: Iterable[str] = (),
        hooks: Iterable[HookSpec] = (),
    ) -> None:
        self.store = store
        self.escalation_targets = list(dict.fromkeys(escalation_targets))
        self.hooks = {spec.name: spec for spec in hooks}
        self.channels: dict[str, Backend] = dict(channels or {})
        self.agent = agent
        self._agents = [agent, *[a for a in agents if a != agent]]
        self.now = clock
        self.channel_status: dict[str, ChannelStatus] = {}
        self._broker = Broker()
        self._typing: dict[int, float] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._wake_outbox = asyncio.Event()
        self._wake_hooks = asyncio.Event()
        #: one sender per channel with replies due, so a slow channel delays only itself
        self._senders: dict[str, asyncio.Task[None]] = {}
        self._send_locks: dict[str, asyncio.Lock] = {}
        #: hook jobs being run, by id: each runs on its own, bounded by its hook's timeout
        self._hook_runs: dict[str, asyncio.Task[None]] = {}
        #: channels shown down because their sends ran past the deadline
        self._overdue: set[str] = set()
        self._search: SearchIndex | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Start every channel, the outbox dispatcher, the hook runner and the snooze clock."""
        self._recover_outbox()
        self._recover_hooks()
        for name, backend in self.channels.items():
            self._tasks.append(asyncio.create_task(self._run_channel(name, backend), name=f"channel:{name}"))
        self._tasks.append(asyncio.create_task(self._dispatch_forever(), name="outbox"))
        self._tasks.append(asyncio.create_task(self._run_hooks_forever(), name="hooks"))
        self._tasks.append(asyncio.create_task(self._wake_snoozed_forever(), name="snooze"))

    async def stop(self) -> None:
        workers = [*self._tasks, *self._senders.values(), *self._hook_runs.values()]
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self._tasks.clear()
        self._senders.clear()
        self._hook_runs.clear()
        for backend in self.channels.values():
            try:
                await backend.close()
            except Exception:
                log.exception("closing channel %s", backend.name)

    async def _run_channel(self, name: str, backend: Backend) -> None:
        """Run a backend for as long as the desk runs, restarting it with backoff."""
        delay = 1.0
        while True:
            try:
                self._set_channel_status(name, ChannelStatus("ok"))
                await backend.run(self)
                return
            except asyncio.CancelledError:
                raise
            except ConfigError as exc:
                self._set_channel_status(name, ChannelStatus("down", backend.redact(str(exc))))
                return
            except Exception as exc:
                reason = backend.redact(f"{exc}")
                log.warning("channel %s stopped: %s; restarting in %.0fs", name, reason, delay)
                self._set_channel_status(name, ChannelStatus("down", f"{reason} — retrying in {delay:.0f}s"))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)

    def _set_channel_status(self, name: str, status: ChannelStatus) -> None:
        if self.channel_status.get(name) != status:
            self.channel_status[name] = status
            self._broker.publish([Change(ChangeKind.CHANNEL, channel=name)])

    # ---- reading ---------------------------------------------------------------------------

    @property
    def agents(self) -> list[str]:
        seen = {c.assignee for c in self.store.conversations() if c.assignee}
        return self._agents + sorted(seen - set(self._agents))

    def channel_kind(self, channel: str) -> str:
        backend = self.channels.get(channel)
        return backend.channel_kind if backend is not None else channel

    def channel_name(self, channel: str) -> str:
        """The channel kind as customers know it: "WhatsApp", "SMS", "email" …"""
        kind = self.channel_kind(channel)
        return CHANNEL_NAMES.get(kind, kind)

    async def window(self, conv_id: int) -> WindowState | None:
        """Where the conversation stands in its channel's messaging window (None: no window)."""
        conv = await self.conversation(conv_id)
        backend = self.channels.get(conv.channel)
        rule = backend.window_rule if backend is not None else None
        return window_state(rule, self.channel_name(conv.channel), conv.window_expires_at, self.now())

    def sms_length(self, channel: str, text: str) -> SmsLength | None:
        """Characters and SMS segments of `text` on an SMS channel; None on other channels."""
        return sms_length(text) if self.channel_kind(channel) in SMS_KINDS else None

    async def canned_variables(self, conv_id: int) -> dict[str, str]:
        """The values canned replies fill in for this conversation (`desk.canned.VARIABLES`)."""
        conv = await self.conversation(conv_id)
        contact = self.store.contact(conv.contact_id)
        return variables_for(conv, contact, self.agent, self.channel_kind(conv.channel))

    def is_typing(self, conv_id: int) -> bool:
        since = self._typing.get(conv_id)
        return since is not None and time.monotonic() - since < TYPING_SECONDS

    def subscribe(self) -> Subscription:
        return self._broker.subscribe()

    async def conversations(
        self, view: View = View.ALL, *, sort: Sort | None = Sort.ACTIVITY, filters: Filters = Filters()
    ) -> list[Conversation]:
        """The conversations of `view` that match `filters`, in the order of `sort` (None: any order)."""
        found = [c for c in self.store.conversations() if in_view(c, view, self.agent)]
        if filters.active:
            found = filter_conversations(found, filters)
        return found if sort is None else sort_conversations(found, sort)

    async def counts(self, filters: Filters = Filters()) -> dict[View, int]:
        """How many conversations each view holds (those matching `filters`)."""
        return (await self.tally(filters)).counts()

    async def tally(self, filters: Filters = Filters()) -> ViewTally:
        """View counts over every conversation, for a console to keep up to date from the change feed."""
        tally = ViewTally(self.agent, filters)
        tally.reset(self.store.conversations())
        return tally

    async def labels(self) -> list[str]:
        """Every label in use on any conversation, sorted."""
        return sorted({label for conv in self.store.conversations() for label in conv.labels}, key=str.casefold)

    async def channel_names(self) -> list[str]:
        """The configured channel instances and any other channel a cached conversation came from."""
        return sorted(set(self.channels) | {conv.channel for conv in self.store.conversations()})

    async def conversation(self, conv_id: int) -> Conversation:
        conv = self.store.conversation(conv_id)
        if conv is None:
            raise DeskError(f"no conversation #{conv_id}")
        return conv

    async def thread(self, conv_id: int) -> list[Message]:
        return self.store.messages(conv_id)

    async def message(self, conv_id: int, message_id: int) -> Message | None:
        """One message of a conversation (a reply, note or event too); None when there is none."""
        return self.store.message(conv_id, message_id)

    async def contact(self, contact_id: int) -> Contact:
        contact = self.store.contact(contact_id)
        if contact is None:
            raise DeskError(f"no contact #{contact_id}")
        return contact

    def contact_name(self, contact_id: int) -> str:
        """The contact's name as stored ("#id" when it is gone): cheap enough to ask per row drawn."""
        contact = self.store.contact(contact_id)
        return contact.name if contact is not None else f"#{contact_id}"

    async def contact_conversations(self, contact_id: int) -> list[Conversation]:
        found = [c for c in self.store.conversations() if c.contact_id == contact_id]
        found.sort(key=lambda c: c.last_activity_at, reverse=True)
        return found

    async def search(self, query: str, limit: int = 200) -> list[SearchHit]:
        """Contacts (name, emails, phones, addresses) and messages (replies and notes too) containing
        `query`, folded for case, accents, width and kana (store/search.py).

        Newest conversation first; a name match comes before that conversation's messages.
        The index is built in a thread on the first search (about 0.5 s at 200,000 messages)
        and then re-reads only conversations whose message count changed (store/search.py).
        """
        if self._search is None:
            self._search = SearchIndex(self.store)
        await self._search.ready()
        return self._search.search(query, limit)

    async def search_conversations(self, query: str, limit: int = 50) -> list[SearchMatch]:
        """Conversations whose contact or messages contain `query`, one entry each.

        In the order of `search` (newest conversation first), each with the text of its
        newest matching message, or the contact's name (and the email, phone or address
        that matched) when the contact matched.
        """
        if not query.strip():
            return []
        hits = await self.search(query, limit=max(200, limit * 4))
        grouped: dict[int, list[SearchHit]] = {}
        for hit in hits:
            grouped.setdefault(hit.conversation_id, []).append(hit)
        matches: list[SearchMatch] = []
        for conv_id, conv_hits in grouped.items():
            conv = self.store.conversation(conv_id)
            if conv is None:
                continue
            contact = self.store.contact(conv.contact_id)
            name = contact.name if contact else f"#{conv.contact_id}"
            first = conv_hits[0]
            message = self.store.message(conv_id, first.message_id) if first.message_id is not None else None
            text = name if message is None else "\n".join([message.body, *(a.name for a in message.attachments)])
            detail = matching_detail(contact, query) if contact is not None and message is None else None
            if detail is not None and detail != name:
                text = f"{name} · {detail}"  # found by an email, phone or address: show which
            matches.append(SearchMatch(conv, name, text, first.message_id if message else None, len(conv_hits)))
            if len(matches) >= limit:
                break
        return matches

    # ---- ingest (the Sink the backends call) ---------------------------------------------

    async def ingest(self, channel: str, events: Sequence[ChannelEvent], cursor: str | None = None) -> None:
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
        try:
            with self.store.batch(durable=False):
                for event in events:
                    try:
                        self._ingest_one(channel, event, changes)
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

    def _ingest_one(self, channel: str, event: ChannelEvent, changes: list[Change]) -> None:
        match event:
            case Inbound():
                self._ingest_message(channel, event, changes)
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
            case Unparsable():
                log.warning("channel %s: quarantined what it could not read (%s)", channel, event.reason)
                self.store.quarantine(channel, event.payload, event.reason)
            case _:
                raise TypeError(f"not a channel event: {type(event).__name__}")

    def _quarantine(self, channel: str, event: object, exc: Exception) -> None:
        backend = self.channels.get(channel)
        clean = backend.redact if backend is not None else str
        reason = clean(f"{type(exc).__name__}: {exc}")
        log.warning("channel %s: quarantined a bad event (%s)", channel, reason)
        self.store.quarantine(channel, clean(repr(event)[:10_000]), reason)

    def _ingest_message(self, channel: str, ev: Inbound, changes: list[Change]) -> None:
        if not ev.external_id or not ev.thread_key:
            raise ValueError("message without external id or thread key")
        if self.store.lookup_external(channel, ev.external_id) is not None:
            return  # already stored: a re-poll after restart, or a duplicate delivery
        contact = self._contact_for(channel, ev)
        conv = self.store.find_conversation(channel, ev.thread_key)
        if conv is None:
            conv = Conversation(
                id=self.store.new_id("conversation"),
                channel=channel,
                contact_id=contact.id,
                thread_key=ev.thread_key,
                subject=ev.subject,
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
        if inbound and conv.status in (Status.RESOLVED, Status.SNOOZED):
            self._add_event(conv, EventKind.STATUS, f"{contact.name} wrote again: reopened", changes, author="")
            conv.status, conv.snoozed_until = Status.OPEN, None
        self._append(conv, message)
        if inbound:
            conv.unread += 1
            conv.waiting_since = conv.waiting_since or ev.created_at
            conv.window_expires_at = ev.window_expires_at or self._window_after(channel, ev.created_at)
            self._typing.pop(conv.id, None)
        self.store.put_message(message, channel)
        self.store.put_conversation(conv)
        changes += [Change(ChangeKind.MESSAGE, conv.id, message.id), Change(ChangeKind.CONVERSATION, conv.id)]

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

    def _append(self, conv: Conversation, message: Message) -> None:
        conv.message_count += 1
        if message.kind is not MessageKind.ACTIVITY:
            conv.preview = _preview(message) or conv.preview
        conv.last_activity_at = max(conv.last_activity_at, message.created_at)

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

    # ---- bulk import -------------------------------------------------------------------------

    async def load_workspace(
        self, contacts: Iterable[Contact], conversations: Iterable[Conversation], messages: Iterable[Message]
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

    # ---- commands ----------------------------------------------------------------------------

    async def reply(self, conv_id: int, body: str) -> Message:
        """Queue a reply to the customer in the durable outbox; the dispatcher sends it."""
        if not body.strip():
            raise DeskError("an empty reply is not sent")
        conv = await self.conversation(conv_id)
        await self._check_window(conv_id)
        now = self.now()
        changes: list[Change] = []
        with self.store.batch():
            message = Message(
                id=self.store.new_id("message"),
                conversation_id=conv.id,
                direction=Direction.OUT,
                body=body,
                delivery=Delivery.PENDING,
                author=self.agent,
                created_at=now,
            )
            self._append(conv, message)
            conv.first_reply_at = conv.first_reply_at or now
            conv.waiting_since = None
            conv.unread = 0
            if conv.status is Status.PENDING:
                conv.status = Status.OPEN
            self.store.put_message(message)
            self.store.put_conversation(conv)
            self.store.put_outbox(
                OutboxEntry(message.id, conv.id, conv.channel, created_at=now, extra={"key": uuid.uuid4().hex})
            )
            changes += [Change(ChangeKind.MESSAGE, conv.id, message.id), Change(ChangeKind.CONVERSATION, conv.id)]
        self._broker.publish(changes)
        self._wake_outbox.set()
        return message

    async def _check_window(self, conv_id: int) -> None:
        """Refuse to queue a reply the channel would refuse: its messaging window closed (with the way out)."""
        window = await self.window(conv_id)
        if window is not None and window.closed:
            raise DeskError(f"{window.label}. {window.explanation}")

    async def note(self, conv_id: int, body: str) -> Message:
        """Add an internal note: stored and shown, never sent to the channel."""
        if not body.strip():
            raise DeskError("an empty note is not saved")
        conv = await self.conversation(conv_id)
        known = {a.casefold(): a for a in self.agents}
        named = [m.rstrip(".-").casefold() for m in MENTION.findall(body)]  # "thanks @Ben." mentions Ben
        mentions = list(dict.fromkeys(known[m] for m in named if m in known))
        with self.store.batch():
            message = Message(
                id=self.store.new_id("message"),
                conversation_id=conv.id,
                direction=Direction.OUT,
                body=body,
                private=True,
                delivery=Delivery.RECEIVED,
                author=self.agent,
                created_at=self.now(),
                mentions=mentions,
            )
            self._append(conv, message)
            self.store.put_message(message)
            self.store.put_conversation(conv)
        self._broker.publish([Change(ChangeKind.MESSAGE, conv.id, message.id), Change(ChangeKind.CONVERSATION, conv.id)])
        return message

    async def assign(self, conv_id: int, agent: str | None) -> None:
        conv = await self.conversation(conv_id)
        if conv.assignee == agent:
            return
        text = f"assigned this to {'themself' if agent == self.agent else agent}" if agent else "unassigned this"
        await self._change(conv, EventKind.ASSIGNED, text, lambda c: setattr(c, "assignee", agent))

    async def set_status(self, conv_id: int, status: Status) -> None:
        if status is Status.SNOOZED:
            raise DeskError("use snooze() with a time to snooze a conversation")
        conv = await self.conversation(conv_id)
        if conv.status is status:
            return

        def apply(c: Conversation) -> None:
            c.status, c.snoozed_until = status, None
            if status is Status.RESOLVED:
                c.unread, c.waiting_since = 0, None

        await self._change(conv, EventKind.STATUS, _STATUS_VERB[status], apply)

    async def snooze(self, conv_id: int, until: datetime) -> None:
        conv = await self.conversation(conv_id)
        if until <= self.now():
            raise DeskError("snooze until a time in the future")

        def apply(c: Conversation) -> None:
            c.status, c.snoozed_until = Status.SNOOZED, until

        await self._change(conv, EventKind.SNOOZED, f"snoozed this until {until:%a %d %b %H:%M} UTC", apply)

    async def set_priority(self, conv_id: int, priority: Priority) -> None:
        conv = await self.conversation(conv_id)
        if conv.priority is priority:
            return
        await self._change(conv, EventKind.PRIORITY, f"set priority to {priority.value}", lambda c: setattr(c, "priority", priority))

    async def label(self, conv_id: int, add: Iterable[str] = (), remove: Iterable[str] = ()) -> None:
        conv = await self.conversation(conv_id)
        added = [lbl for lbl in dict.fromkeys(add) if lbl not in conv.labels]
        removed = [lbl for lbl in dict.fromkeys(remove) if lbl in conv.labels]
        if not added and not removed:
            return
        parts = [f"added {', '.join(added)}"] if added else []
        parts += [f"removed {', '.join(removed)}"] if removed else []

        def apply(c: Conversation) -> None:
            c.labels = [lbl for lbl in c.labels if lbl not in removed] + added

        await self._change(conv, EventKind.LABELLED, "label " + "; ".join(parts), apply)

    async def escalate(self, conv_id: int, team: str, reason: str, priority: Priority | None = None) -> list[HookJob]:
        """Hand the conversation to a team or tier: the reason as a note, an inline event, and
        one durable job per configured hook that applies to `team` (run by the hook runner).
        """
        team, reason = team.strip(), reason.strip()
        if not team:
            raise DeskError("an escalation needs a team or tier to escalate to")
        if not reason:
            raise DeskError("an escalation needs a reason")
        if self.escalation_targets and team not in self.escalation_targets:
            raise DeskError(f"{team!r} is not an escalation target; choose one of: {', '.join(self.escalation_targets)}")
        conv = await self.conversation(conv_id)
        now = self.now()
        changes: list[Change] = []
        jobs: list[HookJob] = []
        with self.store.batch():
            if priority is not None:
                conv.priority = priority
            conv.team = team
            payload = build_payload(
                conv, self.store.contact(conv.contact_id), self.store.messages(conv.id),
                reason=reason, target=team, priority=conv.priority.value, agent=self.agent, at=now,
            )
            note = Message(
                id=self.store.new_id("message"),
                conversation_id=conv.id,
                direction=Direction.OUT,
                body=f"Escalated to {team}: {reason}",
                private=True,
                author=self.agent,
                created_at=now,
            )
            self._append(conv, note)
            self.store.put_message(note)
            changes.append(Change(ChangeKind.MESSAGE, conv.id, note.id))
            shown_priority = f" ({conv.priority.value} priority)" if conv.priority is not Priority.NONE else ""
            self._add_event(conv, EventKind.ESCALATED, f"{self.agent} escalated this to {team}{shown_priority}", changes)
            for spec in self.hooks.values():
                if spec.applies_to(team):
                    job = HookJob(self.store.new_id("hook"), conv.id, spec.name, payload, uuid.uuid4().hex, created_at=now)
                    self.store.put_hook_job(job)
                    jobs.append(job)
            self.store.put_conversation(conv)
        changes.append(Change(ChangeKind.CONVERSATION, conv.id))
        self._broker.publish(changes)
        if jobs:
            self._wake_hooks.set()
        return jobs

    async def mark_read(self, conv_id: int) -> None:
        conv = await self.conversation(conv_id)
        if conv.unread == 0:
            return
        with self.store.batch(durable=False):  # opening a conversation: its sync must not hold the screen
            conv.unread = 0
            self.store.put_conversation(conv)
        self._broker.publish([Change(ChangeKind.CONVERSATION, conv.id)])
        await self.store.sync()

    async def draft(self, conv_id: int) -> dict[str, str]:
        """What the agent wrote in a conversation and has not sent yet, by mode ("reply", "note")."""
        return self.store.draft(conv_id)

    async def save_draft(self, conv_id: int, texts: Mapping[str, str]) -> None:
        """Keep unsent texts by mode so they survive a restart (all empty: forget them).

        Only the agent's own console reads them, so no change is published.
        """
        kept = {mode: text for mode, text in texts.items() if mode in DRAFT_MODES}
        with self.store.batch(durable=False):  # typing must not wait for the disk
            self.store.put_draft(conv_id, kept)
        await self.store.sync()

    async def retry(self, conv_id: int, message_id: int) -> None:
        """Send again a reply that failed or was not confirmed — the agent's decision."""
        message = self.store.message(conv_id, message_id)
        if message is None or message.direction is not Direction.OUT or message.private:
            raise DeskError("only a reply to the customer can be retried")
        if message.delivery not in (Delivery.FAILED, Delivery.UNCONFIRMED):
            raise DeskError(f"this reply is {message.delivery.value}; nothing to retry")
        conv = await self.conversation(conv_id)
        await self._check_window(conv_id)
        with self.store.batch():
            message.delivery, message.delivery_reason = Delivery.PENDING, ""
            self.store.put_message(message)
            self.store.put_outbox(
                OutboxEntry(message.id, conv.id, conv.channel, created_at=self.now(), extra={"key": uuid.uuid4().hex})
            )
        self._broker.publish([Change(ChangeKind.MESSAGE, conv.id, message.id)])
        self._wake_outbox.set()

    async def _change(self, conv: Conversation, kind: EventKind, text: str, apply: Callable[[Conversation], None]) -> None:
        """Apply a command to `conv` with its inline event; shown at once, returns once durable
        (the journal's sync runs off the event loop, as ingest's does)."""
        changes: list[Change] = []
        with self.store.batch(durable=False):
            apply(conv)
            self._add_event(conv, kind, f"{self.agent} {text}", changes)
            self.store.put_conversation(conv)
        changes.append(Change(ChangeKind.CONVERSATION, conv.id))
        self._broker.publish(changes)
        await self.store.sync()

    def _add_event(self, conv: Conversation, kind: EventKind, text: str, changes: list[Change], author: str | None = None) -> None:
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

    # ---- contacts ------------------------------------------------------------------------------

    async def find_contacts(self, query: str, limit: int = 50) -> list[Contact]:
        """Contacts (not merged away) whose name, email or phone contains `query`, any case.

        Phone numbers also match on their digits alone ("+81 90-1234" finds "819012…").
        """
        needle = query.strip().casefold()
        digits = re.sub(r"\D", "", needle)
        found: list[Contact] = []
        for contact in sorted(self.store.contacts(), key=lambda c: c.name.casefold()):
            if contact.merged_into is not None:
                continue
            texts = [contact.name, *contact.emails, *contact.phones, *(i.address for i in contact.identities)]
            hit = not needle or any(needle in t.casefold() for t in texts)
            if not hit and len(digits) >= 3:
                hit = any(digits in re.sub(r"\D", "", p) for p in [*contact.phones, *(i.address for i in contact.identities)])
            if hit:
                found.append(contact)
                if len(found) >= limit:
                    break
        return found

    async def update_contact(
        self, contact_id: int, *, notes: str | None = None, attributes: Mapping[str, str] | None = None
    ) -> Contact:
        """Replace the contact's free-form notes and/or custom attributes (checked first)."""
        contact = await self.contact(contact_id)
        if contact.merged_into is not None:
            raise DeskError(f"contact #{contact_id} was merged into #{contact.merged_into}; edit that one")
        try:
            new_notes = check_notes(notes) if notes is not None else contact.notes
            new_attributes = check_attributes(attributes) if attributes is not None else contact.attributes
        except ValueError as exc:
            raise DeskError(str(exc)) from None
        if (new_notes, new_attributes) == (contact.notes, contact.attributes):
            return contact
        with self.store.batch():
            contact.notes, contact.attributes = new_notes, dict(new_attributes)
            self.store.put_contact(contact)
        self._publish_contact(contact.id)
        return contact

    async def save_attachment(self, conv_id: int, message_id: int, index: int, downloads_dir: str | os.PathLike[str]) -> Path:
        """Download attachment `index` of a message into `downloads_dir`; returns the new file's path.

        The file name is the attachment's, made safe (no folders, no traversal, no reserved
        names) and never overwriting: the path is always inside `downloads_dir`.
        """
        conv = await self.conversation(conv_id)
        message = self.store.message(conv_id, message_id)
        if message is None or not 0 <= index < len(message.attachments):
            raise DeskError(f"no attachment {index + 1} on message #{message_id}")
        attachment = message.attachments[index]
        if not attachment.ref:
            raise DeskError(f"{attachment.name!r} cannot be downloaded: the channel sent no way to fetch it")
        backend = self.channels.get(conv.channel)
        if backend is None:
            raise DeskError(f"channel {conv.channel!r} is not running here; configure it to download its attachments")
        try:
            path = await backend.save_attachment(attachment.ref, downloads_dir, attachment.name)
        except NotImplementedError as exc:
            raise DeskError(str(exc)) from None
        except (BackendError, OSError) as exc:
            raise DeskError(f"{attachment.name}: {backend.redact(str(exc))}") from None
        self._record_size(conv_id, message_id, index, path.stat().st_size)
        return path

    def _record_size(self, conv_id: int, message_id: int, index: int, size: int) -> None:
        """List an attachment with the size of the file saved (a channel's own figure, or the
        part of a large mail read at ingest, can be wrong)."""
        message = self.store.message(conv_id, message_id)
        if message is None or index >= len(message.attachments) or message.attachments[index].size == size:
            return
        with self.store.batch():
            message.attachments[index] = replace(message.attachments[index], size=size)
            self.store.put_message(message)
        self._broker.publish([Change(ChangeKind.MESSAGE, conv_id, message_id)])

    async def merge_contacts(self, keep_id: int, other_id: int) -> Contact:
        """Merge contact `other_id` into `keep_id`: identities, emails, phones, notes and
        attributes join the kept contact (its own values win), every conversation of the
        other moves to it with an inline event, and the other is marked `merged_into`.
        A new message from any of the other's identities then lands on the kept contact.
        """
        if keep_id == other_id:
            raise DeskError("a contact cannot be merged with itself")
        keep, other = await self.contact(keep_id), await self.contact(other_id)
        for contact in (keep, other):
            if contact.merged_into is not None:
                raise DeskError(f"{contact.name} was already merged into contact #{contact.merged_into}")
        changes: list[Change] = []
        with self.store.batch():
            merged = merged_contact(keep, other)
            other.merged_into = keep.id
            self.store.put_contact(other)
            self.store.put_contact(merged)  # after the other: its identities now point here
            text = f"{self.agent} merged contact {other.name} into {keep.name}"
            for conv in self.store.conversations():
                if conv.contact_id in (keep.id, other.id):
                    conv.contact_id = keep.id
                    self._add_event(conv, EventKind.MERGED, text, changes)
                    self.store.put_conversation(conv)
                    changes.append(Change(ChangeKind.CONVERSATION, conv.id))
        self._broker.publish(changes)
        return merged

    def _publish_contact(self, contact_id: int) -> None:
        self._broker.publish(
            [Change(ChangeKind.CONVERSATION, c.id) for c in self.store.conversations() if c.contact_id == contact_id]
        )

    # ---- escalation hooks ----------------------------------------------------------------------

    def hook_jobs(self, conv_id: int | None = None) -> list[HookJob]:
        """Hook runs not yet done (pending, retrying, or failed for good), oldest first."""
        return [j for j in self.store.hook_jobs() if conv_id is None or j.conversation_id == conv_id]

    async def retry_hooks(self, conv_id: int) -> list[HookJob]:
        """Run again the hooks of a conversation that failed for good (the agent fixed the cause)."""
        failed = [j for j in self.hook_jobs(conv_id) if j.state == "failed"]
        if not failed:
            raise DeskError("no failed hook in this conversation; nothing to retry")
        with self.store.batch():
            for job in failed:
                job.state, job.next_attempt_at = "pending", None
                self.store.put_hook_job(job)
        self._broker.publish([Change(ChangeKind.CONVERSATION, conv_id)])
        self._wake_hooks.set()
        return failed

    def _recover_hooks(self) -> None:
        """A job left `running` by a previous run is run again (with the same Idempotency-Key)."""
        stale = [j for j in self.store.hook_jobs() if j.state == "running"]
        if stale:
            with self.store.batch():
                for job in stale:
                    job.state = "pending"
                    self.store.put_hook_job(job)

    async def flush_hooks(self) -> None:
        """Run every hook job that is due now, side by side, and wait for them (the hook runner
        and `sync --once`); each is bounded by its hook's timeout."""
        runs = self._start_due_hooks()
        await asyncio.gather(*runs, return_exceptions=True)

    def _start_due_hooks(self) -> list[asyncio.Task[None]]:
        """A task for each due job not already running (a slow hook never holds up another)."""
        now = self.now()
        for job in self.store.hook_jobs():
            due = job.state == "pending" and (job.next_attempt_at is None or job.next_attempt_at <= now)
            if due and job.id not in self._hook_runs:
                self._hook_runs[job.id] = asyncio.create_task(self._run_hook_logged(job), name=f"hook:{job.hook}")
        return list(self._hook_runs.values())

    async def _run_hook_logged(self, job: HookJob) -> None:
        try:
            await self._run_hook_job(job)
        except Exception:
            log.exception("escalation hook %s", job.hook)
            await asyncio.sleep(BUG_PAUSE)
        finally:
            self._hook_runs.pop(job.id, None)
            self._wake_hooks.set()  # its retry time may be the next one due

    async def _run_hooks_forever(self) -> None:
        while True:
            self._wake_hooks.clear()
            try:
                self._start_due_hooks()
            except Exception:
                log.exception("escalation hooks")
            waits = [
                (j.next_attempt_at - self.now()).total_seconds()
                for j in self.store.hook_jobs()
                if j.state == "pending" and j.next_attempt_at is not None and j.id not in self._hook_runs
            ]
            try:
                async with asyncio.timeout(max(0.05, min(waits)) if waits else 30.0):
                    await self._wake_hooks.wait()
            except TimeoutError:
                pass

    async def _run_hook_job(self, job: HookJob) -> None:
        conv = self.store.conversation(job.conversation_id)
        if conv is None:
            with self.store.batch():
                self.store.delete_hook_job(job.id)
            return
        spec = self.hooks.get(job.hook)
        if spec is None:
            self._hook_failed(job, f"hook {job.hook!r} is not in the config any more; add it back to run it", permanent=True)
            return
        with self.store.batch():  # persisted before the run: a crash now means "run it again"
            job.state, job.attempts = "running", job.attempts + 1
            self.store.put_hook_job(job)
        try:
            ticket = await run_hook(spec, job.payload, job.key, self.now())
        except asyncio.CancelledError:
            raise
        except HookError as exc:
            self._hook_failed(job, spec.redact(str(exc)), exc.permanent)
            return
        except Exception as exc:
            self._hook_failed(job, spec.redact(f"{type(exc).__name__}: {exc}"), permanent=False)
            return
        changes: list[Change] = []
        with self.store.batch():
            conv = self.store.conversation(job.conversation_id) or conv
            if ticket is not None:
                if not any((t.hook, t.id, t.url) == (ticket.hook, ticket.id, ticket.url) for t in conv.tickets):
                    conv.tickets.append(ticket)
                text = f"{job.hook} opened ticket {' '.join(p for p in (ticket.id, ticket.url) if p)}"
            else:
                text = f"{job.hook} ran (no ticket in its answer)"
            self._add_event(conv, EventKind.HOOK, text, changes, author="")
            self.store.put_conversation(conv)
            self.store.delete_hook_job(job.id)
        changes += [Change(ChangeKind.CONVERSATION, conv.id), Change(ChangeKind.HOOK, conv.id, detail=f"Hook {text}")]
        self._broker.publish(changes)

    def _hook_failed(self, job: HookJob, reason: str, permanent: bool) -> None:
        """Keep the job: failed for good (shown), or pending again after a backoff delay."""
        changes: list[Change] = []
        conv = self.store.conversation(job.conversation_id)
        with self.store.batch():
            job.last_error = reason
            if permanent:
                job.state = "failed"
                detail = f"Hook {job.hook} failed: {reason} — not retried"
            else:
                delay = backoff(job.attempts)
                job.state, job.next_attempt_at = "pending", self.now() + timedelta(seconds=delay)
                detail = f"Hook {job.hook} failed (try {job.attempts}): {reason} — retrying in {delay:.0f}s"
            if conv is not None and (permanent or job.attempts == 1):
                self._add_event(conv, EventKind.HOOK, detail[len("Hook "):], changes, author="")
                self.store.put_conversation(conv)
                changes.append(Change(ChangeKind.CONVERSATION, conv.id))
            self.store.put_hook_job(job)
        changes.append(Change(ChangeKind.HOOK, job.conversation_id, detail=detail, failed=True))
        self._broker.publish(changes)

    # ---- outbox dispatch -----------------------------------------------------------------

    def _recover_outbox(self) -> None:
        """An entry left `sending` by a previous run may or may not have gone out."""
        for entry in self.store.outbox():
            if entry.state != "sending":
                continue
            backend = self.channels.get(entry.channel)
            with self.store.batch():
                if backend is not None and backend.idempotent_send:
                    entry.state = "pending"
                    self.store.put_outbox(entry)
                else:
                    self._finish(entry, Delivery.UNCONFIRMED, "frontdesk stopped while sending: not confirmed")

    async def flush_outbox(self, channel: str | None = None) -> None:
        """Try every reply that is due now (of `channel`, or of every channel side by side), and
        wait for them (the dispatcher and `sync --once`). A channel's replies go in order."""
        now = self.now()
        channels = [channel] if channel is not None else list(dict.fromkeys(
            e.channel for e in self.store.outbox() if self._due(e, now)))
        results = await asyncio.gather(*(self._flush_channel(name, now) for name in channels), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    @staticmethod
    def _due(entry: OutboxEntry, now: datetime) -> bool:
        return entry.state == "pending" and (entry.next_attempt_at is None or entry.next_attempt_at <= now)

    async def _flush_channel(self, channel: str, now: datetime) -> None:
        # one sender at a time per channel: its replies keep their order and none goes out twice
        async with self._send_locks.setdefault(channel, asyncio.Lock()):
            for entry in self.store.outbox():
                if entry.channel == channel and self._due(entry, now):
                    await self._send(entry)

    async def _dispatch_forever(self) -> None:
        while True:
            self._wake_outbox.clear()
            try:
                self._start_senders()
            except Exception:
                log.exception("outbox dispatch")
            await self._sleep_until_due()

    def _start_senders(self) -> None:
        """A sender task for each channel with replies due that has none running."""
        now = self.now()
        for channel in dict.fromkeys(e.channel for e in self.store.outbox() if self._due(e, now)):
            if channel not in self._senders:
                self._senders[channel] = asyncio.create_task(self._send_logged(channel), name=f"outbox:{channel}")

    async def _send_logged(self, channel: str) -> None:
        try:
            await self.flush_outbox(channel)
        except Exception:
            log.exception("outbox dispatch for channel %s", channel)
            await asyncio.sleep(BUG_PAUSE)  # a bug must not turn into a tight loop of tracebacks
        finally:
            self._senders.pop(channel, None)
            self._wake_outbox.set()  # more may be due now, or a retry time was set

    async def _sleep_until_due(self) -> None:
        waits = [
            (e.next_attempt_at - self.now()).total_seconds()
            for e in self.store.outbox()
            if e.state == "pending" and e.next_attempt_at is not None and e.channel not in self._senders
        ]
        timeout = max(0.05, min(waits)) if waits else 30.0
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that
        # coincides with the wake-up, and stop() would then hang for the full timeout
        try:
            async with asyncio.timeout(timeout):
                await self._wake_outbox.wait()
        except TimeoutError:
            pass

    async def _send(self, entry: OutboxEntry) -> None:
        message = self.store.message(entry.conversation_id, entry.message_id)
        conv = self.store.conversation(entry.conversation_id)
        backend = self.channels.get(entry.channel)
        if message is None or conv is None:
            with self.store.batch():
                self.store.delete_outbox(entry.message_id)
            return
        if backend is None:
            with self.store.batch():
                self._finish(entry, Delivery.FAILED, f"channel {entry.channel!r} is not configured in this frontdesk")
            return
        outgoing = self._outgoing(conv, message, entry)
        with self.store.batch():  # persisted before the request: a crash now means "unknown"
            entry.state, entry.attempts = "sending", entry.attempts + 1
            self.store.put_outbox(entry)
        try:
            result = await backend.send(outgoing)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if isinstance(exc, DeadlineError):
                self._sends_overdue(entry.channel, backend.redact(str(exc)))
            outcome = after_failure(exc, entry.attempts, backend.idempotent_send, self.now())
            outcome = replace(outcome, reason=backend.redact(outcome.reason))
            with self.store.batch():
                if outcome.delivery is Delivery.PENDING:
                    entry.state, entry.next_attempt_at, entry.last_error = "pending", outcome.retry_at, outcome.reason
                    self.store.put_outbox(entry)
                    message.delivery_reason = outcome.reason
                    self.store.put_message(message)
                else:
                    self._finish(entry, outcome.delivery, outcome.reason)
            self._broker.publish([Change(ChangeKind.MESSAGE, conv.id, message.id)])
            return
        self._sends_overdue(entry.channel, None)
        with self.store.batch():
            message.external_id = result.external_id
            if may_replace(message.delivery, result.delivery) or message.delivery is Delivery.PENDING:
                message.delivery = result.delivery
            message.delivery_reason = ""
            self.store.put_message(message, entry.channel)
            self.store.delete_outbox(entry.message_id)
        self._broker.publish([Change(ChangeKind.MESSAGE, conv.id, message.id)])

    def _sends_overdue(self, channel: str, reason: str | None) -> None:
        """Show a channel whose sends run past their deadline as down (None: a send was in time again)."""
        if reason is not None:
            self._overdue.add(channel)
            self._set_channel_status(channel, ChannelStatus("down", reason))
        elif channel in self._overdue:
            self._overdue.discard(channel)
            self._set_channel_status(channel, ChannelStatus("ok"))

    def _finish(self, entry: OutboxEntry, delivery: Delivery, reason: str) -> None:
        message = self.store.message(entry.conversation_id, entry.message_id)
        if message is not None:
            message.delivery, message.delivery_reason = delivery, reason
            self.store.put_message(message)
        self.store.delete_outbox(entry.message_id)
        self._broker.publish([Change(ChangeKind.MESSAGE, entry.conversation_id, entry.message_id)])

    def _outgoing(self, conv: Conversation, message: Message, entry: OutboxEntry) -> Outgoing:
        contact = self.store.contact(conv.contact_id)
        address = next(
            (i.address for i in (contact.identities if contact else []) if i.channel == conv.channel),
            conv.thread_key,
        )
        last_inbound = next(
            (m.external_id for m in reversed(self.store.messages(conv.id)) if m.direction is Direction.IN and m.external_id),
            None,
        )
        return Outgoing(
            message_id=message.id,
            conversation_id=conv.id,
            thread_key=conv.thread_key,
            to=address,
            body=message.body,
            attachments=list(message.attachments),
            subject=conv.subject,
            idempotency_key=entry.extra.get("key", f"frontdesk-{message.id}"),
            reply_to_external_id=last_inbound,
        )

    # ---- snoozes -----------------------------------------------------------------------------

    async def wake_snoozed(self) -> None:
        now = self.now()
        for conv in self.store.conversations():
            if conv.status is Status.SNOOZED and conv.snoozed_until is not None and conv.snoozed_until <= now:
                changes: list[Change] = []
                with self.store.batch():
                    conv.status, conv.snoozed_until = Status.OPEN, None
                    self._add_event(conv, EventKind.SNOOZED, "snooze ended: reopened", changes, author="")
                    self.store.put_conversation(conv)
                self._broker.publish([*changes, Change(ChangeKind.CONVERSATION, conv.id)])

    async def _wake_snoozed_forever(self) -> None:
        while True:
            try:
                await self.wake_snoozed()
            except Exception:
                log.exception("waking snoozed conversations")
            await asyncio.sleep(30)

