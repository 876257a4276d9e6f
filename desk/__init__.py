"""The desk: the UI-agnostic core service (ingest, outbox, commands, change feed)."""

from frontdesk.desk.changes import Change, ChangeKind, Subscription
from frontdesk.desk.desk import Desk
from frontdesk.desk.errors import DeskError
from frontdesk.desk.search import SearchMatch
from frontdesk.desk.views import Filters, Sort, View, in_view

__all__ = [
    "Change",
    "ChangeKind",
    "Desk",
    "DeskError",
    "Filters",
    "SearchMatch",
    "Sort",
    "Subscription",
    "View",
    "in_view",
]
