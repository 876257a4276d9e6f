"""The header's word on the desk's link: a Chatwoot server's "stale" and "offline", and why."""

from __future__ import annotations

import pytest

from conftest import HOSTILE_NAME
from frontdesk.desk import ChangeKind
from frontdesk.desk.changes import Broker, Change
from frontdesk.desk.presence import AgentInfo
from frontdesk.tui.flows.team import agent_choice, team_label
from pilot_helpers import idle, make_app, record_notifications, wait_until

SIZE = (140, 40)
WIDE = (200, 40)  # room for the whole link line beside the tabs
STALE = "stale: showing what was seen until chat.example.com answers"


def header_text(app) -> str:
    return str(app.query_one("#header-bar").render())


@pytest.fixture
def feed(desk, monkeypatch) -> Broker:
    """The desk's change feed, where the test says the link is lost or back."""
    broker = Broker()
    monkeypatch.setattr(desk, "subscribe", broker.subscribe)
    return broker


def test_the_label_says_chatwoot_and_how_current_it_is():
    assert team_label("chatwoot", 0, False) == "Chatwoot"
    assert team_label("chatwoot", 0, False, STALE) == "Chatwoot · stale"
    assert team_label("chatwoot", 0, True, STALE) == "Chatwoot · offline"
    # started with the server down: no LINK change came, the problem itself says offline
    assert team_label("chatwoot", 0, False, "offline: chat.example.com unreachable") == (
        "Chatwoot · offline"
    )
    assert team_label("team", 3, False, "lost the desk: gone") == "team · desk lost"
    assert team_label("team", 3, False) == "team · 3 online"
    assert team_label("solo", 0, False) == "solo"


async def test_a_stale_chatwoot_desk_says_so_from_the_first_frame_then_offline_then_back(
    desk, clock, feed
):
    desk.mode = "chatwoot"
    desk.link_problem = STALE
    app = make_app(desk, clock)
    async with app.run_test(size=WIDE) as pilot:
        await idle(pilot)
        assert "Aiko · Chatwoot · stale" in header_text(app)
        assert STALE in header_text(app)
        seen = record_notifications(app)
        desk.link_problem = "Chatwoot unreachable: connection refused"
        feed.publish([Change(ChangeKind.LINK, failed=True, detail="connection refused")])
        await wait_until(pilot, lambda: "Chatwoot · offline" in header_text(app), what="offline")
        assert "Chatwoot unreachable: connection refused" in header_text(app)
        assert seen == ["Lost Chatwoot (connection refused): reconnecting; your drafts are kept."]
        desk.link_problem = ""
        feed.publish([Change(ChangeKind.LINK, detail="back"), Change(ChangeKind.RESET)])
        await wait_until(pilot, lambda: "Chatwoot │" in header_text(app), what="back")
        assert "unreachable" not in header_text(app) and seen[-1] == "Back on Chatwoot."


async def test_a_chatwoot_desk_answering_after_painting_from_its_cache_is_not_back(
    desk, clock, feed
):
    """Nothing was lost: the first answer says the lists are current, not "Back on"."""
    desk.mode = "chatwoot"
    desk.link_problem = STALE
    app = make_app(desk, clock)
    async with app.run_test(size=WIDE) as pilot:
        await idle(pilot)
        seen = record_notifications(app)
        desk.link_problem = ""
        feed.publish([Change(ChangeKind.LINK, detail="back"), Change(ChangeKind.RESET)])
        await wait_until(pilot, lambda: "Chatwoot │" in header_text(app), what="current")
        await wait_until(pilot, lambda: bool(seen), what="a notice")
        assert seen == ["Chatwoot answered: the lists are current."]


async def test_a_team_client_that_starts_without_its_desk_says_so_at_once(desk, clock):
    desk.mode = "team"
    desk.link_problem = "lost the desk: connection refused"
    app = make_app(desk, clock)
    async with app.run_test(size=WIDE) as pilot:
        await idle(pilot)
        assert "team · desk lost" in header_text(app)
        assert "lost the desk: connection refused" in header_text(app)


async def test_the_link_line_is_cleaned_and_cut_to_the_room_left(desk, clock):
    desk.mode = "chatwoot"
    desk.link_problem = f"stale: {HOSTILE_NAME} " + "x" * 300
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        header = header_text(app)
        assert "\x1b" not in header and "\u202e" not in header
        assert header.rstrip().endswith("…") and len(header) <= SIZE[0]


def test_snapshot_header_on_a_stale_chatwoot_desk(snap_compare, desk, clock):
    desk.mode = "chatwoot"
    desk.link_problem = STALE
    assert snap_compare(make_app(desk, clock), terminal_size=(170, 16), run_before=idle)


def test_the_assign_picker_shows_chatwoot_availability_without_a_partial_count():
    """A Chatwoot console holds the pages it loaded: counting them would understate an agent's load."""
    ben = AgentInfo("ben@x.io", "Ben", online=True, open_count=3)
    assert agent_choice(ben, "aiko@x.io", team=True, counted=False) == "● Ben"
    assert agent_choice(ben, "aiko@x.io", team=False) == "Ben · 3 open"
