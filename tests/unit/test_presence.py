"""Presence and the acting agent: who is online, viewing and typing; commands authored per agent."""

import asyncio
import typing

import pytest

from frontdesk.desk import ChangeKind
from frontdesk.desk.acting import ACTING_AGENT, acting_as
from frontdesk.desk.changes import Change
from frontdesk.desk.interface import REMOTE_METHODS, DeskAPI
from frontdesk.desk.presence import TYPING_SECONDS, Activity, AgentInfo, Presence, PresenceState
from frontdesk.model import Status


class Published(list):
    """Every change a Presence published, with a way to wait for the next one."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived = asyncio.Event()

    def __call__(self, changes: list[Change]) -> None:
        self.extend(changes)
        self.arrived.set()


def activity_of(changes, agent):
    return [
        c.conversation_id for c in changes if c.kind is ChangeKind.ACTIVITY and c.agent == agent
    ]


# ---- Presence rules ----------------------------------------------------------------------------


def test_an_agent_with_two_consoles_is_online_until_both_leave():
    published = Published()
    presence = Presence(published)
    presence.join("ben")
    presence.join("ben")
    presence.join("aiko")
    assert presence.online() == ["ben", "aiko"]
    assert [(c.kind, c.agent) for c in published] == [
        (ChangeKind.PRESENCE, "ben"),
        (ChangeKind.PRESENCE, "aiko"),
    ]
    published.clear()
    presence.leave("ben")
    assert presence.online() == ["ben", "aiko"] and published == []
    presence.leave("ben")
    assert presence.online() == ["aiko"]
    assert [(c.kind, c.agent) for c in published] == [(ChangeKind.PRESENCE, "ben")]
    presence.leave("ben")  # one leave too many changes nothing
    assert presence.online() == ["aiko"] and len(published) == 1


async def test_viewing_and_typing_are_published_and_leaving_clears_them():
    published = Published()
    presence = Presence(published)
    presence.join("ben")
    published.clear()
    presence.view("ben", 1)
    assert activity_of(published, "ben") == [1]
    assert presence.activity(1) == [Activity("ben", "viewing")]
    presence.type("ben", 1, True)
    assert presence.activity(1) == [Activity("ben", "typing")]
    assert activity_of(published, "ben") == [1, 1]
    presence.type("ben", 1, True)  # a renewal is not news
    assert activity_of(published, "ben") == [1, 1]
    presence.view("ben", 2)  # moving on ends typing in 1
    assert presence.activity(1) == [] and presence.activity(2) == [Activity("ben", "viewing")]
    assert activity_of(published, "ben") == [1, 1, 1, 2]
    published.clear()
    presence.leave("ben")
    assert presence.activity(2) == []
    assert [(c.kind, c.conversation_id) for c in published] == [
        (ChangeKind.PRESENCE, None),
        (ChangeKind.ACTIVITY, 2),
    ]


async def test_typing_lapses_without_a_renewal_and_says_so():
    published = Published()
    presence = Presence(published, typing_seconds=0.05)
    presence.type("ben", 3, True)
    published.clear()
    published.arrived.clear()
    await asyncio.wait_for(published.arrived.wait(), timeout=5)
    assert activity_of(published, "ben") == [3]
    assert presence.activity(3) == []


async def test_a_renewal_keeps_typing_past_the_first_deadline():
    now = [100.0]
    published = Published()
    presence = Presence(published, clock=lambda: now[0])
    presence.type("ben", 3, True)
    now[0] += TYPING_SECONDS - 1
    presence.type("ben", 3, True)
    now[0] += 2  # past the first deadline, not the renewed one
    assert presence.activity(3) == [Activity("ben", "typing")]
    assert activity_of(published, "ben") == [3]


async def test_typing_past_its_deadline_is_not_shown_even_before_the_lapse_runs():
    now = [100.0]
    presence = Presence(Published(), clock=lambda: now[0])
    presence.type("ben", 3, True)
    now[0] += TYPING_SECONDS
    assert presence.activity(3) == []


async def test_a_replica_restored_from_state_answers_the_same():
    presence = Presence(Published())
    presence.join("ben")
    presence.view("ben", 1)
    presence.join("chloe")
    presence.type("chloe", 1, True)
    replica = Presence(Published())
    replica.restore(presence.state())
    assert replica.online() == ["ben", "chloe"]
    assert replica.activity(1) == presence.activity(1)
    assert presence.state() == PresenceState(["ben", "chloe"], {"ben": 1}, {"chloe": 1})


# ---- the Desk's presence API -------------------------------------------------------------------


async def test_acting_as_authors_a_reply_and_an_event_as_that_agent(desk):
    with acting_as("Ben"):
        assert desk.agent == "Ben"
        reply = await desk.reply(1, "on its way")
        await desk.set_status(1, Status.PENDING)
    assert desk.agent == "Aiko" and ACTING_AGENT.get() is None
    assert reply.author == "Ben"
    thread = await desk.thread(1)
    assert thread[-1].author == "Ben" and thread[-1].body.startswith("Ben ")


async def test_a_task_started_while_acting_keeps_acting_as_that_agent(desk):
    with acting_as("Ben"):
        task = asyncio.create_task(desk.note(1, "checked the order"))
    note = await task
    assert note.author == "Ben"


async def test_drafts_are_per_agent_and_old_drafts_stay_the_configured_agents(desk):
    with desk.store.batch():
        desk.store.put_draft(1, {"reply": "from before team mode"})
    with acting_as("Ben"):
        assert await desk.draft(1) == {}
        await desk.save_draft(1, {"reply": "Ben's words", "note": "Ben's note"})
        assert await desk.draft(1) == {"reply": "Ben's words", "note": "Ben's note"}
    assert await desk.draft(1) == {"reply": "from before team mode"}
    await desk.save_draft(1, {"reply": ""})
    assert await desk.draft(1) == {}
    with acting_as("Ben"):
        assert await desk.draft(1) == {"reply": "Ben's words", "note": "Ben's note"}
        await desk.save_draft(1, {"reply": "", "note": ""})
    assert desk.store.draft(1) == {}


async def test_viewing_and_typing_show_to_others_not_to_the_agent_doing_it(desk):
    feed = desk.subscribe()
    with acting_as("Ben"):
        await desk.set_viewing(2)
        await desk.set_typing(2, True)
        assert desk.activity(2) == []  # Ben knows he is typing
    assert desk.activity(2) == [Activity("Ben", "typing")]
    with acting_as("Ben"):
        await desk.set_typing(2, False)
        await desk.set_viewing(None)
    assert desk.activity(2) == []
    changes = feed.pending()
    assert {(c.kind, c.conversation_id, c.agent) for c in changes} == {
        (ChangeKind.ACTIVITY, 2, "Ben")
    }
    assert len(changes) == 4


async def test_the_desk_says_solo_and_its_agent_is_online_once_started(desk):
    assert desk.mode == "solo"
    await desk.start()
    try:
        assert desk.presence.online() == ["Aiko"]
    finally:
        await desk.stop()


@pytest.fixture
def named_desk(make_desk):
    """The small workspace's desk with display names for Ben and chloe."""
    return make_desk(agents=["Ben", "chloe"], agent_names={"Ben": "Ben Okafor", "chloe": "Chloé"})


