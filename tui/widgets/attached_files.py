"""The files attached to the reply being written, one line each above the composer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from frontdesk.tui.safe import safe_text
from frontdesk.tui.widgets.formatting import human_size


@dataclass(frozen=True, slots=True)
class AttachedFile:
    """A file the agent attached: where it is (read again on sending) and what it was when checked."""

    path: str
    name: str
    size: int


class AttachedFiles(Static):
    """Hidden when no file is attached; otherwise a line per file and how to take one off."""

    DEFAULT_CSS = """
    AttachedFiles {
        height: auto;
        max-height: 6;
        padding: 0 1;
        background: $boost;
        display: none;
        &.-shown { display: block; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.files: tuple[AttachedFile, ...] = ()

    def show_files(self, files: Sequence[AttachedFile], detach_key: str = "ctrl+l") -> None:
        self.files = tuple(files)
        self.set_class(bool(self.files), "-shown")
        lines = Text(end="")
        for n, attached in enumerate(self.files):
            if n:
                lines.append("\n")
            lines.append("▪ ", "bold")
            lines.append_text(safe_text(attached.name, "underline", one_line=True))
            lines.append(f" · {human_size(attached.size)}", "dim")
        if self.files:
            lines.append(f"\n{detach_key} takes the last file off", "dim italic")
        self.update(lines)
