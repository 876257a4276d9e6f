"""The seeded demo world: contacts, conversations and their histories, the same for a seed."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from frontdesk.backends.demo_kinds import READ_RECEIPT_KINDS, window_for
from frontdesk.backends.demo_people import Person, allocate, make_people
from frontdesk.backends.demo_phrases import (
    ATTACHMENTS,
    ESCALATION,
    FAILURES,
    MENTION_NOTES,
    NOTES,
    PHRASES,
    SIGNATURES,
    TOPIC_LABELS,
    TOPIC_WEIGHTS,
    TOPICS,
)
from frontdesk.model import (
    Attachment,
    Contact,
    ContactRef,
    Conversation,
    Delivery,
    Direction,
    EventKind,
    Message,
    MessageKind,
    Priority,
    Status,
    utcnow,
)

PREVIEW_CHARS = 200  # as the desk cuts previews
HISTORY_DAYS = 14
_DAY = 86_400.0


# ---- the workspace ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LiveThread:
    """What the simulator needs to write into one conversation as its customer."""

    conversation_id: int
    channel: str
    thread_key: str
    contact_id: int
    name: str
    language: str
    address: str
    status: Status
    subject: str = ""
    topic: str = ""

    def sender(self) -> ContactRef:
        is_email = "@" in self.address and self.channel == "email"
        return ContactRef(
            address=self.address,
            name=self.name,
            language=self.language,
            email=self.address if is_email else "",
            phone=self.address if self.address.startswith("+") else "",
        )


@dataclass(slots=True)
class Workspace:
    """A generated world; `live` holds the open/pending threads the simulator writes into."""

    contacts: list[Contact]
    conversations: list[Conversation]
    messages: list[Message]
    live: list[LiveThread] = field(default_factory=list)


@dataclass(slots=True)
class _Draft:
    """One conversation before ids are handed out."""

    person: Person
    kind: str
    address: str
    thread_key: str
    topic: str
    size: int
    age: float = 0.0
    status: Status = Status.OPEN
    assignee: str | None = None
    handler: str = ""
    agents: Sequence[str] = ()
    team: str | None = None
    failed: bool = False
    labels: list[str] = field(default_factory=list)
    priority: Priority = Priority.NONE
    snoozed_until: datetime | None = None
    subject: str = ""
    messages: list[Message] = field(default_factory=list)


def _sizes(rng: random.Random, count: int, total: int | None) -> list[int]:
    """Messages per conversation: 3–15 by default, or exactly `total` spread unevenly."""
    if total is None:
        return [int(rng.triangular(3, 16, 5)) for _ in range(count)]
    if total < count:
        raise ValueError(f"messages={total} is fewer than conversations={count} (each needs one)")
    weights = [rng.triangular(0.3, 4.0, 0.8) for _ in range(count)]
    scale = (total - count) / (sum(weights) or 1.0)
    sizes = [1 + int(w * scale) for w in weights]
    for i in rng.sample(range(count), total - sum(sizes)):  # what flooring left over: < count
        sizes[i] += 1
    return sizes


def _ages(rng: random.Random, count: int) -> list[float]:
    """Seconds before `now` of each conversation's last message: mostly recent, a few minutes old."""
    ages = sorted(HISTORY_DAYS * _DAY * rng.random() ** 2 + 60 for _ in range(count))
    for i in range(min(3, count)):
        ages[i] = 120 + i * 600 + rng.random() * 300
    return ages


def _statuses(rng: random.Random, count: int) -> list[Status]:
    """Statuses by quota, youngest conversations mostly open, oldest mostly resolved."""
    if count < 4:
        return [Status.OPEN] * count
    resolved, pending, snoozed = (
        round(0.3 * count),
        round(0.15 * count),
        max(1, round(0.07 * count)),
    )
    pool = [Status.RESOLVED] * resolved + [Status.PENDING] * pending + [Status.SNOOZED] * snoozed
    pool += [Status.OPEN] * (count - len(pool))
    bias = {Status.OPEN: 0.0, Status.PENDING: 0.3, Status.SNOOZED: 0.35, Status.RESOLVED: 0.7}
    return sorted(pool, key=lambda s: bias[s] + rng.random())


