"""Helpers shared by the tests that wait on the app or the desk (not a test module: tests/conftest.py
puts tests/ on sys.path, so every layer imports it by name)."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.app import App
from textual.screen import Screen

from frontdesk.launch import make_app as launch_app

#: worker groups whose work a test waits for: thread loads, the window badge, contact search, downloads
BUSY_GROUPS = frozenset({"thread", "window", "merge-search", "downloads"})

NO_CANNED_FILE = Path("/nonexistent/frontdesk/canned.toml")
"""A canned.toml that is not there: the console offers the shipped example replies."""


def make_app(desk, clock=None, **options):
    """The console as the tests run it: built by the launch factory (as `frontdesk` builds it),
    on the test's clock, with no cursor blink; `options` go to the App (keymap, canned, ...)."""
    return launch_app(desk, clock=clock, cursor_blink=False, **options)


class DialogHarness(App[None]):
    """One dialog or screen on an otherwise empty app, built by `make_dialog` from fixed data:
    its snapshot changes when the dialog does, not when the console around it does.
    `results` collects what the dialog is dismissed with."""

    def __init__(self, make_dialog: Callable[[], Awaitable[Screen]]) -> None:
        super().__init__()
        self.make_dialog = make_dialog
        self.results: list = []

    async def on_mount(self) -> None:
        self.push_screen(await self.make_dialog(), self.results.append)


async def idle(pilot) -> None:
    """Wait until the app has nothing left to do now: its message queues drained (Pilot's pause
    with no delay waits for the process to go idle) and the named short workers (BUSY_GROUPS) done.
    Timers still pending (the cursor-rest debounce, draft saves) are not awaited: wait for what
    they show with `wait_until`."""
    app = pilot.app
    while True:
        await pilot.pause()
        busy = [w for w in app.workers if w.group in BUSY_GROUPS and not w.is_finished]
        if not busy:  # never an empty list: that waits for every worker, the change feed included
            return
        await app.workers.wait_for_complete(busy)


async def wait_until(pilot, predicate, timeout: float = 5.0, what: str = "condition") -> None:
    """Wait until `predicate()` holds, checking each time the app goes idle; fail after `timeout`
    seconds, naming `what` was awaited."""
    deadline = asyncio.get_running_loop().time() + timeout
    await idle(pilot)
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not reached in {timeout:g} s")
        await idle(pilot)


async def thread_follows_cursor(pilot, timeout: float = 5.0) -> None:
    """Wait until the thread shows the conversation the list highlights (a move soon after
    another is read once the cursor rests)."""
    app = pilot.app
    await wait_until(
        pilot,
        lambda: app.thread.conversation_id == app.conversation_list.current_id,
        timeout,
        what="the thread showing the highlighted conversation",
    )


async def eventually(predicate, timeout: float = 10.0, what: str = "condition") -> None:
    """For tests without a Pilot: poll `predicate()` (sync or async) until it holds; fail after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (await predicate() if asyncio.iscoroutinefunction(predicate) else predicate()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not reached in {timeout:g} s")
        await asyncio.sleep(0.01)  # polling: no Pilot to wait on


def screen_text(app) -> str:
    """The whole screen as text, from the SVG screenshot (what a terminal would show)."""
    svg = app.export_screenshot()
    svg = re.sub(r"<style>.*?</style>|<defs>.*?</defs>", "", svg, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")


def record_notifications(app) -> list[str]:
    """Every notification the app raises from now on, as its plain message."""
    seen: list[str] = []
    notify = app.notify

    def recording(message, *args, **kwargs):
        seen.append(str(message))
        return notify(message, *args, **kwargs)

    app.notify = recording
    return seen


class TerminalRecorder:
    """Stands in for the console's terminal (TerminalOutput): keeps escape sequences, counts bells."""

    def __init__(self) -> None:
        self.written: list[str] = []
        self.bells = 0

    def write(self, sequence: str) -> None:
        self.written.append(sequence)

    def bell(self) -> None:
        self.bells += 1

    def desktop(self) -> list[str]:
        return [s for s in self.written if s.startswith(("\x1b]9;", "\x1b]777;"))]

    def titles(self) -> list[str]:
        return [s for s in self.written if s.startswith("\x1b]2;")]
