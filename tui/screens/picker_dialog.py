"""A dialog that picks one of a few choices (an agent, a priority) and returns its index."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from frontdesk.tui.safe import clean_line


class PickerDialog(ModalScreen[int | None]):
    """Choose one line with the arrows and Enter; Escape leaves everything as it was."""

    BINDINGS = [
        Binding(
            "escape",
            "cancel",
            "Cancel",
            id="picker-cancel",
            tooltip="Close without changing anything",
        )
    ]

    DEFAULT_CSS = """
    PickerDialog { align: center middle; }
    PickerDialog > Vertical {
        width: 48; height: auto; max-height: 80%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    PickerDialog OptionList { height: auto; max-height: 20; border: none; padding: 0; }
    PickerDialog .hint { color: $text-muted; }
    """

    def __init__(self, title: str, choices: Sequence[str], *, current: int | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.choices = list(choices)
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.title_text
            yield OptionList(
                *(self._option(i, label) for i, label in enumerate(self.choices)), id="choices"
            )
            yield Static("↑↓ choose · Enter pick · Esc cancel", classes="hint")

    def _option(self, index: int, label: str) -> Option:
        text = Text(clean_line(label))
        if index == self.current:
            text.append("  (current)", "dim")
        return Option(text, id=str(index))

    def on_mount(self) -> None:
        choices = self.query_one("#choices", OptionList)
        choices.highlighted = self.current if self.current is not None else 0
        choices.focus()

    @on(OptionList.OptionSelected, "#choices")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option_index)

    def action_cancel(self) -> None:
        self.dismiss(None)
