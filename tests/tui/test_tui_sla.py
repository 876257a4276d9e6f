"""SLAs in the console: time left on the row, the breach mark and alert, the Breaching filter."""

from __future__ import annotations

from datetime import timedelta

import pytest

from frontdesk.desk.sla import SlaPolicy, SlaTarget
from frontdesk.model import Priority
from frontdesk.tui.notify import NotifySettings
from frontdesk.tui.screens.filter_dialog import FilterDialog
from pilot_helpers import idle, make_app, wait_until, TerminalRecorder

SIZE = (140, 40)
# conversation 1 (Mia, unassigned, no priority) has waited 5 minutes; 2 is answered, 3 not waiting
POLICY = SlaPolicy({Priority.NONE: SlaTarget(first=timedelta(minutes=15))})


def second_line(app, conv_id: int) -> str:
    rows = app.conversation_list
    index = next(i for i, c in enumerate(rows.conversations) if c.id == conv_id)
    return rows.render_row(index, 70)[1].text


@pytest.fixture
def desk(make_desk):
    """The small workspace's desk with an SLA of 15 minutes for a first reply."""
    return make_desk(sla=POLICY)


async def test_an_agent_sees_time_left_then_the_breach_alerts_and_filters(desk, clock):
    terminal = TerminalRecorder()
    app = make_app(
        desk,
        clock,
        terminal=terminal,
        notifications=NotifySettings("mine-and-unassigned", True, "osc9", quiet_seconds=0),
    )
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        assert "⏱10m" in second_line(app, 1)
        for answered_or_not_waiting in (2, 3):
            assert "⏱" not in second_line(app, answered_or_not_waiting)
        await pilot.press(
            "j"
        )  # reading conversation 2: an alert about one on screen says nothing new
        await wait_until(pilot, lambda: app.thread.conversation_id == 2)
        clock.advance(minutes=11)
        await desk.check_sla()  # what the desk's SLA clock does at the due time
        await wait_until(pilot, lambda: terminal.bells == 1)
        assert any("SLA breached" in s for s in terminal.written if s.startswith("\x1b]9;"))
        await wait_until(pilot, lambda: "SLA +1m" in second_line(app, 1))
        await pilot.press("f")
        await wait_until(pilot, lambda: isinstance(app.screen, FilterDialog))
        await pilot.press("tab", "tab", "end", "space", "enter")
        await wait_until(pilot, lambda: [c.id for c in app.conversation_list.conversations] == [1])
        await desk.reply(1, "Looking into it now")
        await wait_until(pilot, lambda: app.conversation_list.conversations == [])
