"""The conversation list under live changes: every row on screen shows one conversation's
name and preview together, whatever order the changes move the rows in.

Rows are moved with `place` (two binary searches each) and only rows that show something
else are repainted, so a row whose two lines came from different conversations, or a row
left stale after a reorder, would show here: the test reads the screen as a terminal would
(the screenshot), not the widget's own rendering.
"""

from __future__ import annotations

import asyncio
import html
import os
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pilot_helpers import idle
from textual.app import App, ComposeResult

from frontdesk.desk.views import Sort, sort_conversations, sort_key
from frontdesk.model import ContactRef, Conversation, Inbound
from frontdesk.tui.app import FrontdeskApp
from frontdesk.tui.widgets.conversation_list import ROW_HEIGHT, ConversationList

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)
SIZE = (60, 13)  # an odd height: the last row on screen shows only its first line
COUNT = 12  # twice the rows on screen: rows move in from and out to the scrolled-away part
#: change sequences tried: modest by default; FRONTDESK_LIST_EXAMPLES=500 for the long run
EXAMPLES = int(os.environ.get("FRONTDESK_LIST_EXAMPLES", "60"))


class ListHarness(App[None]):
    CSS = "ConversationList { border: round $primary; }"  # as in the console: content offset by the border

    def __init__(self, widget: ConversationList) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        yield self.widget


def name_of(contact_id: int, revision: int) -> str:
    # CJK and emoji names among them: wide cells must not shift another row's text
    prefix = ("佐藤 美咲", "Ava 🎸", "Mia")[contact_id % 3]
    return f"{prefix} N{contact_id:02d}v{revision}"


def preview_of(conv_id: int, revision: int) -> str:
    return f"P{conv_id:02d}r{revision}"


NAME_TOKEN, PREVIEW_TOKEN = re.compile(r"N\d\dv\d+"), re.compile(r"P\d\dr\d+")


@dataclass
class Desk:
    """What the console's desk would hold: the conversations and the contacts' names."""

    conversations: dict[int, Conversation]
    names: dict[int, str]
    listed: set[int]
    sort: Sort = Sort.ACTIVITY
    revision: int = 0

    def touch(
        self, conv_id: int, minutes: int | None, in_place: bool, rename: bool
    ) -> Conversation:
        """A message or note on `conv_id`: new preview and activity time, as the desk writes them."""
        self.revision += 1
        conv = self.conversations[conv_id]
        if not in_place:  # the store may hand out a new object rather than change the listed one
            conv = self.conversations[conv_id] = replace(conv)
        conv.preview = preview_of(conv_id, self.revision)
        if minutes is not None:
            conv.last_activity_at = NOW + timedelta(minutes=minutes)
            # odd minutes: the customer wrote (waits from then, if not already); even: answered
            conv.waiting_since = (
                (conv.waiting_since or conv.last_activity_at) if minutes % 2 else None
            )
        if rename:
            self.names[conv.contact_id] = name_of(conv.contact_id, self.revision)
        return conv

    def expected(self) -> list[Conversation]:
        return sort_conversations([self.conversations[i] for i in self.listed], self.sort)


def initial_desk() -> Desk:
    conversations = {
        i: Conversation(
            i,
            "wa",
            i,
            f"+1555{i}",
            preview=preview_of(i, 0),
            unread=i % 3,
            last_activity_at=NOW - timedelta(minutes=7 * i),
            waiting_since=NOW - timedelta(minutes=9 * i) if i % 3 else None,
        )
        for i in range(1, COUNT + 1)
    }
    return Desk(conversations, {i: name_of(i, 0) for i in conversations}, set(conversations))


touch = st.tuples(
    st.just("touch"),
    st.lists(st.integers(1, COUNT), min_size=1, max_size=3, unique=True),  # one burst
    st.none()
    | st.integers(-120, 120),  # minutes from NOW: to the top, down the list, or None: kept
    # (a delivery mark, or a message dated before the last activity, changes a row where it is)
    st.booleans(),  # changed in place
    st.booleans(),  # the contact renamed too
)
leave_or_enter = st.tuples(
    st.just("toggle"), st.integers(1, COUNT)
)  # out of the view (filter) and back
keys = st.tuples(
    st.just("keys"), st.lists(st.sampled_from(["j", "k", "home", "end", "pagedown"]), max_size=3)
)
scroll = st.tuples(
    st.just("scroll"), st.integers(0, COUNT * ROW_HEIGHT)
)  # odd offsets too (a wheel)
steps = st.lists(
    st.tuples(st.one_of(touch, touch, leave_or_enter, keys, scroll), st.booleans()),
    min_size=1,
    max_size=12,
)


def screen_lines(app: App) -> list[str]:
    """The screen as a terminal shows it, one string a line, from the SVG screenshot."""
    svg = app.export_screenshot()
    svg = re.sub(r"<style>.*?</style>|<defs>.*?</defs>", "", svg, flags=re.S)
    lines: dict[int, list[str]] = {}
    texts = re.findall(
        r'<text [^>]*?clip-path="url\(#[\w-]*?-line-(\d+)\)"[^>]*>(.*?)</text>', svg, flags=re.S
    )
    for line, text in texts:
        lines.setdefault(int(line), []).append(html.unescape(text))
    return ["".join(parts).replace("\xa0", " ") for _, parts in sorted(lines.items())]


