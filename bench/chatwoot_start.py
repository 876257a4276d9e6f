"""A Chatwoot console's cold start: a real console process paints its list from the seen cache.

The console runs as `frontdesk` runs it on a `[desk] kind = "chatwoot"` config, on a
pseudo-terminal, with the server unreachable (nothing listens on the URL): the figure is what
an agent waits for before the list is on screen, whatever the server's distance.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import tempfile
from pathlib import Path

from frontdesk.bench.chatwoot import CACHE_LOAD_TARGET, seen_state
from frontdesk.bench.report import Report
from frontdesk.bench.startup import header_marker, start_console

UNREACHABLE = "http://127.0.0.1:9"
"""The discard port: nothing listens on loopback, so a connect is refused at once."""


def chatwoot_console_child(cache_dir: str) -> None:
    """What the parent spawns: the console on a ChatwootDesk whose seen cache is `cache_dir`."""
    from frontdesk.chatwoot.desk import ChatwootDesk
    from frontdesk.config import DeskConfig
    from frontdesk.launch import make_app, resolve_keymap, run_session

    desk = ChatwootDesk(DeskConfig("chatwoot", UNREACHABLE, 1), "bench-token", Path(cache_dir))
    run_session(desk, make_app(desk, keymap=resolve_keymap("default", None), cursor_blink=False))


def open_in_cache(cache_dir: Path) -> int:
    """How many conversations the All-open tab counts once the cache is painted."""
    from frontdesk.chatwoot.desk import ChatwootDesk
    from frontdesk.config import DeskConfig
    from frontdesk.desk.views import View

    async def counted() -> int:
        desk = ChatwootDesk(DeskConfig("chatwoot", UNREACHABLE, 1), "bench-token", cache_dir)
        await desk.start()
        try:
            return (await desk.tally()).counts()[View.ALL]
        finally:
            await desk.stop()

    return asyncio.run(counted())


def measure_chatwoot_cold_start(
    work: Path, report: Report, *, conversations: int = 10_000, runs: int = 5
) -> float:
    """Median seconds from spawn to the painted list of a Chatwoot console on a seen cache of
    `conversations` (and 64 kept threads), added to `report`."""
    from frontdesk.chatwoot.seen_cache import SeenCache

    cache_dir = work / "chatwoot-start"
    shutil.rmtree(cache_dir, ignore_errors=True)
    account = f"{UNREACHABLE}#1"
    SeenCache(cache_dir, account=account).save(seen_state(conversations, 64, 50), [])
    marker = header_marker(open_in_cache(cache_dir))
    bytecode = Path(tempfile.mkdtemp(prefix="fd-bench-bytecode-"))
    child = "frontdesk.bench.chatwoot_start:chatwoot_console_child"
    try:
        start_console(cache_dir, marker, bytecode=bytecode, child=child)  # compiles the modules
        times = [
            start_console(cache_dir, marker, bytecode=bytecode, child=child).seconds
            for _ in range(runs)
        ]
    finally:
        shutil.rmtree(bytecode, ignore_errors=True)
    median = statistics.median(times)
    report.add(
        "chatwoot.cold_start.median",
        f"Chatwoot console cold start to the painted list from a seen cache of "
        f"{conversations:,} conversations, server unreachable (median of {runs})",
        median,
        "s",
        f"< {CACHE_LOAD_TARGET:g} s",
        median < CACHE_LOAD_TARGET,
    )
    return median
