"""Auto-assignment: who gets a new conversation (fairness, capacity, language, skills), end to end."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from frontdesk.config import ConfigError, load_config
from frontdesk.desk import Desk
from frontdesk.desk.automation import automation_author
from frontdesk.desk.automation.assign import AutoAssign, Candidate, pick
from frontdesk.desk_setup import build_automata
from frontdesk.model import ContactRef, EventKind, Inbound, Status, utcnow
from frontdesk.store import Store

AIKO = Candidate("aiko", languages=("ja", "en"), max_open=20)
BEN = Candidate("ben", languages=("en",), skills=("billing",), max_open=15)
CAROL = Candidate("carol", languages=("en", "ko"), max_open=15)
TEAM = [AIKO, BEN, CAROL]


def test_equal_agents_take_turns() -> None:
    turns: dict[str, int] = {}
    chosen = []
    for n in range(6):
        user = pick(TEAM, ["aiko", "ben", "carol"], {}, turns)
        assert user is not None
        turns[user] = n + 1
        chosen.append(user)
    assert chosen == ["aiko", "ben", "carol", "aiko", "ben", "carol"]


def test_an_agent_at_max_open_or_offline_is_skipped_and_nobody_means_none() -> None:
    assert pick(TEAM, ["aiko", "ben"], {"aiko": 20}, {}) == "ben"
    assert pick(TEAM, ["carol"], {"carol": 15}, {}) is None
    assert pick(TEAM, [], {}, {}) is None
    assert pick([Candidate("dave")], ["dave"], {"dave": 500}, {}) == "dave"  # no max_open


def test_the_contacts_language_and_a_matching_skill_come_first() -> None:
    turns = {"aiko": 9}  # aiko was assigned last, yet she is the one who reads Japanese
    assert pick(TEAM, ["aiko", "ben", "carol"], {}, turns, language="ja-JP") == "aiko"
    assert pick(TEAM, ["aiko", "ben", "carol"], {}, {}, language="en", labels=["Billing"]) == "ben"
    assert pick(TEAM, ["aiko", "ben", "carol"], {}, {}, channel="billing") == "ben"
    # the Japanese speaker is full: the customer still gets someone
    assert pick(TEAM, ["aiko", "ben", "carol"], {"aiko": 20}, {}, language="ja") == "ben"


def message(n: int, *, language: str = "", age: timedelta = timedelta(0)) -> Inbound:
    sender = ContactRef(f"+8190{n:05d}", name=f"Customer {n}", language=language)
    return Inbound(f"m{n}", f"t{n}", sender, "hello", created_at=utcnow() - age)


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path) as store:
        yield store


async def started(store: Store, *online: str, candidates=TEAM) -> Desk:
    desk = Desk(
        store,
        agent="desk",
        agents=[c.user for c in candidates],
        automata=[AutoAssign(candidates)],
    )
    await desk.start()
    desk.presence.leave("desk")  # the served desk's own user is not an agent
    for user in online:
        desk.presence.join(user)
    return desk


async def test_a_burst_of_50_is_spread_over_three_agents_by_capacity_and_language(store) -> None:
    small = [
        Candidate("aiko", languages=("ja",), max_open=20),
        Candidate("ben", languages=("en",), max_open=15),
        Candidate("carol", languages=("en",), max_open=15),
    ]
    desk = await started(store, "aiko", "ben", "carol", candidates=small)
    try:
        await desk.ingest(
            "whatsapp", [message(n, language="ja" if n % 5 == 0 else "en") for n in range(50)]
        )
        await desk.automation.idle()
        convs = await desk.conversations()
        contacts = {c.id: await desk.contact(c.contact_id) for c in convs}
    finally:
        await desk.stop()
    load = Counter(c.assignee for c in convs)
    assert load == {"aiko": 20, "ben": 15, "carol": 15}
    japanese = [c for c in convs if contacts[c.id].language == "ja"]
    assert {c.assignee for c in japanese} == {"aiko"}
    line = [m for m in await desk.thread(convs[0].id) if m.event is EventKind.ASSIGNED][0]
    assert line.author == automation_author("Auto-assignment")


async def test_with_nobody_online_it_waits_unassigned_then_goes_to_who_comes(store) -> None:
    desk = await started(store)
    try:
        await desk.ingest("line", [message(1)])
        await desk.automation.idle()
        conv = (await desk.conversations())[0]
        assert conv.assignee is None
        said = [m.body for m in await desk.thread(conv.id) if m.event is EventKind.AUTOMATION]
        assert said == [
            "⚙ Auto-assignment found no agent online with room; it waits unassigned until one is"
        ]
        desk.presence.join("carol")
        await desk.automation.idle()
        assert (await desk.conversation(conv.id)).assignee == "carol"
    finally:
        await desk.stop()


async def test_resolving_frees_room_for_what_waits(store) -> None:
    desk = await started(store, "ben", candidates=[Candidate("ben", max_open=1)])
    try:
        await desk.ingest("sms", [message(1)])
        await desk.ingest("sms", [message(2)])
        await desk.automation.idle()
        first, second = sorted(await desk.conversations(), key=lambda c: c.id)
        assert (first.assignee, second.assignee) == ("ben", None)
        await desk.set_status(first.id, Status.RESOLVED)
        await desk.automation.idle()
        assert (await desk.conversation(second.id)).assignee == "ben"
    finally:
        await desk.stop()


async def test_backlog_and_other_channels_are_left_to_people(store) -> None:
    desk = Desk(
        store,
        agent="ben",
        automata=[AutoAssign([Candidate("ben")], channels=["whatsapp"])],
    )
    await desk.start()
    try:
        await desk.ingest("whatsapp", [message(1, age=timedelta(days=2))])
        await desk.ingest("email", [message(2)])
        await desk.ingest("whatsapp", [message(3)])
        await desk.automation.idle()
        by_thread = {c.thread_key: c.assignee for c in await desk.conversations()}
    finally:
        await desk.stop()
    assert by_thread == {"t1": None, "t2": None, "t3": "ben"}


def test_the_config_turns_it_on_for_the_team_agents(tmp_path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        "[team]\n[team.agents.aiko]\nlanguages = ['ja']\nmax_open = 8\n"
        "[team.agents.ben]\n\n[assignment]\nauto = true\nchannels = ['line']\n"
    )
    cfg = load_config(path)
    (automaton,) = build_automata(cfg)
    assert isinstance(automaton, AutoAssign)
    assert automaton.candidates == [
        Candidate("aiko", languages=("ja",), max_open=8),
        Candidate("ben"),
    ]
    assert automaton.channels == frozenset({"line"})
    path.write_text("[assignment]\nauto = 'yes'\n")
    with pytest.raises(ConfigError, match=r"config\.toml:2.*auto"):
        load_config(path)


def test_doctor_names_what_auto_assignment_lacks(tmp_path, capsys) -> None:
    from frontdesk.doctor import check_assignment

    path = tmp_path / "config.toml"
    path.write_text("[assignment]\nauto = true\n")
    (problem,) = check_assignment(load_config(path))
    assert "no [team.agents.<user>]" in problem and str(path) in problem
    path.write_text(
        "[team.agents.ben]\n[assignment]\nauto = true\nchannels = ['nope']\n"
        "[[channels]]\nname = 'line'\nbackend = 'demo'\n"
    )
    (problem,) = check_assignment(load_config(path))
    assert "names nope, not a [[channels]] name; use one of: line" in problem
    path.write_text("[team.agents.ben]\n[assignment]\nauto = true\n")
    assert check_assignment(load_config(path)) == []
    assert "round robin over 1 agent on every channel" in capsys.readouterr().out
