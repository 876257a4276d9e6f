"""Issue 19's metrics on a dozen hand-built conversations, every figure computed by hand.

The period is Mon 23 Mar 2026 00:00 to Wed 1 Apr 00:00, Berlin time: it holds a weekend and
the night clocks go forward (Sun 29 Mar, a 23-hour day). Business hours are Mon–Fri 09–17
Berlin. Times below are UTC unless they say CET (UTC+1) or CEST (UTC+2, from 29 Mar 01:00 UTC).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from frontdesk.desk.report import Grouping, Period, Report, Stat
from frontdesk.desk.report.facts import facts_of
from frontdesk.desk.report.metrics import compute, stat
from frontdesk.desk.sla import SlaPolicy, SlaTarget
from frontdesk.model import (
    Conversation,
    Direction,
    EventKind,
    Message,
    MessageKind,
    Priority,
    Status,
)

BERLIN = ZoneInfo("Europe/Berlin")
UTC = timezone.utc
PERIOD = Period(datetime(2026, 3, 23, tzinfo=BERLIN), datetime(2026, 4, 1, tzinfo=BERLIN))
NOW = datetime(2026, 4, 2, 12, 0, tzinfo=UTC)
SLA = SlaPolicy(
    {
        Priority.NONE: SlaTarget(first=timedelta(minutes=30), next=timedelta(hours=1)),
        Priority.HIGH: SlaTarget(first=timedelta(hours=1), next=timedelta(minutes=30)),
    }
)
BOT = "⚙ FAQ bot"


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A UTC time in March 2026."""
    return datetime(2026, 3, day, hour, minute, second, tzinfo=UTC)


def business_seconds(channel: str, start: datetime, end: datetime) -> float:
    """Seconds of Mon–Fri 09:00–17:00 Berlin between two times (every channel alike)."""
    total, day = 0.0, start.astimezone(BERLIN).date()
    while day <= end.astimezone(BERLIN).date():
        if day.weekday() < 5:
            opens = datetime.combine(day, time(9), BERLIN)
            closes = datetime.combine(day, time(17), BERLIN)
            total += max(0.0, (min(end, closes) - max(start, opens)).total_seconds())
        day += timedelta(days=1)
    return total


class Thread:
    """Builds one conversation and its messages."""

    def __init__(self, conv_id: int, channel: str, created: datetime, **fields) -> None:
        self.conv = Conversation(conv_id, channel, conv_id, f"t{conv_id}", created_at=created)
        for name, value in fields.items():
            setattr(self.conv, name, value)
        self.messages: list[Message] = []

    def _add(self, when: datetime, direction: Direction, author: str, **kw) -> Thread:
        self.messages.append(
            Message(
                len(self.messages) + 1,
                self.conv.id,
                direction,
                "…",
                author=author,
                created_at=when,
                **kw,
            )
        )
        return self

    def inbound(self, when: datetime) -> Thread:
        return self._add(when, Direction.IN, "customer")

    def reply(self, when: datetime, author: str) -> Thread:
        return self._add(when, Direction.OUT, author)

    def note(self, when: datetime, author: str) -> Thread:
        return self._add(when, Direction.OUT, author, private=True)

    def event(self, when: datetime, kind: EventKind, line: str, author: str = "") -> Thread:
        self.messages.append(
            Message(
                len(self.messages) + 1,
                self.conv.id,
                Direction.OUT,
                line,
                kind=MessageKind.ACTIVITY,
                private=True,
                author=author,
                created_at=when,
                event=kind,
            )
        )
        return self

    def resolved(self, when: datetime, who: str) -> Thread:
        return self.event(when, EventKind.STATUS, f"{who} resolved this", who)

    def wrote_again(self, when: datetime) -> Thread:
        return self.event(when, EventKind.STATUS, "Kim wrote again: reopened").inbound(when)


