"""Chatwoot's live events applied to the console's state (`chatwoot.live.Live`), event by event.

Payloads follow what Chatwoot broadcasts: `Conversation#push_event_data` for conversation
events, `Message#push_event_data` (with its `conversation` summary and `echo_id`) for
messages, `{conversation, user, is_private}` for typing and `{account_id, users}` for
presence, each with the `account_id` its ActionCable listener merges in.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frontdesk.chatwoot.cable import EVENTS
from frontdesk.chatwoot.live import AGENT_TYPING_SECONDS, Live
from frontdesk.chatwoot.mapping import (
    agent_from,
    contact_from,
    conversation_from,
    inbox_from,
    message_from,
)
from frontdesk.chatwoot.state import SeenState
from frontdesk.desk.changes import Change, ChangeKind
from frontdesk.desk.presence import TYPING_SECONDS, Activity
from frontdesk.model import Delivery, Direction, Message, Status

T0 = 1765000000
ME = {"id": 1, "name": "Aiko Sato", "email": "aiko@x.io", "type": "user"}
BEN = {"id": 2, "name": "Ben Okoro", "available_name": "Ben", "email": "ben@x.io", "type": "user"}
SHEENA = {"id": 7, "name": "Sheena Nelson", "email": "s@example.com", "type": "contact"}


def conversation(conv_id: int = 42, **fields: Any) -> dict[str, Any]:
    """A conversation as Chatwoot's push_event_data gives it."""
    return {
        "additional_attributes": {},
        "can_reply": True,
        "channel": "Channel::WebWidget",
        "id": conv_id,
        "inbox_id": 3,
        "messages": [{"id": 9, "content": "Where is my order?", "message_type": 0}],
        "labels": [],
        "meta": {"sender": SHEENA, "assignee": None, "team": None, "hmac_verified": False},
        "status": "open",
        "custom_attributes": {},
        "snoozed_until": None,
        "unread_count": 1,
        "first_reply_created_at": 0,
        "priority": None,
        "waiting_since": T0,
        "agent_last_seen_at": T0 - 50,
        "contact_last_seen_at": T0,
        "last_activity_at": T0,
        "timestamp": T0,
        "created_at": T0 - 100,
        "account_id": 1,
        **fields,
    }


def message(message_id: int, conv_id: int = 42, **fields: Any) -> dict[str, Any]:
    """A message as Chatwoot's push_event_data gives it."""
    return {
        "id": message_id,
        "content": "Is it shipped yet?",
        "account_id": 1,
        "inbox_id": 3,
        "conversation_id": conv_id,
        "message_type": 0,
        "created_at": T0 + 60,
        "private": False,
        "status": "sent",
        "source_id": None,
        "content_type": "text",
        "content_attributes": {},
        "sender_type": "Contact",
        "sender_id": 7,
        "conversation": {
            "assignee_id": None,
            "unread_count": 2,
            "last_activity_at": T0 + 60,
            "contact_inbox": {"source_id": "c0ffee"},
        },
        "sender": SHEENA,
        **fields,
    }


def typing(user: dict[str, Any], conv_id: int = 42, is_private: bool = False) -> dict[str, Any]:
    return {
        "conversation": conversation(conv_id),
        "user": user,
        "is_private": is_private,
        "account_id": 1,
    }


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def state() -> SeenState:
    """An account with one inbox, Aiko (this console) and Ben, and conversation 42 whose
    thread is kept with one server message and one local reply not yet sent."""
    state = SeenState()
    state.put_inbox(inbox_from({"id": 3, "name": "Website", "channel_type": "Channel::WebWidget"}))
    state.me = agent_from(ME)
    state.put_agent(agent_from(ME))
    state.put_agent(agent_from(BEN))
    state.put_conversation(conversation_from(conversation(), state))
    state.keep_thread(42, [message_from(message(9, content="Where is my order?"), state)], False)
    local = Message(-1, 42, Direction.OUT, "On its way!", external_id="fd-echo-1")
    state.threads[42][-1] = local
    return state


