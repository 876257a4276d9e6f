"""bench/chatwoot_keys.py, small: it times list moves while the seen cache saves, and the save's steps."""

from __future__ import annotations

from frontdesk.bench.chatwoot_keys import measure_keys_while_saving, measure_save_steps
from frontdesk.bench.report import Report


async def test_the_keys_bench_times_moves_while_the_seen_cache_saves() -> None:
    report = Report(sizes={})
    latencies, writes = await measure_keys_while_saving(
        report, 120, rate=20, presses=6, save_delay=0.05
    )
    assert len(latencies) >= 4 and writes >= 1
    keys = {f.key for f in report.figures}
    assert {"chatwoot.keys.save.p95", "chatwoot.keys.save.max", "chatwoot.keys.save.stall"} <= keys


def test_the_save_steps_are_timed() -> None:
    report = Report(sizes={})
    assert 0 < measure_save_steps(report, 600, runs=1) < 1.0
    assert [f.key for f in report.figures] == ["chatwoot.save.step"]
