"""`frontdesk bench`: the console's speed at a given cache size, each figure beside a same-run baseline.

Every measurement runs against a synthetic cache made by the demo generator (one extra
conversation holds a long thread) and is paired with a baseline measured in the same run,
so the ratio holds on a noisy machine:

- cold start: a real `frontdesk` console process on a pseudo-terminal, from spawn to the
  first frame that shows the conversation list, with the large cache vs an empty one;
  the peak RSS of that process (also after a search built its index) is the memory figure;
- keypress latency: key event to the end of the next frame, moving in the list (within
  the page, and where each move scrolls the list) and paging the long thread, vs a bare
  Textual app of the same size whose key handler repaints one line. Both apps run under
  the same probe driver, which receives each frame as the bytes a terminal would (Textual
  renders them), so that work is counted too. The same keys as Pilot presses; a held-down
  key (presses on a key-repeat schedule, not waiting for the screen); and, for reference,
  the bare app's ScrollView scrolled one line a key;
- live arrival: an inbound message handed to `desk.ingest` until a frame shows it, at two
  rates;
- ingest: messages persisted per second in batches, and one single write into a cache of
  100 conversations vs one of N;
- search: `Desk.search` over the large cache (the first search builds the index);
- email: the first sync of a mailbox of N plain mails from a private Dovecot on loopback
  (written into its Maildir before it starts), headless and in a console process: how long
  until the first conversation is stored / drawn, and until all are stored. Needs the
  `dovecot` binary and the source checkout's tests/email_servers.py; skipped with a note
  otherwise.

The functions take sizes, so tests run them small; `main` prints a table or JSON.
Only the standard library is imported here; the rest is imported where it is used.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import random
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

TERMINAL = (120, 40)
HELD_KEY_RATE = 30.0  # presses a second: a terminal's key repeat
LIVE_TOKEN = re.compile(r"QX(\d{6})QX")


# ---- results ---------------------------------------------------------------------------------


@dataclass
class Figure:
    """One measured figure, with its unit and (when the issue sets one) the target."""

    key: str
    label: str
    value: float
    unit: str
    target: str = ""
    met: bool | None = None


@dataclass
class Report:
    sizes: dict[str, Any]
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, key: str, label: str, value: float, unit: str, target: str = "", met: bool | None = None) -> None:
        self.figures.append(Figure(key, label, round(value, 4), unit, target, met))

    def to_json(self) -> dict[str, Any]:
        return {
            "sizes": self.sizes,
            "machine": {
                "python": platform.python_version(),
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                "textual": _textual_version(),
            },
            "figures": [asdict(f) for f in self.figures],
            "notes": self.notes,
        }

    def table(self) -> str:
        rows = [("figure", "value", "target", "")]
        for f in self.figures:
            value = f"{f.value:,.0f}" if abs(f.value) >= 1000 else f"{f.value:.3g}" if f.unit != "x" else f"{f.value:.2f}"
            rows.append((f.label, f"{value} {f.unit}", f.target, {True: "met", False: "MISSED", None: ""}[f.met]))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        s = self.sizes
        head = (
            f"frontdesk bench — {s['conversations']:,} conversations, {s['messages']:,} messages "
            f"(longest thread {s['thread_messages']:,}), terminal {s['terminal'][0]}x{s['terminal'][1]}, "
            f"{os.cpu_count()} CPUs, Python {platform.python_version()}, Textual {_textual_version()}"
        )
        return "\n".join([head, "", *lines, *(f"note: {n}" for n in self.notes)])


def _textual_version() -> str:
    try:
        from importlib.metadata import version

        return version("textual")
    except Exception:
        return "?"


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


# ---- the synthetic cache ---------------------------------------------------------------------


@dataclass
class Cache:
    """A generated cache on disk and what the measurements need to know about it."""

    root: Path
    conversations: int
    messages: int
    long_thread_id: int | None
    open_count: int  # conversations in the "All open" view
    threads: list[Any]  # demo LiveThreads of open conversations, for live traffic
    words: list[str]  # words taken from message bodies, for search queries
    names: list[str]  # contact names, for search queries
    long_thread_messages: int = 0
    build_seconds: float = 0.0


def build_cache(
    root: Path, conversations: int, messages: int, thread_messages: int = 0, seed: int = 7
) -> Cache:
    """Generate a workspace of the given size into `root` via `Desk.load_workspace`.

    With `thread_messages`, the last conversation is one long thread of that many messages
    (inside the total), for the thread-scrolling measurement.
    """
    from frontdesk.backends.demo_workspace import generate_workspace, threads_of
    from frontdesk.desk import Desk
    from frontdesk.model import Status
    from frontdesk.store import Store

    started = time.perf_counter()
    long_thread = thread_messages > 0 and conversations > 1 and messages - thread_messages >= conversations - 1
    base_convs = conversations - 1 if long_thread else conversations
    base_msgs = messages - thread_messages if long_thread else messages
    ws = generate_workspace(seed, conversations=base_convs, messages=base_msgs if base_convs else None)
    long_thread_id = None
    if long_thread:
        extra = generate_workspace(seed + 1, conversations=1, messages=thread_messages)
        conv = extra.conversations[0]
        long_thread_id = conv.id = base_convs + 1
        conv.contact_id = ws.contacts[0].id
        conv.thread_key = f"bench-long-thread-{long_thread_id}"
        conv.status = Status.OPEN
        for offset, m in enumerate(extra.messages, start=base_msgs + 1):
            m.id, m.conversation_id = offset, long_thread_id
            if m.external_id:
                m.external_id = f"{conv.channel}-bench-{offset}"
        ws.conversations.append(conv)
        ws.messages.extend(extra.messages)
    with Store.open(root) as store:
        asyncio.run(Desk(store).load_workspace(ws.contacts, ws.conversations, ws.messages))
    open_ids = {c.id for c in ws.conversations if c.status in (Status.OPEN, Status.PENDING)}
    rng = random.Random(seed)
    sample = rng.sample(ws.messages, min(200, len(ws.messages)))
    words = [w for m in sample for w in m.body.split() if len(w) >= 4 and w.isalpha()]
    return Cache(
        root=root,
        conversations=len(ws.conversations),
        messages=len(ws.messages),
        long_thread_id=long_thread_id,
        open_count=len(open_ids),
        threads=[t for t in threads_of(ws) if t.conversation_id in open_ids and t.conversation_id != long_thread_id],
        words=words,
        names=[c.name for c in ws.contacts],
        long_thread_messages=thread_messages if long_thread else 0,
        build_seconds=time.perf_counter() - started,
    )


# ---- cold start and memory (a console process on a pseudo-terminal) ---------------------------


def console_child(root: str, search_done: str = "") -> None:
    """What the parent spawns: the console on `root`, as `frontdesk` runs it (no channels).

    With `search_done`, it runs one search a second after start and then creates that file.
    """
    from frontdesk.cli import keep_gc_pauses_short, resolve_keymap
    from frontdesk.desk import Desk
    from frontdesk.store import Store
    from frontdesk.tui.app import FrontdeskApp

    with Store.open(root) as store:
        desk = Desk(store, agent="Aiko")
        app = FrontdeskApp(desk, keymap=resolve_keymap("default", None), cursor_blink=False)
        keep_gc_pauses_short()  # as `run_console` does

        async def search_later() -> None:
            await asyncio.sleep(1.0)
            await desk.search("refund")
            Path(search_done).touch()

        async def session() -> None:
            await desk.start()
            task = asyncio.create_task(search_later()) if search_done else None
            try:
                await app.run_async()
            finally:
                if task is not None:
                    task.cancel()
                await desk.stop()

        asyncio.run(session())


@dataclass
class StartRun:
    seconds: float
    peak_rss_mb: float
    peak_rss_after_search_mb: float | None = None


def _read_hwm_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def start_console(
    root: Path, marker: str, *, search: bool = False, bytecode: Path | None = None, timeout: float = 60.0,
    child: str = "console_child", child_args: Sequence[str] = (),
) -> StartRun:
    """Spawn the console on a pseudo-terminal; seconds until `marker` is drawn, peak RSS.

    With `bytecode`, the child keeps its compiled modules there (`PYTHONPYCACHEPREFIX`) even
    where the environment turns bytecode writing off. `child` names the function of this
    module the child process runs, with `root` and then `child_args`.
    """
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    cols, rows = TERMINAL
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    done_file = Path(tempfile.mkdtemp(prefix="fd-bench-")) / "searched"
    code = f"import sys; from frontdesk.bench import {child}; {child}(*sys.argv[1:])"
    argv = [sys.executable, "-c", code, str(root), *child_args] + ([str(done_file)] if search else [])
    env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor"}
    for var in ("TEXTUAL", "TEXTUAL_DRIVER", "COLUMNS", "LINES"):
        env.pop(var, None)
    if bytecode is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(bytecode)
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True, close_fds=True)
    os.close(slave)
    seen = b""
    found_at: float | None = None

    def pump(seconds: float) -> None:
        nonlocal seen, found_at
        ready, _, _ = select.select([master], [], [], seconds)
        if not ready:
            return
        try:
            chunk = os.read(master, 65536)
        except OSError:
            chunk = b""
        if found_at is None:
            seen += chunk
            if marker.encode() in seen:
                found_at = time.monotonic()

    try:
        while found_at is None:
            if time.monotonic() - started > timeout or proc.poll() is not None:
                tail = seen[-2000:].decode("utf-8", "replace")
                raise RuntimeError(f"the console did not draw {marker!r} (exit {proc.poll()}): …{tail}")
            pump(0.05)
        run = StartRun(found_at - started, 0.0)
        end = time.monotonic() + 0.3
        while time.monotonic() < end:
            pump(0.05)
        run.peak_rss_mb = _read_hwm_mb(proc.pid)
        if search:
            while not done_file.exists():
                if time.monotonic() - started > timeout or proc.poll() is not None:
                    raise RuntimeError("the console did not finish its search")
                pump(0.05)
            run.peak_rss_after_search_mb = _read_hwm_mb(proc.pid)
        return run
    finally:
        _stop(proc, master, pump)
        shutil.rmtree(done_file.parent, ignore_errors=True)


def _stop(proc: subprocess.Popen[bytes], master: int, pump: Callable[[float], None]) -> None:
    try:
        os.write(master, b"q")
    except OSError:
        pass
    end = time.monotonic() + 5
    while proc.poll() is None and time.monotonic() < end:
        pump(0.05)
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    os.close(master)


def header_marker(open_count: int) -> str:
    """What the header's current view tab shows once the list is loaded (drawn in the same frame as the rows)."""
    return f" 3 All open {open_count} "


