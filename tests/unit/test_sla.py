"""SLAs: targets by priority, the due reply stamped on each conversation, one alert per breach."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from conftest import NOW, FakeChannel, FixedClock

from frontdesk.config import ConfigError, load_config
from frontdesk.config.read_sla import parse_span
from frontdesk.desk import Desk
from frontdesk.desk.changes import ChangeKind
from frontdesk.desk.sla import SlaPolicy, SlaTarget, short_span, sla_label
from frontdesk.desk.views import Filters
from frontdesk.desk_setup import sla_policy
from frontdesk.model import ContactRef, Conversation, EventKind, Inbound, Priority, Status
from frontdesk.store import Store

POLICY = SlaPolicy(
    {
        Priority.URGENT: SlaTarget(first=timedelta(minutes=15), next=timedelta(hours=1)),
        Priority.NONE: SlaTarget(first=timedelta(hours=4)),
    }
)


def conv(**fields) -> Conversation:
    return Conversation(1, "wa", 1, "t", waiting_since=NOW, **fields)


def test_the_first_or_the_next_target_by_priority_from_waiting_since() -> None:
    assert POLICY.due(conv(priority=Priority.URGENT)) == ("first", NOW + timedelta(minutes=15))
    answered = conv(priority=Priority.URGENT, first_reply_at=NOW - timedelta(hours=2))
    assert POLICY.due(answered) == ("next", NOW + timedelta(hours=1))
    assert POLICY.due(conv()) == ("first", NOW + timedelta(hours=4))


def test_nothing_is_due_when_nobody_waits_or_no_target_applies() -> None:
    assert POLICY.due(conv(priority=Priority.HIGH)) is None  # no [sla.high]
    assert POLICY.due(conv(first_reply_at=NOW)) is None  # [sla.none] has no next target
    assert POLICY.due(Conversation(1, "wa", 1, "t", priority=Priority.URGENT)) is None
    for status in (Status.RESOLVED, Status.SNOOZED):
        assert POLICY.due(conv(priority=Priority.URGENT, status=status)) is None


def test_the_list_mark_counts_down_then_says_how_late() -> None:
    c = conv(priority=Priority.URGENT, sla_due_at=NOW + timedelta(minutes=12))
    assert sla_label(c, NOW) == ("⏱12m", False)
    assert sla_label(c, NOW + timedelta(minutes=11, seconds=30)) == ("⏱1m", False)
    assert sla_label(c, NOW + timedelta(minutes=17)) == ("SLA +5m", True)
    assert sla_label(conv(), NOW) == ("", False)
    assert [short_span(timedelta(minutes=m)) for m in (0.5, 59, 65, 120, 1440, 1530)] == [
        "1m",
        "59m",
        "1h5m",
        "2h",
        "1d",
        "1d1h",
    ]


@pytest.mark.parametrize(
    ("text", "minutes"), [("15m", 15), ("15min", 15), ("1h", 60), ("1h 30m", 90), ("2d", 2880)]
)
def test_durations_are_written_the_way_people_write_them(text: str, minutes: int) -> None:
    assert parse_span(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["", "15", "0m", "1w", "fast", "9999999999d", "1h-5m"])
def test_other_durations_are_refused_with_the_shape_to_write(text: str) -> None:
    with pytest.raises(ValueError, match="e.g."):
        parse_span(text)


def test_the_config_gives_the_desk_its_policy(tmp_path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[sla.urgent]\nfirst = "15m"\nnext = "1h"\n[sla.none]\nfirst = "4h"\n')
    assert sla_policy(load_config(path)) == POLICY
    path.write_text('[sla.urgent]\nfirst = "soon"\n')
    with pytest.raises(ConfigError, match=r"config\.toml:2.*first.*e\.g\."):
        load_config(path)
    path.write_text('[sla.critical]\nfirst = "5m"\n')
    with pytest.raises(ConfigError, match=r"critical.*not a known priority.*urgent"):
        load_config(path)
    path.write_text("")
    assert sla_policy(load_config(path)) is None


async def test_a_breach_is_published_once_marked_and_cleared_by_a_reply(tmp_path) -> None:
    clock = FixedClock()
    with Store.open(tmp_path) as store:
        desk = Desk(store, {"wa": FakeChannel("wa")}, agent="aiko", clock=clock, sla=POLICY)
        subscription = desk.subscribe()
        sender = ContactRef("+1", name="Kenji")
        await desk.ingest("wa", [Inbound("m1", "t1", sender, "help", created_at=NOW)])
        (c,) = await desk.conversations()
        assert (c.sla_kind, c.sla_due_at, c.sla_breached) == (
            "first",
            NOW + timedelta(hours=4),
            False,
        )
        await desk.set_priority(c.id, Priority.URGENT)
        assert c.sla_due_at == NOW + timedelta(minutes=15)
        clock.advance(minutes=14)
        assert await desk.check_sla() == []
        clock.advance(minutes=2)
        assert await desk.check_sla() == [c.id]
        assert await desk.check_sla() == []  # once per due time
        assert c.sla_breached and Filters(breaching=True).matches(c)
        kinds = [change.kind for change in subscription.pending()]
        assert kinds.count(ChangeKind.SLA) == 1
        lines = [m.body for m in await desk.thread(c.id) if m.event is EventKind.AUTOMATION]
        due = NOW + timedelta(minutes=15)
        assert lines == [f"⚙ SLA first reply overdue: due {due:%a %d %b %H:%M} UTC (urgent: 15m)"]
        await desk.reply(c.id, "On it")
        assert (c.sla_due_at, c.sla_breached) == (None, False)
        assert not Filters(breaching=True).matches(c)
        clock.advance(minutes=5)
        await desk.ingest("wa", [Inbound("m2", "t1", sender, "still?", created_at=clock())])
        assert (c.sla_kind, c.sla_due_at) == ("next", clock() + timedelta(hours=1))


async def test_every_conversation_is_stamped_when_the_desk_opens_its_cache(tmp_path) -> None:
    with Store.open(tmp_path) as store:
        await Desk(store, agent="aiko").ingest(
            "wa", [Inbound("m1", "t1", ContactRef("+1"), "help", created_at=NOW)]
        )
        desk = Desk(store, agent="aiko", clock=FixedClock(NOW + timedelta(hours=5)), sla=POLICY)
        (c,) = await desk.conversations()
        assert c.sla_due_at == NOW + timedelta(hours=4)
        # past due before this start: marked for the list and the filter, not announced again
        assert c.sla_breached and Filters(breaching=True).matches(c)
        assert await desk.check_sla() == []
        assert not [m for m in await desk.thread(c.id) if m.event is EventKind.AUTOMATION]


def test_an_sla_in_business_hours_counts_only_each_channels_open_hours(tmp_path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[hours]\ntimezone = "Asia/Tokyo"\nmon-fri = "09:00-18:00"\n'
        '[sla]\nbusiness_hours = true\n[sla.urgent]\nfirst = "1h"\n'
    )
    policy = sla_policy(load_config(path))
    assert policy is not None
    # Friday 17:30 Tokyo: 30 minutes left that day, the rest on Monday from 09:00
    friday = datetime(2026, 12, 4, 8, 30, tzinfo=timezone.utc)
    late = Conversation(1, "wa", 1, "t", waiting_since=friday, priority=Priority.URGENT)
    kind, due = policy.due(late)
    assert (kind, due) == ("first", datetime(2026, 12, 7, 0, 30, tzinfo=timezone.utc))


def test_doctor_says_business_hours_need_hours(tmp_path) -> None:
    from frontdesk.doctor import check_sla

    path = tmp_path / "config.toml"
    path.write_text('[sla]\nbusiness_hours = true\n[sla.urgent]\nfirst = "1h"\n')
    (problem,) = check_sla(load_config(path))
    assert "no [hours] section" in problem


def test_rules_read_the_channels_business_hours(tmp_path) -> None:
    from frontdesk.desk.automation.rule_actions import RulesAutomaton
    from frontdesk.desk_setup import build_automata

    path = tmp_path / "config.toml"
    path.write_text(
        '[hours]\ntimezone = "Asia/Tokyo"\nmon-fri = "09:00-18:00"\n'
        '[[rules]]\nname = "Night"\nevent = "message_created"\n'
        'conditions = [{ attribute = "business_hours", operator = "equal_to", values = ["outside"] }]\n'
        'actions = [{ action = "add_label", params = ["night"] }]\n'
    )
    (rules,) = [a for a in build_automata(load_config(path)) if isinstance(a, RulesAutomaton)]
    friday_evening = datetime(2026, 12, 4, 11, 0, tzinfo=timezone.utc)  # 20:00 in Tokyo
    assert not rules.open_at("wa", friday_evening)
    assert rules.open_at("wa", friday_evening - timedelta(hours=9))  # 11:00 in Tokyo


async def test_history_loaded_already_past_due_is_marked_without_a_line(tmp_path) -> None:
    old = Conversation(7, "wa", 1, "t7", waiting_since=NOW - timedelta(days=2), message_count=1)
    with Store.open(tmp_path) as store:
        desk = Desk(store, agent="aiko", clock=FixedClock(), sla=POLICY)
        await desk.load_workspace([], [old], [])
        (c,) = await desk.conversations()
        assert c.sla_breached and await desk.check_sla() == []
        assert not [m for m in await desk.thread(c.id) if m.event is EventKind.AUTOMATION]
