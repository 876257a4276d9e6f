"""The conversation list: a virtualized ScrollView that renders only the visible rows."""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer

from frontdesk.desk.sla import sla_label
from frontdesk.model import Conversation, Priority, Status, utcnow
from frontdesk.tui.bindings import LIST_BINDINGS
from frontdesk.tui.safe import clean_line
from frontdesk.tui.widgets.formatting import LRU, age, badge, fit, foreground
from frontdesk.tui.widgets.lines import Line, draw, keep

ROW_HEIGHT = 2
CURSOR_REST = 0.2
"""Seconds without a move after which the cursor counts as resting: quicker moves (a held-down
key) read only the thread where the cursor stops, so the list keeps up with key repeat."""
_STATUS_MARK = {
    Status.PENDING: "pending",
    Status.SNOOZED: "snoozed",
    Status.RESOLVED: "✓ resolved",
    Status.BOT: "⚙ bot",
}
_PRIORITY_MARK = {Priority.HIGH: "!", Priority.URGENT: "‼"}


AGE_REFRESH_SECONDS = 30.0
"""How often the visible rows' ages and SLA marks are drawn again."""
PAGE_AHEAD = 10
"""Rows from the end of the list at which it asks for more (a server that pages its lists)."""


class ConversationList(ScrollView, can_focus=True):
    """Conversations, two lines a row: unread, name, channel, age; then preview and status."""

    BINDINGS = LIST_BINDINGS

    COMPONENT_CLASSES = {
        "conversation-list--cursor",
        "conversation-list--unread",
        "conversation-list--dim",
        "conversation-list--badge",
        "conversation-list--urgent",
        "conversation-list--empty",
    }

    DEFAULT_CSS = """
    ConversationList {
        overflow-x: hidden;
        & > .conversation-list--cursor { background: $primary 30%; }
        &:focus > .conversation-list--cursor { background: $primary 60%; }
        & > .conversation-list--unread { color: $text-accent; text-style: bold; }
        & > .conversation-list--dim { color: $text-muted; }
        & > .conversation-list--badge { color: $text-secondary; text-style: bold; }
        & > .conversation-list--urgent { color: $error; text-style: bold; }
        & > .conversation-list--empty { color: $text-muted; text-style: italic; }
    }
    """

    # watch_cursor repaints the two rows
    cursor: reactive[int] = reactive(0, repaint=False, init=False)

    @dataclass
    class Highlighted(Message):
        """The cursor moved onto a conversation."""

        conversation_list: ConversationList
        conversation_id: int

        @property
        def control(self) -> ConversationList:
            return self.conversation_list

    @dataclass
    class CursorRested(Message):
        """The cursor stopped on a conversation: a move after a rest, or the end of quick moves."""

        conversation_list: ConversationList
        conversation_id: int

        @property
        def control(self) -> ConversationList:
            return self.conversation_list

    @dataclass
    class NearEnd(Message):
        """The cursor or the rows on screen came within PAGE_AHEAD rows of the last one."""

        conversation_list: ConversationList

        @property
        def control(self) -> ConversationList:
            return self.conversation_list

    @dataclass
    class Selected(Message):
        """The agent opened a conversation (Enter)."""

        conversation_list: ConversationList
        conversation_id: int

        @property
        def control(self) -> ConversationList:
            return self.conversation_list

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] = utcnow,
        channel_kind: Callable[[str], str] = lambda channel: channel,
        contact_name: Callable[[int], str] = lambda contact_id: f"#{contact_id}",
        activity: Callable[[int], str] = lambda conv_id: "",
        agent_name: Callable[[str], str] = lambda user: user,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.clock = clock
        self.channel_kind = channel_kind
        self.contact_name = contact_name
        """The name shown for a contact id, asked only for the rows on screen."""
        self.activity = activity
        self.agent_name = agent_name
        """How an agent is shown (their `[team.agents]` name): the assignee is stored as the Unix user."""
        """Who else views or types in a conversation ("Ben is typing…"), asked only for the rows on screen."""
        self.conversations: list[Conversation] = []
        self._keys: list[tuple] | None = None  # the sort key of each row, as placed (see _order)
        self._key_of: dict[int, tuple] = {}
        self.empty_text = "No conversations in this view."
        self.waiting_times = False
        """True: rows show how long the customer has waited for an answer (— when answered),
        as in the longest-waiting sort; False: how long ago the last activity was."""
        self._rows: LRU[tuple, tuple[Line, Line]] = LRU(1024)
        self._last_move = float("-inf")  # time.monotonic() of the last move
        self._rest_timer: Timer | None = None  # pending while the cursor moves quickly

    # ---- data --------------------------------------------------------------------------

    @property
    def current(self) -> Conversation | None:
        """The conversation under the cursor."""
        if 0 <= self.cursor < len(self.conversations):
            return self.conversations[self.cursor]
        return None

    @property
    def current_id(self) -> int | None:
        conv = self.current
        return conv.id if conv is not None else None

    def set_conversations(
        self,
        conversations: Sequence[Conversation],
        key: Callable[[Conversation], tuple] | None = None,
    ) -> None:
        """Replace the rows, keeping the cursor on the same conversation when it is still listed.
        `key` is the order they are in, for `place` to move single ones later."""
        before, old_cursor = self.current_id, self.cursor
        self.conversations = list(conversations)
        self._order(key)
        index = next((i for i, c in enumerate(self.conversations) if c.id == before), None)
        self._rows_changed(before, old_cursor, index)

    def _order(self, key: Callable[[Conversation], tuple] | None) -> None:
        # the key each row was placed by: the desk changes conversations in place, so a row's
        # key now may not be the one it was sorted by
        if key is None:
            self._keys, self._key_of = None, {}
            return
        self._keys = [key(c) for c in self.conversations]
        self._key_of = {c.id: k for c, k in zip(self.conversations, self._keys)}

    def place(
        self,
        gone: Iterable[int],
        placed: Iterable[Conversation],
        key: Callable[[Conversation], tuple],
    ) -> None:
        """Take the `gone` conversations out and put `placed` in where `key` orders them.

        `key` must be the order the rows were set in, and unique (the id breaks ties): each
        one moved costs two binary searches, not a pass over every row. The cursor stays on
        its conversation when it is still listed.
        """
        before, old_cursor = self.current_id, self.cursor
        placed = list(placed)
        changed = set(gone) | {conv.id for conv in placed}
        if self._keys is None:  # rows set without their order: put them in this one first
            self.conversations.sort(key=key)
            self._order(key)
        rows, keys = self.conversations, self._keys
        top, shown = self._window()
        was_shown = rows[top : top + shown]
        for conv_id in changed:
            old_key = self._key_of.pop(conv_id, None)
            if old_key is not None:
                index = bisect_left(keys, old_key)
                del keys[index], rows[index]
        for conv in placed:
            new_key = key(conv)
            index = bisect_left(keys, new_key)
            keys.insert(index, new_key)
            rows.insert(index, conv)
            self._key_of[conv.id] = new_key
        index = bisect_left(keys, self._key_of[before]) if before in self._key_of else None
        self._rows_changed(before, old_cursor, index, (was_shown, changed))

    def _rows_changed(
        self,
        before: int | None,
        old_cursor: int,
        index: int | None,
        was_shown: tuple[list[Conversation], set[int]] | None = None,
    ) -> None:
        """Cursor, size and repaint after the rows changed; with `was_shown` (the rows on
        screen before and the ids changed), only the rows that now show something else are
        repainted."""
        if index is None:
            index = min(old_cursor, len(self.conversations) - 1)
        index = max(0, index)
        height = len(self.conversations) * ROW_HEIGHT
        if height != self.virtual_size.height:
            self.virtual_size = Size(self.virtual_size.width, height)
            was_shown = None  # the scrollbar changes too
        scrolled = self.scroll_y
        self.set_reactive(ConversationList.cursor, index)
        self._scroll_cursor_visible()
        if was_shown is None or self.scroll_y != scrolled:
            self.refresh()
        else:
            self._refresh_changed_rows(*was_shown, old_cursor, index)
        if self.current_id != before and self.current_id is not None:
            self._highlight(self.current_id)
        self._check_near_end()

    def _window(self) -> tuple[int, int]:
        """The first row on screen and how many rows the screen shows (a partly shown one too)."""
        top = round(self.scroll_y) // ROW_HEIGHT
        return top, self.scrollable_content_region.height // ROW_HEIGHT + 2

    def _refresh_changed_rows(
        self, was_shown: list[Conversation], changed: set[int], old_cursor: int, cursor: int
    ) -> None:
        top, shown = self._window()
        now_shown = self.conversations[top : top + shown]
        for offset in range(max(len(was_shown), len(now_shown))):
            before = was_shown[offset] if offset < len(was_shown) else None
            after = now_shown[offset] if offset < len(now_shown) else None
            # another conversation in the row, or the same one changed (the desk may change it in place)
            if before is not after or (after is not None and after.id in changed):
                self._refresh_row(top + offset)
        if old_cursor != cursor:
            self._refresh_row(old_cursor)
            self._refresh_row(cursor)

    def refresh_conversations(self, conv_ids: set[int]) -> None:
        """Repaint the rows of `conv_ids` that are on screen (their activity line changed)."""
        top, shown = self._window()
        for offset, conv in enumerate(self.conversations[top : top + shown]):
            if conv.id in conv_ids:
                self._refresh_row(top + offset)

    def select_id(self, conv_id: int) -> bool:
        """Move the cursor onto `conv_id`; False when it is not in the list."""
        for i, conv in enumerate(self.conversations):
            if conv.id == conv_id:
                self.cursor = i
                return True
        return False

    # ---- cursor ------------------------------------------------------------------------

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self.conversations) - 1))

    def watch_cursor(self, old: int, new: int) -> None:
        self._refresh_row(old)
        self._refresh_row(new)
        self._scroll_cursor_visible()
        if self.current_id is not None:
            self._highlight(self.current_id)
        self._check_near_end()

    @property
    def rows_shown(self) -> range:
        """The indexes of the rows on screen, a partly shown one too."""
        top = round(self.scroll_y)
        return range(
            top // ROW_HEIGHT, (top + self.scrollable_content_region.height - 1) // ROW_HEIGHT + 1
        )

    @property
    def near_end(self) -> bool:
        """True when the cursor or the last row on screen is within PAGE_AHEAD rows of the end."""
        if not self.conversations:
            return False
        last_shown = self.rows_shown.stop - 1
        return max(self.cursor, last_shown) >= len(self.conversations) - 1 - PAGE_AHEAD

    def _check_near_end(self) -> None:
        if self.near_end:
            self.post_message(self.NearEnd(self))

    def _highlight(self, conv_id: int) -> None:
        """Say the cursor moved onto `conv_id`, and that it rested there once it has (CURSOR_REST)."""
        self.post_message(self.Highlighted(self, conv_id))
        now = time.monotonic()
        rested = now - self._last_move >= CURSOR_REST
        self._last_move = now
        if rested:  # the moved cursor is drawn first, then the thread follows
            self.call_after_refresh(self._post_rested)
        elif self._rest_timer is None:
            self._rest_timer = self.set_timer(CURSOR_REST, self._when_cursor_rests)

    def _when_cursor_rests(self) -> None:
        moving_for = CURSOR_REST - (time.monotonic() - self._last_move)
        if moving_for > 0:
            self._rest_timer = self.set_timer(moving_for, self._when_cursor_rests)
            return
        self._rest_timer = None
        self._post_rested()

    def _post_rested(self) -> None:
        if self.current_id is not None:
            self.post_message(self.CursorRested(self, self.current_id))

    def _refresh_row(self, index: int) -> None:
        self.refresh(
            Region(0, index * ROW_HEIGHT - round(self.scroll_y), self.size.width, ROW_HEIGHT)
        )

    def _scroll_cursor_visible(self) -> None:
        if not self.conversations:
            return
        self.scroll_to_region(
            Region(0, self.cursor * ROW_HEIGHT, 1, ROW_HEIGHT),
            animate=False,
            immediate=True,
            force=True,
        )

    @property
    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height // ROW_HEIGHT - 1)

    def action_cursor_down(self) -> None:
        self.cursor += 1

    def action_cursor_up(self) -> None:
        self.cursor -= 1

    def action_page_down(self) -> None:
        self.cursor += self._page

    def action_page_up(self) -> None:
        self.cursor -= self._page

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = len(self.conversations) - 1

    def action_select(self) -> None:
        if self.current_id is not None:
            self.post_message(self.Selected(self, self.current_id))

    def on_click(self, event) -> None:
        index = (event.y + round(self.scroll_y)) // ROW_HEIGHT
        if 0 <= index < len(self.conversations):
            if index == self.cursor:
                self.action_select()
            self.cursor = index

    # ---- rendering ---------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        line = y + round(self.scroll_y)
        index, part = divmod(line, ROW_HEIGHT)
        if not self.conversations:
            if line == 0:
                style = self.get_component_rich_style("conversation-list--empty")
                return Strip(
                    list(fit(Text(" " + self.empty_text, style), width).render(self.app.console)),
                    width,
                )
            return Strip.blank(width, self.rich_style)
        if index >= len(self.conversations):
            return Strip.blank(width, self.rich_style)
        return draw(self._row_lines(index, width)[part], width)

    def render_row(self, index: int, width: int) -> tuple[Strip, Strip]:
        """The two lines of row `index`, `width` cells wide."""
        first, second = self._row_lines(index, width)
        return draw(first, width), draw(second, width)

    def _row_lines(self, index: int, width: int) -> tuple[Line, Line]:
        conv = self.conversations[index]
        is_cursor = index == self.cursor
        name = self.contact_name(conv.contact_id)
        when = self._age_shown(conv)
        sla = sla_label(conv, self.clock())
        activity = self.activity(conv.id)
        revision = (
            activity,
            name,
            conv.unread,
            conv.preview,
            conv.subject,
            conv.status,
            conv.assignee,
            conv.priority,
            conv.channel,
            when,
            sla,
            self.has_focus,
        )
        key = (conv.id, width, revision, is_cursor)
        cached = self._rows.get(key)
        if cached is not None:
            return cached
        lines = self._row_texts(conv, name, when, width, activity, sla)
        base = self.rich_style
        if is_cursor:
            base = base + self.get_component_rich_style("conversation-list--cursor")
        console = self.app.console
        first, second = (keep(Segment.apply_style(text.render(console), base)) for text in lines)
        self._rows.put(key, (first, second))
        return first, second

    def _age_shown(self, conv: Conversation) -> str:
        if not self.waiting_times:
            return age(conv.last_activity_at, self.clock())
        return age(conv.waiting_since, self.clock()) if conv.waiting_since is not None else "—"

    def _row_texts(
        self,
        conv: Conversation,
        name: str,
        when: str,
        width: int,
        activity: str = "",
        sla: tuple[str, bool] = ("", False),
    ) -> tuple[Text, Text]:
        part = lambda name: foreground(self.get_component_rich_style(f"conversation-list--{name}"))  # noqa: E731
        unread_style, dim, badge_style, urgent = (
            part("unread"),
            part("dim"),
            part("badge"),
            part("urgent"),
        )

        # line 1: unread · priority · name ………… badge  age
        if conv.unread:
            mark = Text(
                f"●{conv.unread if conv.unread < 100 else 99}" if conv.unread > 1 else "●",
                unread_style,
            )
        else:
            mark = Text("")
        left = Text(" ")
        left.append_text(fit(mark, 3))
        prio = _PRIORITY_MARK.get(conv.priority)
        left.append(prio or " ", urgent if prio else Style())
        right = Text(" ")
        right.append(f"{badge(self.channel_kind(conv.channel)):>4}", badge_style)
        right.append(f" {when:>4} ", dim)
        name_style = unread_style if conv.unread else Style(bold=True)
        name_width = max(0, width - left.cell_len - right.cell_len)
        line1 = Text.assemble(
            left, fit(Text(clean_line(name) or "(no name)", name_style), name_width), right
        )

        # line 2: preview ………… SLA · status · assignee
        status = _STATUS_MARK.get(conv.status, "")
        who = f"@{clean_line(self.agent_name(conv.assignee))}" if conv.assignee else ""
        tail_text = "  ".join(part for part in (status, who) if part)
        tail = Text(f" {tail_text} " if tail_text else " ", dim)
        due, late = sla
        if due:
            tail = Text.assemble(Text(f" {due}", urgent if late else badge_style), tail)
        if tail.cell_len > width // 2:
            tail = fit(tail, width // 2)
        preview = clean_line(conv.preview) or clean_line(conv.subject) or "—"
        shown = Text(preview, dim if not conv.unread else Style())
        if activity:  # another agent is on it: that says more than the preview
            shown = Text(activity, badge_style + Style(italic=True))
        pre_width = max(0, width - 5 - tail.cell_len)
        line2 = Text.assemble(Text("     "), fit(shown, pre_width), tail)
        return fit(line1, width), fit(line2, width)

    def on_mount(self) -> None:
        # ages and SLA time left count down on a quiet list too (unchanged rows come from the cache)
        self.set_interval(AGE_REFRESH_SECONDS, self.refresh)
        # scrolled by the wheel or the scrollbar, the cursor stays: the rows shown may near the end
        self.watch(self, "scroll_y", self._check_near_end, init=False)

    def on_resize(self) -> None:
        self._rows.clear()
        self.virtual_size = Size(
            self.scrollable_content_region.width, len(self.conversations) * ROW_HEIGHT
        )
        self._check_near_end()  # a taller list shows more of its end

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._rows.clear()
