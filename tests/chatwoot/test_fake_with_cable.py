"""chatwoot/cable.py's client on the fake Chatwoot's /cable: subscribed, fed the events of
what customers do, told when the fake cuts the link and up again after it reconnects."""

from __future__ import annotations

import asyncio

import pytest

from frontdesk.bench.chatwoot_fake import FakeChatwoot
from frontdesk.chatwoot.cable import Cable, CableTiming

QUICK = CableTiming(silent=1.0, presence=0.1, retry_first=0.02, retry_most=0.1, refused=0.2)


class Feed:
    """What the cable client hands its caller: each event and each link change, awaitable."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict]] = []
        self.links: list[bool] = []
        self.changed = asyncio.Event()

    def on_event(self, name: str, data: dict) -> None:
        self.events.append((name, data))
        self.changed.set()

    def on_link(self, up: bool, reason: str) -> None:
        self.links.append(up)
        self.changed.set()

    async def until(self, done, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not done():
                self.changed.clear()
                await self.changed.wait()


@pytest.fixture
async def fake():
    async with FakeChatwoot("cable-token", ping_seconds=0.1) as server:
        server.seed(3, messages=2)
        yield server


def client(fake: FakeChatwoot, feed: Feed, token: str | None = None) -> Cable:
    token = fake.profile.pubsub_token if token is None else token
    return Cable(fake.url, token, 1, 1, feed.on_event, feed.on_link, QUICK)


async def test_the_client_subscribes_and_gets_what_customers_do(fake):
    feed = Feed()
    cable = client(fake, feed)
    await cable.start()
    try:
        await feed.until(lambda: feed.links == [True])
        said = await fake.customer_says(1, "is anyone there?")
        await feed.until(lambda: any(n == "message.created" for n, _ in feed.events))
        # one on subscribing, one answering the client's update_presence
        await feed.until(lambda: [n for n, _ in feed.events].count("presence.update") >= 2)
    finally:
        await cable.stop()

    created = next(d for n, d in feed.events if n == "message.created")
    assert created["id"] == said["id"] and created["content"] == "is anyone there?"
    assert any(c.get("command") == "message" for c in fake.cable_received)  # update_presence


async def test_a_cut_link_is_told_and_comes_back_subscribed(fake):
    feed = Feed()
    cable = client(fake, feed)
    await cable.start()
    try:
        await feed.until(lambda: feed.links == [True])
        fake.refuse_cable = True
        await fake.drop_sockets()
        await feed.until(lambda: feed.links == [True, False])
        fake.refuse_cable = False
        await feed.until(lambda: feed.links == [True, False, True])
        await fake.wait_subscribed(1)
    finally:
        await cable.stop()

    assert cable.links_up == 2


async def test_a_wrong_pubsub_token_is_rejected_and_never_up(fake):
    feed = Feed()
    cable = client(fake, feed, token="not-the-users")
    await cable.start()
    try:
        await feed.until(lambda: feed.links == [False])
    finally:
        await cable.stop()

    assert fake.subscribers == 0 and not cable.up