def check_screen(app: App, widget: ConversationList, desk: Desk) -> None:
    """Each line on screen belongs to the conversation the desk puts in that row."""
    expected = desk.expected()
    assert [c.id for c in widget.conversations] == [c.id for c in expected]
    inside = widget.scrollable_content_region
    shown = [line[inside.x :] for line in screen_lines(app)[inside.y : inside.bottom]]
    top = round(widget.scroll_y)
    for y, text in enumerate(shown):
        index, part = divmod(y + top, ROW_HEIGHT)
        if index >= len(expected):
            assert not NAME_TOKEN.search(text) and not PREVIEW_TOKEN.search(text), (y, text)
            continue
        conv = expected[index]
        if part == 0:
            name = desk.names[conv.contact_id]
            assert NAME_TOKEN.findall(text) == NAME_TOKEN.findall(name), (y, text, name)
            assert name in text, (y, text, name)
        else:
            assert PREVIEW_TOKEN.findall(text) == [conv.preview], (y, text, conv.preview)


async def drive(script: list, sort: Sort = Sort.ACTIVITY) -> None:
    desk = initial_desk()
    desk.sort = sort
    widget = ConversationList(
        clock=lambda: NOW, contact_name=lambda contact_id: desk.names[contact_id]
    )
    widget.waiting_times = (
        sort is Sort.WAITING
    )  # as the console sets it: the age column shows the wait
    app = ListHarness(widget)
    key = sort_key(sort)
    async with app.run_test(size=SIZE) as pilot:
        widget.set_conversations(desk.expected(), key)
        widget.focus()
        await idle(pilot)
        check_screen(app, widget, desk)
        for (kind, *args), settle in script:
            if kind == "touch":
                ids, minutes, in_place, rename = args
                placed = [
                    desk.touch(i, None if minutes is None else minutes + n, in_place, rename)
                    for n, i in enumerate(ids)
                ]
                widget.place(ids, [c for c in placed if c.id in desk.listed], key)
            elif kind == "toggle":
                (conv_id,) = args
                desk.listed ^= {conv_id}
                widget.place(
                    [conv_id], [desk.conversations[conv_id]] if conv_id in desk.listed else [], key
                )
            elif kind == "keys":
                await pilot.press(*args[0])
            else:
                widget.scroll_to(y=args[0], animate=False, immediate=True)
            if settle:  # paint now; otherwise the next change comes before the screen is drawn
                await idle(pilot)
                check_screen(app, widget, desk)
        await idle(pilot)
        check_screen(app, widget, desk)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps, st.sampled_from(Sort))
def test_every_row_on_screen_shows_one_conversation_after_live_changes(script, sort):
    asyncio.run(drive(script, sort))


def test_a_note_on_the_top_row_while_another_conversation_moves_to_the_top():
    """The tester's case: a note on the top conversation (Ava's) in the same burst as a
    customer message that moves another conversation (佐藤 美咲's) above it, then the reverse."""
    ava, sato = 2, 3  # name_of: 2 → "Ava 🎸 …", 3 → "佐藤 美咲 …"
    script = [
        (("touch", [ava], 1, True, False), True),  # Ava's conversation to the top
        (("touch", [ava, sato], 2, True, False), True),  # her note, then 佐藤's message above it
        (("touch", [ava], 10, True, False), False),  # another note: Ava back on top …
        (
            ("touch", [sato], 11, False, False),
            True,
        ),  # … and 佐藤 over her before the screen is drawn
    ]
    asyncio.run(drive(script))


async def test_a_note_written_on_the_top_row_while_a_customer_message_moves_another_above_it(
    desk, clock
):
    """The console end to end, at the tester's size: the agent notes on Mia's conversation
    (the top row) while 山田 花子 writes; each row on screen must still read as one conversation."""
    app = FrontdeskApp(desk, clock=clock, cursor_blink=False, local_tz=timezone.utc)
    async with app.run_test(size=(140, 40)) as pilot:
        await idle(pilot)
        listed = app.conversation_list
        assert listed.current_id == 1
        await pilot.press("n", *"refund approved, see ticket", "enter")
        # 山田's message lands in the same frames as the note, before the screen settles
        yamada = ContactRef("hanako@example.jp", "山田 花子 🌸")
        await desk.ingest(
            "mail",
            [
                Inbound(
                    "in-yamada",
                    "hanako@example.jp",
                    yamada,
                    "追跡番号はまだですか？",
                    created_at=clock() + timedelta(seconds=1),
                )
            ],
        )
        await idle(pilot)
        assert [c.id for c in listed.conversations[:2]] == [2, 1]
        rows = screen_lines(app)
        inside = listed.scrollable_content_region
        top_name, top_preview, next_name, next_preview = (
            line[inside.x :] for line in rows[inside.y : inside.y + 4]
        )
        assert (
            "山田" in top_name
            and "追跡番号はまだですか" in top_preview
            and "refund" not in top_preview
        )
        assert "Mia Tanaka" in next_name and "refund approved" in next_preview
        listed.refresh()  # every row drawn afresh from the desk's data: nothing on screen was stale
        await idle(pilot)
        assert screen_lines(app) == rows
