"""The conversation views of the console: which conversations each shows, sorted and filtered how."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from operator import attrgetter

from frontdesk.model import Conversation, Priority, Status
from frontdesk.store.search import find_folded, fold, phone_digits

_ACTIVE = (Status.OPEN, Status.PENDING)
_DIGIT = re.compile(r"\d")


class View(StrEnum):
    MINE = "mine"
    UNASSIGNED = "unassigned"
    ALL = "all"
    ESCALATED = "escalated"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"

    @property
    def title(self) -> str:
        return _TITLES[self]


_TITLES = {
    View.MINE: "Mine",
    View.UNASSIGNED: "Unassigned",
    View.ALL: "All open",
    View.ESCALATED: "Escalated",
    View.SNOOZED: "Snoozed",
    View.RESOLVED: "Resolved",
}


def in_view(conv: Conversation, view: View, agent: str) -> bool:
    match view:
        case View.MINE:
            return conv.assignee == agent and conv.status in _ACTIVE
        case View.UNASSIGNED:
            return conv.assignee is None and conv.status in _ACTIVE
        case View.ALL:
            return conv.status in _ACTIVE
        case View.ESCALATED:
            return conv.team is not None and conv.status is not Status.RESOLVED
        case View.SNOOZED:
            return conv.status is Status.SNOOZED
        case View.RESOLVED:
            return conv.status is Status.RESOLVED
    return False


class ViewTally:
    """How many conversations each view holds, kept up to date one conversation at a time.

    Membership depends only on a few facts of a conversation (status, whose it is, whether
    it is escalated, whether it passes the filters), so conversations are tallied by those
    facts, and each distinct set of facts is tested against the views once when counting.
    """

    def __init__(self, agent: str, filters: Filters | None = None) -> None:
        self.agent = agent
        self.filters = filters if filters is not None else Filters()
        self._facts: dict[int, tuple[Status, str | None, bool] | None] = {}
        self._tally: dict[tuple[Status, str | None, bool], int] = {}

    def reset(self, conversations: Iterable[Conversation]) -> None:
        facts, tally, agent = self._facts, self._tally, self.agent
        matches = self.filters.matches if self.filters.active else None
        facts.clear()
        tally.clear()
        for conv in (
            conversations
        ):  # update() and _facts_of() inlined: this runs over the whole cache at start
            if matches is not None and not matches(conv):
                facts[conv.id] = None
                continue
            assignee = conv.assignee
            key = facts[conv.id] = (
                conv.status,
                None if assignee is None else ("me" if assignee == agent else "other"),
                conv.team is not None,
            )
            tally[key] = tally.get(key, 0) + 1

    def update(self, conv: Conversation) -> None:
        """Count `conv` as it is now (replacing what was counted for it before)."""
        self._uncount(conv.id)
        facts = self._facts_of(conv)
        self._facts[conv.id] = facts
        if facts is not None:
            self._tally[facts] = self._tally.get(facts, 0) + 1

    def remove(self, conv_id: int) -> None:
        self._uncount(conv_id)
        self._facts.pop(conv_id, None)

    def counts(self) -> dict[View, int]:
        counts = dict.fromkeys(View, 0)
        for (status, whose, escalated), n in self._tally.items():
            sample = Conversation(
                id=0,
                channel="",
                thread_key="",
                contact_id=0,
                status=status,
                assignee=None
                if whose is None
                else (self.agent if whose == "me" else f"{self.agent}\x00other"),
                team="escalated" if escalated else None,
            )
            for view in View:
                if in_view(sample, view, self.agent):
                    counts[view] += n
        return counts

    def _uncount(self, conv_id: int) -> None:
        old = self._facts.get(conv_id)
        if old is not None:
            self._tally[old] -= 1

    def _facts_of(self, conv: Conversation) -> tuple[Status, str | None, bool] | None:
        if self.filters.active and not self.filters.matches(conv):
            return None
        whose = (
            None if conv.assignee is None else ("me" if conv.assignee == self.agent else "other")
        )
        return (conv.status, whose, conv.team is not None)


# ---- sorting ----------------------------------------------------------------------------


class Sort(StrEnum):
    """How a view is ordered."""

    WAITING = "waiting"  # the customer who has waited longest first
    ACTIVITY = "activity"  # the newest activity first

    @property
    def title(self) -> str:
        return _SORT_TITLES[self]

    @property
    def toggled(self) -> Sort:
        return Sort.ACTIVITY if self is Sort.WAITING else Sort.WAITING


_SORT_TITLES = {Sort.WAITING: "longest waiting first", Sort.ACTIVITY: "latest activity first"}


def sort_conversations(conversations: Iterable[Conversation], sort: Sort) -> list[Conversation]:
    """`conversations` in the order of `sort`.

    WAITING: conversations with a customer waiting come first, the oldest `waiting_since`
    at the top; the answered ones follow, newest activity first. ACTIVITY: newest
    `last_activity_at` first. Ties keep the id order (lowest first), so the order is stable.
    """
    by_id = sorted(conversations, key=attrgetter("id"))
    by_activity = sorted(
        by_id, key=attrgetter("last_activity_at"), reverse=True
    )  # stable: ties stay by id
    if sort is Sort.ACTIVITY:
        return by_activity
    waiting = sorted(
        (c for c in by_activity if c.waiting_since is not None), key=lambda c: c.waiting_since
    )
    answered = [c for c in by_activity if c.waiting_since is None]
    return waiting + answered


def sort_key(sort: Sort) -> Callable[[Conversation], tuple]:
    """The key that orders conversations as `sort_conversations` does, for placing one
    conversation into an already sorted list (`bisect.insort(..., key=sort_key(sort))`)."""
    if sort is Sort.ACTIVITY:
        return lambda c: (-c.last_activity_at.timestamp(), c.id)

    def waiting_first(c: Conversation) -> tuple:
        activity = -c.last_activity_at.timestamp()
        if c.waiting_since is None:
            return (1, 0.0, activity, c.id)
        return (0, c.waiting_since.timestamp(), activity, c.id)

    return waiting_first


# ---- filtering --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Filters:
    """What the agent narrowed the list to; an empty set means "any".

    Within one facet the values are alternatives (channel wa OR mail); across facets all
    must hold (channel wa AND label vip). A conversation matches a label filter when it
    carries any of the chosen labels.
    """

    channels: frozenset[str] = frozenset()
    labels: frozenset[str] = frozenset()
    priorities: frozenset[Priority] = frozenset()
    breaching: bool = False  # only conversations whose awaited reply is past its SLA

    @property
    def active(self) -> bool:
        return bool(self.channels or self.labels or self.priorities or self.breaching)

    def matches(self, conv: Conversation) -> bool:
        if self.channels and conv.channel not in self.channels:
            return False
        if self.labels and not self.labels.intersection(conv.labels):
            return False
        if self.breaching and not conv.sla_breached:
            return False
        return not self.priorities or conv.priority in self.priorities

    def describe(self) -> str:
        """One line for the screen, e.g. "channel wa · label vip, refund · priority urgent"."""
        parts = []
        if self.channels:
            parts.append("channel " + ", ".join(sorted(self.channels)))
        if self.labels:
            parts.append("label " + ", ".join(sorted(self.labels)))
        if self.priorities:
            ordered = [p.value for p in Priority if p in self.priorities]
            parts.append("priority " + ", ".join(ordered))
        if self.breaching:
            parts.append("SLA breached")
        return " · ".join(parts)


def filter_conversations(
    conversations: Iterable[Conversation], filters: Filters
) -> list[Conversation]:
    """The conversations that match every active facet of `filters`."""
    return [c for c in conversations if filters.matches(c)]


# ---- search snippets --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Snippet:
    """One line cut from a longer text, and where the query shows in it."""

    text: str
    matches: tuple[tuple[int, int], ...]  # (start, end) spans of `text` that fold to the query


def snippet(text: str, query: str, width: int = 80) -> Snippet:
    """One line of `text` around the first match of `query`, compared folded as search does
    (`jose` finds José, `かたかな` finds カタカナ), with ellipses, and the spans it shows matching.

    Whitespace runs are folded to one space first (in the query too); the match starts about
    a quarter of `width` into the snippet so the reader sees what leads up to it.
    """
    line, needle = " ".join(text.split()), fold(" ".join(query.split()))
    first = find_folded(line, needle) or _phone_match(line, phone_digits(query))
    start, end = 0, len(line)
    if len(line) > width:
        start = max(0, first[0] - width // 4) if first else 0
        end = min(len(line), start + width)
        start = max(0, end - width)
    head = "…" if start > 0 else ""
    tail = "…" if end < len(line) else ""
    shown_from, shown_to = start + len(head), end - len(tail)
    spans = [first, *_matches(line[:shown_to], needle, first[1])] if first else []
    visible = [
        (max(a, shown_from) - start, min(b, shown_to) - start)
        for a, b in spans
        if a < shown_to and b > shown_from
    ]
    return Snippet(head + line[shown_from:shown_to] + tail, tuple(visible))


def _phone_match(line: str, digits: str) -> tuple[int, int] | None:
    """The span of `line` whose digits are `digits`, punctuation between them included (search
    finds phones by digits: `+1 312 934 3528` finds `+1 (312) 934-3528`)."""
    if not digits:
        return None
    where = [m.start() for m in _DIGIT.finditer(line)]
    at = "".join(line[i] for i in where).find(digits)
    return (where[at], where[at + len(digits) - 1] + 1) if at >= 0 else None


def _matches(line: str, needle: str, start: int) -> Iterator[tuple[int, int]]:
    """The spans of `line` from `start` on that fold to `needle`, left to right, not overlapping."""
    span = find_folded(line, needle, start)
    while span is not None:
        yield span
        span = find_folded(line, needle, span[1])


# ---- what a view shows: one answer for the in-process desk and the team client's replica ----


def select_view(
    conversations: Iterable[Conversation],
    view: View,
    agent: str,
    sort: Sort | None,
    filters: Filters,
) -> list[Conversation]:
    """The conversations of `view` (for `agent`) that match `filters`, in `sort`'s order (None: as given)."""
    found = [c for c in conversations if in_view(c, view, agent)]
    if filters.active:
        found = filter_conversations(found, filters)
    return found if sort is None else sort_conversations(found, sort)


def tally_of(conversations: Iterable[Conversation], agent: str, filters: Filters) -> ViewTally:
    """View counts over `conversations`, for a console to keep current from the change feed."""
    tally = ViewTally(agent, filters)
    tally.reset(conversations)
    return tally


def labels_in_use(conversations: Iterable[Conversation]) -> list[str]:
    """Every label on any of `conversations`, sorted without regard to case."""
    return sorted({label for conv in conversations for label in conv.labels}, key=str.casefold)
