"""Triage from the keyboard: views, sort, filter, search, next/previous, assignment, priority, labels, snooze."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import partial
from zoneinfo import ZoneInfo

from textual.widgets import OptionList

from frontdesk.desk import View
from frontdesk.model import ContactRef, Inbound, Priority, Status
from frontdesk.tui.screens.filter_dialog import FilterDialog
from frontdesk.tui.screens.labels_dialog import LabelsDialog
from frontdesk.tui.screens.picker_dialog import PickerDialog
from frontdesk.tui.screens.search_screen import SearchScreen
from frontdesk.tui.screens.snooze_dialog import SnoozeDialog
from pilot_helpers import make_app as console_app
from pilot_helpers import idle, wait_until, screen_text

SIZE = (140, 40)


make_app = partial(console_app, local_tz=timezone.utc)  # the triage tests read times in UTC


def thread_text(app) -> str:
    return "\n".join(app.thread.plain_lines)


def listed(app) -> list[int]:
    return [c.id for c in app.conversation_list.conversations]


async def test_number_keys_jump_to_views_and_the_tab_line_counts_each(desk, clock):
    await desk.escalate(3, "tier-2", "chargeback")
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        screen = screen_text(app)
        for tab in (
            "1 Mine 1",
            "2 Unassigned 2",
            "3 All open 3",
            "4 Escalated 1",
            "5 Snoozed 0",
            "6 Resolved 1",
        ):
            assert tab in screen, tab
        # escalating left an event on 3: it has the latest activity
        expected = {
            "1": (View.MINE, [2]),
            "2": (View.UNASSIGNED, [3, 1]),
            "4": (View.ESCALATED, [3]),
            "5": (View.SNOOZED, []),
            "6": (View.RESOLVED, [4]),
            "3": (View.ALL, [3, 1, 2]),
        }
        for key, (view, ids) in expected.items():
            await pilot.press(key)
            await idle(pilot)
            assert app.view is view and listed(app) == ids, key
            assert f"{view.title} · {len(ids)}" in screen_text(app)
        await pilot.press("4", "v")  # Escalated → Snoozed → Resolved → Mine
        await idle(pilot)
        assert app.view is View.SNOOZED
        assert "No conversations in Snoozed." in screen_text(app)
        await pilot.press("v", "v")
        await idle(pilot)
        assert app.view is View.MINE


async def test_sort_toggles_between_waiting_and_activity(desk, clock):
    conv = desk.store.conversation(3)
    conv.waiting_since = clock() - timedelta(days=1)
    with desk.store.batch():
        desk.store.put_conversation(conv)
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        assert listed(app) == [1, 2, 3] and "latest activity first" in screen_text(app)
        await pilot.press("s")
        await idle(pilot)
        assert listed(app) == [3, 1, 2]  # Mallory has waited a day, Mia 5 minutes
        assert "longest waiting first" in screen_text(app)
        assert app.conversation_list.current_id == 1  # the cursor stays on its conversation
        await pilot.press("s")
        await idle(pilot)
        assert listed(app) == [1, 2, 3] and "latest activity first" in screen_text(app)


async def test_filter_dialog_by_channel_and_label_then_clear(desk, clock):
    await desk.label(3, add=["vip"])
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("f")
        await idle(pilot)
        assert isinstance(app.screen, FilterDialog)
        await pilot.press("space", "enter")  # channel "mail" is first
        await idle(pilot)
        assert listed(app) == [2] and app.filters.channels == {"mail"}
        screen = screen_text(app)
        assert "filter: channel mail" in screen and "filtered" in screen and "1 Mine 1" in screen
        assert "2 Unassigned 0" in screen and "6 Resolved 1" in screen

        await pilot.press("f", "space", "tab", "space", "enter")  # untick mail, tick label vip
        await idle(pilot)
        assert listed(app) == [3] and "filter: label vip" in screen_text(app)
        await pilot.press("f", "tab", "tab", "space", "enter")  # and priority urgent: nothing left
        await idle(pilot)
        assert listed(app) == [] and "Nothing in All open matches the filter." in screen_text(app)

        await pilot.press("f", "escape")  # cancel keeps the filters
        await idle(pilot)
        assert app.filters.active
        await pilot.press("f", "delete")  # clear all
        await idle(pilot)
        assert not app.filters.active and listed(app) == [
            3,
            1,
            2,
        ]  # labelling was the latest activity
        assert "filter:" not in screen_text(app)


async def test_incremental_search_shows_snippets_and_opens_the_conversation(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("slash")
        assert isinstance(app.screen, SearchScreen)
        await pilot.press(*"revers")
        await wait_until(pilot, lambda: len(app.screen.matches) == 1)
        screen = screen_text(app)
        assert "[bold]x[/bold] reversed done" in screen and "1 conversation" in screen
        assert "\x1b" not in screen and "\u202e" not in screen and "SGVsbG8=" not in screen
        await pilot.press(*"xyz")
        await wait_until(pilot, lambda: "Nothing found" in screen_text(app))
        await pilot.press("escape")
        await idle(pilot)
        assert not isinstance(app.screen, SearchScreen) and app.conversation_list.current_id == 1

        await pilot.press("slash", *"all good")  # only in the resolved conversation
        await wait_until(pilot, lambda: [m.conversation.id for m in app.screen.matches] == [4])
        assert "Bob Old" in screen_text(app) and "resolved" in screen_text(app)
        await pilot.press("enter")
        await idle(pilot)
        assert app.view is View.RESOLVED and app.conversation_list.current_id == 4
        assert "Thanks, all good" in thread_text(app) and app.thread.has_focus

        await pilot.press("slash", *"MALLORY", "down", "up", "enter")  # a contact name, any case
        await idle(pilot)
        assert app.view is View.ALL and app.conversation_list.current_id == 3
        assert (await desk.conversation(3)).unread == 0  # opened, so read


async def test_search_by_an_email_address_opens_its_conversation(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("slash", *"hanako@example.jp")
        await wait_until(pilot, lambda: [m.conversation.id for m in app.screen.matches] == [2])
        assert "hanako@example.jp" in screen_text(app) and "Nothing found" not in screen_text(app)
        await pilot.press("enter")
        await idle(pilot)
        assert not isinstance(app.screen, SearchScreen) and app.conversation_list.current_id == 2


async def test_a_folded_search_shows_and_highlights_the_original_words(desk, clock):
    await desk.ingest(
        "wa",
        [
            Inbound(
                "jose-1",
                "+15550009",
                ContactRef("+15550009", "Pat"),
                "word " * 30
                + "Hola, soy José [red]de Madrid[/red] y mi pedido no llegó "
                + "tail " * 30,
            )
        ],
    )
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("slash", *"jose")
        await wait_until(pilot, lambda: len(app.screen.matches) == 1)
        screen = screen_text(app)
        assert (
            "soy José [red]de Madrid[/red] y mi" in screen
        )  # centred on the match, markup left literal
        assert highlighted_words(app.screen.query_one("#results", OptionList)) == ["José"]


def highlighted_words(results: OptionList) -> list[str]:
    """The runs of text the result list draws in reverse video (the search's highlight)."""
    runs, run = [], ""
    for y in range(results.size.height):
        for segment in results.render_line(y):
            if segment.style and segment.style.reverse:
                run += segment.text
            elif run:
                runs.append(run)
                run = ""
    return runs + ([run] if run else [])


async def test_next_and_previous_open_and_mark_read(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("tab")  # from the thread, not the list
        assert app.thread.has_focus
        await pilot.press("right_square_bracket", "right_square_bracket")
        await idle(pilot)
        assert app.conversation_list.current_id == 3 and app.thread.conversation_id == 3
        assert (await desk.conversation(3)).unread == 0
        assert "●" not in "".join(strip.text for strip in app.conversation_list.render_row(2, 50))
        await pilot.press("right_square_bracket")  # at the end: stays
        await idle(pilot)
        assert app.conversation_list.current_id == 3
        await pilot.press("left_square_bracket", "left_square_bracket")
        await idle(pilot)
        assert app.conversation_list.current_id == 1 and (await desk.conversation(1)).unread == 0


async def test_resolve_and_open_next(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("E")
        await idle(pilot)
        assert (await desk.conversation(1)).status is Status.RESOLVED
        assert listed(app) == [2, 3] and app.thread.conversation_id == 2
        await pilot.press("j", "E")  # the last one: the previous becomes current
        await idle(pilot)
        assert (await desk.conversation(3)).status is Status.RESOLVED
        assert listed(app) == [2] and app.thread.conversation_id == 2
        assert "6 Resolved 3" in screen_text(app)


async def test_assign_to_me_to_an_agent_and_unassign_show_inline_events(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("a")
        await idle(pilot)
        assert (await desk.conversation(1)).assignee == "Aiko"
        assert "Aiko assigned this to themself" in thread_text(app)
        assert "1 Mine 2" in screen_text(app)

        await pilot.press("A")
        assert isinstance(app.screen, PickerDialog)
        assert (
            "Aiko (me)" in screen_text(app)
            and "Ben" in screen_text(app)
            and "Unassign" in screen_text(app)
        )
        await pilot.press("down", "enter")
        await idle(pilot)
        assert (await desk.conversation(1)).assignee == "Ben"
        assert "Aiko assigned this to Ben" in thread_text(app)

        await pilot.press("A", "end", "enter")
        await idle(pilot)
        assert (await desk.conversation(1)).assignee is None
        assert "Aiko unassigned this" in thread_text(app)
        await pilot.press("A", "escape")
        await idle(pilot)
        assert (await desk.conversation(1)).assignee is None


async def test_priority_picker(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("p")
        assert isinstance(app.screen, PickerDialog) and "(current)" in screen_text(app)
        await pilot.press("home", "enter")
        await idle(pilot)
        assert (await desk.conversation(1)).priority is Priority.URGENT
        assert "set priority to urgent" in thread_text(app)
        assert "‼" in app.conversation_list.render_row(0, 50)[0].text
        await pilot.press("p", "end", "enter")
        await idle(pilot)
        assert (await desk.conversation(1)).priority is Priority.NONE


async def test_labels_dialog_adds_removes_and_suggests(desk, clock):
    await desk.label(4, add=["vip", "refund"])  # the resolved one: the list's order stays
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("l")
        assert isinstance(app.screen, LabelsDialog)
        assert "In use: refund, vip" in screen_text(app)
        await pilot.press("v")
        await idle(pilot)
        await pilot.press("right", *", late", "enter")  # → accepts the suggestion "vip"
        await idle(pilot)
        assert (await desk.conversation(1)).labels == ["vip", "late"]
        assert "label added vip, late" in thread_text(app)

        await pilot.press("l")
        assert app.screen.query_one("#labels").value == "vip, late, "  # ready for one more
        await pilot.press("ctrl+u", *"late, refund", "enter")
        await idle(pilot)
        assert (await desk.conversation(1)).labels == ["late", "refund"]
        assert "label added refund; removed vip" in thread_text(app)


async def test_snooze_preset_and_custom_times(desk, clock):
    tokyo = ZoneInfo("Asia/Tokyo")
    app = make_app(desk, clock, local_tz=tokyo)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("z")
        assert isinstance(app.screen, SnoozeDialog)
        assert "Tue 03 Nov 09:00" in screen_text(app)  # tomorrow 9:00 in Tokyo (it is 19:00 there)
        await pilot.press("enter")  # 1 hour
        await idle(pilot)
        conv = await desk.conversation(1)
        assert conv.status is Status.SNOOZED and conv.snoozed_until == clock() + timedelta(hours=1)
        assert listed(app) == [2, 3] and "5 Snoozed 1" in screen_text(app)

        await pilot.press("5")  # the thread follows the cursor to #1 once it rests
        await wait_until(
            pilot, lambda: "snoozed this until" in thread_text(app), what="#1's snooze line"
        )
        await pilot.press("3", "z", "end", "enter", *"next week", "enter")
        await idle(pilot)
        assert isinstance(app.screen, SnoozeDialog)
        assert "cannot read 'next week'" in screen_text(app)
        await pilot.press("ctrl+u", *"2026-11-01 10:00", "enter")
        await idle(pilot)
        assert "already passed" in screen_text(app)
        await pilot.press("ctrl+u", *"2026-11-04 08:30", "enter")
        await idle(pilot)
        assert not isinstance(app.screen, SnoozeDialog)
        assert (await desk.conversation(2)).snoozed_until == datetime(
            2026, 11, 4, 8, 30, tzinfo=tokyo
        )

        await pilot.press("z", "end", "enter", *"30m", "enter")
        await idle(pilot)
        assert (await desk.conversation(3)).snoozed_until == clock() + timedelta(minutes=30)


async def test_console_keys_do_nothing_behind_a_dialog(desk, clock):
    """The dialogs are modal screens: e, a, 2 … must not act on the list behind them."""
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("p", "e", "a", "2", "escape")
        await idle(pilot)
        conv = await desk.conversation(1)
        assert conv.status is Status.OPEN and conv.assignee is None and app.view is View.ALL


async def test_resolved_conversation_reopens_when_the_customer_writes(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("e")
        await wait_until(pilot, lambda: app.thread.conversation_id == 2, what="the thread on #2")
        assert listed(app) == [2, 3]
        await desk.ingest(
            "wa",
            [
                Inbound(
                    "in-again",
                    "+15550001",
                    ContactRef("+15550001", "Mia Tanaka"),
                    "One more thing",
                    created_at=clock(),
                )
            ],
        )
        await wait_until(pilot, lambda: listed(app) == [1, 2, 3])
        assert (await desk.conversation(1)).status is Status.OPEN
        await pilot.press("home")
        await wait_until(pilot, lambda: "wrote again: reopened" in thread_text(app))


async def test_tabs_fold_to_key_and_count_in_a_narrow_terminal(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await idle(pilot)
        header = screen_text(app)
        assert "1:1  2:2  3 All open 3  4:0  5:0  6:1" in header
        await pilot.resize_terminal(140, 40)
        await idle(pilot)
        assert "1 Mine 1  2 Unassigned 2  3 All open 3" in screen_text(app)
