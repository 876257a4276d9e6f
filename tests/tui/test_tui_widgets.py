"""The widgets on plain model objects: alignment with CJK/emoji, cursor, scrolling, composer."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from rich.cells import cell_len
from textual.app import App, ComposeResult

from frontdesk.model import (
    Conversation,
    Delivery,
    Direction,
    EventKind,
    Message,
    MessageKind,
    Status,
)
from frontdesk.tui.widgets.composer import Composer
from frontdesk.tui.widgets import conversation_list as conversation_list_module
from frontdesk.tui.widgets.conversation_list import ROW_HEIGHT, ConversationList
from frontdesk.tui.widgets.formatting import age, badge
from frontdesk.tui.widgets.thread_view import ThreadView
from pilot_helpers import idle, wait_until


NOW = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)  # the conftest clock


class Harness(App[None]):
    """Mounts one widget and records the messages it posts."""

    def __init__(self, widget) -> None:
        super().__init__()
        self.widget = widget
        self.posted: list = []

    def compose(self) -> ComposeResult:
        yield self.widget

    def on_conversation_list_highlighted(self, message) -> None:
        self.posted.append(("highlighted", message.conversation_id))

    def on_conversation_list_selected(self, message) -> None:
        self.posted.append(("selected", message.conversation_id))

    def on_composer_submitted(self, message) -> None:
        self.posted.append(("submitted", message.text, message.mode))

    def on_composer_cancelled(self, message) -> None:
        self.posted.append(("cancelled",))


def test_age_and_badges():
    assert [
        age(NOW - timedelta(**kw), NOW)
        for kw in (
            {"seconds": 5},
            {"minutes": 3},
            {"hours": 2},
            {"days": 5},
            {"days": 20},
            {"days": 800},
        )
    ] == ["now", "3m", "2h", "5d", "2w", "2y"]
    assert [
        badge(k) for k in ("email", "whatsapp", "messenger", "sms", "telegram", "line", "viber")
    ] == ["✉", "WA", "FB", "SMS", "TG", "LINE", "VIBE"]


async def test_rows_are_exactly_the_width_with_cjk_and_emoji(workspace, clock):
    ws = workspace
    names = {c.id: c.name for c in ws.contacts}
    kinds = {"wa": "whatsapp", "mail": "email"}
    widget = ConversationList(clock=clock, channel_kind=kinds.get, contact_name=names.get)
    app = Harness(widget)
    for width in (31, 40, 57):
        async with app.run_test(size=(width, 12)) as pilot:
            widget.set_conversations(ws.conversations)
            await idle(pilot)
            inner = widget.scrollable_content_region.width
            for y in range(len(ws.conversations) * ROW_HEIGHT):
                strip = widget.render_line(y)
                assert strip.cell_length == inner
                assert cell_len(strip.text) == inner, (width, y, strip.text)
            lines = [widget.render_line(y).text for y in range(4)]
            assert lines[2].rstrip().endswith("2h")  # age right-aligned after the CJK name
            assert "山田" in lines[2]
        app = Harness(
            widget := ConversationList(clock=clock, channel_kind=kinds.get, contact_name=names.get)
        )


async def test_place_moves_single_conversations_and_keeps_the_cursor(workspace, clock):
    from dataclasses import replace

    from frontdesk.desk.views import Sort, sort_conversations, sort_key

    widget = ConversationList(clock=clock)
    app = Harness(widget)
    async with app.run_test(size=(50, 12)) as pilot:
        convs = [replace(c) for c in workspace.conversations]
        widget.set_conversations(list(reversed(convs)))  # set without its order: place sorts first
        widget.select_id(convs[1].id)
        await idle(pilot)
        key = sort_key(Sort.ACTIVITY)
        oldest = min(convs, key=lambda c: c.last_activity_at)
        oldest.last_activity_at = NOW + timedelta(minutes=1)  # changed in place, as the desk does
        new = Conversation(
            9, "wa", 9, "x", preview="new", last_activity_at=NOW + timedelta(minutes=2)
        )
        widget.place({oldest.id, convs[2].id}, [oldest, new], key)
        expected = sort_conversations(
            [c for c in convs if c.id != convs[2].id] + [new], Sort.ACTIVITY
        )
        assert [c.id for c in widget.conversations] == [c.id for c in expected]
        assert widget.current_id == convs[1].id


class RestHarness(Harness):
    """Also records where the list says its cursor rested."""

    def __init__(self, widget) -> None:
        super().__init__(widget)
        self.rested: list[int] = []

    def on_conversation_list_cursor_rested(self, message) -> None:
        self.rested.append(message.conversation_id)


async def test_the_list_says_where_its_cursor_rests(workspace, clock, monkeypatch):
    widget = ConversationList(clock=clock)
    app = RestHarness(widget)
    async with app.run_test(size=(50, 6)) as pilot:
        monkeypatch.setattr(conversation_list_module, "CURSOR_REST", 0.0)  # every move rests
        widget.set_conversations(workspace.conversations)
        widget.focus()
        await wait_until(pilot, lambda: app.rested == [1], what="a rest on the first row")
        await pilot.press("j")
        await wait_until(pilot, lambda: app.rested == [1, 2], what="a rest after the move")
        monkeypatch.setattr(conversation_list_module, "CURSOR_REST", 30.0)  # every move is quick
        await pilot.press("j", "j")
        await wait_until(pilot, lambda: app.posted[-1] == ("highlighted", 4), what="the moves")
        assert app.rested == [1, 2]  # quick moves: no rest until the cursor stops


async def test_cursor_keys_messages_and_live_replacement(workspace, clock):
    ws = workspace
    widget = ConversationList(clock=clock)
    app = Harness(widget)
    async with app.run_test(size=(50, 6)) as pilot:
        widget.set_conversations(ws.conversations)
        widget.focus()
        await wait_until(pilot, lambda: app.posted[-1:] == [("highlighted", 1)])
        await pilot.press("j", "j")
        assert widget.current_id == 3
        await pilot.press("end")
        assert widget.current_id == 4
        assert widget.scroll_y > 0  # kept visible in a 6-line window
        await pilot.press("k", "enter")
        await wait_until(pilot, lambda: app.posted[-1] == ("selected", 3))
        # the list changes under the cursor: a new conversation on top, conversation 2 gone
        new = Conversation(9, "wa", 9, "x", preview="new", last_activity_at=NOW)
        widget.set_conversations(
            [new, ws.conversations[0], ws.conversations[2], ws.conversations[3]]
        )
        assert widget.current_id == 3
        # the highlighted conversation disappears: the cursor stays at its row
        widget.set_conversations([new, ws.conversations[0], ws.conversations[3]])
        await wait_until(pilot, lambda: app.posted[-1] == ("highlighted", 4))
        assert widget.current_id == 4
        widget.set_conversations([])
        await idle(pilot)
        assert widget.current is None
        assert "No conversations" in widget.render_line(0).text


def _messages(n: int) -> list[Message]:
    return [
        Message(
            i,
            1,
            Direction.IN,
            f"message {i}",
            author="Mia",
            created_at=NOW - timedelta(minutes=n - i),
        )
        for i in range(1, n + 1)
    ]


async def test_thread_stays_at_bottom_only_when_it_was_there(clock):
    conv = Conversation(1, "wa", 1, "k")
    widget = ThreadView(clock=clock)
    app = Harness(widget)
    async with app.run_test(size=(60, 12)) as pilot:
        messages = _messages(30)
        widget.show(conv, messages, contact_name="Mia")
        await idle(pilot)
        assert widget.scroll_y == widget.max_scroll_y > 0
        messages.append(Message(31, 1, Direction.IN, "newest", author="Mia", created_at=NOW))
        widget.show(conv, messages, contact_name="Mia")
        await idle(pilot)
        assert widget.scroll_y == widget.max_scroll_y
        assert "newest" in widget.render_line(widget.size.height - 2).text
        widget.scroll_home(animate=False, immediate=True)
        await idle(pilot)
        reading = [widget.render_line(y).text for y in range(widget.size.height)]
        messages.append(Message(32, 1, Direction.IN, "while reading", author="Mia", created_at=NOW))
        widget.show(conv, messages, contact_name="Mia")
        await idle(pilot)
        # reading older messages: not yanked down (earlier ones may have been wrapped in above)
        assert [widget.render_line(y).text for y in range(widget.size.height)] == reading
        assert widget.scroll_y < widget.max_scroll_y


async def test_thread_shows_delivery_notes_events_and_wraps_cjk_at_cell_width(clock):
    conv = Conversation(1, "wa", 1, "k")
    widget = ThreadView(clock=clock)
    app = Harness(widget)
    async with app.run_test(size=(40, 40)) as pilot:
        long_ja = "日本語の長いメッセージです。" * 4
        widget.show(
            conv,
            [
                Message(1, 1, Direction.IN, long_ja, author="花子"),
                Message(
                    2, 1, Direction.OUT, "pending one", delivery=Delivery.PENDING, author="Aiko"
                ),
                Message(3, 1, Direction.OUT, "read one", delivery=Delivery.READ, author="Aiko"),
                Message(
                    4,
                    1,
                    Direction.OUT,
                    "failed one",
                    delivery=Delivery.FAILED,
                    delivery_reason="blocked",
                    author="Aiko",
                ),
                Message(5, 1, Direction.OUT, "secret", private=True, author="Ben"),
                Message(
                    6,
                    1,
                    Direction.OUT,
                    "Aiko resolved this",
                    kind=MessageKind.ACTIVITY,
                    private=True,
                    created_at=NOW - timedelta(hours=2),
                ),
            ],
            contact_name="花子",
            typing=True,
        )
        await idle(pilot)
        lines = widget.plain_lines
        width = widget.scrollable_content_region.width
        assert all(cell_len(line) == width for line in lines)
        ja_lines = [line for line in lines if "。" in line or "語" in line]
        assert len(ja_lines) >= 3  # wrapped at cell width, nothing lost
        assert long_ja in "".join(line.replace("▌", "").replace(" ", "") for line in ja_lines)
        text = "\n".join(lines)
        for expected in (
            "◷ pending",
            "✓✓ read",
            "✗ failed",
            "Not delivered: blocked",
            "NOTE",
            "secret",
            "— Aiko resolved this · 2h —",
            "花子 is typing…",
        ):
            assert expected in text, expected
        event = next(line for line in lines if "resolved this" in line)
        assert event.startswith(" ") and event.endswith(" ")  # centred


async def test_event_lines_wrap_so_no_word_is_cut(clock):
    """An automation's reason, a rule's assignment, where a Chatwoot thread's earlier messages
    are: each event line keeps every word in a narrow thread."""
    conv = Conversation(1, "wa", 1, "k")
    widget = ThreadView(clock=clock)
    app = Harness(widget)
    reason = "⚙ Away message sent /away: outside business hours, open again Tue 09:00"
    async with app.run_test(size=(40, 20)) as pilot:
        widget.show(
            conv,
            [
                Message(
                    1,
                    1,
                    Direction.OUT,
                    reason,
                    kind=MessageKind.ACTIVITY,
                    private=True,
                    event=EventKind.AUTOMATION,
                    created_at=NOW,
                ),
                Message(
                    2,
                    1,
                    Direction.OUT,
                    "Aiko assigned this to Ben, who handles every billing question here",
                    kind=MessageKind.ACTIVITY,
                    private=True,
                    created_at=NOW,
                ),
            ],
            contact_name="Kenji",
        )
        await idle(pilot)
        lines = widget.plain_lines
        width = widget.scrollable_content_region.width
        assert all(cell_len(line) == width for line in lines)
        text = " ".join(line.strip() for line in lines if line.strip())
        assert reason in text and "open again Tue 09:00" in text
        assert "who handles every billing question here" in text
        assert not any("…" in line for line in lines)


async def test_composer_modes_submit_newline_and_cancel():
    composer = Composer(cursor_blink=False)
    app = Harness(composer)
    async with app.run_test() as pilot:
        composer.set_mode("reply", "whatsapp")
        composer.focus()
        assert str(composer.border_title) == "Reply via whatsapp"
        await pilot.press("enter", "space", "enter")
        await idle(pilot)
        assert app.posted == []  # blank: not submitted
        composer.clear()
        await pilot.press("h", "i", "ctrl+j", "x", "enter")
        await wait_until(pilot, lambda: app.posted != [])
        assert app.posted == [("submitted", "hi\nx", "reply")]
        composer.set_mode("note")
        assert composer.has_class("-note") and "not sent" in str(composer.border_title)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.posted[-1] == ("submitted", "hi\nx", "note"))
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.posted[-1] == ("cancelled",))


def test_statuses_render_in_rows():
    conv = Conversation(1, "wa", 1, "k", status=Status.SNOOZED, assignee="Aiko")
    assert conv.status is Status.SNOOZED


async def test_quoted_history_and_signature_fold_until_the_agent_unfolds_them(clock):
    from frontdesk.model import QUOTE_MARKER

    conv = Conversation(id=7, channel="mail", contact_id=1, thread_key="t")
    body = f"Thanks, it arrived!\n\n-- \nHanako Yamada\n{QUOTE_MARKER}\nOn Mon, Aiko wrote:\n> it left our warehouse"
    chat = "Is -- fine as a separator?"
    messages = [
        Message(
            id=1,
            conversation_id=7,
            direction=Direction.IN,
            body=body,
            author="Hanako",
            created_at=NOW,
        ),
        Message(
            id=2,
            conversation_id=7,
            direction=Direction.IN,
            body=chat,
            author="Hanako",
            created_at=NOW,
        ),
    ]
    widget = ThreadView(clock=clock)
    async with Harness(widget).run_test(size=(60, 30)) as pilot:
        widget.show(conv, messages, contact_name="Hanako")
        widget.focus()
        await idle(pilot)
        shown = "\n".join(widget.plain_lines)
        assert "Thanks, it arrived!" in shown and chat in shown
        assert "Hanako Yamada" not in shown and "it left our warehouse" not in shown
        assert "┄ +5 lines: signature, quoted history (t) ┄" in shown

        await pilot.press("t")
        shown = "\n".join(widget.plain_lines)
        assert (
            "Hanako Yamada" in shown
            and "> it left our warehouse" in shown
            and "+5 lines" not in shown
        )

        widget.show(Conversation(id=8, channel="mail", contact_id=1, thread_key="u"), [messages[0]])
        await idle(pilot)
        assert "it left our warehouse" not in "\n".join(widget.plain_lines), (
            "another thread starts folded"
        )


def _long_thread(n: int) -> list[Message]:
    """Inbound and outbound messages of varied height: Japanese, emoji, several lines, attachments."""
    bodies = (
        "short {i}",
        "line one {i}\nline two\nline three",
        "日本語のメッセージ {i} です。" * 3,
        "emoji 🎉👍🏽 {i} " * 4,
        "a longer message {i} " * 9,
    )
    return [
        Message(
            i,
            1,
            Direction.IN if i % 3 else Direction.OUT,
            bodies[i % len(bodies)].format(i=i),
            author="花子" if i % 3 else "Aiko",
            delivery=Delivery.PENDING if i % 3 == 0 else Delivery.SENT,
            created_at=NOW - timedelta(minutes=n - i),
        )
        for i in range(1, n + 1)
    ]


async def _open(pilot, widget: ThreadView, messages: list[Message]) -> None:
    """The thread shown and focused, as an agent opens it."""
    widget.show(Conversation(1, "wa", 1, "k"), messages, contact_name="花子")
    widget.focus()
    await idle(pilot)


def _screen(widget: ThreadView) -> list[str]:
    return [widget.render_line(y).text for y in range(widget.scrollable_content_region.height)]


def _earlier(widget: ThreadView) -> int:
    """How many older messages the thread's first line says are not wrapped yet (0: none)."""
    found = (
        re.match(r" ↑ ([\d,]+) earlier messages", widget.plain_lines[0]) if widget.lines else None
    )
    return int(found.group(1).replace(",", "")) if found else 0


