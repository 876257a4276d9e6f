"""Team figures: change fan-out to attached consoles, and the attached console's cold start vs solo's.

- fan-out: the large cache served (`team.server.DeskServer`) in this process, inbound
  messages handed to its `desk.ingest` at a set rate; 1, 5 and 20 `DeskClient`s attached
  from one other process (as consoles are other processes) note when their change feed
  yields each message. Both processes read the same monotonic clock (`time.perf_counter`,
  CLOCK_MONOTONIC on Linux), so arrival minus hand-over is the latency.

The attached console's figures (cold start, keys) are in `bench/team_attached.py`.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from frontdesk.bench.cache import Cache, inbound
from frontdesk.bench.frames import FrameProbe, probed
from frontdesk.bench.frames import thread_settled
from frontdesk.bench.live import LIVE_TOKEN
from frontdesk.bench.report import TERMINAL, Report, percentile

FANOUT_TARGET_MS = 100.0
FRAME_TARGET_MS = 75.0
GRACE_SECONDS = 3.0
"""How long after the last message the clients wait for what is still on its way."""


def _short_dir() -> Path:
    """A directory for sockets (a Unix socket's path is at most 107 bytes)."""
    return Path(tempfile.mkdtemp(prefix="fd-bench-", dir="/tmp"))


def _admission():
    from frontdesk.team.peercred import user_name
    from frontdesk.team.server import Admission

    return Admission(user_name(os.getuid()), frozenset(), Path("/dev/null"), open_door=True)


def _child(function: str, *args: str, module: str = __name__) -> list[str]:
    code = f"import sys; from {module} import {function}; {function}(*sys.argv[1:])"
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
