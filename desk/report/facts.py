"""What happened in one conversation, read from its record and thread: the report's raw facts.

Events are the desk's own thread lines (desk.py's status verbs, ingest's "wrote again:
reopened", the bot's "handed this to the agents"), so a cache written before reports existed
reports its history too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from frontdesk.model import Conversation, Direction, EventKind, Message, MessageKind, Priority

AUTOMATION_PREFIX = "⚙ "
"""Authors that start with this are automation (desk.automation.engine.automation_author)."""
HANDOFF_TEXT = "handed this to the agents"
RESOLVED_TEXT = "resolved this"
REOPENED_TEXTS = ("reopened this", "wrote again: reopened")
TO_BOT_TEXT = "handed this to the FAQ bot"
_OTHER_STATUS_TEXTS = ("marked this pending", "snoozed this")


@dataclass(frozen=True, slots=True)
class Response:
    """A person's reply that answered a waiting customer: when the wait started (the oldest
    unanswered customer message, not before the bot handed over), when the reply went, by whom."""

    waited_from: datetime
    at: datetime
    author: str
    first: bool  # the conversation's first response by a person


@dataclass(frozen=True, slots=True)
class Stamp:
    """A thread event's time and who caused it ("" for the customer or the desk)."""

    at: datetime
    author: str


@dataclass(slots=True)
class ConvFacts:
    """One conversation's facts for reports."""

    id: int
    channel: str
    assignee: str
    team: str
    labels: tuple[str, ...]
    priority: Priority
    created_at: datetime
    resolved_now: bool  # its status is resolved
    messages_in: list[datetime] = field(default_factory=list)
    messages_out: list[Stamp] = field(default_factory=list)  # sent, automation's too; no notes
    responses: list[Response] = field(default_factory=list)
    resolutions: list[Stamp] = field(default_factory=list)
    reopens: list[Stamp] = field(default_factory=list)
    handoffs: list[datetime] = field(default_factory=list)
    waiting_from: datetime | None = None  # a wait no person has answered yet
    first_pending: bool = False  # that wait is for the first response
    with_bot: bool = False  # the bot holds it now: nobody waits for a person
    survey_sent_at: datetime | None = None
    rating: int | None = None
    rated_at: datetime | None = None

    @property
    def first_response(self) -> Response | None:
        return next((r for r in self.responses if r.first), None)

    @property
    def last_resolution(self) -> Stamp | None:
        """The resolution that stands (the last one, while the conversation stays resolved)."""
        return self.resolutions[-1] if self.resolved_now and self.resolutions else None


def is_person(author: str) -> bool:
    return not author.startswith(AUTOMATION_PREFIX)


def facts_of(conv: Conversation, thread: list[Message]) -> ConvFacts:
    """The facts of `conv` from its `thread` (any order; read in time order)."""
    facts = ConvFacts(
        id=conv.id,
        channel=conv.channel,
        assignee=conv.assignee or "",
        team=conv.team or "",
        labels=tuple(conv.labels),
        priority=conv.priority,
        created_at=conv.created_at,
        resolved_now=conv.status.value == "resolved",
        with_bot=conv.status.value == "bot",
        survey_sent_at=conv.survey_sent_at,
        rating=conv.rating,
        rated_at=conv.rated_at,
    )
    waiting: datetime | None = None
    resolved = False
    answered = False
    for m in sorted(thread, key=lambda m: (m.created_at, m.id)):
        if m.kind is MessageKind.ACTIVITY:
            resolved = _event(facts, m, resolved)
            continue
        if m.private:
            continue
        if m.direction is Direction.IN:
            facts.messages_in.append(m.created_at)
            waiting = waiting or m.created_at
            continue
        facts.messages_out.append(Stamp(m.created_at, m.author))
        if waiting is not None and is_person(m.author):
            start = max([waiting, *[h for h in facts.handoffs if h <= m.created_at]])
            if not answered:
                start = max(start, conv.created_at)
            facts.responses.append(Response(start, m.created_at, m.author, not answered))
            waiting, answered = None, True
    if waiting is not None and not facts.with_bot:
        facts.waiting_from = max([waiting, *facts.handoffs])
        facts.first_pending = not answered
    return facts


def _event(facts: ConvFacts, m: Message, resolved: bool) -> bool:
    """Note a status or handoff line; whether the conversation is resolved after it."""
    body = m.body
    if m.event is EventKind.AUTOMATION and HANDOFF_TEXT in body:
        facts.handoffs.append(m.created_at)
        return resolved
    if m.event is not EventKind.STATUS:
        return resolved
    if body.endswith(RESOLVED_TEXT):
        facts.resolutions.append(Stamp(m.created_at, m.author))
        return True
    if body.endswith(REOPENED_TEXTS):
        if resolved:
            facts.reopens.append(Stamp(m.created_at, m.author))
        return False
    if body.endswith(TO_BOT_TEXT) or body.endswith(_OTHER_STATUS_TEXTS):
        return False
    return resolved
