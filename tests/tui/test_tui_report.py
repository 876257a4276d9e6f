"""The report screen (R) as a team lead uses it, and the live queue beside it following the desk."""

from __future__ import annotations

from datetime import timedelta

from frontdesk.desk import DeskError, View
from frontdesk.desk.report import Grouping
from frontdesk.model import ContactRef, Inbound
from frontdesk.tui.screens.report_screen import ReportScreen, report_span
from pilot_helpers import idle, make_app, record_notifications, screen_text, wait_until

SIZE = (140, 40)


def waits(screen: ReportScreen) -> list[int]:
    """The conversations the queue lists as the longest waits, longest first."""
    return [w.id for w in screen.queue.snapshot(screen.clock(), screen.roster).longest]


class AskedReports:
    """Wraps a desk's `report` to record each period and grouping the console asks for."""

    def __init__(self, desk) -> None:
        self.asked: list[tuple] = []
        real = desk.report

        async def report(since, until, by):
            self.asked.append((since, until, Grouping(by)))
            return await real(since, until, by)

        desk.report = report


async def test_a_lead_opens_reports_switches_period_and_grouping_and_closes(desk, clock):
    asked = AskedReports(desk)
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("R")
        await wait_until(pilot, lambda: isinstance(app.screen, ReportScreen), what="the report")
        now = clock()
        assert asked.asked == [(now - timedelta(days=7), now, Grouping.AGENT)]
        assert "Last 7 days" in screen_text(app) and "By agent" in screen_text(app)
        await pilot.press("t")
        await wait_until(pilot, lambda: len(asked.asked) == 2, what="today's report")
        assert asked.asked[-1] == (*report_span("today", now), Grouping.AGENT)
        await wait_until(pilot, lambda: "Today ·" in screen_text(app), what="today's heading")
        await pilot.press("g")
        await wait_until(pilot, lambda: "By channel" in screen_text(app), what="rows by channel")
        assert asked.asked[-1][2] is Grouping.CHANNEL
        await pilot.press("m")
        await wait_until(pilot, lambda: len(asked.asked) == 4, what="30 days")
        assert asked.asked[-1] == (now - timedelta(days=30), now, Grouping.CHANNEL)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ReportScreen), what="closed")


async def test_enter_on_the_longest_wait_opens_it_in_the_console(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("R")
        await wait_until(pilot, lambda: isinstance(app.screen, ReportScreen), what="the report")
        screen = app.screen
        await wait_until(pilot, lambda: screen.queue_ready, what="the queue loaded")
        assert waits(screen) == [1]  # Mia has waited 5 minutes; nobody else waits
        assert "Mia Tanaka" in screen_text(app)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.thread.conversation_id == 1, what="Mia's thread")
        assert not isinstance(app.screen, ReportScreen)
        assert app.conversation_list.current_id == 1


