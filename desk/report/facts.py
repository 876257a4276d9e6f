"""What happened in one conversation's thread, as the report needs it: its raw facts.

Events are the desk's own thread lines (desk.py's status verbs, ingest's "wrote again:
reopened", the bot's "handed this to the agents"), so a cache written before reports existed
reports its history too. Times are POSIX seconds (UTC), so a report sums 200,000 of them fast
and the facts of every conversation are saved compactly (`cache.py`).
"""

from __future__ import annotations

import msgspec

from frontdesk.model import Direction, EventKind, Message, MessageKind

AUTOMATION_PREFIX = "⚙ "
"""Authors that start with this are automation (desk.automation.engine.automation_author)."""
HANDOFF_TEXT = "handed this to the agents"
RESOLVED_TEXT = "resolved this"
REOPENED_TEXTS = ("reopened this", "wrote again: reopened")
_OTHER_STATUS_TEXTS = ("marked this pending", "snoozed this", "handed this to the FAQ bot")


class Response(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """A person's reply that answered a waiting customer: when the wait started (the oldest
    unanswered customer message, not before the bot handed over, and for the first response
    not before creation), when the reply went, by whom."""

    waited_from: float
    at: float
    author: str
    first: bool  # the conversation's first response by a person


class Stamp(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """A thread event's time and who caused it ("" for the customer or the desk)."""

    at: float
    author: str


class ThreadFacts(msgspec.Struct, array_like=True):
    """One conversation's facts from its thread, in time order. `count` is the conversation's
    `message_count` they were read at: the desk adds one with every message or event."""

    count: int
    messages_in: list[float] = []
    messages_out: list[float] = []  # sent, automation's too; not notes nor events
    out_authors: list[str] = []  # who sent each of messages_out
    responses: list[Response] = []
    resolutions: list[Stamp] = []
    reopens: list[Stamp] = []
    handoffs: list[float] = []
    waiting_from: float | None = None  # a customer's wait no person has answered yet
    first_pending: bool = False  # that wait is for the first response

    @property
    def first_response(self) -> Response | None:
        return next((r for r in self.responses if r.first), None)


def is_person(author: str) -> bool:
    return not author.startswith(AUTOMATION_PREFIX)


def facts_of(thread: list[Message], created_at: float, count: int) -> ThreadFacts:
    """The facts of a conversation created at `created_at` from its `thread` (any order)."""
    facts = ThreadFacts(count)
    waiting: float | None = None
    resolved = answered = False
    last_in: float | None = None
    for m in sorted(thread, key=lambda m: (m.created_at, m.id)):
        at = m.created_at.timestamp()
        if m.event is EventKind.RATED and waiting is not None and waiting == last_in:
            waiting = None  # that message was the survey's answer, not a request
        elif m.kind is MessageKind.ACTIVITY:
            resolved = _event(facts, m, at, resolved)
        elif m.private:
            continue
        elif m.direction is Direction.IN:
            facts.messages_in.append(at)
            waiting = waiting if waiting is not None else at
            last_in = at
        else:
            facts.messages_out.append(at)
            facts.out_authors.append(m.author)
            if waiting is not None and is_person(m.author):
                start = max([waiting, *[h for h in facts.handoffs if h <= at]])
                start = start if answered else max(start, created_at)
                facts.responses.append(Response(start, at, m.author, not answered))
                waiting, answered = None, True
    if waiting is not None:
        facts.waiting_from = max([waiting, *facts.handoffs])
        facts.first_pending = not answered
    return facts


def _event(facts: ThreadFacts, m: Message, at: float, resolved: bool) -> bool:
    """Note a status or handoff line; whether the conversation is resolved after it."""
    body = m.body
    if m.event is EventKind.AUTOMATION and HANDOFF_TEXT in body:
        facts.handoffs.append(at)
    elif m.event is EventKind.STATUS:
        if body.endswith(RESOLVED_TEXT):
            facts.resolutions.append(Stamp(at, m.author))
            return True
        if body.endswith(REOPENED_TEXTS):
            if resolved:
                facts.reopens.append(Stamp(at, m.author))
            return False
        if body.endswith(_OTHER_STATUS_TEXTS):
            return False
    return resolved
