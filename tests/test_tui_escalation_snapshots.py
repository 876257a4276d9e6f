"""What the escalation dialog, the contact dialog and the merge picker look like (fixed size and clock)."""

from __future__ import annotations


import pytest

from frontdesk.desk.hooks import HookSpec
from pilot_helpers import make_app, idle

SIZE = (140, 40)


@pytest.fixture
def hook_desk(make_desk):
    """The small workspace with escalation targets and two hooks (never run here)."""
    hooks = [
        HookSpec("helpdesk", url="http://127.0.0.1:9/tickets"),
        HookSpec("pager", command=("page",)),
    ]
    return make_desk(agents=(), escalation_targets=["billing", "tier-2"], hooks=hooks)


def test_escalation_dialog_refusing_an_empty_reason(snap_compare, hook_desk, clock):
    async def escalate_without_reason(pilot):
        await idle(pilot)
        await pilot.press("x")
        await idle(pilot)
        await pilot.press("enter")
        await idle(pilot)

    assert snap_compare(
        make_app(hook_desk, clock), terminal_size=SIZE, run_before=escalate_without_reason
    )


def test_merge_picker_searching(snap_compare, desk, clock):
    async def search_bob(pilot):
        await idle(pilot)
        await pilot.press("m", *"example")
        await idle(pilot)

    assert snap_compare(make_app(desk, clock), terminal_size=SIZE, run_before=search_bob)


def test_contact_dialog(snap_compare, desk, clock):
    async def edit_contact(pilot):
        await idle(pilot)
        await pilot.press("j", "i")
        await idle(pilot)

    assert snap_compare(make_app(desk, clock), terminal_size=SIZE, run_before=edit_contact)


def test_merge_confirmation(snap_compare, desk, clock):
    async def confirm_bob(pilot):
        await idle(pilot)
        await pilot.press("m", *"bob")
        await idle(pilot)
        await pilot.press("enter")
        await idle(pilot)

    assert snap_compare(make_app(desk, clock), terminal_size=SIZE, run_before=confirm_bob)