def dozen() -> list[Thread]:
    return [
        # c1: answered in 10 min, again in 30, resolved after 2 h, rated 5
        Thread(1, "whatsapp", at(23, 8), assignee="Aiko", labels=["billing"], team="support",
               status=Status.RESOLVED, survey_sent_at=at(23, 10), rating=5, rated_at=at(23, 10, 30))
        .inbound(at(23, 8)).reply(at(23, 8, 10), "Aiko")
        .inbound(at(23, 9)).reply(at(23, 9, 30), "Aiko").resolved(at(23, 10), "Aiko"),
        # c2: resolved, reopened the next day, resolved again: resolution runs to the last one
        Thread(2, "sms", at(23, 10), assignee="Ben", status=Status.RESOLVED,
               survey_sent_at=at(24, 10), rating=2, rated_at=at(24, 11))
        .inbound(at(23, 10)).reply(at(23, 10, 20), "Ben").resolved(at(23, 11), "Ben")
        .wrote_again(at(24, 9)).reply(at(24, 9, 5), "Ben").resolved(at(24, 10), "Ben"),
        # c3: the bot answers first and hands over at 12:05; the first response counts from then
        Thread(3, "whatsapp", at(24, 12), assignee="Chloé", labels=["billing", "vip"],
               team="support")
        .inbound(at(24, 12)).reply(at(24, 12, 0, 5), BOT).inbound(at(24, 12, 2))
        .event(at(24, 12, 5), EventKind.AUTOMATION,
               f"{BOT} handed this to the agents: Kim asked for a person", BOT)
        .reply(at(24, 12, 15), "Chloé"),
        # c4: Friday 16:30 CET, answered Monday 09:30 CEST: 2 d 16 h, one business hour
        Thread(4, "email", at(27, 15, 30), assignee="Aiko", team="support",
               priority=Priority.HIGH)
        .inbound(at(27, 15, 30)).reply(at(30, 7, 30), "Aiko"),
        # c5: Sunday night as the clocks go forward (01:30 CET → 03:30 CEST): one hour, no business
        Thread(5, "sms", at(29, 0, 30), assignee="Ben")
        .inbound(at(29, 0, 30)).reply(at(29, 1, 30), "Ben"),
        # c6: waiting unanswered past its first-response target
        Thread(6, "whatsapp", at(31, 10), assignee="Chloé", labels=["vip"], team="support",
               priority=Priority.HIGH)
        .inbound(at(31, 10)),
        # c7: answered in 5 minutes
        Thread(7, "sms", at(30, 8), assignee="Ben").inbound(at(30, 8)).reply(at(30, 8, 5), "Ben"),
        # c8: created before the period, resolved in it after 3 d 2 h
        Thread(8, "email", at(20, 10), assignee="Aiko", labels=["billing"], team="support",
               status=Status.RESOLVED)
        .inbound(at(20, 10)).reply(at(20, 11), "Aiko").resolved(at(23, 12), "Aiko"),
        # c9: an automated reply and a note answer nobody; Ben's second reply answers nothing
        Thread(9, "whatsapp", at(25, 9), assignee="Ben", team="support")
        .inbound(at(25, 9)).reply(at(25, 9, 0, 1), "⚙ auto-reply").note(at(25, 9, 1), "Ben")
        .reply(at(25, 9, 20), "Ben").reply(at(25, 9, 25), "Ben"),
        # c10: snoozed and woken by hand: not a reopen; first response exactly on its target
        Thread(10, "sms", at(25, 10), assignee="Chloé")
        .inbound(at(25, 10)).reply(at(25, 10, 30), "Chloé")
        .event(at(25, 10, 31), EventKind.SNOOZED, "Chloé snoozed this until Thu 26 Mar 09:00", "Chloé")
        .event(at(25, 12), EventKind.STATUS, "Chloé reopened this", "Chloé"),
        # c11: the bot still holds it: nobody waits for a person
        Thread(11, "whatsapp", at(26, 10), status=Status.BOT)
        .inbound(at(26, 10)).reply(at(26, 10, 0, 5), BOT),
        # c12: answered in 14 min, resolved, reopened and waiting again past its next target
        Thread(12, "email", at(26, 8), assignee="Aiko", labels=["billing"], team="support",
               survey_sent_at=at(26, 9))
        .inbound(at(26, 8)).reply(at(26, 8, 14), "Aiko").resolved(at(26, 9), "Aiko")
        .wrote_again(at(26, 10)),
    ]  # fmt: skip


