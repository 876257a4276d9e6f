"""What the escalation dialog, the contact dialog and the merge picker look like (fixed size and
data), each in a harness app that shows only the dialog."""

from __future__ import annotations

from frontdesk.model import Priority
from frontdesk.tui.screens.contact_dialog import ContactDialog
from frontdesk.tui.screens.escalate_dialog import EscalateDialog
from frontdesk.tui.screens.merge_confirm import ConfirmMerge
from frontdesk.tui.screens.merge_picker import MergePicker
from pilot_helpers import DialogHarness, idle, wait_until

SIZE = (140, 40)

HOOKS = [("helpdesk (HTTP)", ()), ("pager (command)", ())]
"""The two hooks of an escalation desk as the dialog lists them (one HTTP, one command)."""


def escalate_dialog() -> EscalateDialog:
    """The dialog as `x` opens it on Mia's conversation, with two targets and two hooks."""
    return EscalateDialog(
        ["billing", "tier-2"], priority=Priority.NONE, conversation="#1 · Mia Tanaka", hooks=HOOKS
    )


def test_escalation_dialog_refusing_an_empty_reason(snap_compare):
    async def make():
        return escalate_dialog()

    async def escalate_without_reason(pilot):
        await idle(pilot)
        await pilot.press("enter")
        await idle(pilot)

    assert snap_compare(DialogHarness(make), terminal_size=SIZE, run_before=escalate_without_reason)


def test_merge_picker_searching(snap_compare, desk):
    async def make():
        return MergePicker(await desk.contact(1), desk.find_contacts)

    async def search_example(pilot):
        await idle(pilot)
        await pilot.press(*"example")
        await wait_until(pilot, lambda: pilot.app.screen.found, what="contacts found")

    assert snap_compare(DialogHarness(make), terminal_size=SIZE, run_before=search_example)


def test_contact_dialog(snap_compare, desk):
    async def make():
        return ContactDialog(await desk.contact(2), cursor_blink=False)

    assert snap_compare(DialogHarness(make), terminal_size=SIZE, run_before=idle)


def test_merge_confirmation(snap_compare, desk):
    async def make():
        return ConfirmMerge(await desk.contact(1), await desk.contact(4), conversations=1)

    assert snap_compare(DialogHarness(make), terminal_size=SIZE, run_before=idle)
