"""Chatwoot's JSON read into frontdesk's records: documented shapes map, hostile ones never crash."""

from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frontdesk.chatwoot.mapping import (
    Unreadable,
    agent_from,
    contact_from,
    conversation_from,
    counts_from,
    echo_id_of,
    inbox_from,
    list_payload,
    message_from,
    when,
)
from frontdesk.chatwoot.state import SeenState
from frontdesk.desk.views import View
from frontdesk.model import Delivery, Direction, EventKind, MessageKind, Priority, Status

CONVERSATION = {
    "meta": {
        "sender": {"id": 7, "name": "Sheena Nelson", "email": "s@example.com", "type": "contact"},
        "channel": "Channel::Whatsapp",
        "assignee": {"id": 2, "name": "Ben Okoro", "available_name": "Ben", "email": "Ben@x.io"},
        "team": {"id": 1, "name": "billing"},
        "hmac_verified": False,
    },
    "id": 42,
    "messages": [{"id": 9, "content": "Where is my\norder?", "message_type": 0}],
    "account_id": 1,
    "uuid": "0b3c",
    "inbox_id": 3,
    "labels": ["vip", "refund"],
    "status": "snoozed",
    "snoozed_until": "2026-12-08T09:00:00.000Z",
    "priority": "high",
    "unread_count": 2,
    "timestamp": 1765000000,
    "last_activity_at": 1765000000,
    "created_at": 1764990000,
    "first_reply_created_at": 0,
    "waiting_since": 1764999000,
}


def state_with_inbox() -> SeenState:
    state = SeenState()
    state.put_inbox(
        inbox_from({"id": 3, "name": "WhatsApp JP", "channel_type": "Channel::Whatsapp"})
    )
    return state


def test_a_documented_conversation_maps():
    state = state_with_inbox()
    conv = conversation_from(CONVERSATION, state)
    assert (conv.id, conv.channel, conv.contact_id) == (42, "WhatsApp JP", 7)
    assert conv.status is Status.SNOOZED
    assert conv.snoozed_until == datetime(2026, 12, 8, 9, tzinfo=timezone.utc)
    assert (conv.priority, conv.assignee, conv.team) == (Priority.HIGH, "ben@x.io", "billing")
    assert conv.labels == ["vip", "refund"] and conv.unread == 2
    assert conv.preview == "Where is my order?" and conv.first_reply_at is None
    assert state.contact_name(7) == "Sheena Nelson"


def test_pending_is_the_bot_status_and_no_priority_is_none():
    conv = conversation_from({**CONVERSATION, "status": "pending", "priority": None}, SeenState())
    assert (conv.status, conv.priority, conv.snoozed_until) == (Status.BOT, Priority.NONE, None)


def test_messages_map_by_type_and_status():
    state = SeenState()
    base = {"id": 5, "conversation_id": 42, "created_at": 1765000000}
    inbound = message_from({**base, "message_type": 0, "content": "hi"}, state)
    failed = message_from(
        {
            **base,
            "message_type": 1,
            "status": "failed",
            "content_attributes": {"external_error": "24h"},
        },
        state,
    )
    note = message_from({**base, "message_type": 1, "private": True, "content": "vip"}, state)
    activity = message_from(
        {**base, "message_type": 2, "content": "Assigned to Ben by Aiko"}, state
    )
    assert inbound.direction is Direction.IN and inbound.delivery is Delivery.RECEIVED
    assert (failed.delivery, failed.delivery_reason) == (Delivery.FAILED, "24h")
    assert note.is_note and note.delivery is Delivery.RECEIVED
    assert activity.kind is MessageKind.ACTIVITY and not activity.is_note


def test_agents_contacts_counts_and_echo():
    agent = agent_from(
        {"id": 2, "name": "Ben Okoro", "email": "ben@x.io", "availability_status": "busy"}
    )
    assert (agent.user, agent.name, agent.availability) == ("ben@x.io", "Ben Okoro", "busy")
    contact = contact_from(
        {"id": 7, "name": "", "phone_number": "+8190", "custom_attributes": {"plan": 3}}
    )
    assert (contact.name, contact.phones, contact.attributes) == ("+8190", ["+8190"], {"plan": "3"})
    assert counts_from({"mine_count": 3, "all_count": "x"}) == {View.MINE: 3}
    records, meta = list_payload({"data": {"meta": {"all_count": 1}, "payload": [CONVERSATION]}})
    assert len(records) == 1 and meta == {"all_count": 1}
    assert echo_id_of({"echo_id": "fd-1"}) == "fd-1" and echo_id_of({"echo_id": 5}) is None


def test_times_read_both_ways_and_reject_nonsense():
    assert when(0) is None and when(True) is None and when("soon") is None and when(1e30) is None
    assert when("2026-12-08T09:00:00Z") == when(1796720400)


def test_a_record_without_an_id_is_unreadable():
    with pytest.raises(Unreadable):
        conversation_from({**CONVERSATION, "id": None}, SeenState())
    with pytest.raises(Unreadable):
        message_from({"id": -1, "conversation_id": 1}, SeenState())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=30,
)
fields_of_interest = st.sampled_from(
    [
        "id",
        "meta",
        "status",
        "priority",
        "labels",
        "inbox_id",
        "snoozed_until",
        "messages",
        "conversation_id",
        "message_type",
        "content",
        "attachments",
        "sender",
        "created_at",
        "content_attributes",
        "unread_count",
        "email",
        "name",
        "custom_attributes",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(fields_of_interest, json_values, max_size=10) | json_values)
def test_hostile_records_are_read_or_refused_never_crash(data):
    state = state_with_inbox()
    for read in (
        lambda d: conversation_from(d, state),
        lambda d: message_from(d, state),
        contact_from,
        agent_from,
        inbox_from,
    ):
        try:
            read(data)
        except Unreadable:
            pass


def test_activity_lines_in_chatwoots_wording_name_their_event():
    state = SeenState(teams={1: "Billing"})
    base = {"id": 5, "conversation_id": 42, "message_type": 2}
    kinds = {
        line: message_from({**base, "content": line}, state).event
        for line in (
            "Aiko Tanaka added vip, refund",
            "Assigned to Billing by Aiko Tanaka",
            "Assigned to Ben Okoro by Aiko Tanaka",
            "Aiko Tanaka set the priority to high",
            "Conversation was marked resolved by Aiko Tanaka",
        )
    }
    assert list(kinds.values()) == [
        EventKind.LABELLED,
        EventKind.ESCALATED,
        EventKind.ASSIGNED,
        EventKind.PRIORITY,
        EventKind.STATUS,
    ]


def test_an_attachment_is_named_as_the_customer_named_it():
    data = {
        "id": 5,
        "conversation_id": 42,
        "message_type": 0,
        "attachments": [
            {
                "file_type": "file",
                "data_url": "http://h/rails/blobs/x/receipt%201.pdf?disposition=a",
            }
        ],
    }
    (attachment,) = message_from(data, SeenState()).attachments
    assert attachment.name == "receipt 1.pdf"
