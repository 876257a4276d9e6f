"""Keypress latency: list moves, paging the long thread and a held key, vs a bare Textual app."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import Any

from frontdesk.bench.cache import Cache
from frontdesk.bench.frames import (
    FrameProbe,
    console_gc,
    drawn_when,
    press_latencies,
    probed,
    thread_settled,
)
from frontdesk.bench.report import TERMINAL, Report, percentile

HELD_KEY_RATE = 30.0  # presses a second: a terminal's key repeat


def bare_app(scroll: bool = False) -> Any:
    """The baseline: a full-screen ScrollView whose key handler repaints one line. With
    `scroll`, the same view scrolls one line a key instead (Textual's own cost of a scroll,
    shown beside the baseline for reference)."""
    from rich.segment import Segment
    from textual.app import App, ComposeResult
    from textual.binding import Binding
    from textual.geometry import Region, Size
    from textual.scroll_view import ScrollView
    from textual.strip import Strip

    class OneLine(ScrollView, can_focus=True):
        BINDINGS = [Binding("j,k,down,up,pageup,pagedown", "tick", "Tick")]

        def __init__(self) -> None:
            super().__init__()
            self.count = 0

        def on_mount(self) -> None:
            self.virtual_size = Size(self.size.width, 100_000 if scroll else self.size.height)

        def render_line(self, y: int) -> Strip:
            width, height = self.size.width, max(1, self.size.height)
            line = y + round(self.scroll_y)
            if scroll:
                text = f" line {line}"
            else:
                text = f" line {y} · {self.count} presses" if y == self.count % height else ""
            return Strip([Segment(text.ljust(width)[:width])], width)

        def action_tick(self) -> None:
            height = max(1, self.size.height)
            old = self.count % height
            self.count += 1
            if scroll:
                self.scroll_to(y=self.count, animate=False, immediate=True)
                return
            new = self.count % height
            self.refresh(Region(0, old, self.size.width, 1), Region(0, new, self.size.width, 1))

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield OneLine()

        def on_mount(self) -> None:
            self.query_one(OneLine).focus()

        @property
        def presses(self) -> int:
            return self.query_one(OneLine).count

    return Bare()


async def held_key_latencies(
    app: Any, probe: FrameProbe, key: str, count: int, rate: float, moves: Callable[[], int]
) -> tuple[list[float], float]:
    """A held-down key: `count` presses at `rate` a second, sent on schedule whatever the
    screen does (as a terminal's key repeat does). For each press, seconds to the end of the
    first frame that shows its move: `moves()` (presses handled so far, as the screen shows
    them) has reached it. Also the time of the last press."""
    from textual import events

    frames: list[tuple[float, int]] = []
    before = probe.on_frame
    probe.on_frame = lambda now, text: frames.append((now, moves()))
    try:
        await probe.quiet()
        start = moves()
        sent: list[float] = []
        began = time.perf_counter()
        for i in range(count):
            delay = began + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            event = events.Key(key, key if len(key) == 1 else None)
            event.set_sender(app)
            sent.append(time.perf_counter())
            app.post_message(event)
        await probe.quiet()
    finally:
        probe.on_frame = before
    latencies = []
    for i, at in enumerate(sent):
        shown = next((now for now, moved in frames if now >= at and moved - start >= i + 1), None)
        if shown is not None:
            latencies.append(shown - at)
    return latencies, sent[-1] if sent else time.perf_counter()


# ---- the console's list and thread, shared with the attached console's figures ---------------


def visible_rows(app: Any) -> int:
    """How many conversations the list shows at once (at least two)."""
    from frontdesk.tui.widgets.conversation_list import ROW_HEIGHT

    listing = app.conversation_list
    return max(2, listing.scrollable_content_region.height // ROW_HEIGHT)


async def page_move_latencies(app: Any, probe: FrameProbe, presses: int) -> list[float]:
    """`presses` list moves inside the visible page (two rows repaint), down and back up:
    key event → end of its frame, the thread settled between keys."""
    rows = visible_rows(app)
    sweep = ["j"] * (rows - 1) + ["k"] * (rows - 1)
    keys = (sweep * (presses // len(sweep) + 1))[:presses]
    return await press_latencies(app, probe, keys, lambda: thread_settled(app, probe))


async def thread_shown_latencies(app: Any, probe: FrameProbe, moves: int) -> list[float]:
    """From the top, up to `moves` single list moves, each after a rest: the move → the end of
    the frame whose thread pane shows the conversation moved to."""
    from frontdesk.tui.widgets.conversation_list import CURSOR_REST

    listing = app.conversation_list
    shown = []
    listing.cursor = 0
    for _ in range(moves):
        await thread_settled(app, probe)
        await asyncio.sleep(CURSOR_REST)  # a single move, after a rest
        before = listing.current_id
        sent = time.perf_counter()
        listing.action_cursor_down()
        target = listing.current_id
        if target == before:
            break  # the end of the list
        shown.append(await drawn_when(probe, lambda: app.thread.conversation_id == target) - sent)
    return shown


async def long_thread_opened(app: Any, probe: FrameProbe, cache: Cache) -> float | None:
    """Select the cache's long thread in the list: seconds until the thread pane draws it
    (None when the cache has no long thread or the list does not show it)."""
    if cache.long_thread_id is None or not app.conversation_list.select_id(cache.long_thread_id):
        return None
    sent = time.perf_counter()
    return (
        await drawn_when(probe, lambda: app.thread.conversation_id == cache.long_thread_id) - sent
    )


async def measure_keys(cache: Cache, presses: int, report: Report) -> None:
    """List moves and paging the long thread, vs the bare app with the same keys."""
    from frontdesk.desk import Desk
    from frontdesk.launch import make_app
    from frontdesk.store import Store

    half = max(1, presses // 2)
    list_keys = ["j"] * presses
    thread_keys = ["pageup"] * half + ["pagedown"] * half

    pilot_keys = list_keys[: max(1, presses // 4)]
    pilot_thread_keys = thread_keys[: max(1, presses // 8)] + thread_keys[-max(1, presses // 8) :]
    probe = FrameProbe()
    bare = probed(bare_app(), probe)
    async with bare.run_test(size=TERMINAL, headless=False) as pilot:
        await pilot.pause()
        bare_list = await press_latencies(bare, probe, list_keys)
        bare_thread = await press_latencies(bare, probe, thread_keys)
        bare_held, _ = await held_key_latencies(
            bare, probe, "j", presses, HELD_KEY_RATE, lambda: bare.presses
        )
        bare_pilot = await pilot_latencies(pilot, pilot_keys)
        bare_pilot_thread = await pilot_latencies(pilot, pilot_thread_keys)
    probe = FrameProbe()
    bare = probed(bare_app(scroll=True), probe)
    async with bare.run_test(size=TERMINAL, headless=False) as pilot:
        await pilot.pause()
        bare_scroll = await press_latencies(bare, probe, list_keys)

    with Store.open(cache.root) as store:
        desk = Desk(store, agent="Aiko")
        probe = FrameProbe()
        app = probed(make_app(desk, cursor_blink=False), probe)
        async with console_gc(), app.run_test(size=TERMINAL, headless=False) as pilot:
            await thread_settled(app, probe)

            async def settle() -> None:
                await thread_settled(app, probe)

            conversations = app.conversation_list
            # moves inside the visible page (two rows repaint), then moves that scroll the list
            page_lat = await page_move_latencies(app, probe, presses)
            conversations.cursor = visible_rows(app) - 1
            scroll_lat = await press_latencies(app, probe, list_keys, settle)
            list_pilot = await pilot_latencies(pilot, pilot_keys)
            # a held-down j from the top; then the thread catching up where it stopped
            conversations.cursor = 0
            await thread_settled(app, probe)
            room = len(conversations.conversations) - 1
            held, last_press = await held_key_latencies(
                app, probe, "j", min(presses, room), HELD_KEY_RATE, lambda: conversations.cursor
            )
            held_caught_up = (
                await drawn_when(
                    probe, lambda: app.thread.conversation_id == conversations.current_id
                )
                - last_press
            )
            # list move to the thread pane showing the newly highlighted conversation
            shown = await thread_shown_latencies(app, probe, min(20, presses))
            thread_pilot: list[float] = []
            opened = await long_thread_opened(app, probe, cache)
            if opened is not None:
                app.thread.focus()
                await probe.quiet()
                thread_lat = await press_latencies(app, probe, thread_keys, settle)
                thread_pilot = await pilot_latencies(pilot, pilot_thread_keys)
            else:
                thread_lat = []
    p95 = {
        name: percentile(v, 95)
        for name, v in (
            ("bare_list", bare_list),
            ("bare_thread", bare_thread),
            ("bare_scroll", bare_scroll),
            ("bare_held", bare_held),
            ("page", page_lat),
            ("scroll", scroll_lat),
            ("held", held),
            ("thread", thread_lat),
        )
    }
    ms = 1000
    report.add("keys.bare.p95", "keypress p95, bare Textual app", p95["bare_list"] * ms, "ms")
    for name, label, lat in (
        ("page", "list move within the page", page_lat),
        ("scroll", "list move that scrolls the list", scroll_lat),
    ):
        report.add(f"keys.list.{name}.p50", f"{label} p50", percentile(lat, 50) * ms, "ms")
        report.add(f"keys.list.{name}.p95", f"{label} p95", p95[name] * ms, "ms")
        ratio = p95[name] / p95["bare_list"]
        report.add(
            f"keys.list.{name}.ratio", f"{label} p95 vs bare", ratio, "x", "≤ 1.25", ratio <= 1.25
        )
    report.add(
        "keys.bare_scroll.p95",
        "Textual's own scroll by one line p95 (bare ScrollView)",
        p95["bare_scroll"] * ms,
        "ms",
    )
    report.add(
        "keys.list.scroll.vs_bare_scroll",
        "list move that scrolls p95 vs Textual's own scroll",
        p95["scroll"] / p95["bare_scroll"],
        "x",
    )
    pilot_ratio = percentile(list_pilot, 95) / percentile(bare_pilot, 95)
    report.add(
        "keys.pilot.bare.p95", "Pilot press p95, bare app", percentile(bare_pilot, 95) * ms, "ms"
    )
    report.add(
        "keys.pilot.list.p95", "Pilot press p95, list move", percentile(list_pilot, 95) * ms, "ms"
    )
    report.add(
        "keys.pilot.list.ratio",
        "Pilot press p95 ratio, list vs bare",
        pilot_ratio,
        "x",
        "≤ 1.25",
        pilot_ratio <= 1.25,
    )
    if thread_pilot:
        ratio = percentile(thread_pilot, 95) / percentile(bare_pilot_thread, 95)
        report.add(
            "keys.pilot.thread.p95",
            "Pilot press p95, thread page up/down",
            percentile(thread_pilot, 95) * ms,
            "ms",
        )
        report.add(
            "keys.pilot.thread.ratio",
            "Pilot press p95 ratio, thread paging vs bare",
            ratio,
            "x",
            "≤ 1.25",
            ratio <= 1.25,
        )
    rate = f"{HELD_KEY_RATE:g}/s"
    report.add(
        "keys.held.bare.p95",
        f"held key ({rate}) press → screen p95, bare app",
        p95["bare_held"] * ms,
        "ms",
    )
    report.add(
        "keys.held.list.p50",
        f"held j ({rate}) press → screen p50, list",
        percentile(held, 50) * ms,
        "ms",
    )
    report.add(
        "keys.held.list.p95", f"held j ({rate}) press → screen p95, list", p95["held"] * ms, "ms"
    )
    report.add("keys.held.list.ratio", "held j p95 vs bare", p95["held"] / p95["bare_held"], "x")
    report.add(
        "keys.held.thread_caught_up",
        "held j: last press → thread pane shows where it stopped",
        held_caught_up * ms,
        "ms",
    )
    report.add(
        "keys.list_thread_shown.p95",
        "list move → thread pane updated p95",
        percentile(shown, 95) * ms,
        "ms",
    )
    if thread_lat:
        report.add(
            "keys.thread.p95",
            f"thread page up/down p95 ({cache.long_thread_messages:,} messages)",
            p95["thread"] * ms,
            "ms",
        )
        ratio = p95["thread"] / p95["bare_thread"]
        report.add(
            "keys.thread.ratio", "thread paging p95 vs bare", ratio, "x", "≤ 1.25", ratio <= 1.25
        )
    if opened is not None:
        report.add("keys.thread_open", "open the long thread (select → drawn)", opened * ms, "ms")


async def pilot_latencies(pilot: Any, keys: Iterable[str]) -> list[float]:
    """Seconds per `pilot.press` (Textual's test driver waits until the app is idle again)."""
    latencies = []
    for key in keys:
        started = time.perf_counter()
        await pilot.press(key)
        latencies.append(time.perf_counter() - started)
    return latencies
