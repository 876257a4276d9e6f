"""The composer: a TextArea that writes either a reply to the customer or an internal note."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from rich.text import Text
from textual.message import Message
from textual.widgets import TextArea

from frontdesk.desk.limits import WindowState
from frontdesk.tui.bindings import composer_bindings
from frontdesk.tui.keys import typed_character
from frontdesk.tui.safe import clean_line

Mode = Literal["reply", "note"]
NOTE_TITLE = "Internal note — not sent to the customer"
SHORTCODE_BEFORE_CURSOR = re.compile(r"(?:^|(?<=\s))/([\w-]+)\Z")
"""`/refund` right before the cursor, at the start of the line or after a space."""


class Composer(TextArea):
    """Enter sends, ctrl+j adds a line, Escape cancels, ctrl+t inserts a canned reply (once the
    window closed: sends an approved template), `/code` Tab expands one, ctrl+o attaches a file
    (ctrl+l takes the last one off).

    Note mode has a warning border. In reply mode the bottom border shows the channel's
    messaging window and, on SMS channels, the length in characters and segments; a
    closed window turns the border red and the empty composer explains the way out.
    """

    BINDINGS = composer_bindings()

    DEFAULT_CSS = """
    Composer {
        height: auto;
        min-height: 6;
        max-height: 14;
        border: round $primary 60%;
        border-title-color: $text;
        &:focus { border: round $primary; }
        &.-note { border: heavy $warning; background: $warning 8%; border-title-color: $warning; border-title-style: bold; }
        &.-note:focus { border: heavy $warning; }
        &.-closed { min-height: 8; border: round $error 70%; border-subtitle-color: $error; }
        &.-closed:focus { border: round $error; }
        &.-over { border-subtitle-color: $error; border-subtitle-style: bold; }
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
    class CannedRequested(Message):
        """The agent asked for the canned-replies picker (ctrl+t)."""

        composer: Composer

        @property
        def control(self) -> Composer:
            return self.composer

    @dataclass
    class TemplateRequested(Message):
        """The agent asked for the template picker (ctrl+t once the window closed)."""

        composer: Composer

        @property
        def control(self) -> Composer:
            return self.composer

    @dataclass
    class ShortcodeTyped(Message):
        """The agent pressed Tab after `/shortcode`; `start`/`end` locate it for the replacement."""

        composer: Composer
        shortcode: str
        start: tuple[int, int]
        end: tuple[int, int]

        @property
        def control(self) -> Composer:
            return self.composer

    @dataclass
    class AttachRequested(Message):
        """The agent asked to attach a file to the reply (ctrl+o)."""

        composer: Composer

        @property
        def control(self) -> Composer:
            return self.composer

    @dataclass
    class DetachRequested(Message):
        """The agent asked to take the last attached file off the reply (ctrl+l)."""

        composer: Composer

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

    def __init__(
        self, *, id: str | None = None, classes: str | None = None, cursor_blink: bool = True
    ) -> None:
        super().__init__(
            id=id, classes=classes, soft_wrap=True, tab_behavior="focus", show_line_numbers=False
        )
        self.cursor_blink = cursor_blink
        self.mode: Mode = "reply"
        self.channel = ""
        self.window: WindowState | None = None
        self.note_hint = ""
        self.mentionable: tuple[str, ...] = ()
        self.files_attached = 0
        """How many files go with the reply: a reply of files alone is sent without text."""
        self.length_of: Callable[[str], object | None] = lambda text: None
        """What the bottom border shows about the text's length (SMS segments); None shows nothing."""
        self._apply_mode()

    def check_consume_key(self, key: str, character: str | None = None) -> bool:
        # Textual finds no character for "slash" and a few other keys, so without this the
        # footer would offer the app's `/ Search` here although / types a slash
        return super().check_consume_key(
            key, character if character is not None else typed_character(key)
        )

    def set_mode(self, mode: Mode, channel: str | None = None) -> None:
        """Switch between a reply (via `channel`) and an internal note."""
        self.mode = mode
        if channel is not None:
            self.channel = channel
        self._apply_mode()

    def set_channel_limits(
        self,
        window: WindowState | None,
        length_of: Callable[[str], object | None] | None = None,
        note_hint: str = "",
    ) -> None:
        """The conversation's messaging window, its length counter and what to offer when the window closed."""
        self.window = window
        self.length_of = length_of or (lambda text: None)
        self.note_hint = note_hint
        self._apply_mode()

    def set_mentionable(self, agents: Sequence[str]) -> None:
        """Teammates a note can @mention, shown under the composer in note mode."""
        self.mentionable = tuple(agents)
        self._apply_mode()

    @property
    def window_closed(self) -> bool:
        return self.mode == "reply" and self.window is not None and self.window.closed

    @property
    def offers_template(self) -> bool:
        """True when ctrl+t sends an approved template: a reply whose window closed, on a channel
        with templates (a canned reply cannot go)."""
        return self.window_closed and self.window is not None and self.window.templates

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "insert_template":
            return self.offers_template  # False hides it: ctrl+t is then the canned picker
        return super().check_action(action, parameters)

    def _apply_mode(self) -> None:
        self.set_class(self.mode == "note", "-note")
        self.set_class(self.window_closed, "-closed")
        if self.mode == "note":
            self.border_title = NOTE_TITLE
            self.placeholder = "Write a note for your team (@name mentions)…"
        else:
            # a Text, not a str: a channel named "ops[bot]" must not be parsed as markup
            self.border_title = Text(
                f"Reply via {clean_line(self.channel)}" if self.channel else "Reply"
            )
            if self.window_closed and self.window is not None:
                self.placeholder = " ".join(filter(None, (self.window.explanation, self.note_hint)))
            else:
                self.placeholder = (
                    "Write a reply to the customer… (ctrl+t or /shortcode Tab: canned replies)"
                )
        self._update_subtitle()
        self.refresh_bindings()  # the footer's ctrl+t: Canned or Template

    def _update_subtitle(self) -> None:
        parts: list[str] = []
        over = False
        if self.mode == "note":
            if self.mentionable:
                parts.append("mention " + " ".join(f"@{a}" for a in self.mentionable))
        else:
            if self.window is not None:
                parts.append(self.window.label)
            length = self.length_of(self.text) if self.text else None
            if length is not None:
                parts.append(str(length))
                over = bool(getattr(length, "over_limit", False))
        self.set_class(over, "-over")
        self.border_subtitle = (
            Text(" · ".join(clean_line(part) for part in parts)) if parts else None
        )

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self._update_subtitle()

    def action_insert_canned(self) -> None:
        # the palette runs this one whatever the window: once it closed, offer what can go
        if self.offers_template:
            self.post_message(self.TemplateRequested(self))
        else:
            self.post_message(self.CannedRequested(self))

    def action_insert_template(self) -> None:
        self.post_message(self.TemplateRequested(self))

    def action_expand_shortcode(self) -> None:
        """Tab: expand `/shortcode` before the cursor; with none there, move focus on as Tab always does."""
        row, column = self.cursor_location
        before = self.document.get_line(row)[:column]
        found = SHORTCODE_BEFORE_CURSOR.search(before) if not self.selected_text else None
        if found is None:
            self.screen.focus_next()
            return
        self.post_message(
            self.ShortcodeTyped(self, found.group(1), (row, found.start()), (row, column))
        )

    def insert_canned_text(
        self, text: str, start: tuple[int, int] | None = None, end: tuple[int, int] | None = None
    ) -> None:
        """Put a filled canned reply at the cursor (or over `start`..`end`, a typed /shortcode); the cursor ends after it."""
        if start is None or end is None:
            start = end = self.cursor_location
            before = self.document.get_line(start[0])[: start[1]]
            if before and not before[-1].isspace():
                text = "\n" + text  # a second canned reply starts on its own line
        result = self.replace(text, start, end, maintain_selection_offset=False)
        self.move_cursor(result.end_location)

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
        if text.strip() or (self.mode == "reply" and self.files_attached):
            self.post_message(self.Submitted(self, text, self.mode))

    def action_attach_file(self) -> None:
        self.post_message(self.AttachRequested(self))

    def action_detach_file(self) -> None:
        self.post_message(self.DetachRequested(self))

    def action_newline(self) -> None:
        self.insert("\n")

    def action_cancel(self) -> None:
        self.post_message(self.Cancelled(self))
