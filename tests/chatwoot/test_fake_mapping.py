"""What the fake Chatwoot sends, chatwoot/mapping reads: every record of a seeded account's
REST answers and of the events its writes broadcast maps without `Unreadable`, to the values
the fake holds (the fake and the mapping were written apart from Chatwoot's sources)."""

from __future__ import annotations

import httpx
import pytest

from frontdesk.bench.chatwoot_fake import FakeChatwoot
from frontdesk.chatwoot import mapping
from frontdesk.chatwoot.state import SeenState
from frontdesk.model import Direction, MessageKind, Priority, Status

TOKEN = "map-token"
A = "/api/v1/accounts/1"


@pytest.fixture
async def fake():
    async with FakeChatwoot(TOKEN) as server:
        server.seed(120, messages=5, rng_seed=3)
        yield server


@pytest.fixture
async def api(fake):
    async with httpx.AsyncClient(base_url=fake.url, headers={"api_access_token": TOKEN}) as client:
        yield client


async def seen_state(api) -> SeenState:
    state = SeenState()
    for data in (await api.get(f"{A}/agents")).json():
        state.put_agent(mapping.agent_from(data))
    for data in (await api.get(f"{A}/inboxes")).json()["payload"]:
        state.put_inbox(mapping.inbox_from(data))
    return state


async def test_every_listed_conversation_maps_to_what_the_fake_holds(fake, api):
    state = await seen_state(api)
    answer = (await api.get(f"{A}/conversations", params={"status": "all"})).json()
    records, meta = mapping.list_payload(answer)

    convs = [mapping.conversation_from(data, state) for data in records]

    assert len(convs) == 25 and mapping.counts_from(meta)
    for conv in convs:
        held = fake.account.conversations[conv.id]
        assert conv.status is mapping.STATUS_FROM[held.status]
        assert conv.priority is mapping.PRIORITY_FROM[held.priority]
        assert conv.labels == held.labels
        assert conv.contact_id == held.contact_id
        assert conv.channel == fake.account.inboxes[held.inbox_id].name
        assert conv.last_activity_at.timestamp() == held.last_activity_at
        if held.assignee_id:
            assert conv.assignee == fake.account.agents[held.assignee_id].email
        if held.status == "snoozed":
            assert conv.snoozed_until.timestamp() == held.snoozed_until


async def test_every_message_page_maps_with_directions_notes_and_attachments(fake, api):
    state = await seen_state(api)
    kinds = set()
    for conv_id in list(fake.account.conversations)[:60]:
        page = (await api.get(f"{A}/conversations/{conv_id}/messages")).json()["payload"]
        for data in page:
            msg = mapping.message_from(data, state)
            held = fake.account.messages[msg.id]
            assert msg.conversation_id == conv_id and msg.body == held.content
            assert msg.direction is (Direction.IN if held.message_type == 0 else Direction.OUT)
            assert msg.private == held.private
            assert len(msg.attachments) == len(held.attachments)
            kinds.add((msg.direction, msg.private, bool(msg.attachments)))
    assert (Direction.OUT, True, False) in kinds  # a private note
    assert (Direction.IN, False, True) in kinds  # a customer's photo


async def test_the_account_records_map(fake, api):
    contact = (await api.get(f"{A}/contacts/1")).json()["payload"]
    canned = (await api.get(f"{A}/canned_responses")).json()

    assert mapping.contact_from(contact).name == fake.account.contacts[1].name
    assert [mapping.canned_from(c).short_code for c in canned] == ["hi", "refund", "ship", "thanks"]


async def test_the_events_of_writes_map(fake, api):
    state = await seen_state(api)
    conv_id = next(c.id for c in fake.account.conversations.values() if c.status == "open")
    c = f"{A}/conversations/{conv_id}"
    await api.post(f"{c}/messages", json={"content": "on it", "echo_id": "e-7"})
    await api.post(f"{c}/toggle_status", json={"status": "snoozed", "snoozed_until": 2e9})
    await api.post(f"{c}/toggle_priority", json={"priority": "urgent"})
    await fake.customer_says(conv_id, "thanks!")

    for name, data in fake.events:
        if name.startswith("message."):
            msg = mapping.message_from(data, state)
            assert msg.conversation_id == conv_id
            if msg.kind is MessageKind.ACTIVITY:
                assert msg.private
        else:
            assert mapping.conversation_from(data, state).id == conv_id
    created = [d for n, d in fake.events if n == "message.created"]
    assert mapping.echo_id_of(created[0]) == "e-7"
    last = mapping.conversation_from(fake.events[-1][1], state)
    assert (last.status, last.priority) == (
        Status.OPEN,
        Priority.URGENT,
    )  # the customer reopened it
