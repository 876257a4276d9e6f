"""Live arrival: an inbound message handed to the desk until a frame shows it, at set rates."""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from frontdesk.bench.cache import Cache, inbound
from frontdesk.bench.frames import FrameProbe, console_gc, probed, thread_settled
from frontdesk.bench.report import TERMINAL, Report, percentile

LIVE_TOKEN = re.compile(r"QX(\d{6})QX")


@dataclass
class Arrivals:
    """Messages sent by number (`QX000001QX` in their text): when each was sent, to which
    conversation, and when a frame first showed it (`on_frame` is a FrameProbe's callback)."""

    sent_at: dict[int, float] = field(default_factory=dict)
    shown_at: dict[int, float] = field(default_factory=dict)
    conv_of: dict[int, int] = field(default_factory=dict)

    def on_frame(self, now: float, text: str) -> None:
        for match in LIVE_TOKEN.finditer(text):
            seq = int(match.group(1))
            if seq in self.sent_at and seq not in self.shown_at:
                # an earlier message of the same conversation that never showed was replaced
                # by this one in the list's preview: the agent sees the newer state now
                conv = self.conv_of[seq]
                for earlier, c in self.conv_of.items():
                    if c == conv and earlier <= seq and earlier not in self.shown_at:
                        self.shown_at[earlier] = now


def _visible_threads(app: Any, by_id: dict[int, Any]) -> list[Any]:
    """Threads of the conversations in the list's viewport.

    The list keeps its cursor on the agent's conversation, so arrivals in others push it
    down and the list scrolls with it: a message for a conversation off screen is never
    "on screen". Live traffic goes to what the agent can see.
    """
    from frontdesk.tui.widgets.conversation_list import ROW_HEIGHT

    listing = app.conversation_list
    top = round(listing.scroll_y) // ROW_HEIGHT
    rows = max(1, listing.scrollable_content_region.height // ROW_HEIGHT)
    return [by_id[c.id] for c in listing.conversations[top : top + rows] if c.id in by_id]


async def measure_live(
    cache: Cache,
    rates: Sequence[int],
    seconds: float,
    report: Report,
    seq_start: int = 0,
    sustained: bool = False,
) -> int:
    """Inbound events at each rate; event handed to the desk → first frame showing it.

    `sustained` names the figures as a long run's (`live.sustained.…`): a few seconds see no
    full collection of the garbage collector, half a minute at 100 msg/s sees several.
    """
    from frontdesk.desk import Desk
    from frontdesk.launch import make_app
    from frontdesk.store import Store

    arrivals = Arrivals()
    sent_at, shown_at, conv_of = arrivals.sent_at, arrivals.shown_at, arrivals.conv_of

    seq = seq_start
    rng = random.Random(3)
    by_id = {t.conversation_id: t for t in cache.threads}
    with Store.open(cache.root) as store:
        desk = Desk(store, agent="Aiko")
        probe = FrameProbe(arrivals.on_frame)
        app = probed(make_app(desk, cursor_blink=False), probe)
        async with console_gc(), app.run_test(size=TERMINAL, headless=False):
            await thread_settled(app, probe)
            arriving: list[asyncio.Task[None]] = []
            for rate in rates:
                first = seq + 1
                count = max(3, int(rate * seconds))
                start = time.perf_counter()
                behind = 0.0
                for i in range(count):
                    due = start + i / rate
                    delay = due - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    else:
                        behind = max(behind, -delay)
                    seq += 1
                    thread = rng.choice(_visible_threads(app, by_id) or cache.threads)
                    conv_of[seq] = thread.conversation_id
                    sent_at[seq] = time.perf_counter()
                    # as webhook requests do: one arrival does not wait for the last one's disk sync
                    arriving.append(
                        asyncio.create_task(
                            desk.ingest(
                                thread.channel, [inbound(thread, seq, "is my parcel on its way?")]
                            )
                        )
                    )
                await asyncio.gather(*arriving)
                arriving.clear()
                end = time.perf_counter() + 3
                while time.perf_counter() < end and any(
                    s not in shown_at for s in range(first, seq + 1)
                ):
                    await asyncio.sleep(0.02)
                lat = [shown_at[s] - sent_at[s] for s in range(first, seq + 1) if s in shown_at]
                missing = (seq + 1 - first) - len(lat)
                p95 = percentile(lat, 95) * 1000
                key, label = (
                    (f"live.sustained.{rate}", f"at {rate} msg/s for {seconds:g} s")
                    if sustained
                    else (f"live.{rate}", f"at {rate} msg/s")
                )
                report.add(
                    f"{key}.p50", f"live arrival p50 {label}", percentile(lat, 50) * 1000, "ms"
                )
                target = "< 50 ms" if rate >= 100 else ""
                report.add(
                    f"{key}.p95",
                    f"live arrival p95 {label}",
                    p95,
                    "ms",
                    target,
                    (p95 < 50 and not missing) if target else None,
                )
                if missing:
                    report.notes.append(
                        f"live {label}: {missing} of {count} messages never appeared within 3 s"
                    )
                if behind > 0.05:
                    report.notes.append(
                        f"live {label}: the sender fell {behind:.2f} s behind schedule"
                    )
                await probe.quiet()
    return seq
