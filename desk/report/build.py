"""Build a report from a store or a desk: every conversation's facts (`cache.py`), then figures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

from frontdesk.desk.report.cache import FILE_NAME, FactsCache
from frontdesk.desk.report.figures import Grouping, Period, Report
from frontdesk.desk.report.metrics import BusinessSeconds, compute
from frontdesk.desk.sla import SlaPolicy
from frontdesk.model import utcnow
from frontdesk.store import Store


def facts_cache(store: Store) -> FactsCache:
    """The facts cache saved in the store's data dir."""
    return FactsCache(store.root / FILE_NAME)


async def build_report(
    desk_or_store: Any,
    period: Period,
    grouping: Grouping = Grouping.AGENT,
    *,
    sla: SlaPolicy | None = None,
    business_seconds: BusinessSeconds | None = None,
    tz: tzinfo | None = None,
    now: Callable[[], datetime] | None = None,
    cache: FactsCache | None = None,
) -> Report:
    """The report of `period` by `grouping` over every conversation of a Desk (its `store`,
    `sla` and clock) or a Store. `business_seconds(channel, start, end)` counts open hours (None:
    business time is calendar time), `tz` is the zone of days and hours (None: UTC), `cache`
    the facts kept between reports (None: the one saved in the data dir, read now)."""
    store: Store = getattr(desk_or_store, "store", desk_or_store)
    if sla is None:
        sla = getattr(desk_or_store, "sla", None)
    clock = now or getattr(desk_or_store, "now", utcnow)
    current = await (cache or facts_cache(store)).current(store)
    return compute(
        current,
        period,
        grouping,
        sla=sla,
        business_seconds=business_seconds,
        tz=tz,
        now=clock(),
    )
