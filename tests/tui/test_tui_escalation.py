"""Escalation and the contact panel, driven with Pilot: escalate, hooks, contact notes, merge, other conversations."""

from __future__ import annotations


import pytest
from textual.widgets import Static

from frontdesk.desk import View
from frontdesk.desk.hooks import HookSpec
from frontdesk.model import Priority, Status
from frontdesk.tui.screens.contact_dialog import ContactDialog
from frontdesk.tui.screens.escalate_dialog import EscalateDialog
from frontdesk.tui.screens.merge_confirm import ConfirmMerge
from frontdesk.tui.screens.merge_picker import MergePicker

from fakes.helpdesk import HelpdeskServer  # noqa: E402
from pilot_helpers import make_app, record_notifications, idle, wait_until, screen_text

SIZE = (140, 40)


def thread_text(app) -> str:
    """The thread's wrapped lines joined back, whitespace folded, bars removed."""
    return " ".join(
        " ".join(line.replace("▌", " ").replace("┃", " ").split())
        for line in app.thread.plain_lines
    )


@pytest.fixture
def helpdesk():
    server = HelpdeskServer()
    yield server
    server.close()


@pytest.fixture
def hook_desk(make_desk, helpdesk):
    """The small workspace on a desk with targets billing/tier-2 and an HTTP hook on the loopback helpdesk."""
    return make_desk(
        escalation_targets=["billing", "tier-2"],
        hooks=[HookSpec("helpdesk", url=helpdesk.url, timeout=5)],
    )


