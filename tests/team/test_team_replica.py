"""The team client's replica answers every read as the in-process Desk does on the same data."""

from __future__ import annotations

from dataclasses import replace

import pytest

from frontdesk.desk import Change, ChangeKind, Desk, Filters, Sort, View
from frontdesk.model import Direction, Message, Priority, Status
from frontdesk.store import Store
from frontdesk.team.protocol import Changes, ChannelInfo, Snapshot
from frontdesk.team.replica import Replica

from conftest import NOW, run_sync

FILTERS = [
    Filters(),
    Filters(channels=frozenset({"whatsapp"})),
    Filters(labels=frozenset({"refund", "vip"})),
    Filters(priorities=frozenset({Priority.HIGH, Priority.URGENT})),
    Filters(channels=frozenset({"email", "sms"}), priorities=frozenset({Priority.NONE})),
]


def snapshot_of(desk: Desk) -> Snapshot:
    """What a served desk sends in its welcome, built from an in-process desk."""
    return Snapshot(
        conversations=[replace(c, labels=list(c.labels)) for c in desk.store.conversations()],
        contact_names={c.id: c.name for c in desk.store.contacts()},
        agents=desk.agents,  # as the served desk's welcome names them
        agent_names={},
        channels={
            name: ChannelInfo(kind=b.channel_kind, name=name) for name, b in desk.channels.items()
        },
        channel_status=dict(desk.channel_status),
        escalation_targets=list(desk.escalation_targets),
        hooks=sorted(desk.hooks),
        hook_jobs=desk.hook_jobs(),
        presence=desk.presence.state(),
        typing=[],
    )


def push_of(desk: Desk, changes: list[Change]) -> Changes:
    """What a served desk pushes for `changes`: the current record of every conversation and message named."""
    conv_ids = {c.conversation_id for c in changes if c.conversation_id is not None}
    messages = [
        desk.store.message(c.conversation_id, c.message_id)
        for c in changes
        if c.kind is ChangeKind.MESSAGE
    ]
    return Changes(
        changes=changes,
        conversations=[replace(desk.store.conversation(i)) for i in sorted(conv_ids)],
        messages=[replace(m) for m in messages if m is not None],
        contact_names={},
        presence=desk.presence.state(),
        hook_jobs=None,
    )


@pytest.fixture
def generated_desk(tmp_path):
    """A Desk (agent Aiko) on a generated workspace of 400 conversations with assignees, teams, labels."""
    from frontdesk.backends.demo_workspace import generate_workspace

    ws = generate_workspace(5, conversations=400, messages=3000, now=NOW)
    with Store.open(tmp_path / "data") as store:
        desk = Desk(store, agent="Aiko", agents=["Ben", "Chloé"])
        run_sync(desk.load_workspace(ws.contacts, ws.conversations, ws.messages))
        yield desk


async def assert_same_reads(replica: Replica, desk: Desk) -> None:
    for view in View:
        for sort in (Sort.ACTIVITY, Sort.WAITING):
            for filters in FILTERS:
                want = [c.id for c in await desk.conversations(view, sort=sort, filters=filters)]
                got = [c.id for c in replica.conversations(view, sort=sort, filters=filters)]
                assert got == want, (view, sort, filters)
        unsorted = await desk.conversations(view, sort=None)
        assert sorted(c.id for c in replica.conversations(view, sort=None)) == sorted(
            c.id for c in unsorted
        )
    for filters in FILTERS:
        assert replica.counts(filters) == await desk.counts(filters)
        assert replica.tally(filters).counts() == (await desk.tally(filters)).counts()
    assert replica.labels() == await desk.labels()
    assert replica.channel_names() == await desk.channel_names()
    assert replica.agents == desk.agents
    for conv in desk.store.conversations():
        assert replica.conversation(conv.id) == conv
        assert replica.contact_name(conv.contact_id) == desk.contact_name(conv.contact_id)
        assert replica.channel_kind(conv.channel) == desk.channel_kind(conv.channel)
    for contact in desk.store.contacts()[:20]:
        want = await desk.contact_conversations(contact.id)
        assert [c.id for c in replica.contact_conversations(contact.id)] == [c.id for c in want]
    assert replica.contact_name(999_999) == desk.contact_name(999_999)
    assert replica.hook_jobs() == desk.hook_jobs()


async def test_replica_reads_equal_the_desks_on_a_generated_workspace(generated_desk):
    replica = Replica("Aiko")
    replica.load(snapshot_of(generated_desk))
    counts = replica.counts()
    assert all(counts[v] > 0 for v in (View.MINE, View.UNASSIGNED, View.ESCALATED, View.RESOLVED))
    await assert_same_reads(replica, generated_desk)


async def test_replica_reads_equal_the_desks_on_the_small_workspace(desk):
    replica = Replica("Aiko")
    replica.load(snapshot_of(desk))
    await assert_same_reads(replica, desk)


