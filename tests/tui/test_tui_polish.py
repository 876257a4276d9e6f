"""Details an agent meets in daily use: what the ages in the list mean, small terminals, the composer's footer."""

from __future__ import annotations

import pytest
from textual.containers import ScrollableContainer
from textual.errors import NoWidget
from textual.widget import Widget

from frontdesk.desk import Sort
from frontdesk.desk.hooks import HookSpec
from pilot_helpers import make_app, idle

SIZE = (140, 40)


def row_text(app, conv_id: int) -> str:
    view_list = app.conversation_list
    index = next(i for i, c in enumerate(view_list.conversations) if c.id == conv_id)
    first, _ = view_list.render_row(index, 60)
    return first.text


async def test_longest_waiting_sort_shows_how_long_each_customer_has_waited(desk, clock):
    """Conversation 1: the customer wrote 5 minutes ago, then a note 2 minutes ago (activity 3m in
    the list's data); conversation 2 is answered."""
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        assert row_text(app, 1).rstrip().endswith("3m")  # latest activity first: the activity's age
        assert row_text(app, 2).rstrip().endswith("2h")
        await pilot.press("s")
        await idle(pilot)
        assert app.sort is Sort.WAITING
        assert row_text(app, 1).rstrip().endswith("5m")  # waiting since the unanswered message
        assert row_text(app, 2).rstrip().endswith("—")  # answered: nobody is waiting
        await pilot.press("s")
        await idle(pilot)
        assert row_text(app, 1).rstrip().endswith("3m")


# ---- 80×24: the contact panel folds away, every dialog fits ---------------------------------

SMALL = (80, 24)
DIALOGS = {
    # name: (keys pressed, the screen expected); the worst case of each: errors shown where a dialog has them
    "escalate": (("x", "enter"), "EscalateDialog"),
    "escalate-without-hooks": (
        ("x", "enter"),
        "EscalateDialog",
    ),  # a longer note on what escalating does
    "filter": (("f",), "FilterDialog"),
    "search": (("slash", *"order"), "SearchScreen"),
    "help": (("question_mark",), "HelpScreen"),
    "snooze": (("z", "end", "enter", *"soon", "enter"), "SnoozeDialog"),
    "labels": (("l",), "LabelsDialog"),
    "assign": (("A",), "PickerDialog"),
    "priority": (("p",), "PickerDialog"),
    "canned": (("c",), "CannedPicker"),
    "ask": (("c", *"refund", "enter"), "AskDialog"),
    "contact": (("i", "tab", "enter", *"nocolon", "ctrl+s"), "ContactDialog"),
    "merge": (("m", *"bob"), "MergePicker"),
    "merge-confirm": (("m", *"bob", "down", "enter"), "ConfirmMerge"),
    "attachment": (("d",), "PickerDialog"),
}


@pytest.fixture
def hook_desk(make_desk):
    """The small workspace with escalation targets and two hooks (never run here)."""
    hooks = [
        HookSpec("helpdesk", url="http://127.0.0.1:9/tickets"),
        HookSpec("pager", command=("page",)),
    ]
    return make_desk(escalation_targets=["billing", "tier-2"], hooks=hooks)


@pytest.fixture
def dialog_desk(request, make_desk):
    """The desk for the dialog under test: escalation targets, and hooks unless it says without."""
    if request.node.callspec.params["dialog"].endswith("without-hooks"):
        return make_desk(escalation_targets=["billing"])
    return request.getfixturevalue("hook_desk")


def hidden_parts(screen) -> list[str]:
    """Widgets of `screen` not wholly on it: off the terminal, or cut by a box too small for them.
    Inside a box that scrolls by design (the key help) only the box itself counts."""
    hidden = []
    for widget in screen.query("*"):
        if not widget.display or any(
            isinstance(a, ScrollableContainer) and a.can_focus
            for a in widget.ancestors
            if a is not screen and isinstance(a, Widget)
        ):
            continue
        try:
            geometry = screen.find_widget(widget)
        except NoWidget:
            hidden.append(f"{widget!r} not shown")
            continue
        if geometry.region != geometry.visible_region or not screen.region.contains_region(
            geometry.region
        ):
            hidden.append(f"{widget!r} at {geometry.region} shows only {geometry.visible_region}")
    return hidden


@pytest.mark.parametrize("dialog", DIALOGS)
async def test_every_dialog_fits_80_by_24(dialog_desk, clock, dialog):
    keys, expected = DIALOGS[dialog]
    app = make_app(dialog_desk, clock)
    async with app.run_test(size=SMALL) as pilot:
        await idle(pilot)
        for key in keys:
            await pilot.press(key)
            await idle(pilot)
        assert type(app.screen).__name__ == expected
        assert hidden_parts(app.screen) == []


async def test_below_110_columns_the_contact_panel_folds_and_its_key_shows_it(desk, clock):
    await desk.merge_contacts(1, 4)  # Mia gets Bob's conversation: she has another one to go to
    app = make_app(desk, clock)
    async with app.run_test(size=SMALL) as pilot:
        await idle(pilot)
        panel = app.contact_panel
        assert not panel.display
        assert app.thread.size.width >= 45  # the room the panel left (at 80 columns: 24 beside it)
        assert str(app.thread.border_subtitle) == "C contact"
        await pilot.press("C")
        await idle(pilot)
        assert panel.display and panel.size.width > 0 and panel.contact is not None
        assert app.thread.border_subtitle is None
        await pilot.press("C")
        await idle(pilot)
        assert not panel.display
        await pilot.press("o")  # the contact's other conversations: the panel opens to show them
        await idle(pilot)
        assert [c.id for c in panel.others] == [4]
        assert panel.display and panel.others_list.has_focus
        await pilot.resize_terminal(*SIZE)
        await idle(pilot)
        assert panel.display  # wide enough again: shown as on any wide screen


async def test_wide_screens_show_the_contact_panel_and_the_key_hides_it(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        assert app.contact_panel.display and app.thread.border_subtitle is None
        app.contact_panel.focus()
        await pilot.press("C")
        await idle(pilot)
        assert not app.contact_panel.display
        assert app.conversation_list.has_focus  # focus never stays on a hidden pane


# ---- the footer shows only keys that work where the focus is ----------------------------------


def footer_keys(app) -> dict[str, str]:
    """What the footer shows: key -> description."""
    from frontdesk.tui.widgets.key_footer import KeyFooter

    return {
        key: description
        for key, _, _, description, _, _ in app.query_one(KeyFooter).shown_keys(app.screen)
    }


async def test_the_composer_footer_shows_no_key_that_types_there(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        assert footer_keys(app).get("slash") == "Search"  # from the list, / searches
        await pilot.press("r")
        await idle(pilot)
        shown = footer_keys(app)
        assert "slash" not in shown and "Search" not in shown.values()
        assert [key for key in shown if app.composer.check_consume_key(key, None)] == []
        assert {"enter", "escape", "ctrl+t"} <= set(shown)
        await pilot.press("slash", *"hi")
        await idle(pilot)
        assert app.composer.text == "/hi" and app.screen is app.screen_stack[0]
