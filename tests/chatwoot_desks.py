"""A ChatwootDesk on the loopback fake Chatwoot with the tests' short clocks, and customers writing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from frontdesk.bench.chatwoot_fake import FakeChatwoot
from frontdesk.chatwoot.api import ChatwootApi
from frontdesk.chatwoot.desk import ChatwootDesk, Timing
from frontdesk.chatwoot.outbox import Timing as OutboxTiming
from frontdesk.config import DeskConfig

TOKEN = "test-token"
FAST = Timing(
    retry_first=0.05,
    retry_most=0.2,
    save_delay=0.05,
    counts_every=0.05,
    outbox=OutboxTiming(0.05, 0.2),
)
"""The desk's retries, saves and count reads in tens of milliseconds; the live feed keeps its own."""


def seed_customers(fake: FakeChatwoot, *names: str) -> None:
    """A conversation in the WhatsApp inbox (id 1) for each of `names`, opened with their question."""
    for name in names:
        contact = fake.account.add_contact(name)
        conv = fake.account.add_conversation(1, contact.id)
        fake.account.add_message(conv, f"Hi, {name} here: where is my order?", 0)


async def synced_desk(
    fake: FakeChatwoot, cache_dir: Path | str, timing: Timing = FAST
) -> ChatwootDesk:
    """A ChatwootDesk on `fake`, started and synced with it (the caller stops it)."""
    config = DeskConfig(kind="chatwoot", url=fake.url, account_id=1)
    desk = ChatwootDesk(config, TOKEN, cache_dir, timing=timing)
    await desk.start()
    await asyncio.wait_for(desk.synced.wait(), 10)
    return desk


def scripted_desk(answers: dict) -> tuple[ChatwootDesk, ChatwootApi]:
    """A ChatwootDesk (with its live part, never connected) whose server answers each request by
    the last part of its path from `answers` (an empty object, or a usable profile), and its API
    to close."""

    def answer(request: httpx.Request) -> httpx.Response:
        name = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        usual = {"id": 1, "email": "aiko@example.com"} if name == "profile" else {}
        return httpx.Response(200, json=answers.get(name, usual))

    api = ChatwootApi("https://chat.example.com", 1, "t", transport=httpx.MockTransport(answer))
    config = DeskConfig(kind="chatwoot", url="https://chat.example.com", account_id=1)
    desk = ChatwootDesk(config, "t", "/nonexistent/frontdesk-cache", api=api)
    desk._make_live()
    return desk, api
