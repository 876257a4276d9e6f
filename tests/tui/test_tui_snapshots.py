"""What the console looks like: snapshots at a fixed size with a fixed clock (no cursor blink)."""

from __future__ import annotations

from pilot_helpers import make_app, idle

SIZE = (140, 40)


def test_main_screen(snap_compare, desk, clock):
    assert snap_compare(make_app(desk, clock), terminal_size=SIZE, run_before=idle)


def test_note_mode_composer(snap_compare, desk, clock):
    async def write_note(pilot):
        await idle(pilot)
        await pilot.press("n", *"Customer is VIP, refund ok")
        await idle(pilot)

    assert snap_compare(make_app(desk, clock), terminal_size=SIZE, run_before=write_note)


def test_japanese_and_emoji_thread(snap_compare, desk, clock):
    async def open_japanese(pilot):
        await idle(pilot)
        await pilot.press("j", "enter")
        await idle(pilot)

    assert snap_compare(make_app(desk, clock), terminal_size=SIZE, run_before=open_japanese)


def test_hostile_contact(snap_compare, desk, clock):
    async def open_hostile(pilot):
        await idle(pilot)
        await pilot.press("j", "j", "enter")
        await idle(pilot)

    assert snap_compare(make_app(desk, clock), terminal_size=SIZE, run_before=open_hostile)


def test_help_screen(snap_compare, desk, clock):
    async def open_help(pilot):
        await idle(pilot)
        await pilot.press("question_mark")
        await idle(pilot)

    assert snap_compare(make_app(desk, clock), terminal_size=SIZE, run_before=open_help)


def test_vim_keymap_session(snap_compare, desk, clock):
    """The vim preset: G jumps to the last conversation, i opens the reply composer."""
    from frontdesk.launch import resolve_keymap

    app = make_app(desk, clock, keymap=resolve_keymap("vim", None), keymap_name="vim")

    async def vim_keys(pilot):
        await idle(pilot)
        await pilot.press("G", "k", "i", *"On it")
        await idle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=vim_keys)


def test_ansi_theme(snap_compare, desk, clock):
    """16 colours: the list cursor, the note in the thread, the note composer and badges stay readable."""
    app = make_app(desk, clock, theme="ansi-dark")

    async def write_note(pilot):
        await idle(pilot)
        await pilot.press("n", *"VIP, refund ok")
        await idle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=write_note)
