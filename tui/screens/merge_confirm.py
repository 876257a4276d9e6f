"""The merge confirmation: says what moves where before two contacts become one."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from frontdesk.model import Contact
from frontdesk.tui.safe import safe_text
from frontdesk.tui.screens.merge_picker import contact_line


class ConfirmMerge(ModalScreen[bool]):
    """`y` or the Merge button merges; `n`, Escape or Cancel does nothing."""

    BINDINGS = [
        Binding("y", "answer(True)", "Merge", id="confirm-merge", tooltip="Merge the two contacts"),
        Binding(
            "n,escape", "answer(False)", "Cancel", id="cancel-merge-confirm", tooltip="Do not merge"
        ),
    ]

    DEFAULT_CSS = """
    ConfirmMerge {
        align: center middle;
        & > #confirm-box {
            width: 72;
            height: auto;
            border: thick $error 70%;
            background: $surface;
            padding: 1 2;
        }
        & #confirm-buttons { height: auto; align-horizontal: right; margin-top: 1; }
        & #confirm-buttons > Button { margin-left: 2; }
    }
    """

    def __init__(self, keep: Contact, other: Contact, conversations: int) -> None:
        super().__init__()
        self.keep, self.other, self.conversations = keep, other, conversations

    def compose(self) -> ComposeResult:
        other = safe_text(self.other.name, "bold", one_line=True)
        keep = safe_text(self.keep.name, "bold", one_line=True)
        text = Text("Merge\n  ").append_text(contact_line(self.other))
        text.append("\ninto\n  ").append_text(contact_line(self.keep)).append(" ?\n\n")
        text.append("Identities, emails, phones, notes and attributes of ")
        text.append_text(other).append(" join ").append_text(keep)
        plural = "" if self.conversations == 1 else "s"
        text.append(f", and their {self.conversations} conversation{plural} move with them. ")
        text.append("This cannot be undone.", "bold")
        with Vertical(id="confirm-box"):
            yield Static(text)
            with Horizontal(id="confirm-buttons"):
                yield Button("Merge (y)", variant="error", id="confirm-yes")
                yield Button("Cancel (n)", id="confirm-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()

    @on(Button.Pressed, "#confirm-yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#confirm-no")
    def _no(self) -> None:
        self.dismiss(False)

    def action_answer(self, merge: bool) -> None:
        self.dismiss(merge)
