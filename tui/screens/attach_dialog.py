"""The path prompt that attaches a file to a reply, completing folder entries as the agent types."""

from __future__ import annotations

import os
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Static

from frontdesk.tui.safe import clean_line

SCANNED_ENTRIES = 5000
"""Entries of one folder looked at per completion: a huge folder never stalls the prompt."""


def complete_path(value: str) -> str | None:
    """`value` completed by the entries of the folder it names (`~` expanded, the text kept as
    typed): to what all matches share, else the first match; a folder ends with "/"."""
    if not value:
        return None
    folder_text, _, prefix = value.rpartition("/")
    folder = Path(os.path.expanduser(folder_text + "/" if folder_text or value[0] == "/" else "."))
    if value.startswith("~") and "/" not in value:
        return "~/" if value == "~" else None
    matches: list[tuple[str, bool]] = []
    try:
        with os.scandir(folder) as entries:
            for n, entry in enumerate(entries):
                if n >= SCANNED_ENTRIES:
                    break
                if entry.name.startswith(prefix) and (prefix[:1] == "." or entry.name[:1] != "."):
                    matches.append((entry.name, _is_dir(entry)))
    except OSError:
        return None
    if not matches:
        return None
    matches.sort()
    shared = os.path.commonprefix([name for name, _ in matches])
    if len(matches) == 1:
        name, is_dir = matches[0]
        completed = name + ("/" if is_dir else "")
    elif len(shared) > len(prefix):
        completed = shared
    else:
        name, is_dir = matches[0]
        completed = name + ("/" if is_dir else "")
    if completed == prefix:
        return None
    return value[: len(value) - len(prefix)] + completed


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


class PathSuggester(Suggester):
    """Suggests the rest of a path from the folder's entries (case kept; read afresh each time)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        return complete_path(value)


class AttachDialog(ModalScreen[str | None]):
    """Returns the path the agent typed (not checked yet), or None when they press Escape."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="attach-cancel", tooltip="Attach nothing"),
        Binding(
            "tab",
            "complete",
            "Complete",
            priority=True,
            id="attach-complete",
            tooltip="Take the suggested completion of the path",
        ),
    ]

    DEFAULT_CSS = """
    AttachDialog {
        align: center middle;
        & > #attach-dialog {
            width: 80;
            max-width: 95%;
            height: auto;
            border: round $accent;
            border-title-color: $text;
            background: $surface;
            padding: 0 1;
        }
        #attach-hint { color: $text-muted; }
    }
    """

    def __init__(self, channel: str, start: str = "") -> None:
        super().__init__()
        self.channel = channel
        self.start = start

    def compose(self) -> ComposeResult:
        with Vertical(id="attach-dialog") as dialog:
            dialog.border_title = Text(f"Attach a file to the reply via {clean_line(self.channel)}")
            yield Input(
                value=self.start,
                placeholder="~/path/to/file",
                suggester=PathSuggester(),
                select_on_focus=False,  # typing goes on from the folder it starts in
                id="attach-path",
            )
            yield Static(
                "Tab completes · Enter attaches · Escape cancels", id="attach-hint", markup=False
            )

    def on_mount(self) -> None:
        self.query_one("#attach-path", Input).focus()

    def action_complete(self) -> None:
        path = self.query_one("#attach-path", Input)
        if path.cursor_at_end:
            path.action_cursor_right()  # at the end, this takes the suggestion

    @on(Input.Submitted, "#attach-path")
    def _submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if not value:
            self.notify("Type the file's path, or press Escape.", severity="warning", timeout=3)
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)
