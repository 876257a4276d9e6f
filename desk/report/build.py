"""Build a report from a store or a desk: read each conversation's facts, then the figures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

from frontdesk.desk.report.facts import facts_of
from frontdesk.desk.report.figures import Grouping, Period, Report
from frontdesk.desk.report.metrics import BusinessSeconds, calendar_seconds, compute
from frontdesk.desk.sla import SlaPolicy
from frontdesk.model import utcnow


async def build_report(
    desk_or_store: Any,
    period: Period,
    grouping: Grouping = Grouping.AGENT,
    *,
    sla: SlaPolicy | None = None,
    business_seconds: BusinessSeconds | None = None,
    tz: tzinfo | None = None,
    now: Callable[[], datetime] | None = None,
) -> Report:
    """The report of `period` by `grouping` over every conversation of a Desk (its `store`,
    `sla` and clock) or a Store; `business_seconds(start, end)` counts open hours (default:
    calendar seconds) and `tz` is the zone days and hours are counted in (default UTC)."""
    store = getattr(desk_or_store, "store", desk_or_store)
    if sla is None:
        sla = getattr(desk_or_store, "sla", None)
    if now is None:
        now = getattr(desk_or_store, "now", utcnow)
    facts = [facts_of(conv, store.messages(conv.id)) for conv in store.conversations()]
    return compute(
        facts,
        period,
        grouping,
        sla=sla,
        business_seconds=business_seconds or calendar_seconds,
        business_hours=business_seconds is not None,
        tz=tz,
        now=now(),
    )