def _fully_wrapped(widget: ThreadView) -> list[str]:
    """What every wrapped line should be, wrapped again from scratch: folding and unfolding
    the quoted text wraps every message shown anew (call it after reading `plain_lines`)."""
    widget.action_toggle_folded()
    widget.action_toggle_folded()
    return widget.plain_lines


async def test_a_long_thread_opens_with_a_few_screens_and_pages_up_to_its_oldest_message(clock):
    messages = _long_thread(240)
    widget = ThreadView(clock=clock)
    async with Harness(widget).run_test(size=(60, 20)) as pilot:
        await _open(pilot, widget, messages)
        height = widget.scrollable_content_region.height
        assert widget.scroll_y == widget.max_scroll_y  # opens at the newest message
        assert "earlier messages" in widget.plain_lines[0]
        assert len(widget.lines) < 8 * height  # a few screens wrapped, not 240 messages
        above = widget.scroll_offset.y - 1  # the lines above the view, less "earlier messages"
        assert above >= 2 * height  # earlier ones wrapped ahead of the view

        top = round(widget.scroll_y)
        page_above = widget.plain_lines[top - height : top]
        await pilot.press("pageup")
        assert (
            _screen(widget) == page_above
        )  # a page at once, no glide (lines wrapped in above since)
        for _ in range(500):
            if widget.scroll_y == 0 and "earlier messages" not in widget.plain_lines[0]:
                break
            await pilot.press("pageup")
        else:
            raise AssertionError("never reached the oldest message")
        assert "short 1" not in "\n".join(_screen(widget))  # message 1 is "line one 1…"
        assert "line one 1" in "\n".join(_screen(widget)[:3])
        width = widget.scrollable_content_region.width
        assert all(cell_len(line) == width for line in widget.plain_lines)
        assert widget.plain_lines == _fully_wrapped(widget)  # every line where a full wrap puts it


