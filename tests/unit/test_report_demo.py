"""`frontdesk demo`'s history makes a plausible week of reports: replies with a spread, surveys
and ratings, resolutions and a reopen, for each demo agent."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from frontdesk.backends.demo_workspace import generate_workspace
from frontdesk.desk import Desk
from frontdesk.desk.report import Grouping
from frontdesk.store import Store

NOW = datetime(2026, 12, 6, 21, 0, tzinfo=timezone.utc)


async def test_a_week_of_demo_history_reports_plausible_figures(tmp_path):
    ws = generate_workspace(1, now=NOW)
    with Store.open(tmp_path / "demo") as store:
        desk = Desk(store, agent="Aiko", agents=["Ben", "Chloé"], clock=lambda: NOW)
        await desk.load_workspace(ws.contacts, ws.conversations, ws.messages)
        week = await desk.report(NOW - timedelta(days=7), NOW, Grouping.AGENT)
        fortnight = await desk.report(NOW - timedelta(days=15), NOW, Grouping.DAY)
    f = week.figures
    assert f.opened >= 30 and f.resolved >= 5 and f.messages_in > f.opened
    first = f.first_response.calendar
    assert 60 <= first.median <= 3 * 3600 and first.p90 > 2 * first.median  # a long tail
    assert 0.1 <= f.responsiveness <= 0.9
    assert f.ratings >= 2 and 0 < f.csat <= 1 and f.surveys_sent > f.ratings
    assert 3600 <= f.resolution.calendar.median <= 2 * 86400
    rows = {row.key: row.figures for row in week.rows}
    assert all(rows[agent].first_response.calendar.count >= 5 for agent in ("Aiko", "Ben", "Chloé"))
    assert fortnight.figures.reopened >= 1 and fortnight.figures.ratings >= 5
    assert sum(1 for point in fortnight.series if point.messages_in) >= 10  # most days are busy