def report(grouping: Grouping = Grouping.AGENT, hours: bool = True) -> Report:
    facts = [
        (t.conv, facts_of(t.messages, t.conv.created_at.timestamp(), len(t.messages)))
        for t in dozen()
    ]
    return compute(
        facts,
        PERIOD,
        grouping,
        sla=SLA,
        business_seconds=business_seconds if hours else None,
        tz=BERLIN,
        now=NOW,
    )


def test_the_business_clock_of_these_tests():
    assert at(29, 0).astimezone(BERLIN).weekday() == 6  # the clocks go forward on a Sunday
    friday_to_monday = business_seconds("email", at(27, 15, 30), at(30, 7, 30))
    assert friday_to_monday == 3600  # Fri 16:30–17:00 CET and Mon 09:00–09:30 CEST
    assert business_seconds("sms", at(29, 0, 30), at(29, 1, 30)) == 0


def test_volume():
    f = report().figures
    assert (f.opened, f.resolved, f.reopened) == (11, 4, 2)  # c8 opened before; c10 not reopened
    assert (f.messages_in, f.messages_out) == (15, 15)  # notes and events are not messages


def test_first_response_in_calendar_and_business_time():
    f = report().figures.first_response
    # c7 300, c1 600, c3 600 (from the handoff), c12 840, c2 1200, c9 1200, c10 1800, c5 3600, c4 230400
    assert f.calendar == Stat(9, 1200, 230400, 240540 / 9)
    # business: c5 0, c7 300, c1 600, c3 600, c12 840, c2 1200, c9 1200, c10 1800, c4 3600
    assert f.business == Stat(9, 840, 3600, 10140 / 9)


def test_reply_time_counts_every_reply_that_answered():
    f = report().figures.reply
    # the first responses, and c1's 1800 and c2's 300 after the customer wrote again
    assert f.calendar == Stat(11, 1200, 3600, 242640 / 11)
    assert f.business == Stat(11, 840, 1800, 12240 / 11)


def test_resolution_runs_to_the_last_resolution():
    f = report().figures.resolution
    # c1 2 h; c2 Mon 10:00 → Tue 10:00 (reopened between); c8 3 d 2 h; c12 is open again
    assert f.calendar == Stat(3, 86400, 266400, 120000)
    # c1 Mon 09–11; c2 Mon 11–17 + Tue 09–11; c8 Fri 11–17 + Mon 09–13 (CET)
    assert f.business == Stat(3, 28800, 36000, 24000)


def test_without_business_hours_business_time_is_calendar_time():
    f = report(hours=False).figures
    assert f.first_response.business == f.first_response.calendar
    assert report(hours=False).business_hours is False


def test_csat():
    f = report().figures
    assert (f.surveys_sent, f.ratings, f.ratings_good) == (3, 2, 1)
    assert f.csat == 0.5
    assert f.survey_response == pytest.approx(2 / 3)


def test_sla():
    f = report().figures
    assert (f.sla_first, f.sla_first_met) == (9, 7)  # c4 and c5 missed; c10 exactly on time
    assert (f.sla_next, f.sla_next_met) == (2, 2)
    assert f.sla_breaches == 4  # c4, c5, and c6 and c12 still waiting past due
    assert f.sla_met == 9 / 11


def test_responsiveness_over_the_seven_days_before_the_end():
    f = report().figures
    # from Tue 24 Mar 23:00 CET: c4 c5 c6 c7 c9 c10 c12 (c3's wait began at 13:05 that day,
    # the bot still holds c11); within 15 minutes: c7 and c12
    assert (f.answered_15m, f.answerable_15m) == (2, 7)
    assert f.responsiveness == 2 / 7


