"""The traffic cop: another agent answered the customer while this reply was being written."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class SendAnyway(ModalScreen[bool]):
    """`y` or Send sends the reply; `n`, Escape or Keep keeps it in the composer, unsent."""

    BINDINGS = [
        Binding("y", "answer(True)", "Send", id="send-anyway", tooltip="Send the reply anyway"),
        Binding(
            "n,escape",
            "answer(False)",
            "Keep",
            id="keep-reply",
            tooltip="Do not send; the reply stays in the composer",
        ),
    ]

    DEFAULT_CSS = """
    SendAnyway {
        align: center middle;
        & > #send-anyway-box {
            width: 72;
            max-width: 95%;
            height: auto;
            border: thick $warning 70%;
            background: $surface;
            padding: 1 2;
        }
        & #send-anyway-buttons { height: auto; align-horizontal: right; margin-top: 1; }
        & #send-anyway-buttons > Button { margin-left: 2; }
    }
    """

    def __init__(self, question: Text) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="send-anyway-box"):
            yield Static(self.question, id="send-anyway-question")
            with Horizontal(id="send-anyway-buttons"):
                yield Button("Send anyway (y)", variant="warning", id="send-anyway-yes")
                yield Button("Keep my draft (n)", id="send-anyway-no")

    def on_mount(self) -> None:
        self.query_one("#send-anyway-no", Button).focus()

    @on(Button.Pressed, "#send-anyway-yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#send-anyway-no")
    def _no(self) -> None:
        self.dismiss(False)

    def action_answer(self, send: bool) -> None:
        self.dismiss(send)
