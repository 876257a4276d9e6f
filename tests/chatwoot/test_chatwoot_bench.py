"""The Chatwoot live bench runs small: a customer's message on the fake reaches a frame of the console."""

from __future__ import annotations

from frontdesk.bench.chatwoot_live import measure_chatwoot_live
from frontdesk.bench.report import Report


async def test_each_message_on_the_fake_reaches_a_frame():
    report = Report(sizes={})
    latencies = await measure_chatwoot_live(report, conversations=30, rate=20, seconds=0.5)
    assert len(latencies) == 10 and all(0 < s < 3 for s in latencies)
    assert [f.key for f in report.figures] == ["chatwoot.live.p50", "chatwoot.live.p95"]
    assert report.notes == []
