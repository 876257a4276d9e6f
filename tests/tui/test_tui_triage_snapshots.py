"""What triage looks like: the view line in the console; the snooze, filter, assign and labels
dialogs and the search screen each in a harness app that shows only them (fixed clock, UTC)."""

from __future__ import annotations

from datetime import timezone
from functools import partial

from frontdesk.desk import Filters
from frontdesk.tui.screens.filter_dialog import FilterDialog
from frontdesk.tui.screens.labels_dialog import LabelsDialog
from frontdesk.tui.screens.picker_dialog import PickerDialog
from frontdesk.tui.screens.search_screen import SearchScreen
from frontdesk.tui.screens.snooze_dialog import SnoozeDialog
from pilot_helpers import DialogHarness, idle, record_notifications, wait_until
from pilot_helpers import make_app as console_app

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


def test_snooze_dialog(snap_compare, clock):
    async def make():
        return SnoozeDialog(clock(), timezone.utc, cursor_blink=False)

    async def custom_time_rejected(pilot):
        await idle(pilot)
        await pilot.press("end", "enter", *"soon", "enter")
        await idle(pilot)

    assert snap_compare(DialogHarness(make), terminal_size=SIZE, run_before=custom_time_rejected)


def test_filter_dialog(snap_compare):
    async def make():
        return FilterDialog(["mail", "wa"], ["refund", "vip"], Filters())

    async def tick_two(pilot):
        await idle(pilot)
        await pilot.press("space", "tab", "down", "space")
        await idle(pilot)

    assert snap_compare(DialogHarness(make), terminal_size=SIZE, run_before=tick_two)


def test_search_screen(snap_compare, desk):
    async def make():
        return SearchScreen(desk.search_conversations, desk.channel_kind, cursor_blink=False)

    async def search_order(pilot):
        await idle(pilot)
        await pilot.press(*"order")
        # the search waits for typing to pause, then asks the desk
        await wait_until(pilot, lambda: pilot.app.screen.matches, what="search results")

    assert snap_compare(DialogHarness(make), terminal_size=SIZE, run_before=search_order)


def test_assign_picker(snap_compare):
    async def make():  # Mia's conversation, unassigned: the cursor on "Unassign"
        return PickerDialog("Assign to", ["Aiko (me)", "Ben", "Unassign"], current=2)

    assert snap_compare(DialogHarness(make), terminal_size=SIZE, run_before=idle)


def test_labels_dialog(snap_compare):
    async def make():
        return LabelsDialog(["vip"], ["refund", "vip"], cursor_blink=False)

    async def type_ref(pilot):
        await idle(pilot)
        await pilot.press(*"ref")
        await idle(pilot)

    assert snap_compare(DialogHarness(make), terminal_size=SIZE, run_before=type_ref)