def measure_cold_start(big: Cache, empty: Cache, runs: int, report: Report) -> None:
    """Alternate empty and large cache, `runs` times each; medians, ratio and peak RSS.

    The starts use compiled modules, as an installed console does (pip compiles them): one
    untimed start first compiles them into a private directory. Without it, a checkout run
    where `PYTHONDONTWRITEBYTECODE` is set would compile every module on every start.
    """
    empty_times, big_times, rss = [], [], []
    bytecode = Path(tempfile.mkdtemp(prefix="fd-bench-bytecode-"))
    try:
        start_console(empty.root, header_marker(0), bytecode=bytecode)
        for _ in range(runs):
            empty_times.append(start_console(empty.root, header_marker(0), bytecode=bytecode).seconds)
            run = start_console(big.root, header_marker(big.open_count), bytecode=bytecode)
            big_times.append(run.seconds)
            rss.append(run.peak_rss_mb)
        searched = start_console(big.root, header_marker(big.open_count), search=True, bytecode=bytecode)
    finally:
        shutil.rmtree(bytecode, ignore_errors=True)
    big_median, empty_median = statistics.median(big_times), statistics.median(empty_times)
    ratio = big_median / empty_median
    report.add("cold_start.large.median", "cold start, large cache (median)", big_median, "s", "< 0.5 s", big_median < 0.5)
    report.add("cold_start.empty.median", "cold start, empty cache (median)", empty_median, "s")
    report.add("cold_start.ratio", "cold start ratio large/empty", ratio, "x", "≤ 1.5", ratio <= 1.5)
    peak = max(rss)
    report.add("memory.peak_rss", "peak RSS, console on the large cache", peak, "MB", "< 300 MB", peak < 300)
    after = searched.peak_rss_after_search_mb or 0.0
    report.add("memory.peak_rss_search", "peak RSS, same after a search (index built)", after, "MB", "< 300 MB", after < 300)


