"""The conversation views of the console and the rule that puts a conversation in each."""

from __future__ import annotations

from enum import StrEnum

from frontdesk.model import Conversation, Status

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