async def test_online_lists_every_agent_with_their_name_presence_and_open_count(named_desk):
    desk = named_desk
    await desk.assign(1, "Ben")
    await desk.assign(2, "Ben")
    await desk.assign(4, "Ben")  # resolved: not open
    await desk.assign(3, "chloe")
    desk.presence.join("Ben")
    assert desk.online() == [
        AgentInfo("Aiko", "Aiko", False, 0),
        AgentInfo("Ben", "Ben Okafor", True, 2),
        AgentInfo("chloe", "Chloé", False, 1),
    ]
    assert desk.agent_name("Ben") == "Ben Okafor" and desk.agent_name("zed") == "zed"


async def test_a_note_publishes_one_mention_per_mentioned_agent(named_desk):
    desk = named_desk
    feed = desk.subscribe()
    note = await desk.note(1, "@ben and @Chloé, please look (cc @nobody, @Ben again)")
    mentions = [c for c in feed.pending() if c.kind is ChangeKind.MENTION]
    assert [(c.agent, c.conversation_id, c.message_id) for c in mentions] == [
        ("Ben", 1, note.id),
        ("chloe", 1, note.id),
    ]


def test_every_remote_method_is_a_coroutine_of_the_interface_with_resolvable_types():
    for name in sorted(REMOTE_METHODS):
        method = getattr(DeskAPI, name)
        assert asyncio.iscoroutinefunction(method), name
        hints = typing.get_type_hints(method)
        assert "return" in hints, name


def test_the_desk_has_everything_the_interface_names(desk):
    members = [m for m in dir(DeskAPI) if not m.startswith("_")]
    annotated = list(typing.get_type_hints(DeskAPI))
    assert [m for m in [*members, *annotated] if not hasattr(desk, m)] == []
    for name in REMOTE_METHODS:
        assert asyncio.iscoroutinefunction(getattr(desk, name)), name


@pytest.fixture
def team_named_desk(make_desk):
    return make_desk(agents=["ben", "chloe"], agent_names={"ben": "Ben", "chloe": "Chloé"})


async def test_the_thread_names_teammates_by_their_names_in_its_events(team_named_desk):
    """Events are stored text: "ben assigned this to chloe" would outlive any display fix."""
    desk = team_named_desk
    with acting_as("ben"):
        await desk.assign(1, "chloe")
        await desk.set_status(1, Status.PENDING)
        await desk.assign(1, "ben")
    events = [m.body for m in await desk.thread(1) if m.event is not None][-3:]
    assert events == [
        "Ben assigned this to Chloé",
        "Ben marked this pending",
        "Ben assigned this to themself",
    ]
