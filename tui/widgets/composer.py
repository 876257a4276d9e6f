"""The composer: a TextArea that writes either a reply to the customer or an internal note."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea

from frontdesk.tui.safe import clean_line

Mode = Literal["reply", "note"]
NOTE_TITLE = "Internal note — not sent to the customer"


class Composer(TextArea):
    """Enter sends, ctrl+j adds a line, Escape cancels. Note mode has a warning border."""

    BINDINGS = [
        Binding("enter", "submit", "Send", priority=True, id="send", tooltip="Send the reply or save the note"),
        Binding("ctrl+j", "newline", "New line", priority=True, id="insert-newline", tooltip="Start a new line"),
        Binding("escape", "cancel", "Back", priority=True, id="focus-list", tooltip="Leave the composer"),
    ]

    DEFAULT_CSS = """
    Composer {
        height: 6;
        border: round $primary 60%;
        border-title-color: $text;
        &:focus { border: round $primary; }
        &.-note { border: heavy $warning; background: $warning 8%; border-title-color: $warning; border-title-style: bold; }
        &.-note:focus { border: heavy $warning; }
    }
    """

    @dataclass
    class Submitted(Message):
        """The agent sent what they wrote; `mode` says whether it is a reply or a note."""

        composer: Composer
        text: str
        mode: Mode

        @property
        def control(self) -> Composer:
            return self.composer

    @dataclass
    class Cancelled(Message):
        """The agent left the composer (Escape)."""

        composer: Composer

        @property
        def control(self) -> Composer:
            return self.composer

    def __init__(self, *, id: str | None = None, classes: str | None = None, cursor_blink: bool = True) -> None:
        super().__init__(id=id, classes=classes, soft_wrap=True, tab_behavior="focus", show_line_numbers=False)
        self.cursor_blink = cursor_blink
        self.mode: Mode = "reply"
        self.channel = ""
        self._apply_mode()

    def set_mode(self, mode: Mode, channel: str | None = None) -> None:
        """Switch between a reply (via `channel`) and an internal note."""
        self.mode = mode
        if channel is not None:
            self.channel = channel
        self._apply_mode()

    def _apply_mode(self) -> None:
        self.set_class(self.mode == "note", "-note")
        if self.mode == "note":
            self.border_title = NOTE_TITLE
            self.placeholder = "Write a note for your team (@name mentions)…"
        else:
            # a Text, not a str: a channel named "ops[bot]" must not be parsed as markup
            self.border_title = Text(f"Reply via {clean_line(self.channel)}" if self.channel else "Reply")
            self.placeholder = "Write a reply to the customer…"

    class _SendQueued(Message):
        """Enter was pressed; handled in this widget's queue behind the keys typed before it."""

    def action_submit(self) -> None:
        # Enter is a priority binding, so it runs as soon as the app sees it — possibly
        # before keys that arrived in the same burst (a paste, an ssh packet) reached the
        # TextArea. Reading the text now would drop them; queue behind them instead.
        self.post_message(self._SendQueued())

    def on_composer__send_queued(self, message: _SendQueued) -> None:
        message.stop()
        text = self.text
        if text.strip():
            self.post_message(self.Submitted(self, text, self.mode))

    def action_newline(self) -> None:
        self.insert("\n")

    def action_cancel(self) -> None:
        self.post_message(self.Cancelled(self))