async def test_the_queue_follows_the_change_feed_without_reading_every_conversation(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("R")
        await wait_until(pilot, lambda: isinstance(app.screen, ReportScreen), what="the report")
        screen = app.screen
        await wait_until(pilot, lambda: screen.queue_ready, what="the queue loaded")
        listed: list[View] = []
        conversations = desk.conversations

        async def counting(view=View.ALL, **options):
            listed.append(view)
            return await conversations(view, **options)

        desk.conversations = counting
        clock.advance(minutes=1)
        message = Inbound(
            "q-1", "+15550003", ContactRef("+15550003", "M"), "hello?", created_at=clock()
        )
        await desk.ingest("wa", [message])
        # the bound: the queue shows a change within 1 s
        await wait_until(pilot, lambda: waits(screen) == [1, 3], 1.0, "conversation 3 waiting")
        assert "[bold]Mallory[/bold]" in screen_text(app)  # its contact's name, shown inert
        await desk.reply(1, "Your lamp ships today.")
        await wait_until(pilot, lambda: waits(screen) == [3], 1.0, "Mia answered")
        assert listed == []  # each change read only the conversation it named
        assert "Mia Tanaka" not in screen_text(app)


async def test_a_desk_that_refuses_reports_is_named_and_no_screen_opens(desk, clock):
    async def refuse(since, until, by):
        raise DeskError('reports are for supervisors: ask the admin to set role = "supervisor"')

    desk.report = refuse
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        seen = record_notifications(app)
        await idle(pilot)
        await pilot.press("R")
        await wait_until(pilot, lambda: seen, what="the refusal")
        assert seen == ['reports are for supervisors: ask the admin to set role = "supervisor"']
        assert not isinstance(app.screen, ReportScreen)


def fixed_report(now):
    """A week with known figures: two agents, a quiet weekend, one day without replies."""
    from frontdesk.desk.report import Figures, Period, Point, Report, Row, Stat, Times

    def figures(opened, resolved, first, resolution, csat, sla):
        return Figures(
            opened=opened,
            resolved=resolved,
            messages_in=opened * 3,
            messages_out=opened * 2,
            first_response=Times(
                Stat(opened, first, first * 3, first * 1.5), Stat(opened, first / 2, first, first)
            ),
            resolution=Times(
                Stat(resolved, resolution, resolution * 2, resolution),
                Stat(resolved, resolution / 4, resolution, resolution),
            ),
            ratings=resolved,
            csat=csat,
            sla_met=sla,
            sla_breaches=2,
            responsiveness=0.62,
        )

    days = [now.replace(hour=0, minute=0) - timedelta(days=6 - i) for i in range(7)]
    volume = [12, 15, 9, 14, 3, 2, 11]
    series = [
        Point(day, messages_in=n, opened=n // 2, first_response_median=None if n < 5 else n * 90.0)
        for day, n in zip(days, volume, strict=True)
    ]
    return Report(
        Period(now - timedelta(days=7), now),
        Grouping.AGENT,
        figures(30, 22, 1500.0, 7200.0, 0.86, 0.93),
        rows=[
            Row("Aiko", figures(18, 14, 900.0, 5400.0, 0.9, 0.95)),
            Row("Ben", figures(12, 8, 2400.0, 9000.0, 0.75, 0.9)),
        ],
        series=series,
        conversations=34,
        business_hours=True,
    )


def test_report_screen_snapshot(snap_compare, desk, clock):
    from datetime import UTC

    from pilot_helpers import DialogHarness

    async def make():
        return ReportScreen(desk, fixed_report(clock()), clock=clock, local_tz=UTC)

    async def loaded(pilot):
        await wait_until(pilot, lambda: pilot.app.screen.queue_ready, what="the queue loaded")

    assert snap_compare(DialogHarness(make), terminal_size=SIZE, run_before=loaded)


def test_today_starts_at_local_midnight_and_the_others_count_back_whole_days():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    tokyo = ZoneInfo("Asia/Tokyo")
    now = datetime(2026, 11, 2, 10, 0, tzinfo=ZoneInfo("UTC"))  # 19:00 in Tokyo
    since, until = report_span("today", now, tokyo)
    assert (since, until) == (datetime(2026, 11, 2, 0, 0, tzinfo=tokyo), now)
    assert report_span("7d", now, tokyo) == (now - timedelta(days=7), now)
    assert report_span("30d", now) == (now - timedelta(days=30), now)


async def test_narrow_the_queue_shows_instead_of_the_report_and_still_opens_a_wait(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await idle(pilot)
        await pilot.press("R")
        await wait_until(pilot, lambda: isinstance(app.screen, ReportScreen), what="the report")
        screen = app.screen
        await wait_until(pilot, lambda: screen.queue_ready, what="the queue loaded")
        assert "By agent" in screen_text(app) and "Live queue" not in screen_text(app)
        await pilot.press("l")
        await wait_until(pilot, lambda: "Live queue" in screen_text(app), what="the queue")
        assert "By agent" not in screen_text(app)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.thread.conversation_id == 1, what="Mia's thread")


def test_chart_days_are_named_in_the_zone_the_report_counted_them_in():
    from datetime import datetime

    from frontdesk.desk.report import Point
    from frontdesk.tui.widgets.report_chart import report_zone, tick_label

    utc_midnight = Point(datetime(2026, 12, 1, tzinfo=report_zone("UTC")))
    assert tick_label(utc_midnight, "day", report_zone("UTC")) == "Tue 01"
    tokyo_hour = Point(datetime(2026, 12, 1, 5, tzinfo=report_zone("UTC")))
    assert tick_label(tokyo_hour, "hour", report_zone("Asia/Tokyo")) == "14h"
    assert report_zone("UTC+09:00") is None
    assert tick_label(utc_midnight, "day", None) == "Tue 01"


async def test_b_switches_the_times_to_business_hours_and_back(desk, clock):
    from datetime import UTC

    from pilot_helpers import DialogHarness

    async def make():
        return ReportScreen(desk, fixed_report(clock()), clock=clock, local_tz=UTC)

    app = DialogHarness(make)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ReportScreen), what="the screen")
        tile = app.screen.query_one("#tile-resolution")
        assert "2h00m" in str(tile.render()) and "· calendar time" in screen_text(app)
        await pilot.press("b")
        await wait_until(pilot, lambda: "30m" in str(tile.render()), what="business time")
        assert "· business hours" in screen_text(app)
        await pilot.press("b")
        await wait_until(pilot, lambda: "2h00m" in str(tile.render()), what="calendar again")