async def test_earlier_messages_wrapped_in_keep_the_view_still_and_marks_update_in_place(clock):
    messages = _long_thread(150)
    widget = ThreadView(clock=clock)
    async with Harness(widget).run_test(size=(60, 20)) as pilot:
        await _open(pilot, widget, messages)
        for _ in range(8):
            await pilot.press("pageup")
        reading = _screen(widget)
        await idle(pilot)  # wrapping ahead goes on between keys…
        assert _screen(widget) == reading  # …without moving what the agent reads

        # a delivery mark on a wrapped reply, one on a reply not wrapped yet, and a new reply
        first = _earlier(widget)  # the oldest message wrapped
        shown = next(m for m in messages[first + 5 :] if m.direction is Direction.OUT)
        hidden = next(m for m in reversed(messages[:first]) if m.direction is Direction.OUT)
        widget.upsert(
            Message(
                shown.id,
                1,
                Direction.OUT,
                shown.body,
                author="Aiko",
                delivery=Delivery.READ,
                created_at=shown.created_at,
            )
        )
        widget.upsert(
            Message(
                hidden.id,
                1,
                Direction.OUT,
                hidden.body,
                author="Aiko",
                delivery=Delivery.FAILED,
                delivery_reason="blocked",
                created_at=hidden.created_at,
            )
        )
        widget.upsert(
            Message(
                999,
                1,
                Direction.OUT,
                "a new reply",
                author="Aiko",
                delivery=Delivery.PENDING,
                created_at=NOW,
            )
        )
        await idle(pilot)
        assert widget.scroll_y < widget.max_scroll_y  # still reading, not yanked to the new reply
        assert widget.plain_lines == _fully_wrapped(widget)
        assert "a new reply" in widget.plain_lines[-2]
        assert sum("✓✓ read" in line for line in widget.plain_lines) == 1

        widget.set_typing(True)
        assert "花子 is typing…" in widget.plain_lines[-1]
        widget.set_typing(False)
        assert widget.plain_lines == _fully_wrapped(widget)

        await pilot.press("home")
        for _ in range(200):
            await pilot.press("pageup")
            if _earlier(widget) == 0 and widget.scroll_y == 0:
                break
        assert "Not delivered: blocked" in "\n".join(widget.plain_lines)  # wrapped as it is now
        assert widget.plain_lines == _fully_wrapped(widget)

        await pilot.press("end")
        assert widget.scroll_y == widget.max_scroll_y
        await pilot.press("t")  # folding still rebuilds everything that is wrapped
        assert widget.plain_lines == _fully_wrapped(widget)


