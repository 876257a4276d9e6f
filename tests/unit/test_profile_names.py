"""A name learnt from a channel's profile lookup reaches the messages that arrived before it."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from frontdesk.desk import Desk
from frontdesk.model import ContactProfile, ContactRef, Direction, Inbound
from frontdesk.store import Store

AT = datetime(2026, 12, 6, tzinfo=timezone.utc)


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "data") as s:
        yield s


async def test_messages_stored_before_the_profile_show_the_name_not_the_id(store):
    desk = Desk(store, {}, agent="Aiko")
    await desk.ingest("fb", [Inbound("m1", "P1", ContactRef("P1"), "hi", created_at=AT)])
    await desk.ingest("fb", [Inbound("m2", "P2", ContactRef("P2", "Ken"), "yo", created_at=AT)])
    await desk.ingest("fb", [ContactProfile("P1", "Chloé Martin"), ContactProfile("P2", "Kenji")])
    await desk.ingest("fb", [Inbound("m3", "P1", ContactRef("P1"), "again", created_at=AT)])
    by_key = {c.thread_key: c for c in await desk.conversations()}
    authors = [m.author for m in store.messages(by_key["P1"].id) if m.direction is Direction.IN]
    assert authors == ["Chloé Martin", "Chloé Martin"]
    assert [m.author for m in store.messages(by_key["P2"].id)] == ["Ken"]  # never renamed
