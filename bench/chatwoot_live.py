"""A Chatwoot event to the frame: a customer writes on the fake Chatwoot, the console shows it.

Through the websocket, the live apply and the change feed to the list's row or the open thread.

Run alone: `python -m frontdesk.bench.chatwoot_live [conversations] [rate] [seconds]`.
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from frontdesk.bench.frames import FrameProbe, console_gc, probed, thread_settled
from frontdesk.bench.live import Arrivals
from frontdesk.bench.report import TERMINAL, Report, percentile

TOKEN = "bench-token"
TARGET_MS = 100.0
"""The issue's target: a websocket event to the frame, p95, on loopback."""


def _visible(app: Any) -> list[int]:
    """The conversations whose rows are on screen (a message elsewhere is never "shown")."""
    from frontdesk.tui.widgets.conversation_list import ROW_HEIGHT

    listing = app.conversation_list
    top = round(listing.scroll_y) // ROW_HEIGHT
    rows = max(1, listing.scrollable_content_region.height // ROW_HEIGHT)
    return [c.id for c in listing.conversations[top : top + rows]]


async def measure_chatwoot_live(
    report: Report, conversations: int = 200, rate: int = 10, seconds: float = 5.0
) -> list[float]:
    """Customer messages at `rate` a second on the fake; each one's latency (s) from the fake's
    broadcast to the end of the first frame showing it, added to `report` as p50 and p95."""
    from frontdesk.bench.chatwoot_fake import FakeChatwoot
    from frontdesk.chatwoot.desk import ChatwootDesk
    from frontdesk.config import DeskConfig
    from frontdesk.launch import make_app

    arrivals = Arrivals()
    sent_at, shown_at, conv_of = arrivals.sent_at, arrivals.shown_at, arrivals.conv_of

    rng = random.Random(5)
    async with FakeChatwoot(TOKEN) as fake:
        fake.seed(conversations, messages=4)
        with tempfile.TemporaryDirectory() as cache:
            config = DeskConfig(kind="chatwoot", url=fake.url, account_id=fake.account_id)
            desk = ChatwootDesk(config, TOKEN, Path(cache))
            await desk.start()
            try:
                await asyncio.wait_for(desk.synced.wait(), 30)
                await fake.wait_subscribed(timeout=30)
                probe = FrameProbe(arrivals.on_frame)
                app = probed(make_app(desk, cursor_blink=False), probe)
                async with console_gc(), app.run_test(size=TERMINAL, headless=False):
                    await thread_settled(app, probe)
                    count = max(3, int(rate * seconds))
                    start = time.perf_counter()
                    for seq in range(1, count + 1):
                        delay = start + (seq - 1) / rate - time.perf_counter()
                        if delay > 0:
                            await asyncio.sleep(delay)
                        conv_id = rng.choice(_visible(app))
                        conv_of[seq] = conv_id
                        sent_at[seq] = time.perf_counter()
                        await fake.customer_says(conv_id, f"QX{seq:06d}QX is my parcel on its way?")
                    end = time.perf_counter() + 3
                    while time.perf_counter() < end and len(shown_at) < count:
                        await asyncio.sleep(0.02)
                    await probe.quiet()
            finally:
                await desk.stop()
    latencies = [shown_at[s] - sent_at[s] for s in sent_at if s in shown_at]
    missing = len(sent_at) - len(latencies)
    label = f"at {rate} msg/s, {conversations} conversations"
    p95 = percentile(latencies, 95) * 1000 if latencies else float("nan")
    report.add(
        "chatwoot.live.p50",
        f"Chatwoot event to frame p50 {label}",
        percentile(latencies, 50) * 1000 if latencies else float("nan"),
        "ms",
    )
    report.add(
        "chatwoot.live.p95",
        f"Chatwoot event to frame p95 {label}",
        p95,
        "ms",
        f"< {TARGET_MS:g} ms",
        p95 < TARGET_MS and not missing,
    )
    if missing:
        report.notes.append(f"Chatwoot live {label}: {missing} messages never appeared in 3 s")
    return latencies


def main(argv: list[str]) -> int:
    conversations, rate, seconds = (int(argv[0]) if argv else 200), 10, 5.0
    if len(argv) > 1:
        rate = int(argv[1])
    if len(argv) > 2:
        seconds = float(argv[2])
    report = Report(sizes={"conversations": conversations, "rate": rate, "seconds": seconds})
    asyncio.run(measure_chatwoot_live(report, conversations, rate, seconds))
    for f in report.figures:
        met = "" if f.met is None else (" met" if f.met else " missed")
        print(
            f"{f.label}: {f.value:.1f} {f.unit}{' (target ' + f.target + met + ')' if f.target else ''}"
        )
    for note in report.notes:
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