async def test_pushed_commands_keep_the_replica_equal_to_the_desk(generated_desk):
    desk = generated_desk
    replica = Replica("Aiko")
    replica.load(snapshot_of(desk))
    held = {c.id: replica.conversation(c.id) for c in replica.all_conversations()}
    sub = desk.subscribe()
    open_ids = [c.id for c in await desk.conversations(View.ALL)][:6]
    await desk.assign(open_ids[0], "Aiko")
    await desk.assign(open_ids[1], None)
    await desk.set_status(open_ids[2], Status.RESOLVED)
    await desk.label(open_ids[3], add=["zebra"])
    await desk.set_priority(open_ids[4], Priority.URGENT)
    await desk.escalate(open_ids[5], "tier-2", "needs a refund")
    await desk.assign(open_ids[5], "Dora")  # an agent only the assignments know
    replica.apply(push_of(desk, sub.pending()))
    await assert_same_reads(replica, desk)
    # the console's references stay current, as the in-process desk's records do
    assert held[open_ids[2]].status is Status.RESOLVED
    assert "Dora" in replica.agents


async def test_a_kept_thread_follows_pushed_messages_and_typing_ends_with_the_customers_message(
    desk,
):
    replica = Replica("Aiko", clock=lambda: 100.0)
    replica.load(snapshot_of(desk))
    conv = (await desk.conversations(View.ALL))[0]
    assert replica.thread(conv.id) is None
    replica.keep_thread(conv.id, await desk.thread(conv.id))
    sub = desk.subscribe()
    reply = await desk.reply(conv.id, "on its way")
    typing = Changes(changes=[Change(ChangeKind.TYPING, conv.id)])
    replica.apply(typing)
    assert replica.is_typing(conv.id)
    replica.apply(push_of(desk, sub.pending()))
    assert [m.id for m in replica.thread(conv.id)] == [m.id for m in await desk.thread(conv.id)]
    assert replica.message(conv.id, reply.id) == (True, await desk.message(conv.id, reply.id))
    inbound = Message(10_000, conv.id, Direction.IN, "thanks", created_at=NOW)
    replica.apply(Changes(changes=[], messages=[inbound]))
    assert not replica.is_typing(conv.id)
    assert replica.thread(conv.id)[-1].body == "thanks"


def test_customer_typing_lapses_as_the_desks_does():
    now = [0.0]
    replica = Replica("Aiko", clock=lambda: now[0])
    replica.load(
        Snapshot(
            conversations=[],
            contact_names={},
            agents=["Aiko"],
            agent_names={},
            channels={},
            channel_status={},
            escalation_targets=[],
            hooks=[],
            hook_jobs=[],
            presence=None,
            typing=[7],
        )
    )
    assert replica.is_typing(7)
    now[0] = 6.5
    assert not replica.is_typing(7)


def test_hooks_are_known_by_name_only(desk):
    from frontdesk.desk.hooks import HookSpec

    desk.hooks = {"ticket": HookSpec("ticket", url="https://example.invalid/t", token="s3cret")}
    replica = Replica("Aiko")
    replica.load(snapshot_of(desk))
    assert list(replica.hooks) == ["ticket"]
    assert replica.hooks["ticket"].name == "ticket"


async def test_presence_and_the_roster_read_as_the_desks(desk):
    from frontdesk.desk.acting import acting_as

    desk.presence.join("Aiko")
    desk.presence.join("Ben")
    conv = (await desk.conversations(View.ALL))[0]
    with acting_as("Ben"):
        await desk.set_viewing(conv.id)
        await desk.assign(conv.id, "Ben")
    replica = Replica("Aiko")
    replica.load(snapshot_of(desk))
    assert replica.online() == desk.online()
    assert [a.agent for a in replica.activity(conv.id)] == ["Ben"]
    assert replica.activity(conv.id) == desk.activity(conv.id)
    sub = desk.subscribe()
    with acting_as("Ben"):
        await desk.set_typing(conv.id, True)
    replica.apply(push_of(desk, sub.pending()))
    assert replica.activity(conv.id) == desk.activity(conv.id)
    assert replica.activity(conv.id)[0].doing == "typing"
    desk.presence.leave("Ben")
    replica.apply(push_of(desk, sub.pending()))
    assert replica.activity(conv.id) == [] == desk.activity(conv.id)
    assert replica.online() == desk.online()


async def test_a_reset_from_the_desk_drops_kept_threads(desk):
    replica = Replica("Aiko")
    replica.load(snapshot_of(desk))
    replica.keep_thread(1, await desk.thread(1))
    replica.apply(Changes(changes=[Change(ChangeKind.RESET)]))
    assert replica.thread(1) is None  # read afresh: pushes it missed are in the desk's copy
