"""One demo conversation's history: the roles of its messages, their words, times and activity."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from frontdesk.backends.demo_kinds import READ_RECEIPT_KINDS
from frontdesk.backends.demo_people import Person
from frontdesk.backends.demo_phrases import (
    ATTACHMENTS,
    ESCALATION,
    FAILURES,
    MENTION_NOTES,
    NOTES,
    PHRASES,
    SIGNATURES,
)
from frontdesk.model import (
    Attachment,
    Delivery,
    Direction,
    EventKind,
    Message,
    MessageKind,
    Priority,
    Status,
)

HISTORY_DAYS = 14
DAY = 86_400.0


@dataclass(slots=True)
class Draft:
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
    survey_sent_at: datetime | None = None  # demo_reports.py: the CSAT survey and its answer
    rating: int | None = None
    rated_at: datetime | None = None


def _plan(rng: random.Random, d: Draft) -> list[str]:
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
    if prev in ("out", "close"):
        return 60 + rng.random() * 900
    # an answer to the customer: most within the quarter hour, a long tail up to three hours
    return 60 + rng.random() ** 3 * 3 * 3600


def _attachment(rng: random.Random, key: str, order: int) -> Attachment:
    pattern, mime, low, high = ATTACHMENTS[key]
    name = pattern.format(n=order if key == "invoice" else rng.randint(1000, 9999))
    return Attachment(name=name, mime=mime, size=rng.randint(low, high), ref=f"demo:{name}")


def build_thread(rng: random.Random, d: Draft, now: datetime) -> None:
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
    span, room = sum(gaps), HISTORY_DAYS * DAY + DAY - d.age
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


def _note(rng: random.Random, role: str, d: Draft, ctx: Mapping[str, Any], at: datetime) -> Message:
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


def _activity(rng: random.Random, role: str, d: Draft, at: datetime) -> Message:
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
