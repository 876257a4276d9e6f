"""What an 80×24 terminal shows: the console with the contact panel folded, and dialogs that fit
(each dialog in a harness app that shows only it)."""

from __future__ import annotations

from frontdesk.desk import Filters
from frontdesk.model import Priority
from frontdesk.tui.screens.escalate_dialog import EscalateDialog
from frontdesk.tui.screens.filter_dialog import FilterDialog
from pilot_helpers import DialogHarness, idle, make_app

SIZE = (80, 24)


def test_main_screen_80x24(snap_compare, desk, clock):
    assert snap_compare(make_app(desk, clock), terminal_size=SIZE, run_before=idle)


def test_escalation_dialog_80x24(snap_compare):
    async def make():  # as `x` opens it on Mia's conversation, with two targets and two hooks
        hooks = [("helpdesk (HTTP)", ()), ("pager (command)", ())]
        return EscalateDialog(
            ["billing", "tier-2"],
            priority=Priority.NONE,
            conversation="#1 · Mia Tanaka",
            hooks=hooks,
        )

    async def escalate_without_reason(pilot):
        await idle(pilot)
        await pilot.press("enter")
        await idle(pilot)

    assert snap_compare(DialogHarness(make), terminal_size=SIZE, run_before=escalate_without_reason)


def test_filter_dialog_80x24(snap_compare):
    async def make():
        return FilterDialog(["mail", "wa"], ["refund", "vip"], Filters())

    async def tick_two(pilot):
        await idle(pilot)
        await pilot.press("space", "tab", "down", "space")
        await idle(pilot)

    assert snap_compare(DialogHarness(make), terminal_size=SIZE, run_before=tick_two)
