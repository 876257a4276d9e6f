"""The figures of a report from conversations' facts (pure): the definitions of issue 19.

Each fact counts in the period when it happened: a response when it was sent, a resolution
when it was made, a rating when it came. README "Reports" defines every figure.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from statistics import fmean, median

from frontdesk.desk.report.facts import ConvFacts, is_person
from frontdesk.desk.report.figures import (
    Figures,
    Grouping,
    Period,
    Point,
    Report,
    Row,
    Stat,
    Times,
)
from frontdesk.desk.sla import SlaPolicy

BusinessSeconds = Callable[[datetime, datetime], float]
"""Seconds of business hours between two times (desk.automation.hours' Hours.business_seconds)."""
RESPONSIVE_WITHIN = timedelta(minutes=15)
RESPONSIVE_OVER = timedelta(days=7)
GOOD_RATING = 4
HOURLY_UP_TO = timedelta(days=2)
"""A period this short (or rows by hour) is charted per hour, else per day."""


def calendar_seconds(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds()


def stat(values: Iterable[float]) -> Stat:
    """Count, median, p90 (nearest rank: the smallest value at or above 90 % of them), mean."""
    ordered = sorted(values)
    if not ordered:
        return Stat()
    rank = math.ceil(0.9 * len(ordered)) - 1
    return Stat(len(ordered), median(ordered), ordered[rank], fmean(ordered))


@dataclass(slots=True)
class _Spans:
    calendar: list[float] = field(default_factory=list)
    business: list[float] = field(default_factory=list)

    def times(self) -> Times:
        return Times(stat(self.calendar), stat(self.business))


@dataclass(slots=True)
class _Tally:
    """What one group gathers before it becomes Figures."""

    opened: set[int] = field(default_factory=set)
    resolved: set[int] = field(default_factory=set)
    reopened: set[int] = field(default_factory=set)
    messages_in: int = 0
    messages_out: int = 0
    first: _Spans = field(default_factory=_Spans)
    reply: _Spans = field(default_factory=_Spans)
    resolution: _Spans = field(default_factory=_Spans)
    surveys: int = 0
    ratings: int = 0
    good: int = 0
    sla_first: int = 0
    sla_first_met: int = 0
    sla_next: int = 0
    sla_next_met: int = 0
    breaches: int = 0
    answerable: int = 0
    answered: int = 0

    def figures(self) -> Figures:
        met, due = self.sla_first_met + self.sla_next_met, self.sla_first + self.sla_next
        return Figures(
            opened=len(self.opened),
            resolved=len(self.resolved),
            reopened=len(self.reopened),
            messages_in=self.messages_in,
            messages_out=self.messages_out,
            first_response=self.first.times(),
            reply=self.reply.times(),
            resolution=self.resolution.times(),
            surveys_sent=self.surveys,
            ratings=self.ratings,
            ratings_good=self.good,
            csat=_share(self.good, self.ratings),
            survey_response=_share(self.ratings, self.surveys),
            sla_first=self.sla_first,
            sla_first_met=self.sla_first_met,
            sla_next=self.sla_next,
            sla_next_met=self.sla_next_met,
            sla_breaches=self.breaches,
            sla_met=_share(met, due),
            answered_15m=self.answered,
            answerable_15m=self.answerable,
            responsiveness=_share(self.answered, self.answerable),
        )


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


class _Keys:
    """The group(s) a fact of one conversation counts in, for the report's grouping."""

    def __init__(self, grouping: Grouping, tz: tzinfo) -> None:
        self.grouping, self.tz = grouping, tz

    def of(self, facts: ConvFacts, at: datetime, author: str | None = None) -> tuple[str, ...]:
        """`author`: who did it (a response, a resolution); by agent it counts for them when a
        person did it, else for the conversation's assignee."""
        g = self.grouping
        if g is Grouping.AGENT:
            return (author if author and is_person(author) else facts.assignee,)
        if g is Grouping.CHANNEL:
            return (facts.channel,)
        if g is Grouping.TEAM:
            return (facts.team,)
        if g is Grouping.LABEL:
            return facts.labels or ("",)
        return (bucket_label(bucket_start(at, g is Grouping.HOUR, self.tz), g is Grouping.HOUR),)


def bucket_start(at: datetime, hourly: bool, tz: tzinfo) -> datetime:
    """The start of `at`'s local day or hour, as an aware datetime in `tz`."""
    local = at.astimezone(tz)
    if hourly:
        # by the instant, so the hour repeated when clocks go back stays two hours
        return (
            at
            - timedelta(minutes=local.minute, seconds=local.second, microseconds=local.microsecond)
        ).astimezone(tz)
    midnight = datetime(local.year, local.month, local.day)
    return midnight.replace(tzinfo=tz).astimezone(timezone.utc).astimezone(tz)


def bucket_label(start: datetime, hourly: bool) -> str:
    """ "2026-12-01" or "2026-12-01 14:00", local time (the hour repeated when clocks go back
    shares its row; the series keeps the two apart)."""
    return start.strftime("%Y-%m-%d %H:00" if hourly else "%Y-%m-%d")


class _Report:
    """Gathers the facts of every conversation into the headline, the groups and the series."""

    def __init__(
        self,
        period: Period,
        grouping: Grouping,
        sla: SlaPolicy | None,
        business_seconds: BusinessSeconds,
        tz: tzinfo,
        now: datetime,
    ) -> None:
        self.period, self.sla, self.business, self.tz = period, sla, business_seconds, tz
        self.end = min(period.until, now)  # waits are judged as of then
        self.keys = _Keys(grouping, tz)
        self.whole = _Tally()
        self.groups: dict[str, _Tally] = {}
        self.hourly = grouping is Grouping.HOUR or period.until - period.since <= HOURLY_UP_TO
        self.series: dict[datetime, tuple[_Tally, list[float]]] = {}
        self.responsive = Period(period.until - RESPONSIVE_OVER, period.until)

    def tallies(self, facts: ConvFacts, at: datetime, author: str | None = None) -> list[_Tally]:
        found = [self.whole]
        for key in self.keys.of(facts, at, author):
            found.append(self.groups.setdefault(key, _Tally()))
        return found

    def point(self, at: datetime) -> tuple[_Tally, list[float]]:
        start = bucket_start(at, self.hourly, self.tz)
        return self.series.setdefault(start, (_Tally(), []))

    def spans(self, into: _Spans, start: datetime, end: datetime) -> None:
        into.calendar.append(calendar_seconds(start, end))
        into.business.append(self.business(start, end))

    def add(self, facts: ConvFacts) -> None:
        period = self.period
        if facts.created_at in period:
            for t in self.tallies(facts, facts.created_at):
                t.opened.add(facts.id)
            self.point(facts.created_at)[0].opened.add(facts.id)
        for at in facts.messages_in:
            if at in period:
                for t in self.tallies(facts, at):
                    t.messages_in += 1
                self.point(at)[0].messages_in += 1
        for out in facts.messages_out:
            if out.at in period:
                for t in self.tallies(facts, out.at, out.author):
                    t.messages_out += 1
                self.point(out.at)[0].messages_out += 1
        self._responses(facts)
        self._resolutions(facts)
        self._csat(facts)
        self._responsiveness(facts)

    def _responses(self, facts: ConvFacts) -> None:
        for r in facts.responses:
            due = self._due(facts, r.waited_from, r.first)
            if r.at in self.period:
                for t in self.tallies(facts, r.at, r.author):
                    self.spans(t.reply, r.waited_from, r.at)
                    if r.first:
                        self.spans(t.first, r.waited_from, r.at)
                    if due is not None:
                        met = r.at <= due
                        if r.first:
                            t.sla_first, t.sla_first_met = t.sla_first + 1, t.sla_first_met + met
                        else:
                            t.sla_next, t.sla_next_met = t.sla_next + 1, t.sla_next_met + met
                        t.breaches += not met
                if r.first:
                    self.point(r.at)[1].append(calendar_seconds(r.waited_from, r.at))
        if facts.waiting_from is not None:
            due = self._due(facts, facts.waiting_from, facts.first_pending)
            if due is not None and due in Period(self.period.since, self.end):
                for t in self.tallies(facts, due):
                    t.breaches += 1

    def _due(self, facts: ConvFacts, start: datetime, first: bool) -> datetime | None:
        if self.sla is None:
            return None
        target = self.sla.targets.get(facts.priority)
        span = None if target is None else (target.first if first else target.next)
        if span is None:
            return None
        return self.sla.after(start, span) if self.sla.after else start + span

    def _resolutions(self, facts: ConvFacts) -> None:
        for s in facts.resolutions:
            if s.at in self.period:
                for t in self.tallies(facts, s.at, s.author):
                    t.resolved.add(facts.id)
        for s in facts.reopens:
            if s.at in self.period:
                for t in self.tallies(facts, s.at):
                    t.reopened.add(facts.id)
        last = facts.last_resolution
        if last is not None and last.at in self.period:
            for t in self.tallies(facts, last.at, last.author):
                self.spans(t.resolution, facts.created_at, last.at)

    def _csat(self, facts: ConvFacts) -> None:
        if facts.survey_sent_at in self.period:
            for t in self.tallies(facts, facts.survey_sent_at):  # type: ignore[arg-type]
                t.surveys += 1
        if facts.rating is not None and facts.rated_at in self.period:
            for t in self.tallies(facts, facts.rated_at):  # type: ignore[arg-type]
                t.ratings += 1
                t.good += facts.rating >= GOOD_RATING

    def _responsiveness(self, facts: ConvFacts) -> None:
        """Conversations whose first wait for a person began in the 7 days before the period's
        end: answered within 15 minutes, of those answered or waiting longer than that."""
        first = facts.first_response
        if first is not None:
            start, answered_at = first.waited_from, first.at
        elif facts.first_pending and facts.waiting_from is not None:
            start, answered_at = facts.waiting_from, None
        else:
            return
        if start not in self.responsive:
            return
        deadline = start + RESPONSIVE_WITHIN
        if answered_at is None or answered_at > self.period.until:
            if deadline > self.end:
                return  # still within its 15 minutes: not decided yet
            answered_at = None
        for t in self.tallies(facts, start):
            t.answerable += 1
            t.answered += answered_at is not None and answered_at <= deadline

    def series_points(self) -> list[Point]:
        points = []
        for start in _buckets(self.period, self.hourly, self.tz):
            tally, firsts = self.series.get(start, (_Tally(), []))
            points.append(
                Point(
                    start,
                    tally.messages_in,
                    tally.messages_out,
                    len(tally.opened),
                    median(firsts) if firsts else None,
                )
            )
        return points


def _buckets(period: Period, hourly: bool, tz: tzinfo) -> list[datetime]:
    """Every day's or hour's start that overlaps `period`, in order."""
    found: list[datetime] = []
    at = period.since
    while at < period.until:
        start = bucket_start(at, hourly, tz)
        if not found or found[-1] != start:
            found.append(start)
        step = timedelta(hours=1) if hourly else timedelta(hours=25)
        nxt = bucket_start(start + step, hourly, tz)
        at = nxt
    return found


def compute(
    facts: Iterable[ConvFacts],
    period: Period,
    grouping: Grouping,
    *,
    sla: SlaPolicy | None = None,
    business_seconds: BusinessSeconds = calendar_seconds,
    business_hours: bool = False,
    tz: tzinfo | None = None,
    now: datetime,
) -> Report:
    """The report of `period` by `grouping` from every conversation's facts."""
    zone = tz or timezone.utc
    gathering = _Report(period, grouping, sla, business_seconds, zone, now)
    count = 0
    for one in facts:
        gathering.add(one)
        count += 1
    rows = [Row(key, t.figures()) for key, t in gathering.groups.items()]
    rows.sort(
        key=lambda row: (
            row.key
            if grouping in (Grouping.DAY, Grouping.HOUR)
            else (-row.figures.opened - row.figures.messages_out, row.key)
        )
    )
    return Report(
        period=period,
        grouping=grouping,
        figures=gathering.whole.figures(),
        rows=rows,
        series=gathering.series_points(),
        series_step="hour" if gathering.hourly else "day",
        timezone=str(zone),
        business_hours=business_hours,
        conversations=count,
    )