class Heard:
    def __init__(self) -> None:
        self.echoes: list[tuple[str, dict[str, Any]]] = []
        self.missing: list[int] = []


@pytest.fixture
def heard() -> Heard:
    return Heard()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def live(state, heard, clock) -> Live:
    return Live(
        state,
        on_echo=lambda echo, data: heard.echoes.append((echo, data)),
        on_missing=heard.missing.append,
        clock=clock,
    )


# ---- conversations ----------------------------------------------------------------------------


def test_a_new_conversation_is_held_and_listed(live, state):
    changes = live.apply("conversation.created", conversation(43, unread_count=0))
    assert changes == [Change(ChangeKind.CONVERSATION, 43)]
    assert state.conversations[43].channel == "Website"
    assert state.contact_name(7) == "Sheena Nelson"


@pytest.mark.parametrize(
    ("event", "fields", "check"),
    [
        (
            "conversation.status_changed",
            {"status": "resolved"},
            lambda c: c.status is Status.RESOLVED,
        ),
        (
            "conversation.status_changed",
            {"status": "snoozed", "snoozed_until": T0 + 3600},
            lambda c: (
                c.status is Status.SNOOZED
                and c.snoozed_until == datetime.fromtimestamp(T0 + 3600, timezone.utc)
            ),
        ),
        (
            "assignee.changed",
            {"meta": {"sender": SHEENA, "assignee": BEN}},
            lambda c: c.assignee == "ben@x.io",
        ),
        (
            "team.changed",
            {"meta": {"sender": SHEENA, "team": {"id": 4, "name": "billing"}}},
            lambda c: c.team == "billing",
        ),
        ("conversation.updated", {"labels": ["vip"]}, lambda c: c.labels == ["vip"]),
        ("conversation.read", {"unread_count": 0}, lambda c: c.unread == 0),
        (
            "conversation.contact_changed",
            {"meta": {"sender": {**SHEENA, "id": 8, "name": "Sheena N."}}},
            lambda c: c.contact_id == 8,
        ),
    ],
)
def test_conversation_events_update_the_record_in_place(live, state, event, fields, check):
    held = state.conversations[42]
    changes = live.apply(event, conversation(**fields))
    assert changes == [Change(ChangeKind.CONVERSATION, 42)]
    assert state.conversations[42] is held  # the rows showing it stay current
    assert check(held)


def test_a_contact_edited_on_the_server_renames_their_rows(live, state):
    state.put_conversation(conversation_from(conversation(43), state))
    state.put_conversation(conversation_from(conversation(44, meta={"sender": BEN}), state))
    held = state.put_contact(contact_from({**SHEENA, "custom_attributes": {"plan": "pro"}}))
    held.notes = "prefers email"
    edited = {**SHEENA, "name": "Sheena Nelson-Ito", "phone_number": "+8190", "account_id": 1}
    changes = live.apply("contact.updated", edited)
    assert changes == [Change(ChangeKind.CONVERSATION, 42), Change(ChangeKind.CONVERSATION, 43)]
    assert state.contact_name(7) == "Sheena Nelson-Ito"
    assert state.contacts[7] is held and held.phones == ["+8190"] and held.attributes == {}
    assert held.notes == "prefers email"  # the event does not carry notes


# ---- messages ---------------------------------------------------------------------------------


def test_a_customer_message_joins_its_thread_and_moves_its_row(live, state):
    conv = state.conversations[42]
    count = conv.message_count
    changes = live.apply("message.created", message(10))
    assert changes == [Change(ChangeKind.MESSAGE, 42, 10), Change(ChangeKind.CONVERSATION, 42)]
    kept = state.message(42, 10)[1]
    assert kept is not None and kept.direction is Direction.IN and kept.author == "Sheena Nelson"
    assert conv.preview == "Is it shipped yet?" and conv.unread == 2
    assert conv.last_activity_at == datetime.fromtimestamp(T0 + 60, timezone.utc)
    assert conv.message_count == count + 1


def test_the_same_message_twice_counts_once(live, state):
    live.apply("message.created", message(10))
    count = state.conversations[42].message_count
    live.apply("message.created", message(10))
    assert state.conversations[42].message_count == count


