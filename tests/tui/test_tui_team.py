"""Working beside other agents, driven with Pilot: another agent is simulated on the same desk."""

from __future__ import annotations

import pytest

from frontdesk.desk import ChangeKind
from frontdesk.desk.acting import acting_as
from frontdesk.desk.changes import Broker, Change
from frontdesk.desk.presence import Activity
from frontdesk.model import ContactRef, Direction, Inbound
from frontdesk.tui.notify import NotifySettings
from frontdesk.tui.screens.send_anyway import SendAnyway
from pilot_helpers import (
    idle,
    make_app,
    record_notifications,
    screen_text,
    wait_until,
    TerminalRecorder,
)

SIZE = (140, 40)


@pytest.fixture
def team_desk(make_desk):
    """The small workspace's desk as a team sees it: Aiko's console, Ben ("ben") and Chloé ("chloe")."""
    desk = make_desk(agents=["ben", "chloe"], agent_names={"ben": "Ben", "chloe": "Chloé"})
    desk.mode = "team"  # what the team client says; the in-process desk stands in for it
    return desk


def header_text(app) -> str:
    return str(app.query_one("#header-bar").render())


def row_text(app, conv_id: int) -> str:
    view_list = app.conversation_list
    index = next(i for i, c in enumerate(view_list.conversations) if c.id == conv_id)
    first, second = view_list.render_row(index, view_list.size.width)
    return first.text + second.text


