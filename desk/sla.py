"""SLAs: first- and next-response targets by priority, when a reply is due, and how to say it.

A conversation waits for a person from `waiting_since` (its oldest unanswered customer
message); before any reply the *first* response target applies, after one the *next*.
Only open and pending conversations are due. The desk stamps `sla_due_at`/`sla_kind` on each
conversation it writes (`stamp`), so the console, a served desk's consoles and reports read
the same due time without the policy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from frontdesk.model import Conversation, Priority, Status

DUE = (Status.OPEN, Status.PENDING)
AUTHOR = "⚙ SLA"
"""How the SLA clock signs its thread lines (`automation_author("SLA")`)."""


@dataclass(frozen=True, slots=True)
class SlaTarget:
    """How long a customer may wait for the first reply and for each next one (None: no target)."""

    first: timedelta | None = None
    next: timedelta | None = None


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """Targets by priority; `after(channel, start, span)` adds a target to a start time
    (calendar time by default; the channel's business hours when the SLA counts only those)."""

    targets: Mapping[Priority, SlaTarget] = field(default_factory=dict)
    after: Callable[[str, datetime, timedelta], datetime] | None = None

    def due(self, conv: Conversation) -> tuple[str, datetime] | None:
        """Which response is due and when, or None (not waiting, not due, no target)."""
        if conv.status not in DUE or conv.waiting_since is None:
            return None
        target = self.targets.get(conv.priority)
        if target is None:
            return None
        kind, span = (
            ("first", target.first) if conv.first_reply_at is None else ("next", target.next)
        )
        if span is None:
            return None
        start = conv.waiting_since
        return kind, (self.after(conv.channel, start, span) if self.after else start + span)


def stamp(conv: Conversation, policy: SlaPolicy) -> None:
    """Set the conversation's derived `sla_due_at` and `sla_kind` from `policy` (a new due
    time is not breached yet)."""
    due = policy.due(conv)
    kind, at = due if due is not None else ("", None)
    if at != conv.sla_due_at:
        conv.sla_breached = False  # a new due time: the SLA clock says when it passes
    conv.sla_kind, conv.sla_due_at = kind, at


def breached(conv: Conversation, now: datetime) -> bool:
    """The awaited reply is past due."""
    return conv.sla_due_at is not None and conv.status in DUE and conv.sla_due_at <= now


def short_span(span: timedelta) -> str:
    """ "45s" → "1m", "12m", "1h5m", "2d3h": the list's width."""
    minutes = max(1, -(-int(span.total_seconds()) // 60))
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h{mins}m" if mins else f"{hours}h"
    return f"{mins}m"


def sla_label(conv: Conversation, now: datetime) -> tuple[str, bool]:
    """The list's SLA mark and whether it is a breach: ("⏱12m", False), ("SLA +5m", True), or
    ("", False) when nothing is due."""
    if conv.sla_due_at is None or conv.status not in DUE:
        return "", False
    left = conv.sla_due_at - now
    if left <= timedelta(0):
        return f"SLA +{short_span(-left)}", True
    return f"⏱{short_span(left)}", False


def overdue_text(conv: Conversation, policy: SlaPolicy) -> str:
    """ "⚙ SLA first reply overdue: due Fri 4 Dec 14:05 UTC (urgent: 15m)", the breach's line."""
    target = policy.targets.get(conv.priority)
    span = (target.first if conv.sla_kind == "first" else target.next) if target else None
    which = "first reply" if conv.sla_kind == "first" else "reply"
    rule = f" ({conv.priority.value}: {short_span(span)})" if span else ""
    due = conv.sla_due_at
    when = f"{due.astimezone(timezone.utc):%a %d %b %H:%M} UTC" if due else "now"
    return f"{AUTHOR} {which} overdue: due {when}{rule}"
