"""Contact rules: editing notes and attributes, finding contacts, merging two contacts."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from frontdesk.desk import ChangeKind, DeskError
from frontdesk.desk.contacts import format_attributes, parse_attributes
from frontdesk.model import ContactRef, EventKind, Identity, Inbound, MessageKind
from frontdesk.store import Store

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)  # the conftest clock


async def test_update_contact_saves_notes_and_attributes_and_publishes(desk):
    changes = desk.subscribe()
    contact = await desk.update_contact(
        1,
        notes="Prefers email.\nRefund ok up to $50.  ",
        attributes={" plan ": " pro ", "tier": "gold"},
    )
    assert contact.notes == "Prefers email.\nRefund ok up to $50."
    assert contact.attributes == {"plan": "pro", "tier": "gold"}
    assert [(c.kind, c.conversation_id) for c in changes.pending()] == [
        (ChangeKind.CONVERSATION, 1)
    ]
    root = desk.store.root
    desk.store.close()
    with Store.open(root) as store:
        assert store.contact(1).notes == "Prefers email.\nRefund ok up to $50."
        assert store.contact(1).attributes == {"plan": "pro", "tier": "gold"}


async def test_update_contact_refuses_bad_attributes(desk):
    with pytest.raises(DeskError, match="needs a name"):
        await desk.update_contact(1, attributes={"": "x"})
    with pytest.raises(DeskError, match="given twice"):
        await desk.update_contact(1, attributes={"Plan": "a", "plan": "b"})
    with pytest.raises(DeskError, match="at most 500"):
        await desk.update_contact(1, attributes={"plan": "x" * 501})
    assert (await desk.contact(1)).attributes == {"plan": "pro"}


def test_attribute_lines_round_trip_and_errors_name_the_line():
    text = "plan: pro\n\norder: #1234: urgent\n  city :  Tōkyō  "
    attributes = parse_attributes(text)
    assert attributes == {"plan": "pro", "order": "#1234: urgent", "city": "Tōkyō"}
    assert parse_attributes(format_attributes(attributes)) == attributes
    with pytest.raises(ValueError, match="line 2: write it as `name: value`"):
        parse_attributes("plan: pro\njust words")
    with pytest.raises(ValueError, match="line 3: attribute 'Plan' is given twice"):
        parse_attributes("plan: pro\n\nPlan: free")
    with pytest.raises(ValueError, match="line 1: an attribute needs a name"):
        parse_attributes(": pro")


async def test_find_contacts_by_name_email_phone(desk):
    assert [c.id for c in await desk.find_contacts("mia")] == [1]
    assert [c.id for c in await desk.find_contacts("EXAMPLE.JP")] == [2]
    assert [c.id for c in await desk.find_contacts("90-1234")] == [
        2
    ]  # digits of "+81 90 1234 5678"
    assert [c.id for c in await desk.find_contacts("bob@")] == [4]
    assert len(await desk.find_contacts("")) == 4


async def test_merge_joins_everything_and_repoints_conversations(desk):
    await desk.update_contact(
        4, notes="Old customer since 2019", attributes={"plan": "free", "city": "Oslo"}
    )
    changes = desk.subscribe()
    kept = await desk.merge_contacts(1, 4)
    assert kept.id == 1
    assert kept.identities == [Identity("wa", "+15550001"), Identity("mail", "bob@example.com")]
    assert kept.emails == ["mia@example.com"]
    assert kept.attributes == {"plan": "pro", "city": "Oslo"}  # the kept contact's value wins
    assert kept.notes == "Old customer since 2019"
    assert kept.language == "en"
    other = await desk.contact(4)
    assert other.merged_into == 1
    assert [c.id for c in await desk.contact_conversations(1)] == [1, 4]
    assert await desk.contact_conversations(4) == []
    for conv_id in (1, 4):
        [event] = [m for m in await desk.thread(conv_id) if m.event is EventKind.MERGED]
        assert (
            event.kind is MessageKind.ACTIVITY
            and event.body == "Aiko merged contact Bob Old into Mia Tanaka"
        )
    touched = {c.conversation_id for c in changes.pending() if c.kind is ChangeKind.CONVERSATION}
    assert touched == {1, 4}
    assert [c.id for c in await desk.find_contacts("bob")] == [
        1
    ]  # found through the merged email identity


async def test_merge_keeps_both_notes_and_refuses_nonsense(desk):
    await desk.update_contact(1, notes="Mia: VIP")
    kept = await desk.merge_contacts(1, 2)
    assert kept.notes == "Mia: VIP\n\n— from 山田 花子 🌸:\nVIP 顧客"
    assert kept.phones == ["+81 90 1234 5678"]
    with pytest.raises(DeskError, match="itself"):
        await desk.merge_contacts(1, 1)
    with pytest.raises(DeskError, match="already merged"):
        await desk.merge_contacts(1, 2)
    with pytest.raises(DeskError, match="merged into #1; edit that one"):
        await desk.update_contact(2, notes="x")


async def test_new_message_from_a_merged_identity_lands_on_the_kept_contact(desk):
    await desk.merge_contacts(1, 4)
    await desk.ingest(
        "mail",
        [
            Inbound(
                "m-new",
                "bob-new-thread",
                ContactRef("bob@example.com", "Bob Old"),
                "Me again",
                created_at=NOW,
            )
        ],
    )
    [conv] = [c for c in await desk.conversations() if c.thread_key == "bob-new-thread"]
    assert conv.contact_id == 1
    assert len(desk.store.contacts()) == 4  # no new contact was created
    # and after a restart the identity index still points to the kept contact
    root = desk.store.root
    desk.store.close()
    with Store.open(root) as store:
        assert store.find_contact("mail", "bob@example.com").id == 1
        assert store.contact(4).merged_into == 1
