"""Details an agent meets in daily use: what the ages in the list mean, small terminals, the composer's footer."""

from __future__ import annotations

from frontdesk.desk import Sort
from frontdesk.tui.app import FrontdeskApp
from pilot_helpers import settle

SIZE = (140, 40)


def make_app(desk, clock, **kw) -> FrontdeskApp:
    return FrontdeskApp(desk, clock=clock, cursor_blink=False, **kw)


def row_text(app, conv_id: int) -> str:
    view_list = app.conversation_list
    index = next(i for i, c in enumerate(view_list.conversations) if c.id == conv_id)
    first, _ = view_list.render_row(index, 60)
    return first.text


async def test_longest_waiting_sort_shows_how_long_each_customer_has_waited(desk, clock):
    """Conversation 1: the customer wrote 5 minutes ago, then a note 2 minutes ago (activity 3m in
    the list's data); conversation 2 is answered."""
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert row_text(app, 1).rstrip().endswith("3m")  # latest activity first: the activity's age
        assert row_text(app, 2).rstrip().endswith("2h")
        await pilot.press("s")
        await settle(pilot)
        assert app.sort is Sort.WAITING
        assert row_text(app, 1).rstrip().endswith("5m")  # waiting since the unanswered message
        assert row_text(app, 2).rstrip().endswith("—")  # answered: nobody is waiting
        await pilot.press("s")
        await settle(pilot)
        assert row_text(app, 1).rstrip().endswith("3m")
