"""Cold start and memory: a real console process on a pseudo-terminal, large cache vs empty."""

from __future__ import annotations

import asyncio
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from frontdesk.bench.cache import Cache
from frontdesk.bench.report import TERMINAL, Report


def console_child(root: str, search_done: str = "") -> None:
    """What the parent spawns: the console on `root`, as `frontdesk` runs it (no channels).

    With `search_done`, it runs one search a second after start and then creates that file.
    """
    from frontdesk.desk import Desk
    from frontdesk.launch import make_app, resolve_keymap, run_session
    from frontdesk.store import Store

    with Store.open(root) as store:
        desk = Desk(store, agent="Aiko")
        app = make_app(desk, keymap=resolve_keymap("default", None), cursor_blink=False)

        async def search_later() -> None:
            await asyncio.sleep(1.0)
            await desk.search("refund")
            Path(search_done).touch()

        # as `frontdesk` runs it
        run_session(desk, app, alongside=search_later if search_done else None)


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
    root: Path,
    marker: str,
    *,
    search: bool = False,
    bytecode: Path | None = None,
    timeout: float = 60.0,
    child: str = "frontdesk.bench.startup:console_child",
    child_args: Sequence[str] = (),
) -> StartRun:
    """Spawn the console on a pseudo-terminal; seconds until `marker` is drawn, peak RSS.

    With `bytecode`, the child keeps its compiled modules there (`PYTHONPYCACHEPREFIX`) even
    where the environment turns bytecode writing off. `child` names the function the child
    process runs (`module:function`), with `root` and then `child_args`.
    """
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    cols, rows = TERMINAL
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    done_file = Path(tempfile.mkdtemp(prefix="fd-bench-")) / "searched"
    module, function = child.split(":")
    code = f"import sys; from {module} import {function}; {function}(*sys.argv[1:])"
    argv = [sys.executable, "-c", code, str(root), *child_args] + (
        [str(done_file)] if search else []
    )
    env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor"}
    for var in ("TEXTUAL", "TEXTUAL_DRIVER", "COLUMNS", "LINES"):
        env.pop(var, None)
    if bytecode is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(bytecode)
    started = time.monotonic()
    proc = subprocess.Popen(
        argv,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
        close_fds=True,
    )
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
                raise RuntimeError(
                    f"the console did not draw {marker!r} (exit {proc.poll()}): …{tail}"
                )
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
            empty_times.append(
                start_console(empty.root, header_marker(0), bytecode=bytecode).seconds
            )
            run = start_console(big.root, header_marker(big.open_count), bytecode=bytecode)
            big_times.append(run.seconds)
            rss.append(run.peak_rss_mb)
        searched = start_console(
            big.root, header_marker(big.open_count), search=True, bytecode=bytecode
        )
    finally:
        shutil.rmtree(bytecode, ignore_errors=True)
    big_median, empty_median = statistics.median(big_times), statistics.median(empty_times)
    ratio = big_median / empty_median
    report.add(
        "cold_start.large.median",
        "cold start, large cache (median)",
        big_median,
        "s",
        "< 0.5 s",
        big_median < 0.5,
    )
    report.add("cold_start.empty.median", "cold start, empty cache (median)", empty_median, "s")
    report.add(
        "cold_start.ratio", "cold start ratio large/empty", ratio, "x", "≤ 1.5", ratio <= 1.5
    )
    peak = max(rss)
    report.add(
        "memory.peak_rss",
        "peak RSS, console on the large cache",
        peak,
        "MB",
        "< 300 MB",
        peak < 300,
    )
    after = searched.peak_rss_after_search_mb or 0.0
    report.add(
        "memory.peak_rss_search",
        "peak RSS, same after a search (index built)",
        after,
        "MB",
        "< 300 MB",
        after < 300,
    )
