"""The thread of one conversation: a virtualized ScrollView over pre-wrapped lines."""

from __future__ import annotations

from time import perf_counter
from collections.abc import Callable, Sequence
from datetime import datetime

from rich.style import Style
from rich.text import Text
from textual.actions import SkipAction
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from frontdesk.model import Conversation, Message, utcnow
from frontdesk.tui.bindings import THREAD_BINDINGS
from frontdesk.tui.safe import clean_line
from frontdesk.tui.widgets.formatting import fit
from frontdesk.tui.widgets.lines import Line, draw, text_of
from frontdesk.tui.widgets.message_render import MessageRendering

AHEAD = 6
"""Screens of wrapped lines wanted above the view. A thread opens with REFILL + 1 screens of its
newest messages wrapped. Whenever fewer than REFILL screens are left above the view, earlier messages
are wrapped off the key path, a few milliseconds at a time, and added in one go when AHEAD
screens are ready: paging up only repaints the pane, one relayout every few pages, and opening
a 5,000-message thread wraps no more than a 20-message one."""
REFILL = 2
STEP_SECONDS = 0.004
"""Longest one wrap-ahead step holds the event loop (a key pressed meanwhile waits this long)."""


class ThreadView(MessageRendering, ScrollView, can_focus=True):
    """Messages oldest first; inbound left, replies indented, notes and events set apart."""

    BINDINGS = THREAD_BINDINGS

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
        agent_name: Callable[[str], str] = lambda user: user,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.clock = clock
        self.agent_name = agent_name
        """How an agent is shown (their `[team.agents]` name): replies and notes store the Unix user."""
        self.conversation: Conversation | None = None
        self.messages: list[Message] = []
        self.contact_name = ""
        self.typing = False
        self.retry_key = "ctrl+r"
        self.fold_key = "t"
        self.unfolded = False  # quoted history and signatures shown in full (per thread)
        self.empty_text = "No conversation selected."
        self._lines: list[Line] = []  # header (earlier messages) + every wrapped message + tail
        self._head = 0  # lines before the first wrapped message: the "earlier messages" line
        self._tail = 0  # lines after the last one: typing indicator or "no messages"
        self._blocks: dict[
            int, tuple[tuple, list[Line]]
        ] = {}  # message id → (revision, lines) at _width
        self._width = 0
        self._blank = Strip.blank(0)
        self._first = 0  # index of the oldest message wrapped (see AHEAD)
        self._ahead_pending = False
        self._pending: list[
            list[Line]
        ] = []  # wrapped ahead, not yet shown: messages _first-1, _first-2, …
        self._pending_lines = 0
        self._styles: tuple[Style, ...] = ()  # the text's styles the blocks were rendered with

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
            self._first = len(
                self.messages
            )  # _rebuild wraps back from the newest, one screen's worth
            self._blocks.clear()
            self.unfolded = False
        self._first = min(self._first, max(0, len(self.messages) - 1))
        self.contact_name = contact_name
        self.typing = typing
        self._rebuild(force_bottom=new_thread)

    def upsert(self, message: Message) -> None:
        """Add or replace one message of the shown thread (a reply appears before the desk echoes it)."""
        if message.conversation_id != self.conversation_id:
            return
        old: list[Line] = []
        for index in range(
            len(self.messages) - 1, -1, -1
        ):  # a reply or a mark: nearly always near the end
            if self.messages[index].id == message.id:
                self.messages[index] = message
                if index < self._first:
                    if index >= self._first - len(self._pending):
                        self._pending, self._pending_lines = [], 0  # wrapped ahead as it was: again
                    return  # not shown yet: wrapped as it is when the agent scrolls up to it
                cached = self._blocks.get(message.id)
                if cached is None:
                    self._rebuild()  # wrapped but not cached (width or style changed): start over
                    return
                old = cached[1]
                break
        else:
            self.messages.append(message)
            index = len(self.messages) - 1
            if index == 0:
                self._rebuild()  # the first message replaces "No messages yet."
                return
        if not self._ready():
            return
        # its place in the lines, counted from the end over the newer messages' blocks
        end = len(self._lines) - self._tail
        for newer in self.messages[index + 1 :]:
            cached = self._blocks.get(newer.id)
            if cached is None:
                self._rebuild()  # added while the pane had no width: lay everything out again
                return
            end -= len(cached[1])
        start = end - len(old)
        new = self._message_lines(message, self._width)
        at_bottom = self._at_bottom()
        self._lines[start:end] = new
        if len(new) == len(old):
            self.refresh_lines(start, len(new))
        else:
            shift = len(new) - len(old) if end <= self.scroll_offset.y and not at_bottom else 0
            self._set_lines(at_bottom, shift)

    def action_toggle_folded(self) -> None:
        """Show or hide the quoted history and signatures of every message in this thread."""
        self.unfolded = not self.unfolded
        self._blocks.clear()
        self._rebuild()

    def set_typing(self, typing: bool) -> None:
        if typing != self.typing:
            self.typing = typing
            if not self._ready():
                return
            if not self.messages:
                self._rebuild()  # "No messages yet." comes and goes with it
                return
            at_bottom = self._at_bottom()
            tail = self._tail_lines(self._width)
            self._lines[len(self._lines) - self._tail :] = tail
            self._tail = len(tail)
            self._set_lines(at_bottom)

    @property
    def lines(self) -> list[Line]:
        """Every wrapped line of the thread so far: the newest messages and the older ones wrapped ahead of the view."""
        return self._lines

    @property
    def plain_lines(self) -> list[str]:
        return [text_of(line) for line in self._lines]

    # ---- layout ------------------------------------------------------------------------

    def on_resize(self) -> None:
        self._rebuild()

    def watch_show_vertical_scrollbar(self, shown: bool) -> None:
        # the scrollbar takes two columns from the text (or gives them back), with no Resize:
        # wrap again at the new width rather than cut the end off every line
        self.call_later(self._rebuild)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        if not self.is_mounted:
            return
        # focus restyles the border only: wrap again (every wrapped message) only when the text's styles changed
        styles = (
            self.rich_style,
            *(self.get_component_rich_style(name) for name in sorted(self.COMPONENT_CLASSES)),
        )
        if styles != self._styles:
            self._styles = styles
            self._blocks.clear()
            self._rebuild()

    def _ready(self) -> bool:
        return (
            self.is_mounted
            and self._width > 0
            and self._width == self.scrollable_content_region.width
        )

    def _at_bottom(self) -> bool:
        return self.scroll_y >= self.max_scroll_y - 1

    def _rebuild(self, force_bottom: bool = False) -> None:
        """Lay out every wrapped message again (cached blocks are reused), at least one screen's worth."""
        self._pending, self._pending_lines = [], 0
        width = self.scrollable_content_region.width
        if width <= 0 or not self.is_mounted:
            return
        at_bottom = force_bottom or self._at_bottom()
        if width != self._width:
            self._width = width
            self._blocks.clear()
        self._blank = Strip.blank(width, self.rich_style)
        blocks = [self._message_lines(message, width) for message in self.messages[self._first :]]
        count = sum(map(len, blocks))
        height = self.scrollable_content_region.height
        while (
            self._first > 0 and count < (REFILL + 1) * height
        ):  # the screen and REFILL above it; the rest ahead
            self._first -= 1
            blocks.insert(0, self._message_lines(self.messages[self._first], width))
            count += len(blocks[0])
        lines = self._head_lines(width)
        self._head = len(lines)
        for block in blocks:
            lines.extend(block)
        tail = self._tail_lines(width)
        self._tail = len(tail)
        lines.extend(tail)
        self._lines = lines
        self._set_lines(at_bottom)

    def _head_lines(self, width: int) -> list[Line]:
        if self._first == 0:
            return []
        text = f" ↑ {self._first:,} earlier messages — scroll up to see them"
        return [self._line(fit(Text(text, self._style("meta")), width))]

    def _tail_lines(self, width: int) -> list[Line]:
        if self.typing and self.conversation is not None:
            who = clean_line(self.contact_name) or "The customer"
            return [self._line(fit(Text(f" {who} is typing…", self._style("typing")), width))]
        if not self.messages and not self.typing:
            text = " " + (self.empty_text if self.conversation is None else "No messages yet.")
            return [self._line(fit(Text(text, self._style("empty")), width))]
        return []

    def _set_lines(self, at_bottom: bool, shift: int = 0) -> None:
        """After the lines changed: the new height; the bottom kept in view, or the view kept on its lines."""
        self.virtual_size = Size(self._width, len(self._lines))
        if at_bottom:
            self.scroll_to(
                y=max(0, len(self._lines) - self.scrollable_content_region.height),
                animate=False,
                immediate=True,
                force=True,
            )
        elif shift:
            self.scroll_to(y=self.scroll_y + shift, animate=False, immediate=True, force=True)
        self.refresh()
        self._schedule_ahead()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._schedule_ahead()

    def _lines_above(self) -> int:
        return self.scroll_offset.y - self._head

    def _schedule_ahead(self) -> None:
        if self._ahead_pending or self._first == 0 or not self._ready():
            return
        if self._lines_above() < REFILL * self.scrollable_content_region.height:
            self._ahead_pending = True
            self.call_after_refresh(self._wrap_ahead)

    def _wrap_ahead(self) -> None:
        """Wrap earlier messages for a few milliseconds; add them above once enough are ready."""
        self._ahead_pending = False
        if self._first == 0 or not self._ready():
            return
        if self.app.animator.is_being_animated(self, "scroll_y"):
            self.set_timer(
                0.1, self._schedule_ahead
            )  # shifting a glide under way would send it astray
            return
        height = self.scrollable_content_region.height
        wanted = AHEAD * height - self._lines_above()
        start = self._first - len(self._pending)  # the oldest message wrapped so far
        deadline = perf_counter() + STEP_SECONDS
        while start > 0 and self._pending_lines < wanted and perf_counter() < deadline:
            start -= 1
            block = self._message_lines(self.messages[start], self._width)
            self._pending.append(block)
            self._pending_lines += len(block)
        if start == 0 or self._pending_lines >= wanted or self._lines_above() < height:
            self._add_pending()
        else:
            self._ahead_pending = True
            self.call_later(self._wrap_ahead)

    def _add_pending(self) -> None:
        """Put the messages wrapped ahead above the others, keeping what is on screen in place."""
        blocks, self._pending, self._pending_lines = self._pending, [], 0
        self._first -= len(blocks)
        added = self._head_lines(self._width)
        for block in reversed(blocks):
            added.extend(block)
        shift = len(added) - self._head
        self._lines[: self._head] = added  # the old "earlier messages" line goes; the new one leads
        self._head = 1 if self._first > 0 else 0
        self._set_lines(False, shift)

    # Keys jump instead of gliding: a page is one repaint, not a glide's many (a lot of output
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
        index = y + self.scroll_offset.y
        if 0 <= index < len(self._lines):
            return draw(
                self._lines[index], self._width
            )  # every line is cut or padded to _width when wrapped
        return self._blank
