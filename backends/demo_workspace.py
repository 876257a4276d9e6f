"""The seeded demo world: contacts, conversations and their histories, the same for a seed."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from frontdesk.backends.demo_history import DAY, HISTORY_DAYS, Draft, build_thread
from frontdesk.backends.demo_kinds import window_for
from frontdesk.backends.demo_people import Person, allocate, make_people
from frontdesk.backends.demo_reports import add_report_history
from frontdesk.backends.demo_phrases import (
    ESCALATION,
    TOPIC_LABELS,
    TOPIC_WEIGHTS,
    TOPICS,
)
from frontdesk.model import (
    Contact,
    ContactRef,
    Conversation,
    Direction,
    Message,
    MessageKind,
    Priority,
    Status,
    utcnow,
)

PREVIEW_CHARS = 200  # as the desk cuts previews


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
    ages = sorted(HISTORY_DAYS * DAY * rng.random() ** 2 + 60 for _ in range(count))
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
    bias = {Status.OPEN: 0.0, Status.PENDING: 0.3, Status.SNOOZED: 0.35, Status.RESOLVED: 0.4}
    return sorted(pool, key=lambda s: bias[s] + rng.random())


_PRIORITY_ORDER = [Priority.NONE, Priority.LOW, Priority.MEDIUM, Priority.HIGH, Priority.URGENT]


def _decorate(
    rng: random.Random, drafts: list[Draft], agents: Sequence[str], now: datetime
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
            draft.snoozed_until = (now + timedelta(seconds=rng.uniform(3600, 3 * DAY))).replace(
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
    # resolving clears the wait, and a survey's answer starts none
    resolved = conv.status is Status.RESOLVED
    conv.waiting_since = waiting[0].created_at if waiting and not resolved else None
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
    per conversation) defaults to 3–15 per conversation, plus the surveys, ratings and
    reopens reports show (`demo_reports`; not with an explicit total). Ids run 1..n for each type;
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
        drafts.append(Draft(person, kind, address, key, topic, size, age))
    _decorate(rng, drafts, agents, now)
    for draft in drafts:
        build_thread(rng, draft, now)
    if messages is None:  # an explicit total stays exact (the bench's caches)
        add_report_history(seed, drafts, now)
    return _assemble(drafts, people)


def _assemble(drafts: list[Draft], people: list[Person]) -> Workspace:
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
            survey_sent_at=d.survey_sent_at,
            rating=d.rating,
            rated_at=d.rated_at,
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
