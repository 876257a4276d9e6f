"""The key help (?): every binding of the console with the keys in force, grouped by where it works."""

from __future__ import annotations

from itertools import groupby

from rich.table import Table
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from frontdesk.tui.bindings import HELP_BINDINGS
from frontdesk.tui.keys import KeyBinding
from frontdesk.tui.safe import clean_line


class HelpScreen(ModalScreen[None]):
    """Lists `bindings` (from `frontdesk.tui.bindings.live_bindings`) by context; Escape or ? closes it.

    `toggle_keys` are the keys that opened it (show-help in the keymap): they close it too.
    """

    BINDINGS = HELP_BINDINGS

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
        & > #help-box {
            width: 96;
            max-width: 95%;
            height: 90%;
            border: round $primary;
            border-title-color: $text;
            border-subtitle-color: $text-muted;
            background: $surface;
            padding: 0 1;
        }
        & .help-context { color: $text-accent; text-style: bold; margin-top: 1; }
    }
    """

    def __init__(
        self,
        bindings: list[KeyBinding],
        keymap_name: str = "default",
        close_keys: str = "Esc",
        toggle_keys: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        self.toggle_keys = toggle_keys
        self.bindings = bindings
        self.keymap_name = keymap_name
        self.close_keys = close_keys

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box") as box:
            box.border_title = f"Keys — {self.keymap_name} keymap"
            box.border_subtitle = (
                f"{self.close_keys} closes · every action is also in the command palette"
            )
            with VerticalScroll(id="help-scroll"):
                for title, group in groupby(self.bindings, key=lambda b: b.context_title):
                    yield Static(Text(title), classes="help-context")
                    yield Static(self._table(list(group)), classes="help-table")

    def on_mount(self) -> None:
        self.query_one("#help-scroll").focus()

    @staticmethod
    def _table(bindings: list[KeyBinding]) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(min_width=12, style="bold")
        table.add_column(min_width=16)
        table.add_column(style="dim")
        for binding in bindings:
            if binding.refused:  # greyed, with the desk's reason where the tooltip goes
                table.add_row(
                    Text(binding.key_display, "dim"),
                    Text(binding.description, "dim"),
                    Text(f"not on this desk: {clean_line(binding.refused)}", "italic"),
                    style="dim",
                )
                continue
            table.add_row(
                Text(binding.key_display), Text(binding.description), Text(binding.tooltip or "")
            )
        return table

    def on_key(self, event: events.Key) -> None:
        if event.key in self.toggle_keys:
            event.stop()
            self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
