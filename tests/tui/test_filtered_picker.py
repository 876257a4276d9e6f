"""The filtered list both pickers share, on a picker of words: filter, move, pick, no match."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, OptionList, Static

from frontdesk.tui.screens.filtered_picker import FILTER, MATCHES, FilteredPicker
from pilot_helpers import DialogHarness, idle

WORDS = ["apple", "apricot", "banana", "cherry"]


class WordPicker(FilteredPicker[str, str | None]):
    BINDINGS = [Binding("down", "move(1)"), Binding("up", "move(-1)")]
    NOUN = "word"

    def __init__(self) -> None:
        super().__init__()
        self.still = False  # True: Up/Down leave the list alone

    def compose(self) -> ComposeResult:
        yield Input(id="q", classes=FILTER)
        yield OptionList(classes=MATCHES)
        yield Static(id="preview")

    def on_mount(self) -> None:
        self.refilter("")
        self.query_one(Input).focus()

    def matches(self, query: str) -> list[str]:
        return [w for w in WORDS if query in w]

    def label(self, item: str) -> Text:
        return Text(item.upper())

    def preview(self, item: str | None) -> None:
        self.query_one("#preview", Static).update(item or "none")

    @property
    def browsing(self) -> bool:
        return not self.still

    def picked(self, item: str) -> None:
        self.dismiss(item)


def preview(app) -> str:
    return str(app.screen.query_one("#preview", Static).render())


async def test_typing_filters_arrows_move_within_the_matches_and_enter_picks():
    async def make():
        return WordPicker()

    app = DialogHarness(make)
    async with app.run_test(notifications=True) as pilot:
        await idle(pilot)
        picker = app.screen
        assert picker.shown == WORDS and preview(app) == "apple"
        await pilot.press(*"ap")
        await idle(pilot)
        assert picker.shown == ["apple", "apricot"] and preview(app) == "apple"
        await pilot.press("down", "down", "down")  # stops at the last match
        await idle(pilot)
        assert picker.highlighted_item() == "apricot" and preview(app) == "apricot"
        picker.still = True
        await pilot.press("up")
        await idle(pilot)
        assert picker.highlighted_item() == "apricot"
        picker.still = False
        await pilot.press("up", "enter")
        await idle(pilot)
        assert app.results == ["apple"]


async def test_enter_with_no_match_says_so_and_keeps_the_picker():
    async def make():
        return WordPicker()

    app = DialogHarness(make)
    async with app.run_test(notifications=True) as pilot:
        await idle(pilot)
        picker = app.screen
        await pilot.press(*"zz")
        await idle(pilot)
        assert picker.shown == [] and preview(app) == "none"
        await pilot.press("enter")
        await idle(pilot)
        toasts = " ".join(str(t.render()) for t in app.screen.query("Toast"))
        assert "No word matches" in toasts
        assert app.screen is picker and app.results == []
