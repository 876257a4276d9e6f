"""The key help (?) and the command palette, generated from the live bindings and the keymap in force."""

from __future__ import annotations

import re

from textual.geometry import Region

from frontdesk.launch import resolve_keymap
from frontdesk.model import Status
from frontdesk.tui.bindings import binding_ids
from frontdesk.tui.screens.help_screen import HelpScreen
from pilot_helpers import make_app as console_app
from pilot_helpers import idle, screen_text

SIZE = (140, 40)


def make_app(desk, clock, preset: str = "default", **overrides: str):
    """The console on a key preset with `[ui.keys]` overrides, resolved as the console resolves them."""
    return console_app(desk, clock, keymap=resolve_keymap(preset, overrides), keymap_name=preset)


def rendered(widget) -> list[str]:
    return [
        strip.text
        for strip in widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))
    ]


def help_rows(app) -> dict[str, str]:
    """description -> keys, as the help screen's tables show them (one row per binding)."""
    rows = {}
    lines = [line for table in app.screen.query(".help-table") for line in rendered(table)]
    for line in lines:
        cells = [c for c in re.split(r"\s{2,}", line.strip()) if c]
        if len(cells) >= 2:
            rows.setdefault(cells[1], cells[0])
    return rows


async def test_question_mark_shows_the_live_keys_and_closes(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(
        size=(140, 90)
    ) as pilot:  # tall enough to show every group without scrolling
        await idle(pilot)
        await pilot.press("question_mark")
        await idle(pilot)
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for heading in ("Anywhere", "Conversation list", "Composer", "Keys — default keymap"):
            assert heading in text
        rows = help_rows(app)
        assert rows["Reply"] == "r" and rows["Next"] == "j / ↓" and rows["Send"] == "⏎"
        assert "Write an internal note (never sent)" in text  # tooltips are shown
        await pilot.press("escape")
        await idle(pilot)
        assert not isinstance(app.screen, HelpScreen)
        assert app.conversation_list.has_focus
        await pilot.press("question_mark")
        await idle(pilot)
        await pilot.press("question_mark")  # the same key closes it
        await idle(pilot)
        assert not isinstance(app.screen, HelpScreen)


async def test_help_follows_the_vim_preset_and_user_overrides(desk, clock):
    app = make_app(desk, clock, "vim", note="N")
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("question_mark")
        await idle(pilot)
        rows = help_rows(app)
        assert "vim keymap" in screen_text(app)
        assert (
            rows["Reply"] == "i / r" and rows["First"] == "g / home" and rows["Last"] == "G / end"
        )
        assert rows["Note"] == "N"
        await pilot.press("escape")
        # and the keys work: G goes to the last conversation, g back to the first, i replies
        await pilot.press("G")
        await idle(pilot)
        assert app.conversation_list.current_id == 3
        await pilot.press("g")
        await idle(pilot)
        assert app.conversation_list.current_id == 1
        await pilot.press("i")
        await idle(pilot)
        assert app.composer.has_focus and app.composer.mode == "reply"


async def test_palette_finds_and_runs_an_action(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("ctrl+p")
        await idle(pilot)
        await pilot.press(*"resolve")
        await idle(pilot)
        assert "Resolve/reopen (e)" in screen_text(app)
        await pilot.press("enter")
        await idle(pilot)
        assert (await desk.conversation(1)).status is Status.RESOLVED


async def test_palette_runs_a_pane_action_on_its_pane(desk, clock):
    app = make_app(desk, clock, "vim")
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("colon")  # the vim preset's palette key
        await idle(pilot)
        await pilot.press(*"last")
        await idle(pilot)
        assert "Last (G / end)" in screen_text(app)
        await pilot.press("enter")
        await idle(pilot)
        assert app.conversation_list.current_id == 3


async def test_palette_switches_theme(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"theme: ansi-dark")
        await idle(pilot)
        await pilot.press("enter")
        await idle(pilot)
        assert app.theme == "ansi-dark"


async def test_palette_offers_every_binding(desk, clock):
    """Generated from BINDINGS: every id of the app and its panes is a command (the palette's own key aside)."""
    from frontdesk.tui.commands import BindingCommands

    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        listed = list(app.binding_commands(app.screen))
        expected = {i for i, context in binding_ids().items() if not context.startswith("screen:")}
        assert {binding.binding_id for binding, _ in listed} == expected - {"command-palette"}
        hits = [hit async for hit in BindingCommands(app.screen).discover()]
        assert sorted(str(hit.display) for hit in hits) == sorted(
            f"{binding.description} ({binding.key_display})" for binding, _ in listed
        )  # the palette offers each of them by name and key


async def test_palette_has_one_keys_command_and_it_opens_the_help(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        assert [c.title for c in app.get_system_commands(app.screen) if c.title == "Keys"] == []
        await pilot.press("ctrl+p", *"keys")
        await idle(pilot)
        await pilot.press("enter")
        await idle(pilot)
        assert isinstance(app.screen, HelpScreen)
