"""The thread of one conversation: a virtualized ScrollView over pre-wrapped lines."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from datetime import datetime

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.actions import SkipAction
from textual.binding import Binding
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from frontdesk.model import Conversation, Delivery, Direction, Message, MessageKind, split_foldable, utcnow
from frontdesk.tui.safe import clean_line, safe_text
from frontdesk.tui.widgets.formatting import LRU, age, background, clock_time, fit, foreground, human_size

AUTHOR_COLOURS = ("#e5737f", "#8fc46a", "#5fa8e8", "#c38fe0", "#4fc1c9", "#e0a35f", "#e07fbf")
_MARKS = {
    Delivery.PENDING: ("◷ pending", "thread-view--pending"),
    Delivery.SENT: ("✓ sent", "thread-view--sent"),
    Delivery.DELIVERED: ("✓✓ delivered", "thread-view--sent"),
    Delivery.READ: ("✓✓ read", "thread-view--read"),
    Delivery.FAILED: ("✗ failed", "thread-view--failed"),
    Delivery.UNCONFIRMED: ("? unconfirmed", "thread-view--unconfirmed"),
}
WINDOW = 100
"""Messages wrapped when a thread opens (newest first); older ones are wrapped as the agent
scrolls up to them, so opening a 5,000-message thread costs the same as a 100-message one."""


def author_colour(name: str) -> str:
    """A stable colour per customer name."""
    return AUTHOR_COLOURS[zlib.crc32(name.encode("utf-8", "replace")) % len(AUTHOR_COLOURS)]


class ThreadView(ScrollView, can_focus=True):
    """Messages oldest first; inbound left, replies indented, notes and events set apart."""

    BINDINGS = [
        Binding("t", "toggle_folded", "Quoted text", id="toggle-quoted", tooltip="Show or hide quoted history and signatures"),
    ]

    COMPONENT_CLASSES = {
        "thread-view--meta",
        "thread-view--outbound",
        "thread-view--note",
        "thread-view--note-label",
        "thread-view--note-bar",
        "thread-view--activity",
        "thread-view--pending",
        "thread-view--sent",
        "thread-view--read",
        "thread-view--failed",
        "thread-view--unconfirmed",
        "thread-view--typing",
        "thread-view--empty",
    }

    DEFAULT_CSS = """
    ThreadView {
        overflow-x: hidden;
        & > .thread-view--meta { color: $text-muted; }
        & > .thread-view--outbound { color: $primary; text-style: bold; }
        & > .thread-view--note { background: $warning 12%; }
        & > .thread-view--note-label { background: $warning; color: $background; text-style: bold; }
        & > .thread-view--note-bar { color: $warning; text-style: bold; }
        & > .thread-view--activity { color: $text-muted; text-style: italic; }
        & > .thread-view--pending { color: $text-muted; }
        & > .thread-view--sent { color: $text-muted; }
        & > .thread-view--read { color: $accent; text-style: bold; }
        & > .thread-view--failed { color: $error; text-style: bold; }
        & > .thread-view--unconfirmed { color: $warning; text-style: bold; }
        & > .thread-view--typing { color: $text-muted; text-style: italic; }
        & > .thread-view--empty { color: $text-muted; text-style: italic; }
    }
    """

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] = utcnow,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.clock = clock
        self.conversation: Conversation | None = None
        self.messages: list[Message] = []
        self.contact_name = ""
        self.typing = False
        self.retry_key = "ctrl+r"
        self.fold_key = "t"
        self.unfolded = False  # quoted history and signatures shown in full (per thread)
        self.empty_text = "No conversation selected."
        self._lines: list[Strip] = []
        self._wrapped: LRU[tuple, list[Strip]] = LRU(4096)
        self._width = 0
        self._first = 0  # index of the oldest message wrapped (see WINDOW)

    # ---- data --------------------------------------------------------------------------

    @property
    def conversation_id(self) -> int | None:
        return self.conversation.id if self.conversation is not None else None

    def show(
        self,
        conversation: Conversation | None,
        messages: Sequence[Message],
        *,
        contact_name: str = "",
        typing: bool = False,
    ) -> None:
        """Show a thread; stays at the bottom when it was there, jumps there for a new thread."""
        new_thread = conversation is None or conversation.id != self.conversation_id
        self.conversation = conversation
        self.messages = list(messages)
        if new_thread:
            self._first = max(0, len(self.messages) - WINDOW)
            self.unfolded = False
        self._first = min(self._first, max(0, len(self.messages) - 1))
        self.contact_name = contact_name
        self.typing = typing
        self._rebuild(force_bottom=new_thread)

    def upsert(self, message: Message) -> None:
        """Add or replace one message of the shown thread (a reply appears before the desk echoes it)."""
        if message.conversation_id != self.conversation_id:
            return
        for i, existing in enumerate(self.messages):
            if existing.id == message.id:
                self.messages[i] = message
                break
        else:
            self.messages.append(message)
        self._rebuild()

    def action_toggle_folded(self) -> None:
        """Show or hide the quoted history and signatures of every message in this thread."""
        self.unfolded = not self.unfolded
        self._rebuild()

    def set_typing(self, typing: bool) -> None:
        if typing != self.typing:
            self.typing = typing
            self._rebuild()

    @property
    def lines(self) -> list[Strip]:
        """Every wrapped line of the thread so far: the newest WINDOW messages and any older ones scrolled to."""
        return self._lines

    @property
    def plain_lines(self) -> list[str]:
        return [strip.text for strip in self._lines]

    # ---- layout ------------------------------------------------------------------------

    def on_resize(self) -> None:
        self._rebuild()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._wrapped.clear()
        if self.is_mounted:
            self._rebuild()

    def _rebuild(self, force_bottom: bool = False) -> None:
        width = self.scrollable_content_region.width
        if width <= 0 or not self.is_mounted:
            return
        at_bottom = force_bottom or self.scroll_y >= self.max_scroll_y - 1
        if width != self._width:
            self._width = width
        lines: list[Strip] = []
        if self._first > 0:
            text = f" ↑ {self._first:,} earlier messages — scroll up to see them"
            lines.append(self._strip(fit(Text(text, self._style("meta")), width)))
        for message in self.messages[self._first:]:
            lines.extend(self._message_lines(message, width))
        if self.typing and self.conversation is not None:
            who = clean_line(self.contact_name) or "The customer"
            lines.append(self._strip(fit(Text(f" {who} is typing…", self._style("typing")), width)))
        if not self.messages and not self.typing:
            text = " " + (self.empty_text if self.conversation is None else "No messages yet.")
            lines.append(self._strip(fit(Text(text, self._style("empty")), width)))
        self._lines = lines
        self.virtual_size = Size(width, len(lines))
        if at_bottom:
            self.scroll_to(y=max(0, len(lines) - self.scrollable_content_region.height), animate=False, immediate=True, force=True)
        self.refresh()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value < 1 and self._first > 0:
            self.call_later(self._wrap_earlier)

    def _wrap_earlier(self) -> None:
        """Wrap the next WINDOW older messages above the view, keeping what is on screen in place."""
        if self._first == 0 or self.scroll_y >= 1:
            return
        before = len(self._lines)
        self._first = max(0, self._first - WINDOW)
        self._rebuild()
        self.scroll_to(y=self.scroll_y + len(self._lines) - before, animate=False, immediate=True, force=True)

    # Keys jump instead of gliding: a page is one repaint, not ~20 over 0.6 s (a lot of output
    # over ssh), and a second press pages from where the first landed, not from mid-glide.

    def action_page_up(self) -> None:
        if not self.allow_vertical_scroll:
            raise SkipAction()
        self.scroll_page_up(animate=False)

    def action_page_down(self) -> None:
        if not self.allow_vertical_scroll:
            raise SkipAction()
        self.scroll_page_down(animate=False)

    def action_scroll_home(self) -> None:
        if not self.allow_vertical_scroll:
            raise SkipAction()
        self.scroll_home(animate=False)

    def action_scroll_end(self) -> None:
        if not self.allow_vertical_scroll:
            raise SkipAction()
        self.scroll_end(animate=False)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = y + round(self.scroll_y)
        if 0 <= index < len(self._lines):
            return self._lines[index].adjust_cell_length(width, self.rich_style)
        return Strip.blank(width, self.rich_style)

    # ---- one message -------------------------------------------------------------------

    def _style(self, part: str) -> Style:
        style = self.get_component_rich_style(f"thread-view--{part}")
        # a label keeps its own background; other parts take the row's (a note's tint)
        return style if part == "note-label" else foreground(style)

    def _strip(self, text: Text, base: Style | None = None) -> Strip:
        style = self.rich_style + base if base is not None else self.rich_style
        return Strip(list(Segment.apply_style(text.render(self.app.console), style)), text.cell_len)

    def _message_lines(self, message: Message, width: int) -> list[Strip]:
        when = clock_time(message.created_at, self.clock())
        revision = (
            message.body, message.delivery, message.delivery_reason, message.author, message.private,
            len(message.attachments), when, self.retry_key, self.unfolded, self.fold_key,
            age(message.created_at, self.clock()) if message.kind is MessageKind.ACTIVITY else "",
        )
        key = (message.id, width, revision)
        cached = self._wrapped.get(key)
        if cached is None:
            cached = self._render_message(message, width, when)
            self._wrapped.put(key, cached)
        return cached

    def _render_message(self, message: Message, width: int, when: str) -> list[Strip]:
        if message.kind is MessageKind.ACTIVITY:
            text = Text(f"— {clean_line(message.body)} · {age(message.created_at, self.clock())} —", self._style("activity"))
            text.truncate(width, overflow="ellipsis")
            text.align("center", width)
            return [self._strip(text), self._strip(Text(" " * width))]

        inbound = message.direction is Direction.IN
        note = message.is_note
        indent = 1 if inbound else max(1, width // 6)
        bubble = max(4, width - indent - (max(1, width // 6) if inbound else 1))
        meta = self._style("meta")
        if note:
            bar_style = self._style("note-bar")
            fill = background(self.get_component_rich_style("thread-view--note"))
        elif inbound:
            bar_style = Style(color=author_colour(message.author), bold=True)
            fill = Style()
        else:
            bar_style = self._style("outbound")
            fill = Style()
        bar = "┃ " if note else "▌ "

        def row(content: Text) -> Strip:
            line = Text(" " * indent)
            body = Text(bar, bar_style)
            body.append_text(content)
            body = fit(body, bubble)
            body.stylize(fill)
            line.append_text(body)
            line = fit(line, width)
            return self._strip(line)

        lines: list[Strip] = []
        # who · delivery mark · time; the name gives way first, then the time
        header = Text()
        if note:
            header.append(" NOTE ", self._style("note-label"))
            header.append(" not sent · ", self._style("note-bar"))
            who = Text(clean_line(message.author) or "agent", Style(bold=True))
        else:
            who = Text(clean_line(message.author) or ("customer" if inbound else "agent"), bar_style)
        tail = Text()
        mark = _MARKS.get(message.delivery) if not inbound and not note else None
        if mark is not None:
            tail.append("  ")
            tail.append(mark[0], self._style(mark[1].removeprefix("thread-view--")))
        if note and message.mentions:
            tail.append("  → " + " ".join(f"@{clean_line(name)}" for name in message.mentions), self._style("note-bar"))
        tail.append(f"  {when}", meta)
        room = bubble - len(bar) - header.cell_len - tail.cell_len
        if who.cell_len > room:
            who.truncate(max(4, room), overflow="ellipsis")
        header.append_text(who)
        header.append_text(tail)
        lines.append(row(header))

        if message.body:
            shown, folded, what = split_foldable(message.body)
            if self.unfolded:
                shown, folded = message.body, ""
            body = safe_text(shown)
            for wrapped in body.wrap(self.app.console, max(1, bubble - len(bar)), overflow="fold"):
                wrapped.rstrip()
                lines.append(row(wrapped))
            if folded:
                hidden = folded.count("\n") + 1
                summary = Text(f"┄ +{hidden} line{'s' if hidden != 1 else ''}: {', '.join(what)} ({self.fold_key}) ┄", meta)
                summary.truncate(max(1, bubble - len(bar)), overflow="ellipsis")
                lines.append(row(summary))
        for attachment in message.attachments:
            info = Text("📎 ")
            info.append_text(safe_text(attachment.name, Style(underline=True), one_line=True))
            info.append(f" · {clean_line(attachment.mime)} · {human_size(attachment.size)}", meta)
            lines.append(row(info))
        if not inbound and not note:
            status: Text | None = None
            if message.delivery is Delivery.FAILED:
                reason = clean_line(message.delivery_reason) or "the channel refused it"
                status = Text(f"✗ Not delivered: {reason} — retry? ({self.retry_key})", self._style("failed"))
            elif message.delivery is Delivery.UNCONFIRMED:
                reason = clean_line(message.delivery_reason) or "the channel did not confirm it"
                status = Text(f"? {reason} — retry? ({self.retry_key})", self._style("unconfirmed"))
            elif message.delivery is Delivery.PENDING and message.delivery_reason:
                status = Text(f"◷ retrying: {clean_line(message.delivery_reason)}", meta)
            if status is not None:
                for wrapped in status.wrap(self.app.console, max(1, bubble - len(bar)), overflow="fold"):
                    wrapped.rstrip()
                    lines.append(row(wrapped))
        lines.append(self._strip(Text(" " * width)))
        return lines
