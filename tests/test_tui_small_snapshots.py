"""What the console looks like in an 80×24 terminal: the contact panel folded, dialogs that fit."""

from __future__ import annotations

import pytest

from frontdesk.desk.hooks import HookSpec
from pilot_helpers import make_app, idle

SIZE = (80, 24)


@pytest.fixture
def escalation_desk(make_desk):
    """The small workspace with escalation targets and two hooks (never run here)."""
    hooks = [
        HookSpec("helpdesk", url="http://127.0.0.1:9/tickets"),
        HookSpec("pager", command=("page",)),
    ]
    return make_desk(escalation_targets=["billing", "tier-2"], hooks=hooks)


def test_main_screen_80x24(snap_compare, desk, clock):
    assert snap_compare(make_app(desk, clock), terminal_size=SIZE, run_before=idle)


def test_escalation_dialog_80x24(snap_compare, escalation_desk, clock):
    async def escalate_without_reason(pilot):
        await idle(pilot)
        await pilot.press("x")
        await idle(pilot)
        await pilot.press("enter")
        await idle(pilot)

    assert snap_compare(
        make_app(escalation_desk, clock), terminal_size=SIZE, run_before=escalate_without_reason
    )


def test_filter_dialog_80x24(snap_compare, desk, clock):
    async def open_filters(pilot):
        await pilot.app.desk.label(4, add=["vip", "refund"])
        await idle(pilot)
        await pilot.press("f", "space", "tab", "down", "space")
        await idle(pilot)

    assert snap_compare(make_app(desk, clock), terminal_size=SIZE, run_before=open_filters)
