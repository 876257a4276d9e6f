"""Webhook burst: signed POSTs over loopback HTTP, persisted and acknowledged by the receiver.

A sender in its own process (as a provider is on its own machine) opens one connection per
request and fires a burst of signed webhook POSTs at the desk's receiver at once; the desk
stores each request's message durably before its 200. Figures: requests per second from the
first request sent to the last 200, and p50/p99 time from each request sent to its 200; then
the same number paced at the target rate (a request every millisecond), p99 time to 200.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import subprocess
import sys
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

from frontdesk.backends.webhook import WebhookBackend, meta_signature_ok
from frontdesk.bench.report import Report, percentile
from frontdesk.model import ChannelEvent, ContactRef, Inbound, SendResult, Unparsable

SECRET = "bench-app-secret"
RATE_TARGET = 1_000.0  # requests/s, the figure
P99_TARGET = 0.100  # seconds to 200

#: the sender: reads {"url", "bodies", "signatures", "warm", "interval"} on stdin, sends request i
#: at start + i * interval (0: all at once), prints each one's status and seconds to 200
SENDER = r"""
import asyncio, json, sys, time
import aiohttp

async def main():
    job = json.load(sys.stdin)
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def one(at, body, signature):
            await asyncio.sleep(max(0.0, at - time.perf_counter()))
            async with session.post(job["url"], data=body.encode(), headers={
                "X-Hub-Signature-256": signature, "Content-Type": "application/json"}) as r:
                await r.read()
                return r.status, time.perf_counter() - at
        await one(0.0, *job["warm"])
        start = time.perf_counter() + 0.05
        sends = [start + i * job["interval"] for i in range(len(job["bodies"]))]
        results = await asyncio.gather(
            *(one(at, b, s) for at, b, s in zip(sends, job["bodies"], job["signatures"])))
        wall = time.perf_counter() - start
    print(json.dumps({"wall": wall, "results": results}))

asyncio.run(main())
"""


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


async def _burst(root: Path, n: int, interval: float) -> tuple[float, list[float], int]:
    from frontdesk.desk import Desk
    from frontdesk.store import Store

    bodies = burst_bodies(n)
    warm = json.dumps({"id": "warm", "from": "+1", "text": "warm", "ts": 0}).encode()
    job = {
        "bodies": [b.decode() for b in bodies],
        "signatures": [signed(b) for b in bodies],
        "warm": [warm.decode(), signed(warm)],
        "interval": interval,
    }
    with Store.open(root) as store:
        desk = Desk(store, {"wa": BenchChannel()}, agent="bench", webhook_listen=("127.0.0.1", 0))
        await desk.start()
        try:
            assert desk.receiver is not None
            job["url"] = f"http://{desk.receiver.address}/webhooks/wa"
            sender = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                SENDER,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
            out, _ = await sender.communicate(json.dumps(job).encode())
        finally:
            await desk.stop()
        stored = sum(len(store.messages(c.id)) for c in store.conversations())
    result = json.loads(out)
    failed = sum(1 for status, _ in result["results"] if status != 200)
    if failed:
        raise RuntimeError(f"{failed} of {n} webhook requests were not answered 200")
    return result["wall"], [seconds for _, seconds in result["results"]], stored - 1


def _run(root: Path, n: int, interval: float) -> tuple[float, list[float]]:
    wall, latencies, stored = asyncio.run(_burst(root, n, interval))
    if stored != n:
        raise RuntimeError(f"{n} webhook messages acknowledged but {stored} stored")
    return wall, latencies


def measure_webhooks(work: Path, burst: int, report: Report) -> None:
    """Fire `burst` signed POSTs at a desk's receiver on loopback, all at once and then paced
    at RATE_TARGET a second; add the figures."""
    wall, at_once = _run(work / "webhooks-burst", burst, 0.0)
    rate = burst / wall
    report.add(
        "webhooks.burst.rate",
        f"webhooks: {burst:,} signed POSTs at once, persisted+acknowledged",
        rate,
        "req/s",
        f"≥ {RATE_TARGET:,.0f}",
        rate >= RATE_TARGET,
    )
    report.add(
        "webhooks.burst.p50",
        f"webhooks: {burst:,} at once, p50 time to 200",
        percentile(at_once, 50) * 1000,
        "ms",
    )
    p99 = percentile(at_once, 99)
    report.add(
        "webhooks.burst.p99",
        f"webhooks: {burst:,} at once, p99 time to 200",
        p99 * 1000,
        "ms",
        f"< {P99_TARGET * 1000:.0f}",
        p99 < P99_TARGET,
    )
    _, paced = _run(work / "webhooks-paced", burst, 1.0 / RATE_TARGET)
    p99 = percentile(paced, 99)
    report.add(
        "webhooks.paced.p99",
        f"webhooks: {burst:,} at {RATE_TARGET:,.0f} req/s, p99 time to 200",
        p99 * 1000,
        "ms",
        f"< {P99_TARGET * 1000:.0f}",
        p99 < P99_TARGET,
    )
