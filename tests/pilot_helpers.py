"""Helpers shared by the tests that wait on the app or the desk (not a test module: conftest puts tests/ on sys.path)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from frontdesk.launch import make_app as launch_app

#: worker groups whose work a test waits for: thread loads, the window badge, contact search, downloads
BUSY_GROUPS = frozenset({"thread", "window", "merge-search", "downloads"})

NO_CANNED_FILE = Path("/nonexistent/frontdesk/canned.toml")
"""A canned.toml that is not there: the console offers the shipped example replies."""


def make_app(desk, clock=None, **options):
    """The console as the tests run it: built by the launch factory (as `frontdesk` builds it),
    on the test's clock, with no cursor blink; `options` go to the App (keymap, canned, ...)."""
    return launch_app(desk, clock=clock, cursor_blink=False, **options)


async def settle(pilot) -> None:
    """Let messages, change bursts and the app's short workers finish (the change feed runs forever)."""
    app = pilot.app
    for _ in range(3):
        await pilot.pause(0.05)
        busy = [w for w in app.workers if w.group in BUSY_GROUPS]
        if busy:  # never an empty list: that waits for every worker, the change feed included
            await app.workers.wait_for_complete(busy)
    await pilot.pause()


async def wait_until(pilot, predicate, timeout: float = 5.0, what: str = "condition") -> None:
    """Settle until `predicate()` holds; fail after `timeout` seconds, naming `what` was awaited."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not reached in {timeout:g} s")
        await settle(pilot)


async def eventually(predicate, timeout: float = 10.0, what: str = "condition") -> None:
    """For tests without a Pilot: poll `predicate()` (sync or async) until it holds; fail after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (await predicate() if asyncio.iscoroutinefunction(predicate) else predicate()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not reached in {timeout:g} s")
        await asyncio.sleep(0.01)


def record_notifications(app) -> list[str]:
    """Every notification the app raises from now on, as its plain message."""
    seen: list[str] = []
    notify = app.notify

    def recording(message, *args, **kwargs):
        seen.append(str(message))
        return notify(message, *args, **kwargs)

    app.notify = recording
    return seen
