"""Webhook bursts: signed POSTs over loopback HTTP, persisted and acknowledged by the receiver.

A provider (bench/webhook_sender.py, raw sockets, in its own process) sends 1,000 signed
webhook POSTs to a desk's receiver in three shapes: all at once, a connection each; over a
pool of POOL keep-alive connections, each sending its next request when the last one is
answered (as providers deliver); and paced at the target rate, a connection each. The desk
stores each request's message durably before its 200. Each shape is also sent to an aiohttp
server set up as the receiver's whose handler only reads the body: the floor of the server
library and the loop on this machine in this run. Figures: requests per second from the
first connect to the last 200, and p50/p99 time from each request's bytes handed to the
socket to its whole 200 read (at once, also from the start of its connect).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from frontdesk.backends.webhook import MAX_WEBHOOK_BYTES, WebhookBackend, meta_signature_ok
from frontdesk.bench.report import Report, percentile
from frontdesk.model import ChannelEvent, ContactRef, Inbound, SendResult, Unparsable

SECRET = "bench-app-secret"
RATE_TARGET = 1_000.0  # requests/s, the figure
P99_TARGET = 0.100  # seconds to 200
#: keep-alive connections a provider delivers a burst over: Meta and LINE send from a bounded
#: pool of workers, each waiting for an answer before its next request (they publish no size)
POOL = 50
#: the provider, run as a script in its own process
SENDER = Path(__file__).with_name("webhook_sender.py")


class BenchChannel(WebhookBackend):
    """A webhook channel signed like Meta's, with one message per request."""

    kind = "whatsapp"
    secret_names = ("app_secret",)

    def __init__(self, name: str = "wa") -> None:
        super().__init__(name, secrets={"app_secret": SECRET}.get)

    def signature_ok(self, headers: Mapping[str, str], body: bytes) -> bool:
        return meta_signature_ok(SECRET, headers.get("x-hub-signature-256"), body)

    def parse_webhook(self, body: bytes) -> list[ChannelEvent]:
        try:
            m = json.loads(body)
            at = datetime.fromtimestamp(m["ts"], timezone.utc)
            return [Inbound(m["id"], m["from"], ContactRef(m["from"]), m["text"], created_at=at)]
        except Exception as exc:
            return [Unparsable(type(exc).__name__, body[:1000].decode("utf-8", "replace"))]

    async def send(self, outgoing) -> SendResult:
        raise NotImplementedError("the bench channel only receives")


def signed(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def burst_bodies(n: int, senders: int = 200) -> list[bytes]:
    """`n` distinct messages from `senders` customers (so conversations both open and grow)."""
    base = datetime(2026, 12, 6, 18, 0, tzinfo=timezone.utc).timestamp()
    return [
        json.dumps(
            {
                "id": f"wamid.burst.{i}",
                "from": f"+8190{i % senders:05d}",
                "text": f"Hello, my order {i} has not arrived yet.",
                "ts": base + i,
            }
        ).encode()
        for i in range(n)
    ]


@dataclass(frozen=True)
class Shape:
    """How a burst reaches the receiver: one connection per request, or a keep-alive pool."""

    key: str
    label: str
    #: 0: a connection per request, opened when it is due; N: N keep-alive connections
    connections: int
    #: seconds between due times (0: all due at once)
    interval: float


AT_ONCE = Shape("burst", "at once, a connection each", 0, 0.0)
POOLED = Shape("pool", f"over {POOL} keep-alive connections", POOL, 0.0)
PACED = Shape("paced", f"paced at {RATE_TARGET:,.0f} req/s", 0, 1.0 / RATE_TARGET)


@dataclass
class Run:
    """One burst as the sender saw it."""

    wall: float
    #: seconds from each request's bytes handed to the socket to its whole 200 read
    from_write: list[float]
    #: the same from the start of its connect (a connection per request only)
    from_connect: list[float]
    #: CPU seconds this process (the server's side) used while the burst was sent
    cpu: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.from_write) / self.wall


