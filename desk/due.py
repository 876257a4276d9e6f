"""The "sleep until something is due" loop shared by the outbox dispatcher and the hook runner."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

log = logging.getLogger("frontdesk.desk")

#: seconds a sender or hook run that failed on a bug waits before it is started again
BUG_PAUSE = 5.0
#: seconds to sleep when nothing waits for a retry time (a wake-up ends the sleep sooner)
IDLE_WAIT = 30.0
#: the shortest sleep, so a retry time already past does not spin the loop
MIN_WAIT = 0.05


async def run_when_due(
    wake: asyncio.Event,
    start_due: Callable[[], object],
    waits: Callable[[], list[float]],
    what: str,
) -> None:
    """Forever: start what is due now, then sleep until the soonest of `waits()` (seconds to
    each waiting retry time, asked after the start) or until `wake` is set.

    A bug in `start_due` is logged as `what` and the loop goes on.
    """
    while True:
        wake.clear()
        try:
            start_due()
        except Exception:
            log.exception(what)
        await sleep_until_due(wake, waits())


async def sleep_until_due(wake: asyncio.Event, waits: list[float]) -> None:
    """Sleep until the soonest of `waits` (seconds; none: IDLE_WAIT) or until `wake` is set."""
    timeout = max(MIN_WAIT, min(waits)) if waits else IDLE_WAIT
    # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that
    # coincides with the wake-up, and stop() would then hang for the full timeout
    try:
        async with asyncio.timeout(timeout):
            await wake.wait()
    except TimeoutError:
        pass


async def pause_after_bug() -> None:
    """Wait BUG_PAUSE seconds before a failed sender or hook run is started again: a bug must
    not turn into a tight loop of tracebacks."""
    await asyncio.sleep(BUG_PAUSE)
