"""The labels dialog: edit a conversation's labels as one comma-separated line."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Static

from frontdesk.tui.safe import clean_line


def parse_labels(text: str) -> list[str]:
    """Labels from "vip, refund ,, late" → ["vip", "refund", "late"] (blanks and repeats dropped)."""
    return list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))


class LabelSuggester(Suggester):
    """Completes the label being typed (after the last comma) from the labels in use."""

    def __init__(self, known: Sequence[str]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.known = list(known)

    async def get_suggestion(self, value: str) -> str | None:
        head, _, typed = value.rpartition(",")
        stem = typed.lstrip()
        if not stem:
            return None
        taken = set(parse_labels(head))
        for label in self.known:
            if (
                label.casefold().startswith(stem.casefold())
                and label not in taken
                and label != stem
            ):
                return value[: len(value) - len(stem)] + label
        return None


class LabelsDialog(ModalScreen[tuple[list[str], list[str]] | None]):
    """Returns (added, removed) against the conversation's labels, or None when cancelled."""

    BINDINGS = [
        Binding(
            "escape",
            "cancel",
            "Cancel",
            id="labels-cancel",
            tooltip="Close without changing labels",
        )
    ]

    DEFAULT_CSS = """
    LabelsDialog { align: center middle; }
    LabelsDialog > Vertical {
        width: 70; height: auto; border: round $primary; background: $surface; padding: 0 1;
    }
    LabelsDialog .hint { color: $text-muted; }
    """

    def __init__(
        self, current: Sequence[str], known: Sequence[str], *, cursor_blink: bool = True
    ) -> None:
        super().__init__()
        self.cursor_blink = cursor_blink
        self.current = list(current)
        self.known = list(dict.fromkeys([*known, *current]))

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Labels"
            start = ", ".join([*self.current, ""]) if self.current else ""  # ready to type one more
            # no select-on-focus: typing adds a label instead of replacing every label there
            labels = Input(
                start,
                placeholder="vip, refund",
                suggester=LabelSuggester(self.known),
                id="labels",
                select_on_focus=False,
            )
            labels.cursor_blink = self.cursor_blink
            yield labels
            known = Text("In use: ", "dim")
            known.append(", ".join(clean_line(label) for label in self.known) or "none yet")
            yield Static(known, id="known-labels")
            yield Static(
                "Comma-separated: add by typing, remove by deleting · → accepts a suggestion · "
                "Enter saves · Esc cancels",
                classes="hint",
            )

    def on_mount(self) -> None:
        labels = self.query_one("#labels", Input)
        labels.focus()
        labels.action_end()

    @on(Input.Submitted, "#labels")
    def _save(self, event: Input.Submitted) -> None:
        wanted = parse_labels(event.value)
        added = [label for label in wanted if label not in self.current]
        removed = [label for label in self.current if label not in wanted]
        self.dismiss((added, removed))

    def action_cancel(self) -> None:
        self.dismiss(None)