async def _send(url: str, bodies: list[bytes], shape: Shape) -> Run:
    """Fire `bodies` at `url` from the sender's own process; every one must be answered 200."""
    warm = json.dumps({"id": "warm", "from": "+1", "text": "warm", "ts": 0}).encode()
    job = {
        "url": url,
        "requests": [[b.decode(), signed(b)] for b in bodies],
        "warm": [warm.decode(), signed(warm)],
        "connections": shape.connections,
        "interval": shape.interval,
    }
    data = json.dumps(job).encode()
    cpu = time.process_time()
    sender = await asyncio.create_subprocess_exec(
        sys.executable, str(SENDER), stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    out, _ = await sender.communicate(data)
    cpu = time.process_time() - cpu
    if sender.returncode != 0:
        raise RuntimeError(f"the webhook sender exited with {sender.returncode}")
    result = json.loads(out)
    failed = sum(1 for status, _, _ in result["results"] if status != 200)
    if failed or result["warm"] != 200:
        raise RuntimeError(f"{failed} of {len(bodies)} webhook requests were not answered 200")
    return Run(
        result["wall"],
        [from_write for _, from_write, _ in result["results"]],
        [from_connect for _, _, from_connect in result["results"]],
        cpu,
    )


async def _on_receiver(root: Path, n: int, shape: Shape) -> Run:
    """The burst at a desk's receiver; every acknowledged message must be in the store."""
    from frontdesk.desk import Desk
    from frontdesk.store import Store

    with Store.open(root) as store:
        desk = Desk(store, {"wa": BenchChannel()}, agent="bench", webhook_listen=("127.0.0.1", 0))
        await desk.start()
        try:
            assert desk.receiver is not None
            run = await _send(f"http://{desk.receiver.address}/webhooks/wa", burst_bodies(n), shape)
        finally:
            await desk.stop()
        stored = sum(len(store.messages(c.id)) for c in store.conversations()) - 1  # the warm one
    if stored != n:
        raise RuntimeError(f"{n} webhook messages acknowledged but {stored} stored")
    return run


async def _on_empty(n: int, shape: Shape) -> Run:
    """The same burst at an aiohttp server set up as the receiver's whose handler only reads
    the body and answers 200: the floor the server library and the loop set."""
    from aiohttp import web

    async def read_only(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="ok\n")

    app = web.Application(client_max_size=MAX_WEBHOOK_BYTES)
    app.router.add_route("POST", "/webhooks/{channel}", read_only)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, lingering_time=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    try:
        port = runner.addresses[0][1]
        return await _send(f"http://127.0.0.1:{port}/webhooks/wa", burst_bodies(n), shape)
    finally:
        await runner.cleanup()


def measure_shape(work: Path, n: int, shape: Shape) -> tuple[Run, Run]:
    """(receiver, empty handler) for one shape, the empty one first, each on a fresh loop."""
    empty = asyncio.run(_on_empty(n, shape))
    desk = asyncio.run(_on_receiver(work / f"webhooks-{shape.key}", n, shape))
    return desk, empty


def measure_webhooks(work: Path, burst: int, report: Report) -> None:
    """Fire `burst` signed POSTs at a desk's receiver on loopback in each shape, and the same at
    an empty handler; add the figures."""
    desk, empty = measure_shape(work, burst, AT_ONCE)
    _add_burst(report, burst, AT_ONCE, desk, empty, target=False)
    p99_connect = percentile(desk.from_connect, 99)
    report.add(
        "webhooks.burst.p99_connect",
        f"webhooks: {burst:,} {AT_ONCE.label}, p99 from connect start to 200 "
        f"(empty handler {percentile(empty.from_connect, 99) * 1000:.0f} ms)",
        p99_connect * 1000,
        "ms",
    )
    desk, empty = measure_shape(work, burst, POOLED)
    _add_burst(report, burst, POOLED, desk, empty, target=True)
    desk, empty = measure_shape(work, burst, PACED)
    p99 = percentile(desk.from_write, 99)
    report.add(
        "webhooks.paced.p99",
        f"webhooks: {burst:,} {PACED.label}, p99 time to 200 "
        f"(empty handler {percentile(empty.from_write, 99) * 1000:.0f} ms)",
        p99 * 1000,
        "ms",
        f"< {P99_TARGET * 1000:.0f}",
        p99 < P99_TARGET,
    )


def _add_burst(
    report: Report, n: int, shape: Shape, desk: Run, empty: Run, *, target: bool
) -> None:
    """Rate, p50 and p99 of one shape, each beside the empty handler's in the same run; the
    issue's targets on the shape they are read against."""
    name = f"webhooks: {n:,} signed POSTs {shape.label}"
    report.add(
        f"webhooks.{shape.key}.rate",
        f"{name}, persisted+acknowledged (empty handler {empty.rate:,.0f} req/s)",
        desk.rate,
        "req/s",
        f"≥ {RATE_TARGET:,.0f}" if target else "",
        desk.rate >= RATE_TARGET if target else None,
    )
    for q in (50, 99):
        value = percentile(desk.from_write, q)
        met = target and q == 99
        report.add(
            f"webhooks.{shape.key}.p{q}",
            f"{name}, p{q} time to 200 (empty handler "
            f"{percentile(empty.from_write, q) * 1000:.0f} ms)",
            value * 1000,
            "ms",
            f"< {P99_TARGET * 1000:.0f}" if met else "",
            value < P99_TARGET if met else None,
        )
    report.add(
        f"webhooks.{shape.key}.cpu",
        f"{name}, the server process's CPU a request (empty handler {empty.cpu / n * 1000:.3f} ms)",
        desk.cpu / n * 1000,
        "ms",
    )
    report.add(
        f"webhooks.{shape.key}.p99_ratio",
        f"{name}, p99 time to 200 vs the empty handler's",
        percentile(desk.from_write, 99) / max(percentile(empty.from_write, 99), 1e-6),
        "x",
    )
