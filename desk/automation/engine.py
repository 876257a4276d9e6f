"""The automation engine: runs each automaton on each trigger in order, off the ingest path."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Iterable
from typing import Protocol

from frontdesk.desk.acting import acting_as
from frontdesk.desk.automation.triggers import Trigger
from frontdesk.desk.interface import DeskAPI
from frontdesk.model import Message

log = logging.getLogger("frontdesk.desk.automation")

AUTOMATION_AUTHOR_PREFIX = "⚙ "
"""Authors of what automation writes start with this, so nothing automated triggers again."""

#: at most this many triggers handled per conversation per RATE_SECONDS (loop safety)
RATE_LIMIT = 10
RATE_SECONDS = 60.0
#: conversations whose recent triggers are kept before the quiet ones are forgotten
RATE_TRACKED = 10_000


def automation_author(name: str) -> str:
    """The author an automaton acts as: its name, marked as automation."""
    return f"{AUTOMATION_AUTHOR_PREFIX}{name}"


def is_automation_author(author: str) -> bool:
    return author.startswith(AUTOMATION_AUTHOR_PREFIX)


class AutomationDesk(DeskAPI, Protocol):
    """The desk as automata use it: the console's calls and what only automation writes
    (`desk.replies`)."""

    async def auto_reply(self, conv_id: int, body: str) -> Message: ...

    async def render_canned(self, conv_id: int, shortcode: str) -> str: ...

    async def record_automation(self, conv_id: int, text: str) -> None: ...

    async def survey_sent(self, conv_id: int) -> None: ...


class Automaton(Protocol):
    """One automated feature. `handle` acts through the desk's commands; it runs as
    `automation_author(name)`. It raises to say it could not act (the engine leaves a note)."""

    name: str

    async def handle(self, desk: AutomationDesk, trigger: Trigger) -> None: ...


class Sweeper(Protocol):
    """An automaton that also acts when the agents change (one comes online, leaves, frees
    room): `sweep` runs in the same task as the triggers, after those already queued."""

    name: str

    async def sweep(self, desk: AutomationDesk) -> None: ...


class Automation:
    """The desk's automata and the queue of triggers they work through."""

    def __init__(self, automata: Iterable[Automaton] = ()) -> None:
        self.automata = list(automata)
        self._queue: deque[Trigger] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._acted: dict[int, deque[float]] = {}
        self._sweep = False

    def submit(self, triggers: Iterable[Trigger]) -> None:
        """Queue triggers (ingest and commands call this once their batch is durable)."""
        if not self.automata:
            return
        self._queue.extend(triggers)
        if self._queue:
            self._idle.clear()
            self._wake.set()

    def agents_changed(self) -> None:
        """Someone came online or left: the automata that sweep look again (once, however many
        changes come before they run)."""
        if any(hasattr(a, "sweep") for a in self.automata):
            self._sweep = True
            self._idle.clear()
            self._wake.set()

    async def idle(self) -> None:
        """Return once every submitted trigger has been handled."""
        await self._idle.wait()

    def start(self, desk: AutomationDesk) -> None:
        if self.automata and self._task is None:
            self._task = asyncio.create_task(self._run(desk), name="automation")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self, desk: AutomationDesk) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                trigger = self._queue.popleft()
                if not self._within_rate(trigger.conversation_id):
                    log.warning(
                        "automation: conversation %s had %s triggers in %g s; %s skipped",
                        trigger.conversation_id,
                        RATE_LIMIT,
                        RATE_SECONDS,
                        trigger.kind.value,
                    )
                    continue
                for automaton in self.automata:
                    await self._handle(desk, automaton, trigger)
            if self._sweep:
                self._sweep = False
                for automaton in self.automata:
                    if hasattr(automaton, "sweep"):
                        await self._sweep_with(desk, automaton)  # type: ignore[arg-type]
            if not self._queue and not self._sweep:
                self._idle.set()

    async def _sweep_with(self, desk: AutomationDesk, sweeper: Sweeper) -> None:
        with acting_as(automation_author(sweeper.name)):
            try:
                await sweeper.sweep(desk)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("automation %s: sweep failed", sweeper.name)

    async def _handle(self, desk: AutomationDesk, automaton: Automaton, trigger: Trigger) -> None:
        with acting_as(automation_author(automaton.name)):
            try:
                await automaton.handle(desk, trigger)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("automation %s failed: %s", automaton.name, exc)
                await self._say_it_failed(desk, automaton, trigger, exc)

    def _within_rate(self, conv_id: int) -> bool:
        now = time.monotonic()
        if len(self._acted) > RATE_TRACKED:  # forget conversations quiet for a minute
            self._acted = {c: r for c, r in self._acted.items() if now - r[-1] <= RATE_SECONDS}
        recent = self._acted.setdefault(conv_id, deque())
        while recent and now - recent[0] > RATE_SECONDS:
            recent.popleft()
        if len(recent) >= RATE_LIMIT:
            return False
        recent.append(now)
        return True

    @staticmethod
    async def _say_it_failed(
        desk: AutomationDesk, automaton: Automaton, trigger: Trigger, exc: Exception
    ) -> None:
        try:
            await desk.note(trigger.conversation_id, f"{automaton.name} did not act: {exc}")
        except Exception:
            log.exception("automation %s: the failure note could not be saved", automaton.name)
