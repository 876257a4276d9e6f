"""The Chatwoot desk's link to its server: reconnecting, failures as one line, the server's counts.

Mixed into `ChatwootDesk`, which provides `_api`, `_state`, `_outbox`, `_timing`, `_publish`,
`_read_thread` and `_start_feed`. While the server is unreachable `_problem` says so: the console
shows what was seen, and `_connect` retries with backoff until it answers, then reads again what
the console shows and publishes LINK back and a RESET.
"""

from __future__ import annotations

import asyncio
import importlib
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from frontdesk.chatwoot import listing
from frontdesk.chatwoot.cable import CableTiming
from frontdesk.chatwoot.errors import (
    ChatwootError,
    RateLimited,
    Refused,
    TokenRefused,
    Unreachable,
)
from frontdesk.chatwoot.mapping import Unreadable, conversation_from, counts_from
from frontdesk.chatwoot.outbox import Timing as OutboxTiming
from frontdesk.chatwoot.sync import account_records
from frontdesk.desk.changes import Change, ChangeKind
from frontdesk.desk.errors import DeskError
from frontdesk.desk.views import Filters, View

log = logging.getLogger("frontdesk.chatwoot")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Timing:
    """The desk's clocks (tests shorten them)."""

    retry_first: float = 0.5
    retry_most: float = 30.0
    rate_wait_most: float = 30.0  # a command waits out a 429 this long at most, then says so
    save_delay: float = 2.0  # the seen cache is written at most this often
    counts_every: float = 2.0  # the server's view counts are read at most this often
    token_check: float = 5.0  # after a refused token, the keyring is read again this often
    outbox: OutboxTiming = OutboxTiming()
    cable: CableTiming = CableTiming()


def retry_delays(timing: Timing) -> Iterator[float]:
    """Seconds before each reconnect attempt: doubling from `retry_first` up to `retry_most`."""
    delay = timing.retry_first
    while True:
        yield delay
        delay = min(delay * 2, timing.retry_most)


NETWORK_MODULES = ("httpx", "aiohttp")
"""What the REST client and the live feed import when first used."""


async def preload_network() -> None:
    """Import the HTTP and websocket libraries in a thread: the console paints its first frame
    from the cache meanwhile instead of waiting for them in the event loop."""
    await asyncio.to_thread(lambda: [importlib.import_module(m) for m in NETWORK_MODULES])


