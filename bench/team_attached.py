"""Team figures for the attached console: its cold start and its keys vs solo's.

- cold start: the console process of `startup.start_console` attached to a desk served by
  another process, vs the solo console on a copy of the same cache, alternated.
- keys: list moves and thread opening in the console attached to the served copy vs solo.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import statistics
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from frontdesk.bench.cache import Cache
from frontdesk.bench.frames import FrameProbe, console_gc, probed, thread_settled
from frontdesk.bench.keys import long_thread_opened, page_move_latencies, thread_shown_latencies
from frontdesk.bench.report import TERMINAL, Report, percentile
from frontdesk.bench.startup import header_marker, start_console
from frontdesk.bench.team import _admission, _child, _short_dir

COLD_START_TARGET_S = 0.5

# ---- cold start, attached vs solo ----------------------------------------------------------------


def serve_child(root: str, socket_path: str) -> None:
    """What the cold start spawns: the desk on `root` served at `socket_path`, as `frontdesk serve`
    serves it, until SIGTERM; prints "ready" once it listens."""
    from frontdesk import __version__
    from frontdesk.desk import Desk
    from frontdesk.store import Store
    from frontdesk.team.server import DeskServer

    async def run() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        with Store.open(root) as store:
            desk = Desk(store, agent="Aiko")
            server = DeskServer(
                desk, Path(socket_path), admission=_admission(), version=__version__
            )
            await server.start()
            print("ready", flush=True)
            await stop.wait()
            await server.close()

    asyncio.run(run())


def attached_console_child(socket_path: str) -> None:
    """What the parent spawns: the console attached to the desk at `socket_path`, as `frontdesk`
    runs it when a desk answers there."""
    from frontdesk.launch import attach_desk, make_app, resolve_keymap
    from frontdesk.runtime import keep_gc_pauses_short

    async def session() -> None:
        client = await attach_desk(Path(socket_path), required=True)
        assert client is not None
        keep_gc_pauses_short()  # as `run_attached` does, once the replica is loaded
        app = make_app(client, keymap=resolve_keymap("default", None), cursor_blink=False)
        try:
            await app.run_async()
        finally:
            await client.stop()

    asyncio.run(session())


def _start_server(root: Path, socket_path: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        _child("serve_child", str(root), str(socket_path), module=__name__),
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != b"ready":
        proc.kill()
        proc.wait()
        raise RuntimeError(f"the served desk did not start: {line!r}")
    return proc


def _stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def served_copy(big: Cache) -> Iterator[Path]:
    """A copy of the large cache served by its own process (as `frontdesk serve`); its socket.

    A copy, so a solo console can open the original beside it (a data dir has one writer).
    """
    folder = _short_dir()
    shutil.copytree(big.root, folder / "served")
    server = _start_server(folder / "served", folder / "desk.sock")
    try:
        yield folder / "desk.sock"
    finally:
        _stop_server(server)
        shutil.rmtree(folder, ignore_errors=True)


def measure_attached_cold_start(big: Cache, socket_path: Path, runs: int, report: Report) -> None:
    """The solo console on the large cache and the console attached to the desk serving its
    copy at `socket_path`, alternated; medians and ratio."""
    bytecode = Path(tempfile.mkdtemp(prefix="fd-bench-bytecode-"))
    marker = header_marker(big.open_count)
    child = "frontdesk.bench.team_attached:attached_console_child"
    solo, attached = [], []
    try:
        start_console(socket_path, marker, bytecode=bytecode, child=child)  # compiles modules
        for _ in range(runs):
            solo.append(start_console(big.root, marker, bytecode=bytecode).seconds)
            attached.append(
                start_console(socket_path, marker, bytecode=bytecode, child=child).seconds
            )
    finally:
        shutil.rmtree(bytecode, ignore_errors=True)
    solo_median, attached_median = statistics.median(solo), statistics.median(attached)
    report.add(
        "team.cold_start.attached.median",
        "cold start attached to a served large cache (median)",
        attached_median,
        "s",
        f"< {COLD_START_TARGET_S:g} s",
        attached_median < COLD_START_TARGET_S,
    )
    report.add(
        "team.cold_start.solo.median", "cold start solo, same cache (median)", solo_median, "s"
    )
    ratio = attached_median / solo_median
    report.add(
        "team.cold_start.ratio", "cold start ratio attached/solo", ratio, "x", "≤ 1.5", ratio <= 1.5
    )


# ---- keys and thread opening, attached vs solo ---------------------------------------------------


@dataclass
class KeyFigures:
    press: list[float]  # list move within the page: key event → end of its frame
    shown: list[float]  # list move after a rest → thread pane showing that conversation
    long_open: float | None  # select the long thread → drawn


async def _key_figures(desk: Any, cache: Cache, presses: int) -> KeyFigures:
    """The console on `desk` (the in-process Desk or a DeskClient): list moves, thread opening."""
    from frontdesk.launch import make_app

    probe = FrameProbe()
    app = probed(make_app(desk, cursor_blink=False), probe)
    async with console_gc(), app.run_test(size=TERMINAL, headless=False):
        await thread_settled(app, probe)
        press = await page_move_latencies(app, probe, presses)
        shown = await thread_shown_latencies(app, probe, min(20, presses))
        long_open = await long_thread_opened(app, probe, cache)
    return KeyFigures(press, shown, long_open)


async def measure_attached_keys(
    big: Cache, socket_path: Path, presses: int, report: Report
) -> None:
    """Key press and thread opening in the console attached to the served copy vs solo."""
    from frontdesk.desk import Desk
    from frontdesk.store import Store
    from frontdesk.team.client import DeskClient

    with Store.open(big.root) as store:
        solo = await _key_figures(Desk(store, agent="Aiko"), big, presses)
    client = await DeskClient.attach(socket_path)
    try:
        attached = await _key_figures(client, big, presses)
    finally:
        await client.stop()
    ms = 1000
    for key, label, a, b in (
        ("press", "list move in the page, key → frame p95", attached.press, solo.press),
        ("thread_shown", "list move → thread shown p95", attached.shown, solo.shown),
    ):
        a95, s95 = percentile(a, 95), percentile(b, 95)
        report.add(f"team.keys.{key}.p95", f"attached {label}", a95 * ms, "ms")
        report.add(f"team.keys.{key}.solo.p95", f"solo {label}", s95 * ms, "ms")
        ratio = a95 / s95
        report.add(
            f"team.keys.{key}.ratio", f"{label}, attached/solo", ratio, "x", "≤ 1.2", ratio <= 1.2
        )
    if attached.long_open is not None and solo.long_open is not None:
        label = f"open the {big.long_thread_messages:,}-message thread"
        report.add("team.thread_open.long", f"attached: {label}", attached.long_open * ms, "ms")
        report.add("team.thread_open.long.solo", f"solo: {label}", solo.long_open * ms, "ms")
        ratio = attached.long_open / solo.long_open
        report.add("team.thread_open.long.ratio", f"{label}, attached/solo", ratio, "x")
