"""Paging, driven with Pilot: the list asks `desk.more` as it nears its end, one call at a time."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from conftest import NOW, Workspace
from frontdesk.desk import ChangeKind, Filters, Sort, View
from frontdesk.desk.changes import Broker, Change
from frontdesk.model import Contact, Conversation, Identity
from frontdesk.tui.widgets.conversation_list import PAGE_AHEAD
from pilot_helpers import idle, make_app, record_notifications, wait_until

SIZE = (140, 40)
PAGE = 25  # a Chatwoot list page


@pytest.fixture
def workspace() -> Workspace:
    """Sixty open conversations, newest first by id (1 is the latest activity)."""
    contacts = [
        Contact(n, f"Customer {n}", identities=[Identity("wa", f"+1555{n:04}")])
        for n in range(1, 61)
    ]
    conversations = [
        Conversation(
            n,
            "wa",
            n,
            f"+1555{n:04}",
            preview=f"question {n}",
            last_activity_at=NOW - timedelta(minutes=n),
        )
        for n in range(1, 61)
    ]
    return Workspace(contacts, conversations, [])


class Pages:
    """Stands in for a paging server on an in-process desk: its lists show `PAGE` rows a page
    loaded, `more` loads one more page; `calls` records each call, `gate` holds them."""

    def __init__(self, desk) -> None:
        self.inner = desk.conversations
        self.loaded = PAGE
        self.calls: list[tuple[View, Filters]] = []
        self.running = 0
        self.most_running = 0
        self.gate: asyncio.Event | None = None
        self.fail: Exception | None = None
        desk.conversations = self.conversations
        desk.more = self.more

    async def conversations(self, view=View.ALL, *, sort=Sort.ACTIVITY, filters=Filters()):
        return (await self.inner(view, sort=sort, filters=filters))[: self.loaded]

    async def more(self, view=View.ALL, filters=Filters()) -> bool:
        self.calls.append((view, filters))
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            if self.gate is not None:
                await self.gate.wait()
            if self.fail is not None:
                raise self.fail
            total = len(await self.inner(view, sort=None, filters=filters))
            if self.loaded >= total:
                return False
            self.loaded += PAGE
            return True
        finally:
            self.running -= 1


def rows(app) -> int:
    return len(app.conversation_list.conversations)


async def test_nearing_the_end_loads_the_next_page_and_keeps_the_cursor(desk, clock):
    pages = Pages(desk)
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        # the first page's last rows are on screen: the second page comes at once
        await wait_until(pilot, lambda: rows(app) == 2 * PAGE, what="the second page")
        assert pages.calls == [(View.ALL, Filters())]
        for _ in range(2 * PAGE - PAGE_AHEAD - 2):
            await pilot.press("down")
        await idle(pilot)
        assert len(pages.calls) == 1 and rows(app) == 2 * PAGE
        await pilot.press("down")  # within PAGE_AHEAD rows of the last
        await wait_until(pilot, lambda: rows(app) == 60, what="the last page")
        assert app.conversation_list.current_id == 2 * PAGE - PAGE_AHEAD  # it stayed on its row
        await pilot.press("end")
        await wait_until(pilot, lambda: len(pages.calls) == 3, what="the call past the last page")
        await pilot.press("up", "down", "end")
        await idle(pilot)
        assert len(pages.calls) == 3  # the third answered False: no more asking for this view


async def test_one_call_at_a_time_however_often_the_list_nears_its_end(desk, clock):
    pages = Pages(desk)
    pages.gate = asyncio.Event()
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: pages.running == 1, what="the call")
        await pilot.press("end", "up", "down", "up", "end")
        app.conversation_list.scroll_end(animate=False)
        await idle(pilot)
        assert len(pages.calls) == 1
        pages.gate.set()
        await wait_until(pilot, lambda: rows(app) == 2 * PAGE, what="the second page")
        assert app.conversation_list.current_id == PAGE  # End went to the last row then
        assert pages.most_running == 1


async def test_a_desk_that_holds_everything_is_asked_once_per_view_and_after_a_reset(
    desk, clock, monkeypatch
):
    calls: list[View] = []

    async def more(view=View.ALL, filters=Filters()) -> bool:
        calls.append(view)
        return False  # the in-process desk's answer

    monkeypatch.setattr(desk, "more", more)
    feed = Broker()
    monkeypatch.setattr(desk, "subscribe", feed.subscribe)
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("end", "up", "end")
        await wait_until(pilot, lambda: calls == [View.ALL], what="one call")
        await pilot.press("up", "end", "home", "end")
        await idle(pilot)
        assert calls == [View.ALL]
        await pilot.press("6")  # resolved: none, an empty list asks nothing
        await pilot.press("3", "end")
        await wait_until(pilot, lambda: calls == [View.ALL, View.ALL], what="asked again")
        feed.publish([Change(ChangeKind.RESET)])
        await wait_until(pilot, lambda: len(calls) == 3, what="asked after a reset")
        await pilot.press("up", "end")
        await idle(pilot)
        assert len(calls) == 3


async def test_a_failing_call_is_said_once_and_not_repeated(desk, clock):
    pages = Pages(desk)
    pages.fail = ConnectionError("Chatwoot unreachable: connection refused")
    app = make_app(desk, clock)
    seen = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: len(pages.calls) == 1 and not pages.running, what="call")
        await pilot.press("end", "up", "end", "up", "end")
        await idle(pilot)
        assert len(pages.calls) == 1 and rows(app) == PAGE
        assert seen == ["Chatwoot unreachable: connection refused"]


async def test_scrolling_the_list_to_its_end_loads_more_where_it_was_scrolled(desk, clock):
    pages = Pages(desk)
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: rows(app) == 2 * PAGE, what="the second page")
        view_list = app.conversation_list
        view_list.scroll_end(animate=False, immediate=True)  # the wheel: the cursor stays on 1
        shown = view_list.rows_shown
        await wait_until(pilot, lambda: rows(app) == 60, what="the last page")
        assert view_list.current_id == 1 and len(pages.calls) == 3  # the third: no more
        assert view_list.rows_shown == shown  # what the agent scrolled to stays on screen


async def test_a_view_shown_while_a_call_runs_is_asked_for_once_it_ends(desk, clock):
    pages = Pages(desk)
    pages.gate = asyncio.Event()
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: pages.running == 1, what="the call for All open")
        await pilot.press("2")  # Unassigned: its first rows end on screen too
        await idle(pilot)
        assert pages.calls == [(View.ALL, Filters())]
        pages.gate.set()
        await wait_until(pilot, lambda: len(pages.calls) == 2, what="the call for Unassigned")
        assert pages.calls[1] == (View.UNASSIGNED, Filters()) and pages.most_running == 1
