"""One attached console as the served desk sees it: who it is, and a bounded outgoing queue
with its own writer task, so a console that falls behind is dropped, never waited on."""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from frontdesk.team.peercred import PeerCred

log = logging.getLogger("frontdesk.team")

QUEUE_FRAMES = 256
"""A console with this many pushes not yet written is dropped (it resyncs on reattach)."""
QUEUE_BYTES = 64 << 20


class Connection:
    """One attached console: its identity, its bounded outgoing queue and the task writing it."""

    def __init__(
        self,
        writer: asyncio.StreamWriter,
        cred: PeerCred,
        user: str,
        *,
        max_frames: int,
        max_bytes: int,
    ) -> None:
        self.writer = writer
        self.cred = cred
        self.user = user
        self.joined = False
        self.closed = False
        self._queue: deque[bytes] = deque()
        self._queued_bytes = 0
        self._max_frames = max_frames
        self._max_bytes = max_bytes
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def __str__(self) -> str:
        return f"{self.user} (pid {self.cred.pid})"

    def start(self) -> None:
        self._task = asyncio.create_task(self._write_forever(), name=f"desk-writer:{self}")

    def send(self, data: bytes) -> None:
        """Queue one framed payload; a console whose queue is full is dropped, never waited on."""
        if self.closed:
            return
        if len(self._queue) >= self._max_frames or self._queued_bytes + len(data) > self._max_bytes:
            self.drop(
                f"it fell behind ({len(self._queue)} frames, {self._queued_bytes} bytes queued)"
            )
            return
        self._queue.append(data)
        self._queued_bytes += len(data)
        self._ready.set()

    async def _write_forever(self) -> None:
        try:
            while True:
                await self._ready.wait()
                self._ready.clear()
                while self._queue:
                    data = self._queue.popleft()
                    self._queued_bytes -= len(data)
                    self.writer.write(data)
                    await self.writer.drain()
        except (ConnectionError, OSError) as exc:
            self.drop(f"writing to it failed ({exc.__class__.__name__})")

    def drop(self, why: str) -> None:
        if not self.closed:
            log.warning("dropped %s: %s", self, why)
            self.close()

    def close(self) -> None:
        """Cut the connection at once (a stuck peer's socket is never waited on)."""
        if self.closed:
            return
        self.closed = True
        self._queue.clear()
        self.writer.transport.abort()
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
