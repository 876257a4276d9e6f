"""Reports: `frontdesk report` over the large cache, against one read of its conversation index."""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from frontdesk.bench.cache import Cache
from frontdesk.bench.report import Report

REPORT_DAYS = 30
HOURS_ZONE = "Asia/Tokyo"
OPEN_DAYS = (((9 * 60, 18 * 60),),) * 5 + ((), ())
"""Business hours of the second figure: Monday to Friday, 09:00–18:00 Tokyo."""


def _business() -> tuple[Any, Any]:
    from zoneinfo import ZoneInfo

    from frontdesk.config import ChannelHours, HoursConfig, Schedule
    from frontdesk.desk.automation.hours import ChannelClock

    clock = ChannelClock(HoursConfig(ChannelHours(Schedule(HOURS_ZONE, OPEN_DAYS))))
    return clock.business_seconds, ZoneInfo(HOURS_ZONE)


def _timed_report(cache: Cache, hours: bool = False) -> tuple[float, float]:
    """(seconds to open the cache read-only, which reads the conversation index; seconds for a
    30-day report by agent on it, as `frontdesk report` makes one in a new process)."""
    from frontdesk.desk.report import Grouping, Period, build_report
    from frontdesk.model import utcnow
    from frontdesk.store import Store

    business, tz = _business() if hours else (None, None)
    started = time.perf_counter()
    with Store.open(cache.root, readonly=True) as store:
        opened = time.perf_counter()
        period = Period.last(REPORT_DAYS, utcnow())
        asyncio.run(build_report(store, period, Grouping.AGENT, business_seconds=business, tz=tz))
        done = time.perf_counter()
    return opened - started, done - opened


def measure_reports(cache: Cache, runs: int, report: Report) -> None:
    _, first = _timed_report(cache)  # reads every thread, saves the facts
    index, warm = zip(*(_timed_report(cache) for _ in range(max(1, runs))), strict=True)
    index_s, warm_s = statistics.median(index), statistics.median(warm)
    hours_s = statistics.median(_timed_report(cache, hours=True)[1] for _ in range(max(1, runs)))
    report.add("reports.first", "report, first ever (reads every thread, saves facts)", first, "s")
    report.add(
        "reports.median",
        f"report of {REPORT_DAYS} days by agent (median of {len(warm)})",
        warm_s,
        "s",
        "< 1 s",
        warm_s < 1.0,
    )
    report.add(
        "reports.business.median",
        "the same with business hours (Mon–Fri 09–18 Tokyo)",
        hours_s,
        "s",
        "< 1 s",
        hours_s < 1.0,
    )
    report.add("reports.index", "one read of the conversation index", index_s, "s")
    report.add("reports.ratio", "report ÷ index read", warm_s / max(index_s, 1e-9), "x")