async def test_the_header_says_solo_on_the_in_process_desk(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        assert "Aiko · solo" in header_text(app)


async def test_the_header_counts_who_is_online_and_follows_them(team_desk, clock):
    team_desk.presence.join("Aiko")
    app = make_app(team_desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        assert "team · 1 online" in header_text(app)
        team_desk.presence.join("ben")
        await wait_until(pilot, lambda: "team · 2 online" in header_text(app), what="Ben online")
        team_desk.presence.leave("ben")
        await wait_until(pilot, lambda: "team · 1 online" in header_text(app), what="Ben gone")


def counting_roster(desk) -> list[None]:
    """Record each call of `desk.online()`: it walks every conversation for the open counts."""
    calls: list[None] = []
    online = desk.online

    def counting():
        calls.append(None)
        return online()

    desk.online = counting
    return calls


async def customer_writes(desk, clock, number: int) -> None:
    """Conversation 3's customer writes "still there? <number>"."""
    sender = ContactRef("+15550003", "M")
    text = f"still there? {number}"
    await desk.ingest(
        "wa", [Inbound(f"live-{number}", "+15550003", sender, text, created_at=clock())]
    )


async def test_live_messages_on_the_solo_desk_never_walk_the_team_roster(desk, clock):
    # a solo header says "solo" whoever is online: counting them for each message cost a
    # walk over every conversation before the frame that shows the message
    calls = counting_roster(desk)
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        for number in (1, 2):
            await customer_writes(desk, clock, number)
            await wait_until(
                pilot, lambda: f"still there? {number}" in row_text(app, 3), what="the message"
            )
        assert "Aiko · solo" in header_text(app)
    assert calls == []


async def test_live_messages_keep_the_online_count_which_follows_presence_only(team_desk, clock):
    team_desk.presence.join("Aiko")
    calls = counting_roster(team_desk)
    app = make_app(team_desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        assert "team · 1 online" in header_text(app)
        counted = len(calls)
        for number in (1, 2):
            await customer_writes(team_desk, clock, number)
            await wait_until(
                pilot, lambda: f"still there? {number}" in row_text(app, 3), what="the message"
            )
        assert len(calls) == counted, "a message moves rows, not agents: no recount"
        team_desk.presence.join("ben")
        await wait_until(pilot, lambda: "team · 2 online" in header_text(app), what="Ben online")
        await customer_writes(team_desk, clock, 3)
        await wait_until(pilot, lambda: "still there? 3" in row_text(app, 3), what="the message")
        assert "team · 2 online" in header_text(app)


async def test_another_agent_typing_shows_on_the_row_and_thread_header_and_clears(team_desk, clock):
    app = make_app(team_desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        assert app.thread.conversation_id == 1
        team_desk.presence.join("ben")
        team_desk.presence.view("ben", 1)
        await wait_until(
            pilot, lambda: "Ben is viewing" in str(app.thread.border_title), what="viewing"
        )
        assert "Ben is viewing" in row_text(app, 1)
        team_desk.presence.type("ben", 1, True)
        await wait_until(
            pilot, lambda: "Ben is typing…" in str(app.thread.border_title), what="typing"
        )
        assert "Ben is typing…" in row_text(app, 1)
        assert "Ben" not in row_text(app, 2)
        team_desk.presence.leave("ben")
        await wait_until(pilot, lambda: "Ben" not in str(app.thread.border_title), what="cleared")
        assert "Ben" not in row_text(app, 1)


async def test_the_console_reports_viewing_and_typing_throttled_and_stops_on_send(team_desk, clock):
    calls: list[tuple[int, bool]] = []
    set_typing = team_desk.set_typing

    async def counting(conv_id: int, typing: bool) -> None:
        calls.append((conv_id, typing))
        await set_typing(conv_id, typing)

    team_desk.set_typing = counting
    app = make_app(team_desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await wait_until(
            pilot,
            lambda: team_desk.presence.activity(1) == [Activity("Aiko", "viewing")],
            what="Aiko viewing 1",
        )
        await pilot.press("r", *"on its way")
        await wait_until(
            pilot,
            lambda: team_desk.presence.activity(1) == [Activity("Aiko", "typing")],
            what="Aiko typing in 1",
        )
        assert calls == [(1, True)]  # ten keys within two seconds: one report
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: team_desk.presence.activity(1) == [Activity("Aiko", "viewing")],
            what="typing stopped by the send",
        )
        assert calls == [(1, True), (1, False)]
        await pilot.press("escape", "j")
        await wait_until(
            pilot,
            lambda: (
                team_desk.presence.activity(2) == [Activity("Aiko", "viewing")]
                and team_desk.presence.activity(1) == []
            ),
            what="viewing moved to 2",
        )


async def start_a_reply_then_ben_answers(pilot, desk) -> None:
    await idle(pilot)
    await pilot.press("r", *"Hello Mia")
    await idle(pilot)
    with acting_as("ben"):
        await desk.reply(1, "Ben here: it ships today")
    await idle(pilot)
    await pilot.press("enter")
    await wait_until(
        pilot, lambda: isinstance(pilot.app.screen, SendAnyway), what="the traffic cop"
    )


def aikos_replies(thread) -> list[str]:
    return [
        m.body
        for m in thread
        if m.direction is Direction.OUT and not m.private and m.author == "Aiko"
    ]


async def test_the_traffic_cop_asks_before_sending_after_another_agents_reply(team_desk, clock):
    app = make_app(team_desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await start_a_reply_then_ben_answers(pilot, team_desk)
        question = str(app.screen.query_one("#send-anyway-question").render())
        assert "Ben replied 0 s ago: Ben here: it ships today" in question
        assert "Send your reply anyway?" in question
        await pilot.press("n")
        await wait_until(pilot, lambda: not isinstance(app.screen, SendAnyway), what="kept")
        assert app.composer.text == "Hello Mia"
        assert aikos_replies(await team_desk.thread(1)) == []
        await pilot.press("enter")  # still after Ben's reply: asked again
        await wait_until(pilot, lambda: isinstance(app.screen, SendAnyway), what="asked again")
        await pilot.press("y")
        await wait_until(
            pilot, lambda: app.composer.text == "", what="the reply sent and the composer cleared"
        )
        assert aikos_replies(await team_desk.thread(1)) == ["Hello Mia"]


async def test_a_reply_written_after_seeing_the_other_agents_reply_is_sent_at_once(
    team_desk, clock
):
    app = make_app(team_desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        with acting_as("ben"):
            await team_desk.reply(1, "Ben here")
        await idle(pilot)
        await pilot.press("r", *"And from me")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.composer.text == "", what="sent")
        assert not isinstance(app.screen, SendAnyway)
        assert aikos_replies(await team_desk.thread(1)) == ["And from me"]


async def test_a_mention_alerts_the_mentioned_agent_only(team_desk, clock):
    recorder = TerminalRecorder()
    app = make_app(
        team_desk,
        clock,
        terminal=recorder,
        notifications=NotifySettings(desktop="osc9", quiet_seconds=0),
    )
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        seen = record_notifications(app)
        with acting_as("ben"):
            await team_desk.note(2, "@chloe can you look at this one?")
        await idle(pilot)
        assert recorder.bells == 0 and not any("mentioned" in s for s in seen)
        with acting_as("ben"):
            await team_desk.note(2, "@Aiko the customer asks for you")
        await wait_until(pilot, lambda: recorder.bells == 1, what="the bell")
        assert any("Ben mentioned you" in s for s in recorder.written)
        assert any("Ben mentioned you in" in s for s in seen)


async def test_the_assignment_picker_shows_who_is_online_and_their_open_count(team_desk, clock):
    await team_desk.assign(2, "ben")
    team_desk.presence.join("ben")
    app = make_app(team_desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("A")
        await idle(pilot)
        choices = app.screen.choices
        assert choices[:3] == ["○ Aiko (me) · 0 open", "● Ben · 1 open", "○ Chloé · 0 open"]


async def test_losing_the_desk_shows_in_the_header_and_as_a_notice_until_it_is_back(
    team_desk, clock, monkeypatch
):
    link = Broker()  # the team client's feed, where losing the desk and getting it back are told
    monkeypatch.setattr(team_desk, "subscribe", link.subscribe)
    app = make_app(team_desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        seen = record_notifications(app)
        link.publish([Change(ChangeKind.LINK, failed=True, detail="lost")])
        await wait_until(pilot, lambda: "desk lost" in header_text(app), what="lost")
        assert any("Lost the desk" in s for s in seen)
        link.publish([Change(ChangeKind.LINK, detail="back")])
        await wait_until(pilot, lambda: "online" in header_text(app), what="back")
        assert any("Back on the desk" in s for s in seen)


def test_snapshot_another_agent_typing(snap_compare, team_desk, clock):
    async def ben_types(pilot):
        await idle(pilot)
        team_desk.presence.join("Aiko")
        team_desk.presence.join("ben")
        team_desk.presence.view("chloe", 2)
        team_desk.presence.type("ben", 1, True)
        await idle(pilot)

    assert snap_compare(make_app(team_desk, clock), terminal_size=SIZE, run_before=ben_types)


async def test_a_note_mentioning_a_display_name_says_whom_it_mentions_without_a_warning(
    team_desk, clock
):
    app = make_app(team_desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        seen = record_notifications(app)
        await pilot.press("n", *"@Chloé please call her", "enter")
        await wait_until(pilot, lambda: any("mentioned" in s for s in seen), what="the report")
        assert "Note saved — mentioned Chloé." in seen
        assert not any("not an agent" in s for s in seen)


async def test_teammates_show_by_their_names_not_their_unix_users(team_desk, clock):
    """Ben's reply and his assignment show "Ben" (his [team.agents.ben] name), never "ben"."""
    app = make_app(team_desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        with acting_as("ben"):
            await team_desk.assign(1, "ben")
            await team_desk.reply(1, "On it.")
        await wait_until(pilot, lambda: "@Ben" in row_text(app, 1), what="the row's assignee")
        assert "@ben" not in row_text(app, 1)
        await wait_until(pilot, lambda: "On it." in screen_text(app), what="Ben's reply")
        authors = [line for line in screen_text(app).splitlines() if "✓" in line or "sent" in line]
        assert any("Ben" in line for line in authors), authors
        assert not any(" ben " in line for line in authors), authors
