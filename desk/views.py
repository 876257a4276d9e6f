"""The conversation views of the console: which conversations each shows, sorted and filtered how."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from frontdesk.model import Conversation, Priority, Status

_ACTIVE = (Status.OPEN, Status.PENDING)


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
    by_id = sorted(conversations, key=lambda c: c.id)
    by_activity = sorted(by_id, key=lambda c: c.last_activity_at, reverse=True)
    if sort is Sort.ACTIVITY:
        return by_activity
    waiting = sorted((c for c in by_activity if c.waiting_since is not None), key=lambda c: c.waiting_since)
    answered = [c for c in by_activity if c.waiting_since is None]
    return waiting + answered


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

    @property
    def active(self) -> bool:
        return bool(self.channels or self.labels or self.priorities)

    def matches(self, conv: Conversation) -> bool:
        if self.channels and conv.channel not in self.channels:
            return False
        if self.labels and not self.labels.intersection(conv.labels):
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
        return " · ".join(parts)


def filter_conversations(conversations: Iterable[Conversation], filters: Filters) -> list[Conversation]:
    """The conversations that match every active facet of `filters`."""
    return [c for c in conversations if filters.matches(c)]


# ---- search snippets --------------------------------------------------------------------


def snippet(text: str, query: str, width: int = 80) -> str:
    """One line of `text` around the first occurrence of `query` (any case), with ellipses.

    Whitespace runs are folded to one space first; the match starts about a quarter of
    `width` into the snippet so the reader sees what leads up to it.
    """
    line = " ".join(text.split())
    at = line.casefold().find(query.casefold()) if query else -1
    if at < 0 or len(line.casefold()) != len(line):
        at = line.lower().find(query.lower()) if query else -1
    if len(line) <= width:
        return line
    start = max(0, at - width // 4) if at >= 0 else 0
    end = min(len(line), start + width)
    start = max(0, end - width)
    head = "…" if start > 0 else ""
    tail = "…" if end < len(line) else ""
    return head + line[start + len(head):end - len(tail)] + tail