def test_an_echoed_reply_replaces_the_local_copy(live, state, heard):
    reply = message(
        11,
        message_type=1,
        content="On its way!",
        echo_id="fd-echo-1",
        sender=ME,
        sender_type="User",
    )
    changes = live.apply("message.created", reply)
    ids = [m.id for m in state.thread(42)]
    assert ids == [9, 11]
    assert state.message(42, 11)[1].author == "aiko@x.io"
    assert heard.echoes == [("fd-echo-1", reply)]
    # the thread shows the local copy under its own id: the console reads the thread again
    assert changes == [Change(ChangeKind.CONVERSATION, 42)]


def test_an_echo_of_another_console_is_an_ordinary_message(live, state, heard):
    reply = message(12, message_type=1, echo_id="someone-else", sender=BEN)
    changes = live.apply("message.created", reply)
    assert Change(ChangeKind.MESSAGE, 42, 12) in changes
    assert -1 in {m.id for m in state.thread(42)}  # our own unsent reply is untouched
    assert heard.echoes == [("someone-else", reply)]  # the outbox ignores keys it never sent


def test_a_message_in_a_conversation_not_held_asks_for_it(live, state, heard):
    changes = live.apply("message.created", message(20, conv_id=99))
    assert changes == [Change(ChangeKind.MESSAGE, 99, 20)]
    assert heard.missing == [99]
    assert 99 not in state.conversations and state.thread(99) is None


def test_delivery_marks_update_the_kept_message(live, state):
    live.apply("message.created", message(11, message_type=1, sender=ME, content="Shipped"))
    changes = live.apply(
        "message.updated", message(11, message_type=1, sender=ME, content="Shipped", status="read")
    )
    assert changes == [Change(ChangeKind.MESSAGE, 42, 11)]
    assert state.message(42, 11)[1].delivery is Delivery.READ
    failed = message(
        11,
        message_type=1,
        sender=ME,
        status="failed",
        content_attributes={"external_error": "outside the 24h window"},
    )
    live.apply("message.updated", failed)
    kept = state.message(42, 11)[1]
    assert (kept.delivery, kept.delivery_reason) == (Delivery.FAILED, "outside the 24h window")


def test_an_update_to_a_thread_not_kept_changes_nothing(live, state):
    state.put_conversation(conversation_from(conversation(43), state))
    assert live.apply("message.updated", message(30, conv_id=43, status="read")) == []


# ---- typing -----------------------------------------------------------------------------------


def test_customer_typing_shows_until_off(live):
    assert live.apply("conversation.typing_on", typing(SHEENA)) == [Change(ChangeKind.TYPING, 42)]
    assert live.is_typing(42)
    assert live.apply("conversation.typing_off", typing(SHEENA)) == [Change(ChangeKind.TYPING, 42)]
    assert not live.is_typing(42)
    assert live.apply("conversation.typing_off", typing(SHEENA)) == []


def test_customer_typing_lapses_and_ends_with_their_message(live, clock):
    live.apply("conversation.typing_on", typing(SHEENA))
    clock.now += TYPING_SECONDS + 0.1
    assert not live.is_typing(42)
    live.apply("conversation.typing_on", typing(SHEENA))
    changes = live.apply("message.created", message(10))
    assert Change(ChangeKind.TYPING, 42) in changes and not live.is_typing(42)


def test_another_agent_typing_is_their_activity(live, clock, state):
    state.put_conversation(conversation_from(conversation(43), state))
    on = live.apply("conversation.typing_on", typing(BEN, is_private=True))
    assert on == [Change(ChangeKind.ACTIVITY, 42, agent="ben@x.io")]
    assert live.activity(42) == [Activity("ben@x.io", "typing")] and not live.is_typing(42)
    moved = live.apply("conversation.typing_on", typing(BEN, conv_id=43))
    assert moved == [
        Change(ChangeKind.ACTIVITY, 42, agent="ben@x.io"),
        Change(ChangeKind.ACTIVITY, 43, agent="ben@x.io"),
    ]
    assert live.activity(42) == [] and live.activity(43)
    clock.now += AGENT_TYPING_SECONDS + 1
    assert live.activity(43) == []
    off = live.apply("conversation.typing_off", typing(BEN, conv_id=43))
    assert off == [Change(ChangeKind.ACTIVITY, 43, agent="ben@x.io")]


