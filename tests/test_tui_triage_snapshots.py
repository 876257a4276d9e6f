"""What triage looks like: the view line, the snooze and filter dialogs, the search screen (fixed clock, UTC)."""

from __future__ import annotations

from datetime import timezone
from functools import partial

from pilot_helpers import make_app as console_app
from pilot_helpers import record_notifications, idle, wait_until

SIZE = (140, 40)


make_app = partial(console_app, local_tz=timezone.utc)  # the triage tests read times in UTC


def test_view_line_with_sort_and_filter(snap_compare, desk, clock):
    app = make_app(desk, clock)
    notes = record_notifications(app)

    async def unassigned_waiting_filtered(pilot):
        await pilot.app.desk.label(4, add=["vip"])
        await idle(pilot)
        await pilot.press(
            "2", "s", "f", "down", "space", "enter"
        )  # Unassigned, longest waiting, channel wa
        await wait_until(pilot, lambda: "Filter: channel wa." in notes)
        # the toasts last 2 s of wall clock: on a loaded box the first is gone before the picture is taken
        pilot.app.clear_notifications()
        await idle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=unassigned_waiting_filtered)
    assert notes == ["Sorted: longest waiting first.", "Filter: channel wa."]


def test_snooze_dialog(snap_compare, desk, clock):
    async def custom_time_rejected(pilot):
        await idle(pilot)
        await pilot.press("z", "end", "enter", *"soon", "enter")
        await idle(pilot)

    assert snap_compare(make_app(desk, clock), terminal_size=SIZE, run_before=custom_time_rejected)


def test_filter_dialog(snap_compare, desk, clock):
    async def open_filters(pilot):
        await pilot.app.desk.label(4, add=["vip", "refund"])
        await idle(pilot)
        await pilot.press("f", "space", "tab", "down", "space")
        await idle(pilot)

    assert snap_compare(make_app(desk, clock), terminal_size=SIZE, run_before=open_filters)


def test_search_screen(snap_compare, desk, clock):
    async def search_order(pilot):
        await idle(pilot)
        await pilot.press("slash", *"order")
        # the search waits for typing to pause, then asks the desk
        await wait_until(
            pilot, lambda: getattr(pilot.app.screen, "matches", None), what="search results"
        )
        await idle(pilot)

    assert snap_compare(make_app(desk, clock), terminal_size=SIZE, run_before=search_order)


def test_assign_picker(snap_compare, desk, clock):
    async def pick_agent(pilot):
        await idle(pilot)
        await pilot.press("A")
        await idle(pilot)

    assert snap_compare(make_app(desk, clock), terminal_size=SIZE, run_before=pick_agent)


def test_labels_dialog(snap_compare, desk, clock):
    async def add_a_label(pilot):
        await pilot.app.desk.label(1, add=["vip"])
        await pilot.app.desk.label(4, add=["refund"])
        await idle(pilot)
        await pilot.press("l", *"ref")
        await idle(pilot)

    assert snap_compare(make_app(desk, clock), terminal_size=SIZE, run_before=add_a_label)
