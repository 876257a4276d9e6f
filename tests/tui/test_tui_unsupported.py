"""What the desk cannot do, driven with Pilot: greyed in the footer, help and palette, and its keys
say why instead of opening a dialog."""

from __future__ import annotations

from datetime import timedelta
from types import MappingProxyType

import pytest

from frontdesk.tui.commands import BindingCommands
from frontdesk.tui.operations import ACTION_NEEDS, action_name, refusal
from frontdesk.tui.screens.attach_dialog import AttachDialog
from frontdesk.tui.screens.escalate_dialog import EscalateDialog
from frontdesk.tui.screens.help_screen import HelpScreen
from frontdesk.tui.screens.report_screen import ReportScreen
from frontdesk.tui.screens.template_picker import TemplatePicker
from frontdesk.desk.interface import DeskAPI
from frontdesk.tui.bindings import CONTEXT_BINDINGS
from conftest import FakeChannel
from pilot_helpers import idle, make_app, record_notifications, screen_text
from template_channel import TemplateChannel

SIZE = (140, 40)
NO_HOOKS = "Chatwoot runs no escalation hooks: use its automation rules"
NO_REPORT = "Chatwoot's reports are in its web dashboard"


@pytest.fixture
def channels():
    """`wa` has approved templates (the composer offers them once the window closed)."""
    return {"wa": TemplateChannel("wa"), "mail": FakeChannel("mail", "email")}


@pytest.fixture
def chatwoot_desk(desk):
    """The in-process desk standing in for a Chatwoot client that lacks escalation and reports."""
    desk.mode = "chatwoot"
    desk.unsupported = MappingProxyType({"escalate": NO_HOOKS, "report": NO_REPORT})
    return desk


def test_the_table_names_real_actions_and_desk_methods():
    actions = {action_name(b.action) for _, bindings in CONTEXT_BINDINGS for b in bindings}
    assert set(ACTION_NEEDS) - actions == {"retry_hooks"}  # the retry key's other half
    for methods in ACTION_NEEDS.values():
        assert all(callable(getattr(DeskAPI, m, None)) for m in methods)


def test_refusal_gives_the_reason_of_the_first_method_missing():
    unsupported = {"labels": "no labels here"}
    assert refusal("filter", unsupported) == "no labels here"
    assert refusal("app.send_template", {"send_template": "no templates"}) == "no templates"
    assert refusal("escalate", {}) is None and refusal("show_view('mine')", unsupported) is None


async def test_keys_of_missing_operations_are_greyed_and_say_why(chatwoot_desk, clock):
    app = make_app(chatwoot_desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        active = app.screen.active_bindings
        assert not active["x"].enabled and not active["R"].enabled
        assert active["e"].enabled and active["r"].enabled
        seen = record_notifications(app)
        await pilot.press("x")
        await idle(pilot)
        assert not isinstance(app.screen, EscalateDialog)
        assert seen == [NO_HOOKS]
        await pilot.press("R")
        await idle(pilot)
        assert not isinstance(app.screen, ReportScreen) and seen[-1] == NO_REPORT
        await pilot.press("e")  # what the desk does still works
        await idle(pilot)
        assert seen[2:] == ["Resolved."]


async def test_the_footer_greys_a_key_it_shows(chatwoot_desk, clock):
    chatwoot_desk.unsupported = {"snooze": "snoozing is Chatwoot's own"}
    app = make_app(chatwoot_desk, clock)
    async with app.run_test(size=(200, 40)) as pilot:  # wide: the footer shows z
        await idle(pilot)
        keys = {key.key: key for key in app.query("FooterKey")}  # by name: Textual's is private
        assert keys["z"].has_class("-disabled") and not keys["r"].has_class("-disabled")


async def test_the_palette_greys_them_and_says_why_when_chosen(chatwoot_desk, clock):
    app = make_app(chatwoot_desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        hits = {str(h.display): h async for h in BindingCommands(app.screen).discover()}
        escalate = hits["Escalate (x)"]
        assert escalate.help == f"Not on this desk: {NO_HOOKS}"
        assert any(span.style == "dim" for span in escalate.display.spans)
        assert not any(span.style == "dim" for span in hits["Reply (r)"].display.spans)
        seen = record_notifications(app)
        await pilot.press("ctrl+p", *"escalatex")  # "Escalate (x)", not "Escalated (4)"
        await idle(pilot)
        await pilot.press("enter")
        await idle(pilot)
        assert not isinstance(app.screen, EscalateDialog) and seen == [NO_HOOKS]


async def test_the_help_shows_them_greyed_with_the_reason(chatwoot_desk, clock):
    app = make_app(chatwoot_desk, clock)
    async with app.run_test(size=(140, 90)) as pilot:
        await idle(pilot)
        await pilot.press("question_mark")
        await idle(pilot)
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        # the reason wraps in the help's width: its start is on the binding's row
        assert "x           Escalate        not on this desk: Chatwoot runs no escalation" in text
        assert "R           Report          not on this desk: Chatwoot's reports are in" in text
        assert "Escalate to a team or tier" not in text  # the reason replaces the tooltip


async def test_the_composer_says_why_files_cannot_go(chatwoot_desk, clock):
    chatwoot_desk.unsupported = {"file_problem": "files go from Chatwoot's dashboard"}
    app = make_app(chatwoot_desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("r")
        await idle(pilot)
        assert app.composer.has_focus
        seen = record_notifications(app)
        await pilot.press("ctrl+o")
        await idle(pilot)
        assert not isinstance(app.screen, AttachDialog)
        assert seen == ["files go from Chatwoot's dashboard"]


async def test_a_closed_window_says_why_no_template_can_go(chatwoot_desk, clock):
    chatwoot_desk.unsupported = {"send_template": "templates go from Chatwoot's dashboard"}
    conv = await chatwoot_desk.conversation(1)
    conv.window_expires_at = clock() - timedelta(hours=2)
    with chatwoot_desk.store.batch():
        chatwoot_desk.store.put_conversation(conv)
    app = make_app(chatwoot_desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("r")
        await idle(pilot)
        assert app.composer.has_class("-closed")
        seen = record_notifications(app)
        await pilot.press("ctrl+t")  # the composer's way to templates once the window closed
        await idle(pilot)
        assert not isinstance(app.screen, TemplatePicker)
        assert seen == ["templates go from Chatwoot's dashboard"]


async def test_a_desk_that_does_everything_greys_nothing(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        assert all(active.enabled for active in app.screen.active_bindings.values())
        assert not any(b.refused for b in app.offered_bindings())


def test_snapshot_help_with_two_operations_greyed(snap_compare, chatwoot_desk, clock):
    async def open_help(pilot):
        await idle(pilot)
        await pilot.press("question_mark")
        await idle(pilot)

    assert snap_compare(
        make_app(chatwoot_desk, clock), terminal_size=(120, 60), run_before=open_help
    )
