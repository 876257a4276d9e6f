"""The frame probe and the waits that keys and live arrival share (an app run in process)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any


class FrameProbe:
    """Times every frame an app sends to its terminal and keeps the text the terminal receives.

    The app runs under this probe's driver (`App.driver_class`, public): a headless driver
    that says it is not headless, so Textual renders every compositor update to the
    terminal byte string and hands it to `Driver.write`, then calls `Driver.flush` once the
    frame is out. The flush is the frame's end. Set it up before the app runs:
    `app.driver_class = probe.driver_class`.
    """

    def __init__(self, on_frame: Callable[[float, str], None] | None = None) -> None:
        self.frames = 0
        self.last_at = 0.0
        self.on_frame = on_frame
        self._waiter: asyncio.Event | None = None
        self._pending: list[str] = []
        self.driver_class = self._make_driver_class()

    def _make_driver_class(self) -> type:
        from textual.drivers.headless_driver import HeadlessDriver

        probe = self

        class ProbeDriver(HeadlessDriver):
            @property
            def is_headless(self) -> bool:
                return False  # so the app renders each frame for a terminal

            def write(self, data: str) -> None:
                probe._pending.append(data)

            def flush(self) -> None:
                probe._frame_done()

        return ProbeDriver

    def _frame_done(self) -> None:
        if not self._pending:
            return
        text = "".join(self._pending)
        self._pending.clear()
        now = time.perf_counter()
        self.frames += 1
        self.last_at = now
        if self.on_frame is not None:
            self.on_frame(now, text)
        if self._waiter is not None:
            self._waiter.set()

    async def next_frame(self, timeout: float = 5.0) -> float:
        """Wait for the next frame; the time it ended."""
        self._waiter = asyncio.Event()
        try:
            await asyncio.wait_for(self._waiter.wait(), timeout)
        finally:
            self._waiter = None
        return self.last_at

    async def quiet(self, gap: float = 0.05, limit: float = 10.0) -> None:
        """Wait until no frame has come for `gap` seconds (the app has caught up)."""
        end = time.perf_counter() + limit
        while time.perf_counter() < end:
            before = self.frames
            await asyncio.sleep(gap)
            if self.frames == before:
                return


@asynccontextmanager
async def console_gc() -> AsyncIterator[None]:
    """The collector set as `run_console` sets it, for an app run in this process; as it
    was afterwards (the bench's caller, a test run say, goes on in the same process)."""
    import gc

    from frontdesk.runtime import freeze_long_lived, keep_gc_pauses_short

    thresholds = gc.get_threshold()
    keep_gc_pauses_short()
    try:
        yield
    finally:
        gc.callbacks.remove(freeze_long_lived)
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def probed(app: Any, probe: FrameProbe) -> Any:
    """`app`, set to run under `probe`'s driver."""
    app.driver_class = probe.driver_class
    return app


async def press_latencies(
    app: Any, probe: FrameProbe, keys: Iterable[str], settle: Callable[[], Any] | None = None
) -> list[float]:
    """Seconds from each key event to the end of the next frame; the app settles between keys."""
    from textual import events

    latencies = []
    for key in keys:
        await probe.quiet()
        if settle is not None:
            await settle()
        char = key if len(key) == 1 else None
        event = events.Key(key, char)
        event.set_sender(app)
        waiting = asyncio.ensure_future(probe.next_frame())
        await asyncio.sleep(0)
        sent = time.perf_counter()
        app.post_message(event)
        try:
            latencies.append(await waiting - sent)
        except TimeoutError:
            pass  # the key changed nothing on screen (paging past an end): no frame, no sample
    await probe.quiet()
    return latencies


async def drawn_when(
    probe: FrameProbe, condition: Callable[[], bool], timeout: float = 60.0
) -> float:
    """End of the last frame drawn once `condition` holds (the screen showing that state)."""
    end = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > end:
            raise TimeoutError("the app did not reach the expected state")
        try:
            await probe.next_frame(timeout=0.1)
        except TimeoutError:
            pass
    await probe.quiet(0.03)
    return probe.last_at


async def thread_settled(app: Any, probe: FrameProbe) -> None:
    """Wait for thread loads to finish and the screen to catch up."""
    conversations = app.conversation_list
    end = time.perf_counter() + 30
    while time.perf_counter() < end:
        loading = [w for w in app.workers if w.group == "thread" and not w.is_finished]
        if loading:  # (an empty list would mean "every worker", the change feed included)
            await app.workers.wait_for_complete(loading)
        elif (
            conversations.current_id is None
            or app.thread.conversation_id == conversations.current_id
        ):
            break
        else:
            await asyncio.sleep(0.01)  # a load is about to start
    await probe.quiet(0.03)