def test_by_agent_responses_count_for_who_wrote_the_rest_for_the_assignee():
    rows = {row.key: row.figures for row in report(Grouping.AGENT).rows}
    assert list(rows) == ["Aiko", "Ben", "Chloé", ""]
    aiko, ben, chloe, nobody = rows["Aiko"], rows["Ben"], rows["Chloé"], rows[""]
    assert (aiko.opened, aiko.resolved, aiko.reopened) == (3, 3, 1)
    assert (aiko.messages_in, aiko.messages_out) == (5, 4)
    assert aiko.first_response.calendar == Stat(3, 840, 230400, (600 + 840 + 230400) / 3)
    assert (aiko.surveys_sent, aiko.ratings, aiko.csat) == (2, 1, 1.0)
    assert (ben.opened, ben.resolved, ben.reopened, ben.messages_out) == (4, 1, 1, 7)
    assert (ben.csat, ben.sla_first, ben.sla_first_met) == (0.0, 4, 3)
    assert (chloe.opened, chloe.messages_in, chloe.messages_out) == (3, 4, 3)
    assert (nobody.opened, nobody.messages_in, nobody.messages_out) == (1, 1, 1)
    assert nobody.first_response.calendar == Stat()


def test_by_channel_label_and_team():
    channel = {row.key: row.figures for row in report(Grouping.CHANNEL).rows}
    assert {k: f.opened for k, f in channel.items()} == {"email": 2, "sms": 4, "whatsapp": 5}
    assert channel["sms"].responsiveness == 1 / 3  # c5 no, c7 yes, c10 no
    label = {row.key: row.figures for row in report(Grouping.LABEL).rows}
    assert {k: (f.opened, f.resolved) for k, f in label.items()} == {
        "billing": (3, 3),  # a conversation counts under each of its labels
        "vip": (2, 0),
        "": (7, 1),
    }
    team = {row.key: row.figures for row in report(Grouping.TEAM).rows}
    assert {k: f.opened for k, f in team.items()} == {"support": 6, "": 5}  # c1 c3 c4 c6 c9 c12


def test_by_day_in_local_time_across_the_clock_change():
    r = report(Grouping.DAY)
    days = {row.key: row.figures for row in r.rows}
    sunday = days["2026-03-29"]  # c5: 01:30 CET, answered 03:30 CEST
    assert (sunday.opened, sunday.messages_in, sunday.messages_out) == (1, 1, 1)
    assert sunday.first_response.calendar == Stat(1, 3600, 3600, 3600)
    assert days["2026-03-23"].resolved == 3  # c1, c2 and c8
    assert len(r.series) == 9 and r.series_step == "day"
    starts = [p.at for p in r.series]
    assert starts[0] == datetime(2026, 3, 23, tzinfo=BERLIN)
    assert starts[7].timestamp() - starts[6].timestamp() == 23 * 3600  # Sunday 29 March
    assert sum(p.messages_in for p in r.series) == 15
    assert r.series[0].first_response_median == 900  # c1 600, c2 1200


def test_by_hour_in_local_time():
    r = report(Grouping.HOUR)
    hours = {row.key: row.figures for row in r.rows}
    assert hours["2026-03-23 09:00"].opened == 1  # c1 at 08:00 UTC
    assert hours["2026-03-29 03:00"].messages_out == 1  # c5's reply at 01:30 UTC
    assert "2026-03-29 02:00" not in hours  # that hour did not happen in Berlin
    assert r.series_step == "hour" and len(r.series) == 9 * 24 - 1


def test_percentiles_by_nearest_rank():
    assert stat([]) == Stat()
    assert stat([5]) == Stat(1, 5, 5, 5)
    assert stat([1, 2, 3, 4]) == Stat(4, 2.5, 4, 2.5)
    assert stat(range(1, 11)).p90 == 9
    assert stat(range(1, 12)).p90 == 10


