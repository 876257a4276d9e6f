"""How one message of a thread becomes its wrapped lines: the bubble, delivery mark, folds, attachments."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from datetime import datetime

from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from frontdesk.model import Delivery, Direction, Message, MessageKind, split_foldable
from frontdesk.tui.safe import clean_line, safe_text
from frontdesk.tui.widgets.formatting import (
    age,
    background,
    clock_time,
    fit,
    foreground,
    human_size,
)
from frontdesk.tui.widgets.lines import Line, keep

AUTHOR_COLOURS = ("#e5737f", "#8fc46a", "#5fa8e8", "#c38fe0", "#4fc1c9", "#e0a35f", "#e07fbf")
_MARKS = {
    Delivery.PENDING: ("◷ pending", "thread-view--pending"),
    Delivery.SENT: ("✓ sent", "thread-view--sent"),
    Delivery.DELIVERED: ("✓✓ delivered", "thread-view--sent"),
    Delivery.READ: ("✓✓ read", "thread-view--read"),
    Delivery.FAILED: ("✗ failed", "thread-view--failed"),
    Delivery.UNCONFIRMED: ("? unconfirmed", "thread-view--unconfirmed"),
}


def author_colour(name: str) -> str:
    """A stable colour per customer name."""
    return AUTHOR_COLOURS[zlib.crc32(name.encode("utf-8", "replace")) % len(AUTHOR_COLOURS)]


class MessageRendering:
    """The part of the ThreadView that renders one message (with the widget's `app`, `rich_style`
    and `get_component_rich_style`), cached per message until what it shows changes."""

    clock: Callable[[], datetime]
    retry_key: str
    fold_key: str
    unfolded: bool
    _blocks: dict[int, tuple[tuple, list[Line]]]

    def _style(self, part: str) -> Style:
        style = self.get_component_rich_style(f"thread-view--{part}")
        # a label keeps its own background; other parts take the row's (a note's tint)
        return style if part == "note-label" else foreground(style)

    def _line(self, text: Text, base: Style | None = None) -> Line:
        style = self.rich_style + base if base is not None else self.rich_style
        return keep(Segment.apply_style(text.render(self.app.console), style))

    def _message_lines(self, message: Message, width: int) -> list[Line]:
        when = clock_time(message.created_at, self.clock())
        revision = (
            message.body,
            message.delivery,
            message.delivery_reason,
            message.author,
            message.private,
            len(message.attachments),
            when,
            self.retry_key,
            self.unfolded,
            self.fold_key,
            age(message.created_at, self.clock()) if message.kind is MessageKind.ACTIVITY else "",
        )
        cached = self._blocks.get(message.id)
        if cached is None or cached[0] != revision:
            cached = (revision, self._render_message(message, width, when))
            self._blocks[message.id] = cached
        return cached[1]

    def _render_message(self, message: Message, width: int, when: str) -> list[Line]:
        if message.kind is MessageKind.ACTIVITY:
            text = Text(
                f"— {clean_line(message.body)} · {age(message.created_at, self.clock())} —",
                self._style("activity"),
            )
            # every word is kept: an event line says who did what and why (a rule's reason,
            # where a Chatwoot thread's earlier messages are), and a cut one loses the point
            lines = text.wrap(self.app.console, width, justify="center", overflow="fold")
            return [*(self._line(part) for part in lines), self._line(Text(" " * width))]

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

        def row(content: Text) -> Line:
            line = Text(" " * indent)
            body = Text(bar, bar_style)
            body.append_text(content)
            body = fit(body, bubble)
            body.stylize(fill)
            line.append_text(body)
            line = fit(line, width)
            return self._line(line)

        lines: list[Line] = []
        # who · delivery mark · time; the name gives way first, then the time
        header = Text()
        if note:
            header.append(" NOTE ", self._style("note-label"))
            header.append(" not sent · ", self._style("note-bar"))
            who = Text(clean_line(self.agent_name(message.author)) or "agent", Style(bold=True))
        else:
            author = message.author if inbound else self.agent_name(message.author)
            who = Text(clean_line(author) or ("customer" if inbound else "agent"), bar_style)
        tail = Text()
        mark = _MARKS.get(message.delivery) if not inbound and not note else None
        if mark is not None:
            tail.append("  ")
            tail.append(mark[0], self._style(mark[1].removeprefix("thread-view--")))
        if note and message.mentions:
            tail.append(
                "  → "
                + " ".join(f"@{clean_line(self.agent_name(name))}" for name in message.mentions),
                self._style("note-bar"),
            )
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
                summary = Text(
                    f"┄ +{hidden} line{'s' if hidden != 1 else ''}: {', '.join(what)} ({self.fold_key}) ┄",
                    meta,
                )
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
                status = Text(
                    f"✗ Not delivered: {reason} — retry? ({self.retry_key})", self._style("failed")
                )
            elif message.delivery is Delivery.UNCONFIRMED:
                reason = clean_line(message.delivery_reason) or "the channel did not confirm it"
                status = Text(f"? {reason} — retry? ({self.retry_key})", self._style("unconfirmed"))
            elif message.delivery is Delivery.PENDING and message.delivery_reason:
                status = Text(f"◷ retrying: {clean_line(message.delivery_reason)}", meta)
            if status is not None:
                for wrapped in status.wrap(
                    self.app.console, max(1, bubble - len(bar)), overflow="fold"
                ):
                    wrapped.rstrip()
                    lines.append(row(wrapped))
        lines.append(self._line(Text(" " * width)))
        return lines