class Link:
    """The link part of `ChatwootDesk`."""

    async def _connect(self, first: bool) -> None:
        """Reach the server (again): read the account and what the console shows; retry with
        backoff while it is unreachable; a refused token stops until a new one is set."""
        delays = retry_delays(self._timing)
        if first:
            await preload_network()
        else:
            await self._pause(next(delays))
        while not self._closed:
            try:
                await self._sync()
            except asyncio.CancelledError:
                raise
            except TokenRefused as exc:
                self._say_lost(str(exc))
                if not await self._new_token():
                    return
                continue
            except RateLimited as exc:
                await asyncio.sleep(exc.retry_after)  # the server's wait, whatever else says
                continue
            except ChatwootError as exc:
                self._say_lost(
                    f"offline: {self._api.host} unreachable, showing what was seen"
                    if isinstance(exc, Unreachable)
                    else f"offline: {exc}; showing what was seen"
                )
                log.warning("Chatwoot: %s", exc)
                await self._pause(next(delays))
                continue
            except Exception:  # an answer read wrong is a bug to log, never a dead desk
                log.exception("reading Chatwoot at %s", self._api.host)
                self._say_lost(
                    f"offline: Chatwoot at {self._api.host} answered in a form not understood"
                )
                await self._pause(next(delays))
                continue
            self._problem = ""
            self._outbox.resume()
            self.synced.set()
            await self._start_feed()
            # back only once the live feed is too: before, what shows may still miss events
            back = [] if self._live_problem else [Change(ChangeKind.LINK, detail="back")]
            self._publish(*back, Change(ChangeKind.RESET))
            return

    async def _pause(self, seconds: float) -> None:
        """Wait `seconds` before the next attempt, or less when there is news that the server is
        back (its live feed subscribed again)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._retry_now.wait()
        self._retry_now.clear()

    async def _sync(self) -> None:
        """The account, each view's first page and the open conversation, read afresh; what was
        seen and not read again leaves the lists (it may have moved or gone meanwhile, and the
        server lists it again as the agent scrolls)."""
        state = self._state
        await account_records(self._api, state)
        paged = dict(state.pages)  # each list is read again as far as it was paged, within
        state.pages.clear()  # a bound: the agent's place is kept, and what is held stays current
        self._contacts_read.clear()  # and each contact read again when shown
        state.exhausted.clear()
        pages = await asyncio.gather(
            *(
                listing.reload_pages(
                    self._api,
                    state,
                    query,
                    min(paged.get(listing.query_key(query), 1), listing.RESYNC_PAGES),
                    self._can_reply,
                )
                for query in listing.first_queries(state)
            )
        )
        fresh = {conv.id for page in pages for conv in page}
        viewing = self._viewing
        if viewing is not None and viewing not in fresh:
            with contextlib.suppress(Refused, Unreadable):  # gone from the server: it leaves too
                answer = await self._api.conversation(viewing)
                state.put_conversation(conversation_from(answer, state))
                listing.note_can_reply(self._can_reply, answer)
                fresh.add(viewing)
        for conv_id in set(state.conversations) - fresh:
            del state.conversations[conv_id]
        for conv_id, thread in list(state.threads.items()):
            if conv_id != viewing and all(m.id > 0 for m in thread.values()):
                del state.threads[conv_id]  # events may have been missed: read when opened
                state.older.pop(conv_id, None)
        if viewing in fresh and state.thread(viewing) is not None:
            with contextlib.suppress(Refused):
                await self._read_thread(viewing)

    async def _new_token(self) -> bool:
        """Wait for a token other than the refused one (`frontdesk creds set chatwoot
        api_access_token` in another terminal); True once it is in use."""
        refused = self._api.token
        while not self._closed:
            await asyncio.sleep(self._timing.token_check)
            token = await asyncio.to_thread(self._read_token)  # a keyring may block on D-Bus
            if token and token != refused:
                self._api.set_token(token)
                log.info("Chatwoot: a new token was set; reaching the server again")
                return True
        return False

    def _say_lost(self, problem: str) -> None:
        """Publish LINK failed once per change of the problem."""
        if problem == self._problem:
            return
        self._problem = problem
        self._outbox.pause()
        self._publish(Change(ChangeKind.LINK, failed=True, detail=problem))

    def _resync(self) -> None:
        """Read again what the console shows (after the live feed missed events), then RESET;
        a reconnect waiting for its next attempt makes it now."""
        if self._closed:
            return
        if self._connecting is not None and not self._connecting.done():
            self._retry_now.set()
            return
        self._connecting = asyncio.create_task(self._connect(first=True), name="chatwoot:connect")

    def _lost(self) -> None:
        """A call found the server unreachable: say so and reconnect (once at a time)."""
        self._say_lost(f"offline: {self._api.host} unreachable, showing what was seen")
        self._reconnect()

    def _reconnect(self) -> None:
        """Start reaching the server again unless that is under way (or the desk stopped)."""
        if self._closed or (self._connecting is not None and not self._connecting.done()):
            return
        self._connecting = asyncio.create_task(self._connect(first=False), name="chatwoot:connect")

    async def _ask(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """`call()` with the server's errors as one DeskError line starting `what`; a 429 is
        waited out once (nothing was done), an unreachable server starts the reconnecting."""
        for attempt in range(2):
            try:
                return await call()
            except RateLimited as exc:
                if attempt or exc.retry_after > self._timing.rate_wait_most:
                    raise DeskError(f"{what}: {exc}") from None
                await asyncio.sleep(exc.retry_after)
            except TokenRefused as exc:
                self._say_lost(str(exc))
                self._reconnect()  # which waits for a new token
                raise DeskError(str(exc)) from None
            except Unreachable as exc:
                self._lost()
                raise DeskError(f"{what}: {exc}") from None
            except ChatwootError as exc:
                raise DeskError(f"{what}: {exc}") from None
        raise AssertionError("unreachable")

    def _counts_later(self, conv_id: int) -> None:
        """Read the server's counts again after a change to `conv_id` (one read at a time; a
        change during a read asks for one more)."""
        self._counts_for = conv_id
        if self._problem or (self._counting is not None and not self._counting.done()):
            return
        self._counting = asyncio.create_task(self._read_counts(), name="chatwoot:counts")

    async def _read_counts(self) -> None:
        query = listing.view_query(View.ALL, Filters(), self._state)
        while self._counts_for is not None:
            # a busy account: one read per interval, not one per event
            wait = self._counts_read_at + self._timing.counts_every - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            conv_id, self._counts_for = self._counts_for, None
            self._counts_read_at = time.monotonic()
            try:
                answer = await self._api.conversations_meta(query)
            except ChatwootError as exc:
                log.info("Chatwoot counts not read: %s", exc)
                return
            meta = answer.get("meta") if isinstance(answer, dict) else None
            if listing.update_counts(self._state, counts_from(meta)):
                self._publish(Change(ChangeKind.CONVERSATION, conversation_id=conv_id))