def test_a_period_counts_what_happened_in_it():
    only_c1_day = Period(datetime(2026, 3, 23, tzinfo=BERLIN), datetime(2026, 3, 24, tzinfo=BERLIN))
    facts = [(t.conv, facts_of(t.messages, t.conv.created_at.timestamp(), 0)) for t in dozen()]
    f = compute(facts, only_c1_day, Grouping.AGENT, now=NOW).figures
    assert (f.opened, f.resolved, f.messages_in) == (2, 3, 3)  # c1, c2; c8 resolved that day
    assert f.reply.calendar.count == 3  # c1's two, c2's first
    assert series_total(compute(facts, only_c1_day, Grouping.DAY, now=NOW)) == 3


def series_total(r: Report) -> int:
    return sum(p.messages_in for p in r.series)


def test_a_survey_answer_and_a_resolved_conversation_wait_for_nobody():
    rated = (
        Thread(21, "sms", at(26, 8), status=Status.RESOLVED, priority=Priority.HIGH,
               survey_sent_at=at(26, 9, 1), rating=4, rated_at=at(26, 9, 30))
        .inbound(at(26, 8)).reply(at(26, 8, 5), "Ben").resolved(at(26, 9), "Ben")
        .reply(at(26, 9, 1), "⚙ CSAT").inbound(at(26, 9, 30))
        .event(at(26, 9, 30), EventKind.RATED, "Kim rated this 4/5")
    )  # fmt: skip
    spam = Thread(22, "sms", at(25, 8), status=Status.RESOLVED, priority=Priority.HIGH)
    spam.inbound(at(25, 8)).resolved(at(25, 8, 1), "Ben")
    facts = [
        (t.conv, facts_of(t.messages, t.conv.created_at.timestamp(), 0)) for t in (rated, spam)
    ]
    f = compute(facts, PERIOD, Grouping.AGENT, sla=SLA, now=NOW).figures
    assert (f.messages_in, f.messages_out, f.ratings, f.csat) == (3, 2, 1, 1.0)
    assert f.sla_breaches == 0 and (f.sla_first, f.sla_first_met) == (1, 1)
    assert (f.answered_15m, f.answerable_15m) == (1, 1)  # the spam was never waited on
    assert facts[0][1].waiting_from is None


def test_an_sla_counted_in_each_channels_business_hours():
    asked: list[str] = []

    def after(channel: str, start: datetime, span: timedelta) -> datetime:
        asked.append(channel)  # a day later on sms, as if it opened only then
        return start + span + (timedelta(days=1) if channel == "sms" else timedelta())

    hours_sla = SlaPolicy(SLA.targets, after)
    facts = [(t.conv, facts_of(t.messages, t.conv.created_at.timestamp(), 0)) for t in dozen()]
    f = compute(facts, PERIOD, Grouping.AGENT, sla=hours_sla, now=NOW).figures
    assert (f.sla_first, f.sla_first_met) == (9, 8)  # c5 (sms, 1 h) is now in time; c4 is not
    assert f.sla_breaches == 3 and {"sms", "email", "whatsapp"} <= set(asked)


def test_business_time_is_asked_for_each_span_with_its_channel():
    seen: set[str] = set()

    def by_channel(channel: str, start: datetime, end: datetime) -> float:
        seen.add(channel)
        return 0.0 if channel == "email" else (end - start).total_seconds()

    facts = [(t.conv, facts_of(t.messages, t.conv.created_at.timestamp(), 0)) for t in dozen()]
    r = compute(facts, PERIOD, Grouping.AGENT, business_seconds=by_channel, now=NOW)
    # email's first responses (c4, c12) count 0 in business time
    assert r.figures.first_response.business == Stat(9, 600, 3600, (240540 - 230400 - 840) / 9)
    assert seen == {"email", "sms", "whatsapp"} and r.business_hours