# ---- frames, keys, live arrival (in process, under a frame-probe driver) --------------------------------


class FrameProbe:
    """Times every frame an app sends to its terminal and keeps the text the terminal receives.

    The app runs under this probe's driver (`App.driver_class`, public): a headless driver
    that says it is not headless, so Textual renders every compositor update to the
    terminal byte string and hands it to `Driver.write`, then calls `Driver.flush` once the
    frame is out. The flush is the frame's end. Set it up before the app runs:
    `app.driver_class = probe.driver_class`.
    """

    def __init__(self, on_frame: Callable[[float, str], None] | None = None) -> None:
        self.frames = 0
        self.last_at = 0.0
        self.on_frame = on_frame
        self._waiter: asyncio.Event | None = None
        self._pending: list[str] = []
        self.driver_class = self._make_driver_class()

    def _make_driver_class(self) -> type:
        from textual.drivers.headless_driver import HeadlessDriver

        probe = self

        class ProbeDriver(HeadlessDriver):
            @property
            def is_headless(self) -> bool:
                return False  # so the app renders each frame for a terminal

            def write(self, data: str) -> None:
                probe._pending.append(data)

            def flush(self) -> None:
                probe._frame_done()

        return ProbeDriver

    def _frame_done(self) -> None:
        if not self._pending:
            return
        text = "".join(self._pending)
        self._pending.clear()
        now = time.perf_counter()
        self.frames += 1
        self.last_at = now
        if self.on_frame is not None:
            self.on_frame(now, text)
        if self._waiter is not None:
            self._waiter.set()

    async def next_frame(self, timeout: float = 5.0) -> float:
        """Wait for the next frame; the time it ended."""
        self._waiter = asyncio.Event()
        try:
            await asyncio.wait_for(self._waiter.wait(), timeout)
        finally:
            self._waiter = None
        return self.last_at

    async def quiet(self, gap: float = 0.05, limit: float = 10.0) -> None:
        """Wait until no frame has come for `gap` seconds (the app has caught up)."""
        end = time.perf_counter() + limit
        while time.perf_counter() < end:
            before = self.frames
            await asyncio.sleep(gap)
            if self.frames == before:
                return


@asynccontextmanager
async def console_gc() -> AsyncIterator[None]:
    """The collector set as `run_console` sets it, for an app run in this process; as it
    was afterwards (the bench's caller, a test run say, goes on in the same process)."""
    import gc

    from frontdesk.cli import freeze_long_lived, keep_gc_pauses_short

    thresholds = gc.get_threshold()
    keep_gc_pauses_short()
    try:
        yield
    finally:
        gc.callbacks.remove(freeze_long_lived)
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def probed(app: Any, probe: FrameProbe) -> Any:
    """`app`, set to run under `probe`'s driver."""
    app.driver_class = probe.driver_class
    return app