class FocusHarness(Harness):
    CSS = "ThreadView:focus { border: round red; }"


async def test_focusing_the_thread_restyles_its_border_without_wrapping_again(clock):
    conv = Conversation(1, "wa", 1, "k")
    widget = ThreadView(clock=clock)
    async with FocusHarness(widget).run_test(size=(60, 20)) as pilot:
        widget.show(conv, _long_thread(120), contact_name="花子")
        await idle(pilot)
        lines, text = list(widget.lines), widget.plain_lines
        widget.focus()
        await idle(pilot)
        widget.blur()
        await idle(pilot)
        # the very same wrapped lines: nothing was wrapped again
        assert len(widget.lines) == len(lines) and all(
            new is old for new, old in zip(widget.lines, lines)
        )
        assert widget.plain_lines == text
        widget.app.theme = "textual-light"  # the text's colours change: wrapped again
        await wait_until(
            pilot, lambda: not any(new is old for new, old in zip(widget.lines, lines))
        )


async def test_every_thread_line_is_the_pane_width_and_is_drawn_afresh(clock):
    from frontdesk.model import Attachment
    from frontdesk.tui.widgets.lines import text_of

    messages = [
        Message(
            1,
            1,
            Direction.IN,
            "日本語のメッセージです。🎉👍🏽 " * 4,
            author="花子",
            created_at=NOW,
            attachments=[Attachment("請求書.pdf", "application/pdf", 12_345)],
        ),
        Message(
            2,
            1,
            Direction.OUT,
            "We are on it " * 8,
            author="Aiko",
            delivery=Delivery.FAILED,
            delivery_reason="window closed",
            created_at=NOW,
        ),
        Message(
            3,
            1,
            Direction.OUT,
            "a note for Ben",
            author="Aiko",
            private=True,
            mentions=["Ben"],
            created_at=NOW,
        ),
        Message(
            4,
            1,
            Direction.OUT,
            "assigned to Aiko",
            kind=MessageKind.ACTIVITY,
            private=True,
            created_at=NOW,
        ),
    ]
    widget = ThreadView(clock=clock)
    async with Harness(widget).run_test(size=(47, 30)) as pilot:
        widget.show(Conversation(1, "wa", 1, "k"), messages, contact_name="花子", typing=True)
        await idle(pilot)
        width = widget.scrollable_content_region.width
        assert len(widget.lines) > 10
        assert [cell_len(text_of(line)) for line in widget.lines] == [width] * len(widget.lines)
        first, again = widget.render_line(0), widget.render_line(0)
        assert first.text == again.text == text_of(widget.lines[int(widget.scroll_y)])
        assert (
            first is not again
        )  # no Strip kept: Textual's caches on a kept one outlive it in a cycle


async def test_list_rows_are_drawn_afresh_from_what_the_list_keeps(workspace, clock):
    names = {c.id: c.name for c in workspace.contacts}
    widget = ConversationList(clock=clock, contact_name=names.get)
    async with Harness(widget).run_test(size=(50, 12)) as pilot:
        widget.set_conversations(workspace.conversations)
        await idle(pilot)
        first, again = widget.render_line(0), widget.render_line(0)
        assert first.text == again.text == widget.render_row(0, first.cell_length)[0].text
        assert first is not again