_PRIORITY_ORDER = [Priority.NONE, Priority.LOW, Priority.MEDIUM, Priority.HIGH, Priority.URGENT]


def _decorate(
    rng: random.Random, drafts: list[_Draft], agents: Sequence[str], now: datetime
) -> None:
    """Status, assignee, labels, priority, escalation and failures (drafts sorted young → old)."""
    for draft, status in zip(drafts, _statuses(rng, len(drafts))):
        draft.status = status if draft.size >= 3 else Status.OPEN
        assigned = draft.status in (Status.RESOLVED, Status.SNOOZED) or rng.random() < 0.6
        draft.assignee = rng.choice(agents) if assigned and agents else None
        draft.handler = draft.assignee or (rng.choice(agents) if agents else "Agent")
        draft.agents = agents
        main, extra = TOPIC_LABELS[draft.topic]
        draft.labels = (
            [main] + ([extra] if rng.random() < 0.5 else []) + (["vip"] if draft.person.vip else [])
        )
        draft.priority = rng.choices(
            (Priority.NONE, Priority.LOW, Priority.MEDIUM, Priority.HIGH, Priority.URGENT),
            (55, 10, 20, 10, 5),
        )[0]
        if draft.person.vip and draft.priority in (Priority.NONE, Priority.LOW):
            draft.priority = Priority.HIGH
        if draft.status is Status.SNOOZED:
            draft.snoozed_until = (now + timedelta(seconds=rng.uniform(3600, 3 * _DAY))).replace(
                second=0, microsecond=0
            )
    active = [d for d in drafts if d.status in (Status.OPEN, Status.PENDING)]
    escalate = [d for d in active if d.assignee and d.size >= 6]
    for draft in escalate[1::4][: max(2, len(drafts) // 30) if len(drafts) >= 10 else 0]:
        draft.team = ESCALATION[draft.topic][0]
        draft.priority = max(draft.priority, Priority.HIGH, key=_PRIORITY_ORDER.index)
    failing = [d for d in active if d.size >= 3 and d.team is None]
    for draft in failing[2::5][: 1 + len(drafts) // 50 if len(drafts) >= 5 else 0]:
        draft.failed, draft.status = True, Status.OPEN


def _plan(rng: random.Random, d: _Draft) -> list[str]:
    """The roles of a thread, oldest first: in/out/close/failed/note/esc_note and activities."""
    if d.failed:
        tail = ["failed"]
    elif d.status is Status.RESOLVED:
        tail = ["close", "resolved"]
    elif d.status is Status.SNOOZED:
        tail = ["out", "snoozed"]
    elif d.status is Status.PENDING:
        tail = ["out", "pending"] if rng.random() < 0.5 else ["out"]
    else:
        tail = ["in"] * rng.choices((0, 1, 2, 3), (20, 48, 24, 8))[0]
    # in the order they are dropped when the thread is too short for all of them (last first)
    events = [["esc_note", "escalated"]] if d.team else []
    events += [["assigned"]] if d.assignee else []
    events += [["labelled"]] if d.labels and rng.random() < 0.6 else []
    events += [["priority"]] if d.priority in (Priority.HIGH, Priority.URGENT) else []
    while events and 1 + len(tail) + sum(map(len, events)) > d.size:
        events.pop()
    del tail[max(0, d.size - 1) :]
    middle = _chatter(rng, d.size - 1 - len(tail) - sum(map(len, events)))
    for group in events:
        if group != ["assigned"]:
            at = rng.randint(0, len(middle))
            middle[at:at] = group
    if ["assigned"] in events:
        middle.insert(0, "assigned")  # right after the customer's first message
    return ["in", *middle, *tail]


def _chatter(rng: random.Random, count: int) -> list[str]:
    """Back-and-forth after the customer's first message."""
    roles, prev = [], "in"
    for _ in range(count):
        r = rng.random()
        if prev == "in":
            role = "out" if r < 0.8 else "in" if r < 0.92 else "note"
        elif prev == "out":
            role = "in" if r < 0.85 else "out" if r < 0.93 else "note"
        else:
            role = "out" if r < 0.6 else "in"
        roles.append(role)
        prev = role
    return roles


_ACTIVITY = {
    "assigned": EventKind.ASSIGNED,
    "labelled": EventKind.LABELLED,
    "priority": EventKind.PRIORITY,
    "escalated": EventKind.ESCALATED,
    "resolved": EventKind.STATUS,
    "pending": EventKind.STATUS,
    "snoozed": EventKind.SNOOZED,
}


def phrase_numbers(rng: random.Random, lang: str) -> dict[str, Any]:
    """Order number, tracking number and amount in the customer's locale."""
    return {
        "order": rng.randint(10_000, 99_999),
        "track": f"{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"
        if lang == "ja"
        else f"1Z{rng.randint(10**15, 10**16 - 1)}",
        "amount": f"{rng.choice((1480, 2980, 4980, 9800, 12800)):,}円"
        if lang == "ja"
        else f"${rng.choice((12, 19, 29, 49, 89, 129))}.{rng.choice(('00', '50', '99'))}",
        "plan": "Pro",
    }


def _gap(rng: random.Random, role: str, prev: str) -> float:
    """Seconds between the previous message and this one."""
    if role in _ACTIVITY:
        return 5 + rng.random() * 300
    if role in ("note", "esc_note"):
        return 60 + rng.random() * 2400
    if role == "in":
        return 15 + rng.random() * 360 if prev == "in" else 300 + rng.random() * 8 * 3600
    return 60 + rng.random() * 900 if prev in ("out", "close") else 120 + rng.random() * 3 * 3600


def _attachment(rng: random.Random, key: str, order: int) -> Attachment:
    pattern, mime, low, high = ATTACHMENTS[key]
    name = pattern.format(n=order if key == "invoice" else rng.randint(1000, 9999))
    return Attachment(name=name, mime=mime, size=rng.randint(low, high), ref=f"demo:{name}")


def _build_thread(rng: random.Random, d: _Draft, now: datetime) -> None:
    """Fill `d.messages` (ids 0 for now) and its subject, with times ending `d.age` before `now`."""
    roles = _plan(rng, d)
    lang, kind, person = d.person.contact.language, d.kind, d.person
    phrases = PHRASES[lang]
    topic = phrases[d.topic]
    ctx = phrase_numbers(rng, lang)
    order = ctx["order"]
    ctx |= {
        "plan": person.plan,
        "orders": person.orders,
        "call": person.call,
        "agent": d.handler,
        "team": d.team or "",
        "mention": next((a for a in d.agents if a != d.handler), d.handler),
    }
    if kind == "email":
        d.subject = rng.choice(topic["subject"])[0].format_map(ctx)
    gaps, prev = [], ""
    for role in roles:
        gaps.append(_gap(rng, role, prev) if prev else 0.0)
        prev = role
    span, room = sum(gaps), HISTORY_DAYS * _DAY + _DAY - d.age
    scale = room / span if span > room else 1.0
    at = now - timedelta(seconds=d.age + span * scale)
    sign = SIGNATURES[lang] if kind == "email" else ""
    outs = 0
    for i, role in enumerate(roles):
        at += timedelta(seconds=gaps[i] * scale)
        if role == "in":
            text, att = rng.choice(_customer_pool(rng, phrases, d.topic, roles[i - 1] if i else ""))
            body = text.format_map(ctx)
            if kind == "email" and body:
                body += f"\n\n{person.first}"
            msg = Message(0, 0, Direction.IN, body, author=person.contact.name, created_at=at)
            if att:
                msg.attachments = [_attachment(rng, att, order)]
                if not body:
                    msg.kind = MessageKind.ATTACHMENT
        elif role in ("out", "close", "failed"):
            pool = (
                topic["close"]
                if role == "close"
                else topic["agent"][:1]
                if outs == 0
                else topic["agent"][1:]
            )
            text, att = rng.choice(pool)
            outs += 1
            msg = Message(
                0,
                0,
                Direction.OUT,
                text.format_map(ctx) + sign.format_map(ctx),
                author=d.handler,
                created_at=at,
            )
            if att:
                msg.attachments = [_attachment(rng, att, order)]
            msg.delivery = Delivery.READ if kind in READ_RECEIPT_KINDS else Delivery.DELIVERED
            if role == "failed":
                msg.delivery = Delivery.FAILED
                msg.delivery_reason = FAILURES[kind].format(to=d.address)
            elif i >= len(roles) - 2 and msg.delivery is Delivery.READ and rng.random() < 0.5:
                msg.delivery = Delivery.DELIVERED
        elif role in ("note", "esc_note"):
            msg = _note(rng, role, d, ctx, at)
        else:
            msg = _activity(rng, role, d, at)
        d.messages.append(msg)


def _customer_pool(
    rng: random.Random, phrases: Mapping[str, Any], topic: str, prev: str
) -> Sequence[tuple[str, str | None]]:
    """The opener, an answer to the agent, or a nudge after being left waiting."""
    if not prev:
        return phrases[topic]["open"]
    r = rng.random()
    if prev in ("out", "close", "failed"):
        return phrases[topic]["follow"] if r < 0.85 else phrases["answer"][""]
    return phrases[topic]["follow"] if r < 0.4 else phrases["nudge"][""]


def _note(
    rng: random.Random, role: str, d: _Draft, ctx: Mapping[str, Any], at: datetime
) -> Message:
    mentions: list[str] = []
    if role == "esc_note":
        body = f"Escalated to {d.team}: {ESCALATION[d.topic][1]}"
    elif rng.random() < 0.3:
        body, mentions = rng.choice(MENTION_NOTES).format_map(ctx), [str(ctx["mention"])]
    else:
        body = rng.choice(NOTES).format_map(ctx)
    return Message(
        0, 0, Direction.OUT, body, private=True, author=d.handler, created_at=at, mentions=mentions
    )


def _activity(rng: random.Random, role: str, d: _Draft, at: datetime) -> Message:
    actor = d.handler
    match role:
        case "assigned":
            actor = rng.choice((*d.agents, d.assignee or actor))
            text = f"assigned this to {'themself' if actor == d.assignee else d.assignee}"
        case "labelled":
            text = f"label added {', '.join(d.labels)}"
        case "priority":
            text = f"set priority to {d.priority.value}"
        case "escalated":
            text = f"escalated this to {d.team}"
        case "resolved":
            text = "resolved this"
        case "pending":
            text = "marked this pending"
        case _:  # snoozed
            until = d.snoozed_until or at
            text = f"snoozed this until {until:%a %d %b %H:%M} UTC"
    return Message(
        0,
        0,
        Direction.OUT,
        f"{actor} {text}",
        kind=MessageKind.ACTIVITY,
        private=True,
        author=actor,
        created_at=at,
        event=_ACTIVITY[role],
    )


def _preview(message: Message) -> str:
    first = next((line for line in message.body.splitlines() if line.strip()), "")
    if not first and message.attachments:
        first = "📎 " + message.attachments[0].name
    return first[:PREVIEW_CHARS]


def _summarize(conv: Conversation, messages: Sequence[Message]) -> None:
    """Derive the conversation's counters and times from its messages (as the desk keeps them)."""
    conv.message_count = len(messages)
    conv.created_at = messages[0].created_at
    conv.last_activity_at = messages[-1].created_at
    content = [m for m in messages if m.kind is not MessageKind.ACTIVITY]
    conv.preview = next((p for p in map(_preview, reversed(content)) if p), "")
    public_out = [m for m in messages if m.direction is Direction.OUT and not m.private]
    conv.first_reply_at = public_out[0].created_at if public_out else None
    answered = public_out[-1].created_at if public_out else None
    inbound = [m for m in messages if m.direction is Direction.IN]
    waiting = [m for m in inbound if answered is None or m.created_at > answered]
    conv.waiting_since = waiting[0].created_at if waiting else None
    conv.unread = len(waiting) if conv.status is Status.OPEN else 0
    window = window_for(conv.channel)
    conv.window_expires_at = inbound[-1].created_at + window if window and inbound else None


def _default_contacts(conversations: int) -> int:
    return max(1, round(conversations * 2 / 3)) if conversations else 0


def generate_workspace(
    seed: int = 1,
    conversations: int = 60,
    contacts: int | None = None,
    messages: int | None = None,
    now: datetime | None = None,
    agents: Sequence[str] = ("Aiko", "Ben", "Chloé"),
) -> Workspace:
    """A deterministic demo workspace; only timestamps depend on `now` (default: the current time).

    `contacts` defaults to two thirds of `conversations`; `messages` (a total, at least one
    per conversation) defaults to 3–15 per conversation. Ids run 1..n for each type;
    conversation ids follow creation time and message ids are chronological within a
    conversation.
    """
    now = now or utcnow()
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    n_contacts = _default_contacts(conversations) if contacts is None else contacts
    if conversations < 0 or n_contacts < 0 or (conversations and not n_contacts):
        raise ValueError(
            "conversations and contacts must be positive (a conversation needs a contact)"
        )
    people = make_people(seed, n_contacts)
    rng = random.Random(f"{seed}:conversations")
    slots = allocate(rng, people, conversations)
    sizes = _sizes(rng, conversations, messages)
    ages = _ages(rng, conversations)
    drafts = []
    for i, ((person, kind, address), size, age) in enumerate(zip(slots, sizes, ages)):
        topic = rng.choices(TOPICS, TOPIC_WEIGHTS)[0]
        key = f"<{rng.getrandbits(48):012x}.{i + 1}@example.com>" if kind == "email" else address
        drafts.append(_Draft(person, kind, address, key, topic, size, age))
    _decorate(rng, drafts, agents, now)
    for draft in drafts:
        _build_thread(rng, draft, now)
    return _assemble(drafts, people)


def _assemble(drafts: list[_Draft], people: list[Person]) -> Workspace:
    """Hand out ids in creation order and derive each conversation's fields."""
    drafts.sort(key=lambda d: d.messages[0].created_at)
    conversations, messages, live = [], [], []
    next_id = 1
    for conv_id, d in enumerate(drafts, start=1):
        for m in d.messages:
            m.id, m.conversation_id = next_id, conv_id
            if not m.private:
                m.external_id = (
                    f"{d.kind}-{'hist' if m.direction is Direction.IN else 'out'}-{next_id}"
                )
            next_id += 1
        conv = Conversation(
            id=conv_id,
            channel=d.kind,
            contact_id=d.person.contact.id,
            thread_key=d.thread_key,
            status=d.status,
            snoozed_until=d.snoozed_until,
            priority=d.priority,
            assignee=d.assignee,
            team=d.team,
            labels=d.labels,
            subject=d.subject,
        )
        _summarize(conv, d.messages)
        conversations.append(conv)
        messages += d.messages
        if d.status in (Status.OPEN, Status.PENDING):
            live.append(_thread_of(conv, d.person.contact, d.address, d.topic))
    return Workspace([p.contact for p in people], conversations, messages, live)


def _thread_of(conv: Conversation, contact: Contact, address: str, topic: str = "") -> LiveThread:
    return LiveThread(
        conversation_id=conv.id,
        channel=conv.channel,
        thread_key=conv.thread_key,
        contact_id=contact.id,
        name=contact.name,
        language=contact.language,
        address=address,
        status=conv.status,
        subject=conv.subject,
        topic=topic,
    )


def threads_of(workspace: Workspace) -> list[LiveThread]:
    """Every conversation of a workspace as a LiveThread (the live ones and the rest)."""
    contacts = {c.id: c for c in workspace.contacts}
    topics = {t.conversation_id: t.topic for t in workspace.live}
    found = []
    for conv in workspace.conversations:
        contact = contacts[conv.contact_id]
        address = next(i.address for i in contact.identities if i.channel == conv.channel)
        found.append(_thread_of(conv, contact, address, topics.get(conv.id, "")))
    return found
