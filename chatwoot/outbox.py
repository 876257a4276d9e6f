"""The Chatwoot console's outbox: replies and notes queued locally and posted in order, never twice.

Every reply or note goes into the outbox first (`add`) and is posted by a background runner,
one at a time per conversation in the order written. What a failed post means is decided by
the error's type (`chatwoot/errors.py`):

- `Unreachable` (certainly not taken effect): tried again after a backoff of 0.5 s doubling
  to 30 s;
- `RateLimited`: every post waits the server's `retry_after`;
- `TokenRefused`: every post is held (entries stay pending, saying why) until `resume()`;
- `Refused`: failed, with the server's reason;
- `Unconfirmed` (no answer after sending), a bug in `send`, or a stop mid-post: unconfirmed,
  never posted again by itself; `retry()` is the agent's decision to post it again (with the
  same `echo_id`, so the websocket's echo of either post is recognised).

`confirm()` takes the websocket's word (a message.created carrying our `echo_id`) as proof the
server has the message. The desk saves `entries()` in the seen cache and gives them back to
`load()` at start; an entry saved `sending` (the process died mid-post) comes back unconfirmed.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from frontdesk.chatwoot.errors import RateLimited, Refused, TokenRefused, Unconfirmed, Unreachable
from frontdesk.model import utcnow

log = logging.getLogger("frontdesk.chatwoot.outbox")

IDLE_WAIT = 30.0
"""Seconds the runner sleeps when nothing waits for a time (a new entry or `resume` wakes it)."""
MIN_WAIT = 0.01
"""The shortest sleep, so a retry time already past does not spin the runner."""
STOP_GRACE = 2.0
"""Seconds `close()` lets posts in flight finish before it stops them (they become unconfirmed)."""


class OutboxState(StrEnum):
    PENDING = "pending"  # waiting to be posted (maybe after `not_before`, or held)
    SENDING = "sending"  # the post is in flight
    SENT = "sent"  # the server has it (`server_id`); the entry then leaves the outbox
    UNCONFIRMED = "unconfirmed"  # may or may not have been taken: the agent decides
    FAILED = "failed"  # the server said no (`reason`)


@dataclass(slots=True)
class OutboxEntry:
    """One reply or note on its way to a Chatwoot conversation."""

    conversation_id: int
    body: str
    private: bool  # True: an internal note
    echo_id: str  # uuid4 hex, sent as `echo_id`: the websocket's echo carries it back
    local_id: int  # negative and unique: the id of the local message standing for it
    created_at: datetime
    state: OutboxState = OutboxState.PENDING
    reason: str = ""  # why it waits or failed, one line for the agent (never the body)
    server_id: int | None = None  # the server's message id once sent
    attempts: int = 0  # posts tried since it was written (or since the agent's retry)
    not_before: datetime | None = None  # no post before this time (backoff, rate limit)


@dataclass(frozen=True, slots=True)
class Timing:
    """How long the outbox waits between tries (tests shorten them)."""

    first_backoff: float = 0.5
    max_backoff: float = 30.0
    stop_grace: float = STOP_GRACE


def backoff(attempts: int, timing: Timing) -> float:
    """Seconds to wait after the `attempts`-th post that found the server unreachable."""
    return min(timing.max_backoff, timing.first_backoff * 2 ** max(0, attempts - 1))


Send = Callable[[OutboxEntry], Awaitable[dict[str, Any]]]
OnChange = Callable[[OutboxEntry], None]


class ChatwootOutbox:
    """Posts queued entries through `send` (which returns the server's message JSON and raises
    `chatwoot.errors` types); calls `on_change(entry)` after every change of an entry's state
    or reason. Runs in the caller's event loop between `start()` and `close()`.

    `persist` (the seen cache's `keep_outbox` over `entries`) is awaited once an entry is marked
    sending and before it is posted: a crash after the post finds it sending, so unconfirmed,
    never pending. When it fails the entry is not posted and waits as after `Unreachable`."""

    def __init__(
        self,
        send: Send,
        on_change: OnChange,
        *,
        timing: Timing = Timing(),
        now: Callable[[], datetime] = utcnow,
        persist: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._send = send
        self._persist = persist
        self._on_change = on_change
        self._timing = timing
        self._now = now
        self._entries: dict[int, OutboxEntry] = {}  # by local_id, in the order written
        self._lanes: dict[int, asyncio.Task[None]] = {}  # conversation -> its post in flight
        self._wake = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._paused = False
        self._held = ""  # why every post is held (the token was refused), or ""
        self._rate_limited_until: datetime | None = None
        self._last_local_id = 0
        self._keeping: set[asyncio.Task[None]] = set()

    # ---- what the desk asks ------------------------------------------------------------------

    def add(self, conversation_id: int, body: str, private: bool = False) -> OutboxEntry:
        """Queue a reply (or, `private`, a note); the runner posts it after the conversation's
        earlier entries."""
        # below every id given before, in this run or an earlier one (a dropped entry's
        # stand-in may still sit in a saved thread): the clock's microseconds, negated
        clock_id = -int(self._now().timestamp() * 1_000_000)
        self._last_local_id = min(self._last_local_id - 1, clock_id)
        entry = OutboxEntry(
            conversation_id=conversation_id,
            body=body,
            private=private,
            echo_id=uuid.uuid4().hex,
            local_id=self._last_local_id,
            created_at=self._now(),
            reason=self._held,
        )
        self._entries[entry.local_id] = entry
        log.debug("queued %d for conversation %d", entry.local_id, conversation_id)
        self._keep_soon()
        self._wake.set()
        return entry

    def entries(self) -> list[OutboxEntry]:
        """Every entry not yet sent, in the order written (what the seen cache saves)."""
        return list(self._entries.values())

    def entry(self, local_id: int) -> OutboxEntry | None:
        return self._entries.get(local_id)

    def load(self, entries: Iterable[OutboxEntry]) -> None:
        """Take back the entries saved by an earlier run (before `start()`). One saved while
        its post was in flight may have been taken by the server: it comes back unconfirmed."""
        for entry in entries:
            if entry.state is OutboxState.SENT or entry.local_id in self._entries:
                continue
            if entry.state is OutboxState.SENDING:
                entry.state = OutboxState.UNCONFIRMED
                entry.reason = "frontdesk stopped while posting it: not confirmed by Chatwoot"
            self._entries[entry.local_id] = entry
            self._last_local_id = min(self._last_local_id, entry.local_id)
        self._wake.set()

    @property
    def held(self) -> str:
        """Why every post is held (Chatwoot refused the token), or "" when posts may go."""
        return self._held

    def pause(self) -> None:
        """Start no new post (offline); posts in flight finish."""
        self._paused = True

    def resume(self) -> None:
        """Posts may go again: after `pause()`, or after a new token once one was refused."""
        self._paused = False
        if self._held:
            self._held = ""
            for entry in self._entries.values():
                if entry.state is OutboxState.PENDING and entry.reason:
                    entry.reason = ""
                    self._changed(entry)
        self._wake.set()

    def retry(self, local_id: int) -> bool:
        """The agent's decision to post an unconfirmed or failed entry again (same echo_id);
        False when there is no such entry in either state."""
        entry = self._entries.get(local_id)
        if entry is None or entry.state not in (OutboxState.UNCONFIRMED, OutboxState.FAILED):
            return False
        entry.state, entry.reason, entry.not_before, entry.attempts = (
            OutboxState.PENDING,
            self._held,
            None,
            0,
        )
        self._changed(entry)
        self._wake.set()
        return True

    def discard(self, local_id: int) -> OutboxEntry | None:
        """The agent drops an unconfirmed or failed entry (it will not be posted); the entry."""
        entry = self._entries.get(local_id)
        if entry is None or entry.state not in (OutboxState.UNCONFIRMED, OutboxState.FAILED):
            return None
        del self._entries[local_id]
        return entry

    def confirm(self, echo_id: str, server_message: dict[str, Any]) -> OutboxEntry | None:
        """The server has the entry posted with `echo_id` (its message.created came back): the
        entry is sent, whatever it was waiting for, so it is never posted again. The entry, or
        None when no entry has that echo_id."""
        for entry in self._entries.values():
            if entry.echo_id == echo_id:
                self._sent(entry, server_message)
                return entry
        return None

    def _keep_soon(self) -> None:
        """Persist a new entry at once, not only at the desk's next save: one kept offline (or
        held) would otherwise be lost to a crash in between."""
        if self._persist is None:
            return
        try:
            task = asyncio.get_running_loop().create_task(self._keep_quietly())
        except RuntimeError:  # no loop (a desk not started): its first save keeps it
            return
        self._keeping.add(task)
        task.add_done_callback(self._keeping.discard)

    async def _keep_quietly(self) -> None:
        try:
            await self._persist()
        except Exception as exc:  # the desk's next save tries again; posting re-checks it
            log.warning("outbox not saved after a new entry: %s", exc)

    # ---- the runner --------------------------------------------------------------------------

    def start(self) -> None:
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name="chatwoot-outbox")

    async def close(self) -> None:
        """Stop: posts in flight get `stop_grace` seconds; one stopped then is unconfirmed."""
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
            self._runner = None
        await asyncio.gather(*self._keeping, return_exceptions=True)
        lanes = list(self._lanes.values())
        if lanes:
            _, late = await asyncio.wait(lanes, timeout=self._timing.stop_grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            self._start_due()
            await self._sleep(self._waits())

    def _heads(self) -> list[OutboxEntry]:
        """The first entry of each conversation still to post (later ones wait behind it)."""
        heads: dict[int, OutboxEntry] = {}
        for entry in self._entries.values():
            if entry.state in (OutboxState.PENDING, OutboxState.SENDING):
                heads.setdefault(entry.conversation_id, entry)
        return list(heads.values())

    def _blocked(self, now: datetime) -> bool:
        limited = self._rate_limited_until
        if limited is not None and limited <= now:
            self._rate_limited_until = limited = None
        return self._paused or bool(self._held) or limited is not None

    def _start_due(self) -> None:
        now = self._now()
        if self._blocked(now):
            return
        for entry in self._heads():
            due = entry.state is OutboxState.PENDING and (
                entry.not_before is None or entry.not_before <= now
            )
            if due and entry.conversation_id not in self._lanes:
                self._lanes[entry.conversation_id] = asyncio.create_task(
                    self._post(entry), name=f"chatwoot-outbox:{entry.conversation_id}"
                )

    def _waits(self) -> list[float]:
        """Seconds until each time the runner waits for (a retry time, the rate limit's end)."""
        if self._paused or self._held:
            return []
        now = self._now()
        times = [
            e.not_before
            for e in self._heads()
            if e.not_before is not None
            and e.state is OutboxState.PENDING
            and e.conversation_id not in self._lanes
        ]
        if self._rate_limited_until is not None:
            times.append(self._rate_limited_until)
        return [(t - now).total_seconds() for t in times]

    async def _sleep(self, waits: list[float]) -> None:
        timeout = max(MIN_WAIT, min(waits)) if waits else IDLE_WAIT
        try:
            async with asyncio.timeout(timeout):
                await self._wake.wait()
        except TimeoutError:
            pass

    async def _post(self, entry: OutboxEntry) -> None:
        try:
            if not await self._mark_sending(entry):
                return
            try:
                answer = await self._send(entry)
            except asyncio.CancelledError:
                if entry.state is OutboxState.SENDING:
                    self._settle(
                        entry, OutboxState.UNCONFIRMED, "stopped while posting: not confirmed"
                    )
                raise
            except Exception as exc:
                self._failed(entry, exc)
            else:
                self._sent(entry, answer)
        finally:
            self._lanes.pop(entry.conversation_id, None)
            self._wake.set()

    async def _mark_sending(self, entry: OutboxEntry) -> bool:
        """Mark the entry sending, durably when the outbox persists; False: not to be posted now."""
        entry.state, entry.attempts = OutboxState.SENDING, entry.attempts + 1
        self._changed(entry)
        if self._persist is None:
            return True
        try:
            await self._persist()
        except asyncio.CancelledError:
            if entry.state is OutboxState.SENDING:  # nothing went out
                self._settle(entry, OutboxState.PENDING, "")
            raise
        except Exception as exc:
            if entry.state is not OutboxState.SENDING:  # confirmed meanwhile
                return False
            delay = backoff(entry.attempts, self._timing)
            entry.not_before = self._now() + timedelta(seconds=delay)
            log.warning("outbox not saved, entry %d not posted: %s", entry.local_id, exc)
            reason = f"the outbox could not be saved ({exc}): not posted yet; trying again in {delay:g} s"
            self._settle(entry, OutboxState.PENDING, reason)
            return False
        return entry.state is OutboxState.SENDING

    def _failed(self, entry: OutboxEntry, exc: Exception) -> None:
        if entry.state is OutboxState.SENT:  # the websocket confirmed it meanwhile
            return
        now = self._now()
        if isinstance(exc, Unreachable):
            delay = backoff(entry.attempts, self._timing)
            entry.not_before = now + timedelta(seconds=delay)
            self._settle(entry, OutboxState.PENDING, f"{exc}; trying again in {delay:g} s")
        elif isinstance(exc, RateLimited):
            until = now + timedelta(seconds=max(0.0, exc.retry_after))
            self._rate_limited_until = max(until, self._rate_limited_until or until)
            entry.not_before = until
            self._settle(entry, OutboxState.PENDING, f"{exc}; waiting {exc.retry_after:g} s")
        elif isinstance(exc, TokenRefused):
            self._held = f"{exc}; replies wait until a new token is set"
            for waiting in self._entries.values():  # posts in flight end by their own answer
                if waiting.state is OutboxState.PENDING or waiting is entry:
                    self._settle(waiting, OutboxState.PENDING, self._held)
        elif isinstance(exc, Refused):
            self._settle(entry, OutboxState.FAILED, str(exc) or f"refused ({exc.status})")
        elif isinstance(exc, Unconfirmed):
            self._settle(entry, OutboxState.UNCONFIRMED, str(exc) or "not confirmed by Chatwoot")
        else:  # a bug in `send`: the post may or may not have gone out
            log.exception("posting outbox entry %d", entry.local_id)
            self._settle(
                entry, OutboxState.UNCONFIRMED, f"not confirmed ({type(exc).__name__}: {exc})"
            )

    def _settle(self, entry: OutboxEntry, state: OutboxState, reason: str) -> None:
        entry.state, entry.reason = state, reason
        log.debug("outbox entry %d: %s", entry.local_id, state)
        self._changed(entry)

    def _changed(self, entry: OutboxEntry) -> None:
        # a bug in the listener must not leave an entry half-moved nor stop the runner
        try:
            self._on_change(entry)
        except Exception:
            log.exception("outbox listener on entry %d", entry.local_id)

    def _sent(self, entry: OutboxEntry, answer: Any) -> None:
        if entry.state is OutboxState.SENT:
            return
        server_id = answer.get("id") if isinstance(answer, dict) else None
        entry.server_id = server_id if type(server_id) is int else None
        entry.state, entry.reason, entry.not_before = OutboxState.SENT, "", None
        self._entries.pop(entry.local_id, None)
        self._changed(entry)
