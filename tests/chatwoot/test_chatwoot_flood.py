"""A websocket flooding events for conversations the console does not hold: the desk's reads stay bounded."""

from __future__ import annotations

import asyncio

import pytest
from pilot_helpers import eventually

from frontdesk.bench.chatwoot_fake import FakeChatwoot
from frontdesk.chatwoot.cable import CableTiming
from frontdesk.chatwoot.desk import ChatwootDesk, Timing
from frontdesk.chatwoot.feed import MISSING_MOST
from frontdesk.config import DeskConfig

TOKEN = "flood-token"
FAST = Timing(
    retry_first=0.05,
    retry_most=0.2,
    save_delay=0.05,
    counts_every=0.05,
    cable=CableTiming(silent=5.0, retry_first=0.05, retry_most=0.2),
)


@pytest.fixture
async def fake():
    async with FakeChatwoot(TOKEN, ping_seconds=0.5) as server:
        yield server


async def test_a_flood_of_messages_in_unknown_conversations_fetches_a_bounded_few(
    fake, tmp_path
) -> None:
    contact = fake.account.add_contact("Held")
    held = fake.account.add_conversation(1, contact.id)
    fake.account.add_message(held, "hello", 0)
    desk = ChatwootDesk(
        DeskConfig(kind="chatwoot", url=fake.url, account_id=1), TOKEN, tmp_path, timing=FAST
    )
    await desk.start()
    try:
        await asyncio.wait_for(desk.synced.wait(), 10)
        await fake.wait_subscribed(timeout=10)
        sample = await fake.customer_says(held.id, "a template for the flood")
        await eventually(lambda: desk.state.conversations[held.id].preview.startswith("a temp"))
        before = len(fake.requests)
        for batch in range(20):  # a flood over time: the fetcher drains between batches
            for i in range(batch * 50, batch * 50 + 50):
                unknown = 500_000 + i
                conversation = {**sample.get("conversation", {}), "id": unknown}
                data = {**sample, "id": 900_000 + i, "conversation_id": unknown}
                await fake.emit("message.created", {**data, "conversation": conversation})
            await fake.customer_says(held.id, f"batch {batch} is over")
            await eventually(
                lambda: desk.state.conversations[held.id].preview == f"batch {batch} is over",
                timeout=20,
            )
            await eventually(lambda: desk._fetching is None or desk._fetching.done(), timeout=20)
        fetched = [
            r for r in fake.requests[before:] if r.method == "GET" and "/conversations/5" in r.path
        ]
        assert 0 < len(fetched) <= MISSING_MOST
    finally:
        await desk.stop()