def test_typing_without_a_user_type_reads_is_private(live):
    agent = {key: value for key, value in BEN.items() if key != "type"}
    assert live.apply("conversation.typing_on", typing(agent, is_private=True)) == [
        Change(ChangeKind.ACTIVITY, 42, agent="ben@x.io")
    ]
    customer = {key: value for key, value in SHEENA.items() if key != "type"}
    assert live.apply("conversation.typing_on", typing(customer)) == [Change(ChangeKind.TYPING, 42)]


def test_typing_that_is_no_one_to_show_is_skipped(live):
    assert live.apply("conversation.typing_on", typing(ME)) == []  # this console's own
    assert live.apply("conversation.typing_on", typing({"id": 5, "type": "agent_bot"})) == []
    assert live.apply("conversation.typing_on", typing(SHEENA, conv_id=777)) == []
    assert not live.is_typing(777)


def test_losing_the_feed_forgets_who_was_typing(live):
    live.apply("conversation.typing_on", typing(SHEENA))
    live.apply("conversation.typing_on", typing(BEN))
    assert live.lost() == [
        Change(ChangeKind.TYPING, 42),
        Change(ChangeKind.ACTIVITY, 42, agent="ben@x.io"),
    ]
    assert not live.is_typing(42) and live.activity(42) == []
    assert live.lost() == []


# ---- presence ---------------------------------------------------------------------------------


def test_presence_updates_each_agents_availability(live, state):
    changes = live.apply(
        "presence.update", {"account_id": 1, "users": {"1": "online", "2": "busy"}}
    )
    assert changes == [
        Change(ChangeKind.PRESENCE, agent="aiko@x.io"),
        Change(ChangeKind.PRESENCE, agent="ben@x.io"),
    ]
    assert state.agents[2].availability == "busy" and state.me.availability == "online"
    assert (
        live.apply("presence.update", {"account_id": 1, "users": {"1": "online", "2": "busy"}})
        == []
    )
    gone = live.apply("presence.update", {"account_id": 1, "users": {"1": "online"}})
    assert gone == [Change(ChangeKind.PRESENCE, agent="ben@x.io")]
    assert state.agents[2].availability == "offline"


# ---- what cannot be read ----------------------------------------------------------------------


def test_unknown_events_and_unreadable_payloads_change_nothing(live, state):
    before = dict(state.conversations)
    assert live.apply("notification.created", {"id": 1}) == []
    assert live.apply("conversation.created", {"meta": {}}) == []
    assert live.apply("message.created", {"id": "x", "conversation_id": 42}) == []
    assert live.apply("presence.update", {"users": ["1"]}) == []
    assert live.apply("conversation.typing_on", {"conversation": [], "user": 5}) == []
    assert state.conversations == before


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "conversation_id",
                    "conversation",
                    "user",
                    "type",
                    "users",
                    "meta",
                    "sender",
                    "assignee",
                    "status",
                    "message_type",
                    "echo_id",
                    "created_at",
                    "unread_count",
                    "last_activity_at",
                    "is_private",
                    "content",
                    "1",
                    "2",
                ]
            ),
            children,
            max_size=6,
        )
    ),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(EVENTS)), JSON, st.sampled_from([None, 42, 43, "42"]))
def test_apply_never_raises_on_hostile_payloads(event, data, conv_id):
    state = SeenState()
    state.put_agent(agent_from(BEN))
    state.put_conversation(conversation_from(conversation(), state))
    state.keep_thread(42, [], False)
    if isinstance(data, dict) and conv_id is not None:
        data = {**data, "id": conv_id, "conversation_id": conv_id}
    changes = Live(state).apply(event, data)
    assert all(isinstance(change, Change) for change in changes)
    json.dumps([change.kind for change in changes])  # plain values, safe to publish