async def press_latencies(app: Any, probe: FrameProbe, keys: Iterable[str], settle: Callable[[], Any] | None = None) -> list[float]:
    """Seconds from each key event to the end of the next frame; the app settles between keys."""
    from textual import events

    latencies = []
    for key in keys:
        await probe.quiet()
        if settle is not None:
            await settle()
        char = key if len(key) == 1 else None
        event = events.Key(key, char)
        event.set_sender(app)
        waiting = asyncio.ensure_future(probe.next_frame())
        await asyncio.sleep(0)
        sent = time.perf_counter()
        app.post_message(event)
        try:
            latencies.append(await waiting - sent)
        except TimeoutError:
            pass  # the key changed nothing on screen (paging past an end): no frame, no sample
    await probe.quiet()
    return latencies


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


async def held_key_latencies(app: Any, probe: FrameProbe, key: str, count: int, rate: float,
                             moves: Callable[[], int]) -> tuple[list[float], float]:
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


async def measure_keys(cache: Cache, presses: int, report: Report) -> None:
    """List moves and paging the long thread, vs the bare app with the same keys."""
    from frontdesk.desk import Desk
    from frontdesk.store import Store
    from frontdesk.tui.app import CURSOR_REST, FrontdeskApp
    from frontdesk.tui.widgets.conversation_list import ROW_HEIGHT

    half = max(1, presses // 2)
    list_keys = ["j"] * presses
    thread_keys = ["pageup"] * half + ["pagedown"] * half

    pilot_keys = list_keys[: max(1, presses // 4)]
    pilot_thread_keys = thread_keys[: max(1, presses // 8)] + thread_keys[-max(1, presses // 8):]
    probe = FrameProbe()
    bare = probed(bare_app(), probe)
    async with bare.run_test(size=TERMINAL, headless=False) as pilot:
        await pilot.pause()
        bare_list = await press_latencies(bare, probe, list_keys)
        bare_thread = await press_latencies(bare, probe, thread_keys)
        bare_held, _ = await held_key_latencies(bare, probe, "j", presses, HELD_KEY_RATE, lambda: bare.presses)
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
        app = probed(FrontdeskApp(desk, cursor_blink=False), probe)
        async with console_gc(), app.run_test(size=TERMINAL, headless=False) as pilot:
            await _thread_settled(app, probe)

            async def settle() -> None:
                await _thread_settled(app, probe)

            conversations = app.conversation_list
            # moves inside the visible page (two rows repaint), then moves that scroll the list
            rows = max(2, conversations.scrollable_content_region.height // ROW_HEIGHT)
            sweep = ["j"] * (rows - 1) + ["k"] * (rows - 1)
            page_keys = (sweep * (presses // len(sweep) + 1))[:presses]
            page_lat = await press_latencies(app, probe, page_keys, settle)
            conversations.cursor = rows - 1
            scroll_lat = await press_latencies(app, probe, list_keys, settle)
            list_pilot = await pilot_latencies(pilot, pilot_keys)
            # a held-down j from the top; then the thread catching up where it stopped
            conversations.cursor = 0
            await _thread_settled(app, probe)
            room = len(conversations.conversations) - 1
            held, last_press = await held_key_latencies(
                app, probe, "j", min(presses, room), HELD_KEY_RATE, lambda: conversations.cursor)
            held_caught_up = await _drawn_when(
                probe, lambda: app.thread.conversation_id == conversations.current_id) - last_press
            # list move to the thread pane showing the newly highlighted conversation
            shown = []
            conversations.cursor = 0
            for _ in range(min(20, presses)):
                await _thread_settled(app, probe)
                await asyncio.sleep(CURSOR_REST)  # a single move, after a rest
                before = conversations.current_id
                sent = time.perf_counter()
                conversations.action_cursor_down()
                target = conversations.current_id
                if target == before:
                    break  # the end of the list
                shown.append(await _drawn_when(probe, lambda: app.thread.conversation_id == target) - sent)
            opened = None
            thread_pilot: list[float] = []
            if cache.long_thread_id is not None and conversations.select_id(cache.long_thread_id):
                sent = time.perf_counter()
                opened = await _drawn_when(probe, lambda: app.thread.conversation_id == cache.long_thread_id) - sent
                app.thread.focus()
                await probe.quiet()
                thread_lat = await press_latencies(app, probe, thread_keys, settle)
                thread_pilot = await pilot_latencies(pilot, pilot_thread_keys)
            else:
                thread_lat = []
    p95 = {name: percentile(v, 95) for name, v in
           (("bare_list", bare_list), ("bare_thread", bare_thread), ("bare_scroll", bare_scroll),
            ("bare_held", bare_held), ("page", page_lat), ("scroll", scroll_lat), ("held", held),
            ("thread", thread_lat))}
    ms = 1000
    report.add("keys.bare.p95", "keypress p95, bare Textual app", p95["bare_list"] * ms, "ms")
    for name, label, lat in (("page", "list move within the page", page_lat),
                             ("scroll", "list move that scrolls the list", scroll_lat)):
        report.add(f"keys.list.{name}.p50", f"{label} p50", percentile(lat, 50) * ms, "ms")
        report.add(f"keys.list.{name}.p95", f"{label} p95", p95[name] * ms, "ms")
        ratio = p95[name] / p95["bare_list"]
        report.add(f"keys.list.{name}.ratio", f"{label} p95 vs bare", ratio, "x", "≤ 1.25", ratio <= 1.25)
    report.add("keys.bare_scroll.p95", "Textual's own scroll by one line p95 (bare ScrollView)", p95["bare_scroll"] * ms, "ms")
    report.add("keys.list.scroll.vs_bare_scroll", "list move that scrolls p95 vs Textual's own scroll",
               p95["scroll"] / p95["bare_scroll"], "x")
    pilot_ratio = percentile(list_pilot, 95) / percentile(bare_pilot, 95)
    report.add("keys.pilot.bare.p95", "Pilot press p95, bare app", percentile(bare_pilot, 95) * ms, "ms")
    report.add("keys.pilot.list.p95", "Pilot press p95, list move", percentile(list_pilot, 95) * ms, "ms")
    report.add("keys.pilot.list.ratio", "Pilot press p95 ratio, list vs bare", pilot_ratio, "x", "≤ 1.25", pilot_ratio <= 1.25)
    if thread_pilot:
        ratio = percentile(thread_pilot, 95) / percentile(bare_pilot_thread, 95)
        report.add("keys.pilot.thread.p95", "Pilot press p95, thread page up/down", percentile(thread_pilot, 95) * ms, "ms")
        report.add("keys.pilot.thread.ratio", "Pilot press p95 ratio, thread paging vs bare", ratio, "x", "≤ 1.25",
                   ratio <= 1.25)
    rate = f"{HELD_KEY_RATE:g}/s"
    report.add("keys.held.bare.p95", f"held key ({rate}) press → screen p95, bare app", p95["bare_held"] * ms, "ms")
    report.add("keys.held.list.p50", f"held j ({rate}) press → screen p50, list", percentile(held, 50) * ms, "ms")
    report.add("keys.held.list.p95", f"held j ({rate}) press → screen p95, list", p95["held"] * ms, "ms")
    report.add("keys.held.list.ratio", "held j p95 vs bare", p95["held"] / p95["bare_held"], "x")
    report.add("keys.held.thread_caught_up", "held j: last press → thread pane shows where it stopped",
               held_caught_up * ms, "ms")
    report.add("keys.list_thread_shown.p95", "list move → thread pane updated p95", percentile(shown, 95) * ms, "ms")
    if thread_lat:
        report.add("keys.thread.p95", f"thread page up/down p95 ({cache.long_thread_messages:,} messages)", p95["thread"] * ms, "ms")
        ratio = p95["thread"] / p95["bare_thread"]
        report.add("keys.thread.ratio", "thread paging p95 vs bare", ratio, "x", "≤ 1.25", ratio <= 1.25)
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


async def _drawn_when(probe: FrameProbe, condition: Callable[[], bool], timeout: float = 60.0) -> float:
    """End of the last frame drawn once `condition` holds (the screen showing that state)."""
    end = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > end:
            raise TimeoutError("the app did not reach the expected state")
        try:
            await probe.next_frame(timeout=0.1)
        except TimeoutError:
            pass
    await probe.quiet(0.03)
    return probe.last_at


async def _thread_settled(app: Any, probe: FrameProbe) -> None:
    """Wait for thread loads to finish and the screen to catch up."""
    conversations = app.conversation_list
    end = time.perf_counter() + 30
    while time.perf_counter() < end:
        loading = [w for w in app.workers if w.group == "thread" and not w.is_finished]
        if loading:  # (an empty list would mean "every worker", the change feed included)
            await app.workers.wait_for_complete(loading)
        elif conversations.current_id is None or app.thread.conversation_id == conversations.current_id:
            break
        else:
            await asyncio.sleep(0.01)  # a load is about to start
    await probe.quiet(0.03)


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


def _inbound(thread: Any, seq: int, text: str) -> Any:
    from frontdesk.model import Inbound, utcnow

    return Inbound(
        external_id=f"bench-{seq}",
        thread_key=thread.thread_key,
        sender=thread.sender(),
        body=f"QX{seq:06d}QX {text}",
        created_at=utcnow(),
    )


async def measure_live(cache: Cache, rates: Sequence[int], seconds: float, report: Report, seq_start: int = 0,
                       sustained: bool = False) -> int:
    """Inbound events at each rate; event handed to the desk → first frame showing it.

    `sustained` names the figures as a long run's (`live.sustained.…`): a few seconds see no
    full collection of the garbage collector, half a minute at 100 msg/s sees several.
    """
    from frontdesk.desk import Desk
    from frontdesk.store import Store
    from frontdesk.tui.app import FrontdeskApp

    sent_at: dict[int, float] = {}
    shown_at: dict[int, float] = {}

    conv_of: dict[int, int] = {}

    def on_frame(now: float, text: str) -> None:
        for match in LIVE_TOKEN.finditer(text):
            seq = int(match.group(1))
            if seq in sent_at and seq not in shown_at:
                # an earlier message of the same conversation that never showed was replaced
                # by this one in the list's preview: the agent sees the newer state now
                conv = conv_of[seq]
                for earlier, c in conv_of.items():
                    if c == conv and earlier <= seq and earlier not in shown_at:
                        shown_at[earlier] = now

    seq = seq_start
    rng = random.Random(3)
    by_id = {t.conversation_id: t for t in cache.threads}
    with Store.open(cache.root) as store:
        desk = Desk(store, agent="Aiko")
        probe = FrameProbe(on_frame)
        app = probed(FrontdeskApp(desk, cursor_blink=False), probe)
        async with console_gc(), app.run_test(size=TERMINAL, headless=False):
            await _thread_settled(app, probe)
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
                    arriving.append(asyncio.create_task(desk.ingest(thread.channel, [_inbound(thread, seq, "is my parcel on its way?")])))
                await asyncio.gather(*arriving)
                arriving.clear()
                end = time.perf_counter() + 3
                while time.perf_counter() < end and any(s not in shown_at for s in range(first, seq + 1)):
                    await asyncio.sleep(0.02)
                lat = [shown_at[s] - sent_at[s] for s in range(first, seq + 1) if s in shown_at]
                missing = (seq + 1 - first) - len(lat)
                p95 = percentile(lat, 95) * 1000
                key, label = (f"live.sustained.{rate}", f"at {rate} msg/s for {seconds:g} s") if sustained else (f"live.{rate}", f"at {rate} msg/s")
                report.add(f"{key}.p50", f"live arrival p50 {label}", percentile(lat, 50) * 1000, "ms")
                target = "< 50 ms" if rate >= 100 else ""
                report.add(f"{key}.p95", f"live arrival p95 {label}", p95, "ms", target,
                           (p95 < 50 and not missing) if target else None)
                if missing:
                    report.notes.append(f"live {label}: {missing} of {count} messages never appeared within 3 s")
                if behind > 0.05:
                    report.notes.append(f"live {label}: the sender fell {behind:.2f} s behind schedule")
                await probe.quiet()
    return seq


# ---- ingest ------------------------------------------------------------------------------------


async def measure_ingest(big: Cache, small: Cache, batches: int, batch_size: int, spread: int, singles: int,
                         report: Report, seq_start: int = 0) -> int:
    """Batched ingest into the large cache; one-message writes, small cache vs large, alternated."""
    from frontdesk.desk import Desk
    from frontdesk.store import Store

    seq = seq_start
    rng = random.Random(5)
    with Store.open(big.root) as big_store, Store.open(small.root) as small_store:
        big_desk, small_desk = Desk(big_store, agent="Aiko"), Desk(small_store, agent="Aiko")
        elapsed = 0.0
        persisted = 0
        for _ in range(batches):
            threads = rng.sample(big.threads, min(spread, len(big.threads)))
            events = []
            for i in range(batch_size):
                seq += 1
                events.append(_inbound(threads[i % len(threads)], seq, "batched"))
            by_channel: dict[str, list[Any]] = {}
            for thread, event in zip((threads[i % len(threads)] for i in range(batch_size)), events):
                by_channel.setdefault(thread.channel, []).append(event)
            started = time.perf_counter()
            for channel, group in by_channel.items():
                await big_desk.ingest(channel, group)
            elapsed += time.perf_counter() - started
            persisted += batch_size
        started = time.perf_counter()
        big_store.checkpoint()  # counted: the journal's batches written into the cache files once
        elapsed += time.perf_counter() - started
        rate = persisted / elapsed
        report.add("ingest.batched", f"ingest, batches of {batch_size} over {spread} conversations, with the checkpoint",
                   rate, "msg/s", "≥ 5,000 msg/s", rate >= 5000)
        small_times, big_times = [], []
        for i in range(singles):
            for desk, cache, times in ((small_desk, small, small_times), (big_desk, big, big_times)):
                seq += 1
                thread = rng.choice(cache.threads)
                started = time.perf_counter()
                await desk.ingest(thread.channel, [_inbound(thread, seq, "single")])
                times.append(time.perf_counter() - started)
        small_median, big_median = statistics.median(small_times), statistics.median(big_times)
        report.add("ingest.single.small", f"single write, {small.conversations:,} conversations (median)", small_median * 1000, "ms")
        report.add("ingest.single.large", f"single write, {big.conversations:,} conversations (median)", big_median * 1000, "ms")
        ratio = big_median / small_median
        report.add("ingest.single.ratio", "single write ratio large/small", ratio, "x", "≤ 1.5", ratio <= 1.5)
    return seq


# ---- search --------------------------------------------------------------------------------------


def search_queries(cache: Cache, count: int = 40, seed: int = 11) -> list[str]:
    """Words and phrases from the cache's messages, name fragments, and strings found nowhere."""
    rng = random.Random(seed)
    words = cache.words or ["refund"]
    queries = [rng.choice(words) for _ in range(count // 2)]
    queries += [" ".join(rng.sample(words, 2)) for _ in range(count // 8)]
    queries += [rng.choice(cache.names)[:5] for _ in range(count // 8)] if cache.names else []
    queries += ["".join(rng.choice("qxzjkv") for _ in range(7)) for _ in range(count - len(queries))]
    return queries


async def measure_search(cache: Cache, repeats: int, report: Report) -> None:
    from frontdesk.desk import Desk
    from frontdesk.store import Store

    with Store.open(cache.root) as store:
        desk = Desk(store, agent="Aiko")
        started = time.perf_counter()
        await desk.search("refund")
        first = time.perf_counter() - started
        times = []
        for _ in range(repeats):
            for query in search_queries(cache):
                started = time.perf_counter()
                await desk.search(query)
                times.append(time.perf_counter() - started)
        # after one new message: only its conversation is read again
        thread = cache.threads[0]
        await desk.ingest(thread.channel, [_inbound(thread, 999_999, "search freshness")])
        started = time.perf_counter()
        found = await desk.search("QX999999QX")
        fresh = time.perf_counter() - started
    p95 = percentile(times, 95) * 1000
    report.add("search.first", "first search (builds the index)", first * 1000, "ms")
    report.add("search.p50", f"search p50 ({len(times)} queries)", percentile(times, 50) * 1000, "ms")
    report.add("search.p95", "search p95", p95, "ms", "< 100 ms", p95 < 100)
    report.add("search.after_write", "search right after a new message", fresh * 1000, "ms")
    if len(found) != 1:
        report.notes.append(f"search did not find the message written just before it ({len(found)} hits)")


# ---- email: the first sync of a big mailbox ---------------------------------------------------------


def _mail_servers() -> Any | None:
    """tests/email_servers.py of the source checkout (the Dovecot harness), or None when it is not there."""
    import importlib.util

    path = Path(__file__).parent / "tests" / "email_servers.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location("frontdesk_bench_email_servers", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _email_settings(port: int, user: str) -> dict[str, Any]:
    return {"imap_host": "127.0.0.1", "imap_port": port, "imap_tls": "none", "smtp_tls": "none",
            "username": user, "sync_days": 30, "sent_folder": ""}


def email_console_child(root: str, port: str, user: str, password: str) -> None:
    """What the parent spawns for the email figure: the console with one email channel on an empty cache."""
    from frontdesk.backends.email import EmailBackend
    from frontdesk.cli import keep_gc_pauses_short, resolve_keymap
    from frontdesk.desk import Desk
    from frontdesk.store import Store
    from frontdesk.tui.app import FrontdeskApp

    with Store.open(root) as store:
        channel = EmailBackend("mail", _email_settings(int(port), user), lambda key: password if key == "password" else None)
        desk = Desk(store, {"mail": channel}, agent="Aiko")
        app = FrontdeskApp(desk, keymap=resolve_keymap("default", None), cursor_blink=False)
        keep_gc_pauses_short()

        async def session() -> None:
            await desk.start()
            try:
                await app.run_async()
            finally:
                await desk.stop()

        asyncio.run(session())


class _FirstStored:
    """A Sink in front of the desk that notes when the first message is stored."""

    def __init__(self, desk: Any) -> None:
        self.desk = desk
        self.started = time.monotonic()
        self.first: float | None = None

    async def ingest(self, channel: str, events: list[Any], cursor: str | None = None) -> None:
        await self.desk.ingest(channel, events, cursor)
        if events and self.first is None:
            self.first = time.monotonic() - self.started


async def _first_sync(root: Path, port: int, user: str, password: str) -> tuple[float, float, int]:
    """Seconds for `sync --once`'s work on an empty cache, seconds until its first message was stored, conversations."""
    from frontdesk.backends.email import EmailBackend
    from frontdesk.desk import Desk
    from frontdesk.store import Store

    with Store.open(root) as store:
        channel = EmailBackend("mail", _email_settings(port, user), lambda key: password if key == "password" else None)
        desk = Desk(store, {"mail": channel}, agent="Aiko")
        sink = _FirstStored(desk)
        await channel.fetch_once(sink)
        elapsed = time.monotonic() - sink.started
        await channel.close()
        return elapsed, sink.first or elapsed, len(store.conversations())


def measure_email(work: Path, mails: int, report: Report) -> None:
    """The first sync of `mails` plain mails (29 days) from a loopback Dovecot: headless, then in the console."""
    servers = _mail_servers()
    if servers is None or servers.dovecot_binary() is None:
        report.notes.append("email figures skipped: " + ("the dovecot binary is not installed (apt-get install dovecot-imapd)"
                                                         if servers else "tests/email_servers.py is not here (run from a source checkout)"))
        return
    started = time.monotonic()
    server = servers.start_dovecot(prefill=mails)
    try:
        report.add("email.mailbox", f"write {mails:,} mails into the Maildir + start Dovecot", time.monotonic() - started, "s")
        elapsed, first, stored = asyncio.run(_first_sync(work / "email-sync", server.port, server.user, server.password))
        report.add("email.first_stored", "email first sync: first conversation stored", first, "s", "≤ 2 s", first <= 2)
        report.add("email.first_sync", f"email first sync of {mails:,} mails (sync --once)", elapsed, "s", "≤ 20 s", elapsed <= 20)
        if stored != mails:
            report.notes.append(f"email first sync stored {stored:,} conversations of {mails:,}")
        newest = f"Order question {mails - 1}"
        run = start_console(work / "email-console", newest, child="email_console_child",
                            child_args=(str(server.port), server.user, server.password))
        report.add("email.first_on_screen", "email first start: newest conversation on screen", run.seconds, "s", "≤ 2 s", run.seconds <= 2)
    finally:
        servers.cleanup(server)


# ---- the whole run ---------------------------------------------------------------------------------


@dataclass
class Plan:
    """Sizes and repetitions of one run."""

    conversations: int = 10_000
    messages: int = 200_000
    thread_messages: int = 5_000
    small_conversations: int = 100
    presses: int = 200
    runs: int = 5
    live_rates: tuple[int, ...] = (10, 100)
    live_seconds: float = 3.0
    live_sustained_seconds: float = 30.0  # at the highest live rate, long enough for full collections
    batches: int = 40  # 20,000 messages: the journal passes its checkpoint size along the way, as in steady use
    batch_size: int = 500
    batch_spread: int = 50
    singles: int = 30
    search_repeats: int = 3
    mails: int = 10_000  # the email figure's mailbox (0: skip it)
    seed: int = 7


def run(plan: Plan, workdir: Path | None = None, progress: Callable[[str], None] = lambda _: None) -> Report:
    """Build the caches, measure everything, and return the report."""
    report = Report(sizes={
        "conversations": plan.conversations, "messages": plan.messages, "thread_messages": plan.thread_messages,
        "small_conversations": plan.small_conversations, "terminal": list(TERMINAL), "presses": plan.presses,
        "cold_start_runs": plan.runs, "live_rates": list(plan.live_rates), "live_seconds": plan.live_seconds,
        "live_sustained_seconds": plan.live_sustained_seconds,
        "ingest_batches": plan.batches, "batch_size": plan.batch_size, "batch_spread": plan.batch_spread,
        "single_writes": plan.singles, "mails": plan.mails, "seed": plan.seed,
    })
    own = workdir is None
    work = Path(tempfile.mkdtemp(prefix="frontdesk-bench-")) if own else Path(workdir)
    if not own and any((work / name).exists() for name in ("large", "small", "empty")):
        raise ValueError(f"{work} already holds bench caches; remove them or pick another --data-dir")
    try:
        progress(f"generating {plan.conversations:,} conversations / {plan.messages:,} messages …")
        big = build_cache(work / "large", plan.conversations, plan.messages, plan.thread_messages, plan.seed)
        report.add("cache.build", "generate + load the large cache", big.build_seconds, "s")
        per_conv = max(1, plan.messages // max(1, plan.conversations))
        small = build_cache(work / "small", plan.small_conversations, plan.small_conversations * per_conv, 0, plan.seed)
        empty = Cache(work / "empty", 0, 0, None, 0, [], [], [])
        from frontdesk.store import Store

        Store.open(empty.root).close()
        progress("cold start …")
        measure_cold_start(big, empty, plan.runs, report)
        progress("search …")
        asyncio.run(measure_search(big, plan.search_repeats, report))
        progress("keypresses …")
        asyncio.run(measure_keys(big, plan.presses, report))
        progress("live arrival …")
        seq = asyncio.run(measure_live(big, plan.live_rates, plan.live_seconds, report))
        progress(f"live arrival, {plan.live_sustained_seconds:g} s at {max(plan.live_rates)} msg/s …")
        seq = asyncio.run(measure_live(big, (max(plan.live_rates),), plan.live_sustained_seconds, report, seq, sustained=True))
        progress("ingest …")
        asyncio.run(measure_ingest(big, small, plan.batches, plan.batch_size, plan.batch_spread, plan.singles, report, seq))
        if plan.mails:
            progress(f"email: first sync of {plan.mails:,} mails …")
            measure_email(work, plan.mails, report)
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)
    return report


def main(args: Any) -> int:
    """`frontdesk bench`: run the plan from the parsed arguments; table or JSON to stdout."""
    plan = Plan(
        conversations=args.conversations,
        messages=args.messages,
        thread_messages=min(args.thread_messages, max(0, args.messages // 2)),
        presses=args.presses,
        runs=args.runs,
        mails=getattr(args, "mails", Plan.mails),
        seed=args.seed,
    )
    workdir = Path(args.data_dir).expanduser() if getattr(args, "data_dir", None) else None
    quiet = args.json
    report = run(plan, workdir, progress=lambda text: None if quiet else print(text, file=sys.stderr, flush=True))
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        print(report.table())
    return 0
