"""A small dialog asking the agent for one value of a canned reply (`{ask:order number}`)."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from frontdesk.tui.safe import clean_line


class AskDialog(ModalScreen[str | None]):
    """Returns what the agent typed (never empty), or None when they press Escape."""

    BINDINGS = [
        Binding(
            "escape", "cancel", "Cancel", id="ask-cancel", tooltip="Do not insert the canned reply"
        ),
    ]

    DEFAULT_CSS = """
    AskDialog {
        align: center middle;
        & > #ask-dialog {
            width: 64;
            max-width: 95%;
            height: auto;
            border: round $accent;
            border-title-color: $text;
            background: $surface;
            padding: 0 1;
        }
        #ask-hint { color: $text-muted; }
    }
    """

    def __init__(self, label: str, reply_title: str, step: int = 1, steps: int = 1) -> None:
        super().__init__()
        self.label = label
        self.reply_title = reply_title
        self.step = step
        self.steps = steps

    def compose(self) -> ComposeResult:
        with Vertical(id="ask-dialog") as dialog:
            count = f" ({self.step}/{self.steps})" if self.steps > 1 else ""
            dialog.border_title = Text(f"{clean_line(self.reply_title)}{count}")
            yield Static(Text(f"{clean_line(self.label)}:"), id="ask-label")
            yield Input(placeholder=clean_line(self.label), id="ask-value")
            yield Static("Enter inserts · Escape cancels the canned reply", id="ask-hint")

    def on_mount(self) -> None:
        self.query_one("#ask-value", Input).focus()

    @on(Input.Submitted, "#ask-value")
    def _submitted(self, event: Input.Submitted) -> None:
        value = " ".join(event.value.split())
        if not value:
            self.notify(
                f"Type the {clean_line(self.label)}, or press Escape to cancel.",
                severity="warning",
                timeout=3,
                markup=False,
            )
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)
