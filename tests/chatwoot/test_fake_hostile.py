"""The fake Chatwoot's writes take any JSON a client sends: each either applies or refuses
with Invalid/NotFound (422/404), never another error, and a refusal changes nothing."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from frontdesk.bench.chatwoot_fake.account import Account
from frontdesk.bench.chatwoot_fake.records import INCOMING, Invalid, NotFound
from frontdesk.bench.chatwoot_fake.seed import setup_account

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
WRITES = {
    "status": lambda a, conv, user, v, w: a.set_status(conv, user, v, w),
    "priority": lambda a, conv, user, v, w: a.set_priority(conv, user, v),
    "assignee": lambda a, conv, user, v, w: a.assign_agent(conv, user, v),
    "team": lambda a, conv, user, v, w: a.assign_team(conv, user, v),
    "labels": lambda a, conv, user, v, w: a.set_labels(conv, user, v),
    "reply": lambda a, conv, user, v, w: a.create_message(conv, 1, v, content_attributes=w),
    "contact": lambda a, conv, user, v, w: a.update_contact(a.contacts[1], {"name": v, "x": w}),
    "attributes": lambda a, conv, user, v, w: a.update_contact(a.contacts[1], {str(v): w}),
    "note": lambda a, conv, user, v, w: a.add_note(a.contacts[1], user, v),
}


def account() -> Account:
    made = Account()
    setup_account(made)
    contact = made.add_contact("Kim Lee")
    conv = made.add_conversation(1, contact.id)
    made.add_message(conv, "hello", INCOMING)
    return made


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(WRITES)), JSON, JSON)
def test_a_write_applies_or_refuses_and_a_refusal_changes_nothing(write, value, extra):
    made = account()
    conv, user = made.conversations[1], made.agents[1]
    before = copy.deepcopy((made.conversations, made.contacts, made.notes))

    try:
        WRITES[write](made, conv, user, value, extra)
    except (Invalid, NotFound):
        assert (made.conversations, made.contacts, made.notes) == before
        return
    assert made.conversation_json(conv)["id"] == 1  # what was applied still prints
    assert made.search_contacts("kim") or made.contacts[1].name != "Kim Lee"
