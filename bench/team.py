"""Team figures: change fan-out to attached consoles, and the attached console's cold start vs solo's.

- fan-out: the large cache served (`team.server.DeskServer`) in this process, inbound
  messages handed to its `desk.ingest` at a set rate; 1, 5 and 20 `DeskClient`s attached
  from one other process (as consoles are other processes) note when their change feed
  yields each message. Both processes read the same monotonic clock (`time.perf_counter`,
  CLOCK_MONOTONIC on Linux), so arrival minus hand-over is the latency.
- cold start: the console process of `startup.start_console` attached to a desk served by
  another process, vs the solo console on a copy of the same cache, alternated.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from frontdesk.bench.cache import Cache, inbound
from frontdesk.bench.frames import FrameProbe, console_gc, drawn_when, press_latencies, probed
from frontdesk.bench.frames import thread_settled
from frontdesk.bench.live import LIVE_TOKEN
from frontdesk.bench.report import TERMINAL, Report, percentile
from frontdesk.bench.startup import header_marker, start_console

FANOUT_TARGET_MS = 100.0
FRAME_TARGET_MS = 75.0
COLD_START_TARGET_S = 0.5
GRACE_SECONDS = 3.0
"""How long after the last message the clients wait for what is still on its way."""


def _short_dir() -> Path:
    """A directory for sockets (a Unix socket's path is at most 107 bytes)."""
    return Path(tempfile.mkdtemp(prefix="fd-bench-", dir="/tmp"))


def _admission():
    from frontdesk.team.peercred import user_name
    from frontdesk.team.server import Admission

    return Admission(user_name(os.getuid()), frozenset(), Path("/dev/null"), open_door=True)


def _child(function: str, *args: str) -> list[str]:
    code = f"import sys; from frontdesk.bench.team import {function}; {function}(*sys.argv[1:])"
    return [sys.executable, "-c", code, *args]


# ---- fan-out -----------------------------------------------------------------------------------


def clients_child(socket_path: str, clients: str) -> None:
    """What the fan-out spawns: `clients` DeskClients on the desk at `socket_path`.

    Prints "ready" once all are attached; then reads "<first> <last>" (the seqs sent) from
    stdin, waits until every client has them all or GRACE_SECONDS have passed, and prints
    one JSON line: per client, message seq → arrival time.
    """
    from frontdesk.desk.changes import ChangeKind
    from frontdesk.team.client import DeskClient

    async def follow(client: DeskClient, seen: dict[int, float]) -> None:
        async for change in client.subscribe():
            if change.kind is not ChangeKind.MESSAGE or change.conversation_id is None:
                continue
            conv = client.replica.conversation(change.conversation_id)
            match = LIVE_TOKEN.search(conv.preview) if conv is not None else None
            if match is not None:
                seen.setdefault(int(match.group(1)), time.perf_counter())

    async def run() -> None:
        attached = [await DeskClient.attach(Path(socket_path)) for _ in range(int(clients))]
        seen: list[dict[int, float]] = [{} for _ in attached]
        tasks = [asyncio.create_task(follow(c, s)) for c, s in zip(attached, seen)]
        print("ready", flush=True)
        first, last = map(int, (await asyncio.to_thread(sys.stdin.readline)).split())
        wanted = set(range(first, last + 1))
        deadline = time.perf_counter() + GRACE_SECONDS
        while time.perf_counter() < deadline and any(wanted - s.keys() for s in seen):
            await asyncio.sleep(0.01)
        for task in tasks:
            task.cancel()
        for client in attached:
            await client.stop()
        print(json.dumps([{str(k): v for k, v in s.items()} for s in seen]), flush=True)

    asyncio.run(run())


async def _fan_out_once(
    desk, cache: Cache, socket_path: Path, clients: int, rate: int, seconds: float, seq: int
) -> tuple[list[float], int, int, float]:
    """(latencies in s, messages sent, arrivals missing, how far the sender fell behind)."""
    proc = await asyncio.create_subprocess_exec(
        *_child("clients_child", str(socket_path), str(clients)),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    ready = await asyncio.wait_for(proc.stdout.readline(), 120)
    if ready.strip() != b"ready":
        raise RuntimeError(f"the fan-out clients did not attach: {ready!r}")
    sent_at: dict[int, float] = {}
    count = max(3, int(rate * seconds))
    threads = cache.threads
    arriving: list[asyncio.Task[None]] = []
    start, behind = time.perf_counter(), 0.0
    for i in range(count):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            behind = max(behind, -delay)
        seq += 1
        thread = threads[seq % len(threads)]  # round the open threads: one message per preview
        sent_at[seq] = time.perf_counter()
        arriving.append(
            asyncio.create_task(desk.ingest(thread.channel, [inbound(thread, seq, "fan-out")]))
        )
    await asyncio.gather(*arriving)
    proc.stdin.write(f"{min(sent_at)} {max(sent_at)}\n".encode())
    proc.stdin.close()
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    seen = json.loads(out.decode().strip().splitlines()[-1])
    latencies = [
        at - sent_at[int(s)]
        for per_client in seen
        for s, at in per_client.items()
        if int(s) in sent_at
    ]
    missing = count * clients - len(latencies)
    return latencies, seq, missing, behind


async def measure_fan_out(
    cache: Cache,
    client_counts: Sequence[int],
    rate: int,
    seconds: float,
    report: Report,
    seq_start: int = 0,
) -> int:
    """Inbound at `rate` into the served large cache, received by each number of attached clients."""
    from frontdesk import __version__
    from frontdesk.desk import Desk
    from frontdesk.store import Store
    from frontdesk.team.server import DeskServer

    seq = seq_start
    folder = _short_dir()
    try:
        with Store.open(cache.root) as store:
            desk = Desk(store, agent="Aiko")
            server = DeskServer(
                desk, folder / "desk.sock", admission=_admission(), version=__version__
            )
            await server.start()
            try:
                for clients in client_counts:
                    lat, seq, missing, behind = await _fan_out_once(
                        desk, cache, folder / "desk.sock", clients, rate, seconds, seq
                    )
                    _report_fan_out(report, clients, rate, lat, missing, behind)
                seq = await _to_the_frame(
                    desk, cache, folder / "desk.sock", rate, seconds, seq, report
                )
            finally:
                await server.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return seq


def attached_frame_child(socket_path: str) -> None:
    """What the frame figure spawns: the console attached to the desk at `socket_path`, under the
    frame probe. Prints "ready" and the conversations on screen; then reads "<first> <last>"
    (the seqs sent), waits until each was drawn or GRACE_SECONDS passed, and prints one JSON
    line: message seq → end of the first frame that drew it."""
    from frontdesk.bench.live import _visible_threads
    from frontdesk.launch import attach_desk, make_app
    from frontdesk.runtime import keep_gc_pauses_short

    drawn: dict[int, float] = {}

    def on_frame(now: float, text: str) -> None:
        for match in LIVE_TOKEN.finditer(text):
            drawn.setdefault(int(match.group(1)), now)

    async def run() -> None:
        client = await attach_desk(Path(socket_path), required=True)
        assert client is not None
        keep_gc_pauses_short()  # as `run_attached` does, once the replica is loaded
        probe = FrameProbe(on_frame)
        app = probed(make_app(client, cursor_blink=False), probe)
        async with app.run_test(size=TERMINAL, headless=False):
            await thread_settled(app, probe)
            on_screen = {c.id: c for c in app.conversation_list.conversations}
            visible = [t.id for t in _visible_threads(app, on_screen)]
            # the running app captures print(): straight to the parent's pipe
            os.write(1, f"ready {','.join(map(str, visible))}\n".encode())
            first, last = map(int, (await asyncio.to_thread(sys.stdin.readline)).split())
            deadline = time.perf_counter() + GRACE_SECONDS
            while time.perf_counter() < deadline and not all(
                any(s2 in drawn for s2 in range(s, last + 1)) for s in range(first, last + 1)
            ):
                await asyncio.sleep(0.02)
        await client.stop()
        print(json.dumps({str(k): v for k, v in drawn.items()}), flush=True)

    asyncio.run(run())


async def _to_the_frame(
    desk, cache: Cache, socket_path: Path, rate: int, seconds: float, seq: int, report: Report
) -> int:
    """Inbound at `rate` into the conversations on one attached console's screen → its frame."""
    proc = await asyncio.create_subprocess_exec(
        *_child("attached_frame_child", str(socket_path)),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    ready = (await asyncio.wait_for(proc.stdout.readline(), 120)).decode().split()
    if not ready or ready[0] != "ready":
        raise RuntimeError(f"the attached console did not start: {ready!r}")
    by_id = {t.conversation_id: t for t in cache.threads}
    shown_ids = [int(i) for i in ready[1].split(",")] if len(ready) > 1 else []
    threads = [by_id[i] for i in shown_ids if i in by_id] or cache.threads
    sent_at, conv_of = {}, {}
    arriving: list[asyncio.Task[None]] = []
    count = max(3, int(rate * seconds))
    start = time.perf_counter()
    for i in range(count):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        seq += 1
        thread = threads[i % len(threads)]
        conv_of[seq], sent_at[seq] = thread.conversation_id, time.perf_counter()
        arriving.append(
            asyncio.create_task(desk.ingest(thread.channel, [inbound(thread, seq, "on screen")]))
        )
    await asyncio.gather(*arriving)
    proc.stdin.write(f"{min(sent_at)} {max(sent_at)}\n".encode())
    proc.stdin.close()
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    drawn = {int(k): v for k, v in json.loads(out.decode().strip().splitlines()[-1]).items()}
    # a message the list's preview replaced with a newer one of its conversation before a frame
    # drew it was shown by that frame: the agent sees the newer state
    shown: dict[int, float] = {}
    for s in sorted(sent_at, reverse=True):
        later = [drawn[s]] if s in drawn else []
        later += [shown[t] for t in shown if t > s and conv_of[t] == conv_of[s]]
        if later:
            shown[s] = min(later)
    lat = [shown[s] - sent_at[s] for s in sent_at if s in shown]
    label = f"to the frame of one attached console at {rate} msg/s"
    report.add("team.frame.p50", f"change fan-out {label} p50", percentile(lat, 50) * 1000, "ms")
    p95 = percentile(lat, 95) * 1000
    missing = len(sent_at) - len(lat)
    report.add(
        "team.frame.p95",
        f"change fan-out {label} p95",
        p95,
        "ms",
        f"< {FRAME_TARGET_MS:g} ms",
        p95 < FRAME_TARGET_MS and not missing,
    )
    if missing:
        report.notes.append(f"fan-out {label}: {missing} of {count} never drawn")
    return seq


def _report_fan_out(
    report: Report, clients: int, rate: int, lat: list[float], missing: int, behind: float
) -> None:
    label = f"change fan-out at {rate} msg/s to {clients} client{'s' if clients > 1 else ''}"
    report.add(f"team.fanout.{clients}.p50", f"{label} p50", percentile(lat, 50) * 1000, "ms")
    p95 = percentile(lat, 95) * 1000
    target = f"< {FANOUT_TARGET_MS:g} ms" if clients >= 20 else ""
    report.add(
        f"team.fanout.{clients}.p95",
        f"{label} p95",
        p95,
        "ms",
        target,
        (p95 < FANOUT_TARGET_MS and not missing) if target else None,
    )
    if missing:
        report.notes.append(f"{label}: {missing} arrivals never came within {GRACE_SECONDS:g} s")
    if behind > 0.05:
        report.notes.append(f"{label}: the sender fell {behind:.2f} s behind schedule")


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
        _child("serve_child", str(root), str(socket_path)),
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
    child = "frontdesk.bench.team:attached_console_child"
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
    from frontdesk.tui.widgets.conversation_list import CURSOR_REST
    from frontdesk.tui.widgets.conversation_list import ROW_HEIGHT

    probe = FrameProbe()
    app = probed(make_app(desk, cursor_blink=False), probe)
    async with console_gc(), app.run_test(size=TERMINAL, headless=False):
        await thread_settled(app, probe)

        async def settle() -> None:
            await thread_settled(app, probe)

        listing = app.conversation_list
        rows = max(2, listing.scrollable_content_region.height // ROW_HEIGHT)
        sweep = ["j"] * (rows - 1) + ["k"] * (rows - 1)
        press = await press_latencies(
            app, probe, (sweep * (presses // len(sweep) + 1))[:presses], settle
        )
        shown = []
        listing.cursor = 0
        for _ in range(min(20, presses)):
            await thread_settled(app, probe)
            await asyncio.sleep(CURSOR_REST)  # a single move, after a rest
            before = listing.current_id
            sent = time.perf_counter()
            listing.action_cursor_down()
            target = listing.current_id
            if target == before:
                break  # the end of the list
            shown.append(
                await drawn_when(probe, lambda: app.thread.conversation_id == target) - sent
            )
        long_open = None
        if cache.long_thread_id is not None and listing.select_id(cache.long_thread_id):
            sent = time.perf_counter()
            done = await drawn_when(
                probe, lambda: app.thread.conversation_id == cache.long_thread_id
            )
            long_open = done - sent
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
