"""The fake Chatwoot on its own event loop in a thread, for tests that call the CLI (which runs
its own `asyncio.run`) while the server answers."""

from __future__ import annotations

import asyncio
import threading

from frontdesk.bench.chatwoot_fake import FakeChatwoot


class ServedChatwoot:
    """`fake` started on loopback at `url`; `call(coro)` runs a coroutine on its loop; `close()`."""

    def __init__(self, token: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.fake: FakeChatwoot = self.call(self._make(token))
        self.url: str = self.call(self.fake.start())

    @staticmethod
    async def _make(token: str) -> FakeChatwoot:
        return FakeChatwoot(token=token)  # built on its loop: its asyncio objects belong there

    def call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=10)

    def close(self) -> None:
        self.call(self.fake.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()
