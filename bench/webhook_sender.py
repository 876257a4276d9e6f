"""The bench's webhook provider: raw sockets, requests built before the clock starts.

Run as a script by bench/webhooks.py in a process of its own (as a provider is on its own
machine), so the receiver's figures do not include an HTTP client's cost. Reads the job as
JSON on stdin: "url", "requests" (each [body, signature]), "warm" (one request sent first,
untimed), "connections" (0: one connection per request, opened when its request is due;
N: N keep-alive connections opened together, each sending its next request as soon as the
last one is answered) and "interval" (seconds between due times; 0: all due at once).
Prints {"wall", "results"}: the seconds from the first connect to the last answer, and per
request its status (0: no answer), the seconds from its bytes handed to the socket to its
whole answer read, and the same from the start of its connect (one-per-request only).
Only the standard library: the script runs without frontdesk on its path.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from urllib.parse import urlsplit

#: (status, seconds from write to answer, seconds from connect start to answer)
Result = tuple[int, float, float]
#: a connection's next request as (index, bytes), or None when it has no more
Take = Callable[[], tuple[int, bytes] | None]


class Connection(asyncio.Protocol):
    """One connection: writes a request, reads its whole answer, writes the next."""

    def __init__(self, take: Take, results: list[Result], started: float) -> None:
        self.take = take
        self.results = results
        self.started = started
        self.closed = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.index = -1
        self.sent = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._next()

    def _next(self) -> None:
        assert self.transport is not None
        item = self.take()
        if item is None:
            self.index = -1
            self.transport.close()
            return
        self.index, data = item
        self.sent = time.perf_counter()
        self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.index >= 0:
            answer = _answer(self.buffer)
            if answer is None:
                return
            status, used = answer
            self.buffer = self.buffer[used:]
            self._done(status)
            self._next()

    def _done(self, status: int) -> None:
        now = time.perf_counter()
        self.results[self.index] = (status, now - self.sent, now - self.started)
        self.started = now  # a later request on this connection did not wait for a connect

    def connection_lost(self, exc: Exception | None) -> None:
        if self.index >= 0:
            self._done(0)
            self.index = -1
        if not self.closed.done():
            self.closed.set_result(None)


def _answer(buffer: bytes) -> tuple[int, int] | None:
    """(status, bytes used) of the whole answer at the start of `buffer`, or None if partial."""
    head, sep, _ = buffer.partition(b"\r\n\r\n")
    if not sep:
        return None
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    used = len(head) + 4 + length
    if len(buffer) < used:
        return None
    return int(head.split(b" ", 2)[1]), used


def request_bytes(url: str, body: str, signature: str, *, close: bool) -> bytes:
    """A signed POST as a provider sends it."""
    parts = urlsplit(url)
    data = body.encode()
    close_line = "Connection: close\r\n" if close else ""
    head = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Content-Type: application/json\r\nX-Hub-Signature-256: {signature}\r\n"
        f"Content-Length: {len(data)}\r\n{close_line}\r\n"
    )
    return head.encode() + data


async def connect(url: str, take: Take, results: list[Result], due: float = 0.0) -> None:
    """Open one connection at `due` (perf_counter) and run it until it closes."""
    await asyncio.sleep(max(0.0, due - time.perf_counter()))
    parts = urlsplit(url)
    started = time.perf_counter()
    loop = asyncio.get_running_loop()
    try:
        _, protocol = await loop.create_connection(
            lambda: Connection(take, results, started), parts.hostname, parts.port
        )
    except OSError:
        item = take()
        if item is not None:
            results[item[0]] = (0, 0.0, time.perf_counter() - started)
        return
    await protocol.closed


def one_each(data: bytes, index: int) -> Take:
    """A connection's requests when it carries only one."""
    items = [(index, data)]
    return lambda: items.pop() if items else None


async def run(job: dict) -> dict:
    """Send the job's warm request, then its burst; the answers as the module says."""
    url = job["url"]
    pooled = job["connections"] > 0
    warm: list[Result] = [(0, 0.0, 0.0)]
    await connect(url, one_each(request_bytes(url, *job["warm"], close=True), 0), warm)
    datas = [request_bytes(url, b, s, close=not pooled) for b, s in job["requests"]]
    results: list[Result] = [(0, 0.0, 0.0)] * len(datas)
    start = time.perf_counter() + 0.05
    if pooled:
        queue = list(enumerate(datas))
        queue.reverse()
        take = lambda: queue.pop() if queue else None  # noqa: E731
        jobs = [connect(url, take, results, start) for _ in range(job["connections"])]
    else:
        interval = job["interval"]
        jobs = [
            connect(url, one_each(d, i), results, start + i * interval) for i, d in enumerate(datas)
        ]
    await asyncio.gather(*jobs)
    return {"wall": time.perf_counter() - start, "warm": warm[0][0], "results": results}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(json.load(sys.stdin)))))