async def test_escalate_with_a_reason_moves_it_to_escalated_and_runs_the_hook(
    hook_desk, clock, helpdesk
):
    app = make_app(hook_desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("x")
        await idle(pilot)
        assert isinstance(app.screen, EscalateDialog)
        assert "Also runs: helpdesk (HTTP)" in screen_text(app)
        await pilot.press("shift+tab", "shift+tab")  # reason → priority → target
        await pilot.press("enter", "down", "enter")  # open the target menu, pick tier-2
        await pilot.press("tab", "tab")
        await pilot.press(*"card charged twice", "enter")
        await idle(pilot)
        assert not isinstance(app.screen, EscalateDialog)
        conv = await hook_desk.conversation(1)
        assert (conv.team, conv.priority) == ("tier-2", Priority.HIGH)
        assert [c.id for c in await hook_desk.conversations(View.ESCALATED)] == [1]
        thread = thread_text(app)
        assert "Escalated to tier-2: card charged twice" in thread
        assert "Aiko escalated this to tier-2" in thread

        await hook_desk.start()
        try:
            await wait_until(pilot, lambda: "HD-1" in screen_text(app))
        finally:
            await hook_desk.stop()
        assert helpdesk.requests[0]["json"]["reason"] == "card charged twice"
        assert [t.id for t in (await hook_desk.conversation(1)).tickets] == ["HD-1"]
        text = screen_text(app)
        assert "Tickets" in text and "https://helpdesk.example/t/1" in text  # the contact panel
        assert "helpdesk opened ticket HD-1" in thread_text(app)


async def test_escalation_is_refused_without_a_reason(hook_desk, clock, helpdesk):
    app = make_app(hook_desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("x")
        await idle(pilot)
        await pilot.press(*"   ", "enter")
        await idle(pilot)
        assert isinstance(app.screen, EscalateDialog)
        assert "A reason is required: say why this needs billing." in screen_text(app)
        assert (await hook_desk.conversation(1)).team is None
        await pilot.press("escape")
        await idle(pilot)
        assert not isinstance(app.screen, EscalateDialog)
        assert (await hook_desk.conversation(1)).team is None and hook_desk.hook_jobs() == []


async def test_failing_hook_is_shown_and_kept(hook_desk, clock, helpdesk):
    helpdesk.answer(400, {"error": "unknown project [red]SUP[/red]"})
    app = make_app(hook_desk, clock)
    notes = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await hook_desk.escalate(1, "billing", "refund")
        await hook_desk.flush_hooks()
        await wait_until(pilot, lambda: "helpdesk failed: HTTP 400" in thread_text(app))
        assert "unknown project [red]SUP[/red]" in screen_text(
            app
        )  # markup from the hook shown literally
        assert not any("helpdesk" in note for note in notes)  # the status line says it, not a toast
        status = str(app.query_one("#hook-status", Static).render())
        assert status == (
            "⚠ Hook helpdesk failing: HTTP 400: unknown project [red]SUP[/red] — not retried (1 escalation); "
            "^r in the conversation runs it again"
        )
        assert [j.state for j in hook_desk.hook_jobs(1)] == ["failed"]
        panel = str(app.contact_panel.query_one("#contact-body", Static).render())
        assert (
            "helpdesk failed: HTTP 400: unknown project [red]SUP[/red] — ^r runs it again" in panel
        )

        await pilot.press("ctrl+r")  # the agent fixed the cause: run it again
        await idle(pilot)
        assert [j.state for j in hook_desk.hook_jobs(1)] == ["pending"]
        await hook_desk.flush_hooks()
        await wait_until(pilot, lambda: "HD-2" in screen_text(app))
        assert hook_desk.hook_jobs(1) == []


async def test_edit_contact_notes_and_attributes(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("i")
        await idle(pilot)
        assert isinstance(app.screen, ContactDialog)
        await pilot.press(*"Prefers email", "tab", "end", "enter", *"no colon here", "ctrl+s")
        await idle(pilot)
        assert isinstance(app.screen, ContactDialog)
        assert "Attributes, line 2: write it as `name: value`" in screen_text(app)
        await pilot.press("shift+home", "backspace", *"tier: gold", "ctrl+s")
        await idle(pilot)
        assert not isinstance(app.screen, ContactDialog)
        contact = await desk.contact(1)
        assert contact.notes == "Prefers email" and contact.attributes == {
            "plan": "pro",
            "tier": "gold",
        }
        await wait_until(pilot, lambda: "Prefers email" in screen_text(app))
        assert "tier gold" in screen_text(app)


async def test_merge_two_contacts_from_the_panel(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("m")
        await idle(pilot)
        assert isinstance(app.screen, MergePicker)
        await pilot.press(*"bob@exa")
        await idle(pilot)
        assert [c.id for c in app.screen.found] == [4]
        assert "Bob Old" in screen_text(app) and "mail:bob@example.com" in screen_text(app)
        await pilot.press("enter")
        await idle(pilot)
        assert isinstance(app.screen, ConfirmMerge)
        question = str(app.screen.query_one("#confirm-box Static", Static).render())
        assert question.startswith(
            "Merge\n  Bob Old  mail:bob@example.com\ninto\n  Mia Tanaka  mia@example.com · wa:+15550001 ?"
        )
        assert "Bob Old" in screen_text(app) and "This cannot" in screen_text(app)
        assert (
            await desk.contact(4)
        ).merged_into is None  # nothing changes before the confirmation
        await pilot.press("y")
        await idle(pilot)
        assert (await desk.contact(4)).merged_into == 1
        assert (await desk.conversation(4)).contact_id == 1
        await wait_until(pilot, lambda: "Other conversations (1)" in screen_text(app))
        assert "mail:bob@example.com" in screen_text(app)
        assert "Aiko merged contact Bob Old into Mia Tanaka" in thread_text(app)


async def test_merge_is_cancelled_with_n(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("m", *"bob")
        await idle(pilot)
        await pilot.press("enter")
        await idle(pilot)
        await pilot.press("n")
        await idle(pilot)
        assert (await desk.contact(4)).merged_into is None and not isinstance(
            app.screen, (ConfirmMerge, MergePicker)
        )


async def test_open_another_conversation_from_the_panel(desk, clock):
    await desk.merge_contacts(1, 4)  # Mia now also has Bob's resolved mail conversation
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        assert app.conversation_list.current_id == 1
        await pilot.press("o")
        assert app.contact_panel.others_list.has_focus
        await pilot.press("enter")
        await idle(pilot)
        assert app.view is View.RESOLVED  # the list switched to a view that holds it
        assert app.conversation_list.current_id == 4 and app.thread.conversation_id == 4
        assert app.thread.has_focus
        assert "Thanks, all good" in thread_text(app)
        assert (await desk.conversation(4)).status is Status.RESOLVED


async def test_o_without_other_conversations_says_so(desk, clock):
    app = make_app(desk, clock)
    notes = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("o")
        await idle(pilot)
        assert not app.contact_panel.others_list.has_focus
        assert notes == ["This contact has no other conversations."]
