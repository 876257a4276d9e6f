"""Keys on a big Chatwoot account while customers write: list moves' latency with the seen cache saving.

A ChatwootDesk on the loopback fake holds `conversations` (every status's list paged to its end);
customers write at `rate` a second while list moves (j/k inside the visible page) are timed from
the key event to the end of its frame. Run once with the seen cache's saves at their usual
interval and once with them held off, so what the saves cost the keys shows in p95/max.

Run alone: `python -m frontdesk.bench.chatwoot_keys [conversations] [rate] [presses]`.
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from frontdesk.bench.frames import FrameProbe, console_gc, probed, thread_settled
from frontdesk.bench.keys import page_move_latencies
from frontdesk.bench.report import TERMINAL, Report, percentile

TOKEN = "bench-token"
HELD_OFF = 1e9
"""A save delay no run reaches: the seen cache is not written while keys are timed."""


async def _customers(fake: Any, conv_ids: list[int], rate: int, stop: asyncio.Event) -> int:
    """Customer messages at `rate` a second in random held conversations until `stop`."""
    rng = random.Random(11)
    sent = 0
    start = time.perf_counter()
    while not stop.is_set():
        sent += 1
        delay = start + sent / rate - time.perf_counter()
        if delay > 0:
            try:
                await asyncio.wait_for(stop.wait(), delay)
                break
            except TimeoutError:
                pass
        await fake.customer_says(rng.choice(conv_ids), f"is my parcel on its way? ({sent})")
    return sent


class LoopStalls:
    """The event loop's stalls: how late each 5 ms tick wakes (what a key would wait on top)."""

    def __init__(self) -> None:
        self.lates: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._tick())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _tick(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            self.lates.append(time.perf_counter() - before - 0.005)


async def measure_keys_while_saving(
    report: Report,
    conversations: int = 10_000,
    rate: int = 10,
    presses: int = 80,
    save_delay: float = 2.0,
) -> tuple[list[float], int]:
    """List-move latencies (s) on a desk holding `conversations` while customers write at
    `rate`; the seen cache saved every `save_delay` s (HELD_OFF: never). Also the writes made."""
    from frontdesk.bench.chatwoot_fake import FakeChatwoot
    from frontdesk.chatwoot.desk import ChatwootDesk, Timing
    from frontdesk.config import DeskConfig
    from frontdesk.desk.views import View
    from frontdesk.launch import make_app

    async with FakeChatwoot(TOKEN) as fake:
        fake.seed(conversations, messages=2)
        with tempfile.TemporaryDirectory() as cache:
            config = DeskConfig(kind="chatwoot", url=fake.url, account_id=fake.account_id)
            timing = replace(Timing(), save_delay=save_delay)
            desk = ChatwootDesk(config, TOKEN, Path(cache), timing=timing)
            await desk.start()
            stop = asyncio.Event()
            try:
                await asyncio.wait_for(desk.synced.wait(), 30)
                await fake.wait_subscribed(timeout=30)
                for view in (View.ALL, View.SNOOZED, View.RESOLVED, View.BOT):
                    while await desk.more(view):
                        pass
                held = list(desk.state.conversations)
                probe = FrameProbe()
                app = probed(make_app(desk, cursor_blink=False), probe)
                async with console_gc(), app.run_test(size=TERMINAL, headless=False):
                    await thread_settled(app, probe)
                    customers = asyncio.create_task(_customers(fake, held, rate, stop))
                    stalls = LoopStalls()
                    stalls.start()
                    latencies = await page_move_latencies(app, probe, presses)
                    await stalls.stop()
                    stop.set()
                    await customers
            finally:
                stop.set()
                writes = desk._saver.writes if desk._saver is not None else 0
                await desk.stop()
    label = f"{len(held):,} conversations held, {rate} msg/s, " + (
        "seen cache not saved" if save_delay >= HELD_OFF else f"saved every {save_delay:g} s"
    )
    key = "nosave" if save_delay >= HELD_OFF else "save"
    report.add(f"chatwoot.keys.{key}.p95", f"List move p95, {label}", _ms(latencies, 95), "ms")
    report.add(f"chatwoot.keys.{key}.max", f"List move max, {label}", _ms(latencies, 100), "ms")
    report.add(
        f"chatwoot.keys.{key}.stall",
        f"Event loop's longest stall, {label}",
        _ms(stalls.lates, 100),
        "ms",
    )
    report.add(
        f"chatwoot.keys.{key}.stall99",
        f"Event loop stall p99, {label}",
        _ms(stalls.lates, 99),
        "ms",
    )
    return latencies, writes


def measure_save_steps(report: Report, conversations: int = 10_000, runs: int = 3) -> float:
    """The longest the seen cache's save holds the event loop in one step (ms, the worst of
    `runs`), for a state of `conversations` and 64 kept threads of 200 messages."""
    from frontdesk.bench.chatwoot import seen_state
    from frontdesk.chatwoot.seen_cache import _encode_steps

    state = seen_state(conversations, 64, 200)
    longest = 0.0
    for _ in range(runs):
        steps = _encode_steps(state, "bench")
        while True:
            started = time.perf_counter()
            try:
                next(steps)
            except StopIteration:
                longest = max(longest, time.perf_counter() - started)
                break
            longest = max(longest, time.perf_counter() - started)
    report.add(
        "chatwoot.save.step",
        f"Seen cache save: longest event-loop step, {conversations:,} conversations",
        longest * 1000,
        "ms",
    )
    return longest


def _ms(latencies: list[float], pct: float) -> float:
    if not latencies:
        return float("nan")
    return (max(latencies) if pct >= 100 else percentile(latencies, pct)) * 1000


def main(argv: list[str]) -> int:
    conversations = int(argv[0]) if argv else 10_000
    rate = int(argv[1]) if len(argv) > 1 else 10
    presses = int(argv[2]) if len(argv) > 2 else 80
    report = Report(sizes={"conversations": conversations, "rate": rate, "presses": presses})
    measure_save_steps(report, conversations)
    for delay in (HELD_OFF, 2.0):
        _, writes = asyncio.run(
            measure_keys_while_saving(report, conversations, rate, presses, delay)
        )
        print(f"(seen cache writes during the run: {writes})")
    for f in report.figures:
        print(f"{f.label}: {f.value:.1f} {f.unit}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
