"""Reports: `frontdesk report` over the large cache, against one read of its conversation index."""

from __future__ import annotations

import asyncio
import statistics
import time

from frontdesk.bench.cache import Cache
from frontdesk.bench.report import Report

REPORT_DAYS = 30


def _timed_report(cache: Cache) -> tuple[float, float]:
    """(seconds to open the cache read-only, which reads the conversation index; seconds for a
    30-day report by agent on it, as `frontdesk report` makes one in a new process)."""
    from frontdesk.desk.report import Grouping, Period, build_report
    from frontdesk.model import utcnow
    from frontdesk.store import Store

    started = time.perf_counter()
    with Store.open(cache.root, readonly=True) as store:
        opened = time.perf_counter()
        period = Period.last(REPORT_DAYS, utcnow())
        asyncio.run(build_report(store, period, Grouping.AGENT))
        done = time.perf_counter()
    return opened - started, done - opened


def measure_reports(cache: Cache, runs: int, report: Report) -> None:
    first_index, first = _timed_report(cache)  # reads every thread, saves the facts
    index, warm = zip(*(_timed_report(cache) for _ in range(max(1, runs))), strict=True)
    index_s, warm_s = statistics.median(index), statistics.median(warm)
    report.add("reports.first", "report, first ever (reads every thread, saves facts)", first, "s")
    report.add(
        "reports.median",
        f"report of {REPORT_DAYS} days by agent (median of {len(warm)})",
        warm_s,
        "s",
        "< 1 s",
        warm_s < 1.0,
    )
    report.add("reports.index", "one read of the conversation index", index_s, "s")
    report.add("reports.ratio", "report ÷ index read", warm_s / max(index_s, 1e-9), "x")
