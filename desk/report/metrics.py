"""The figures of a report from conversations and their facts (pure): issue 19's definitions.

Each fact counts in the period it happened in: a message when it came or went, a response
when it was sent, a resolution when it was made, a survey when sent, a rating when it came.
README "Reports" defines every figure.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from statistics import fmean, median

from frontdesk.desk.report.facts import ThreadFacts, is_person
from frontdesk.desk.report.figures import Figures, Grouping, Period, Point, Report, Row, Stat, Times
from frontdesk.desk.sla import DUE, SlaPolicy
from frontdesk.model import Conversation, Status

BusinessSeconds = Callable[[str, datetime, datetime], float]
"""Seconds of a channel's business hours between two times (`ChannelClock.business_seconds`)."""
RESPONSIVE_WITHIN = 15 * 60.0
RESPONSIVE_DAYS = 7
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


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


@dataclass(slots=True)
class _Spans:
    """A time metric's spans in seconds, calendar and business (each measured once)."""

    calendar: list[float] = field(default_factory=list)
    business: list[float] = field(default_factory=list)

    def add(self, calendar: float, business: float) -> None:
        self.calendar.append(calendar)
        self.business.append(business)

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


# ---- days and hours ----------------------------------------------------------------------------


def bucket_start(at: datetime, hourly: bool, tz: tzinfo) -> datetime:
    """The start of `at`'s local day or hour, an aware datetime in `tz`."""
    local = at.astimezone(tz)
    if hourly:
        # by the instant (UTC arithmetic: aware datetimes of one zone add in wall time), so the
        # hour repeated when clocks go back stays two hours
        into = timedelta(minutes=local.minute, seconds=local.second, microseconds=local.microsecond)
        return (at.astimezone(timezone.utc) - into).astimezone(tz)
    return datetime(local.year, local.month, local.day, tzinfo=tz).astimezone(tz)


def bucket_label(start: datetime, hourly: bool) -> str:
    """ "2026-12-01" or "2026-12-01 14:00", local time (the hour repeated when clocks go back
    shares its row; the series keeps the two apart)."""
    return start.strftime("%Y-%m-%d %H:00" if hourly else "%Y-%m-%d")


def buckets(period: Period, hourly: bool, tz: tzinfo) -> list[datetime]:
    """The start of every local day or hour that overlaps `period`, in order (a day is 23 or 25
    hours long when the clocks change)."""
    found: list[datetime] = []
    at, until = period.since.astimezone(timezone.utc), period.until.timestamp()
    step = timedelta(hours=1 if hourly else 25)
    while at.timestamp() < until:
        start = bucket_start(at, hourly, tz)
        found.append(start)
        at = bucket_start(start.astimezone(timezone.utc) + step, hourly, tz)
    return found


class _Buckets:
    """Which day or hour a time falls in, by bisection over the bucket starts."""

    def __init__(self, period: Period, hourly: bool, tz: tzinfo) -> None:
        self.starts = buckets(period, hourly, tz)
        self.seconds = [s.timestamp() for s in self.starts]
        self.labels = [bucket_label(s, hourly) for s in self.starts]

    def index(self, at: float) -> int:
        return bisect_right(self.seconds, at) - 1


# ---- gathering ----------------------------------------------------------------------------------


class _Gathering:
    """Adds every conversation's facts to the headline tally, its groups' and the series."""

    def __init__(
        self,
        period: Period,
        grouping: Grouping,
        sla: SlaPolicy | None,
        business: BusinessSeconds | None,
        tz: tzinfo,
        now: datetime,
    ) -> None:
        self.since, self.until = period.since.timestamp(), period.until.timestamp()
        self.end = min(self.until, now.timestamp())  # unanswered waits are judged as of then
        self.responsive_since = self.until - RESPONSIVE_DAYS * 86400.0
        self.grouping, self.sla, self.business = grouping, sla, business
        self.whole = _Tally()
        self.groups: dict[str, _Tally] = {}
        span = self.until - self.since
        self.hourly = grouping is Grouping.HOUR or span <= HOURLY_UP_TO.total_seconds()
        self.series = _Buckets(period, self.hourly, tz)
        self.points: list[tuple[_Tally, list[float]]] = [(_Tally(), []) for _ in self.series.starts]
        timed = grouping in (Grouping.DAY, Grouping.HOUR)
        self.rows = _Buckets(period, grouping is Grouping.HOUR, tz) if timed else None
        self.fixed: list[_Tally] = []
        self.in_times: list[float] = []
        self.out_times: list[float] = []

    def _group(self, key: str) -> _Tally:
        tally = self.groups.get(key)
        if tally is None:
            tally = self.groups[key] = _Tally()
        return tally

    def start(self, conv: Conversation) -> None:
        """The conversation whose facts come next: its groups that do not depend on the fact."""
        g = self.grouping
        keys: tuple[str, ...] = ()
        if g is Grouping.AGENT:
            keys = (conv.assignee or "",)
        elif g is Grouping.CHANNEL:
            keys = (conv.channel,)
        elif g is Grouping.TEAM:
            keys = (conv.team or "",)
        elif g is Grouping.LABEL:
            keys = tuple(dict.fromkeys(conv.labels)) or ("",)
        self.fixed = [self.whole, *(self._group(k) for k in keys)]

    def tallies(self, at: float, author: str | None = None) -> list[_Tally]:
        """The tallies a fact at `at` counts in; `author`: who did it (a reply, a resolution),
        which by agent counts for them when a person did it, else for the assignee."""
        if self.rows is not None:
            i = self.rows.index(at)
            inside = 0 <= i < len(self.rows.labels)  # responsiveness looks back 7 days
            return [self.whole, self._group(self.rows.labels[i])] if inside else [self.whole]
        if author and self.grouping is Grouping.AGENT and is_person(author):
            return [self.whole, self._group(author)]
        return self.fixed

    def measure(self, channel: str, start: float, end: float) -> tuple[float, float]:
        """A span in calendar and business seconds (the same without business hours)."""
        calendar = end - start
        if self.business is None:
            return calendar, calendar
        return calendar, self.business(channel, _at(start), _at(end))

    def inside(self, at: float | None) -> bool:
        return at is not None and self.since <= at < self.until

    def add(self, conv: Conversation, facts: ThreadFacts) -> None:
        self.start(conv)
        created = conv.created_at.timestamp()
        if self.inside(created):
            for t in self.tallies(created):
                t.opened.add(conv.id)
            self.points[self.series.index(created)][0].opened.add(conv.id)
        self._messages(facts)
        self._responses(conv, facts)
        self._resolutions(conv, facts, created)
        self._csat(conv)
        self._responsiveness(conv, facts)

    def _messages(self, facts: ThreadFacts) -> None:
        """Counted at the end from every message's time (`count_messages`); here only by group."""
        ins, outs = facts.messages_in, facts.messages_out
        lo, hi = bisect_left(ins, self.since), bisect_left(ins, self.until)
        self.in_times.extend(ins[lo:hi])
        out_lo, out_hi = bisect_left(outs, self.since), bisect_left(outs, self.until)
        self.out_times.extend(outs[out_lo:out_hi])
        if self.rows is not None:
            return
        self.whole.messages_in += hi - lo
        self.whole.messages_out += out_hi - out_lo
        for t in self.fixed[1:]:
            t.messages_in += hi - lo
            if self.grouping is not Grouping.AGENT:
                t.messages_out += out_hi - out_lo
        if self.grouping is Grouping.AGENT:
            for author, n in Counter(facts.out_authors[out_lo:out_hi]).items():
                self.tallies(0.0, author)[-1].messages_out += n

    def count_messages(self) -> None:
        """Messages per day or hour of the series, and of the rows when they are by time."""
        self.in_times.sort()
        self.out_times.sort()
        for i, (tally, _) in enumerate(self.points):
            tally.messages_in, tally.messages_out = self._within(self.series, i)
        if self.rows is not None:
            for i, label in enumerate(self.rows.labels):
                got_in, got_out = self._within(self.rows, i)
                if got_in or got_out:
                    row = self._group(label)
                    row.messages_in += got_in
                    row.messages_out += got_out
            self.whole.messages_in, self.whole.messages_out = (
                len(self.in_times),
                len(self.out_times),
            )

    def _within(self, buckets: _Buckets, i: int) -> tuple[int, int]:
        start = max(buckets.seconds[i], self.since)
        end = buckets.seconds[i + 1] if i + 1 < len(buckets.seconds) else self.until
        return (
            bisect_left(self.in_times, end) - bisect_left(self.in_times, start),
            bisect_left(self.out_times, end) - bisect_left(self.out_times, start),
        )

    def _responses(self, conv: Conversation, facts: ThreadFacts) -> None:
        for r in facts.responses:
            if not self.since <= r.at < self.until:
                continue
            due = self._due(conv, r.waited_from, r.first)
            cal, bus = self.measure(conv.channel, r.waited_from, r.at)
            for t in self.tallies(r.at, r.author):
                t.reply.add(cal, bus)
                if r.first:
                    t.first.add(cal, bus)
                if due is not None:
                    met = r.at <= due
                    if r.first:
                        t.sla_first, t.sla_first_met = t.sla_first + 1, t.sla_first_met + met
                    else:
                        t.sla_next, t.sla_next_met = t.sla_next + 1, t.sla_next_met + met
                    t.breaches += not met
            if r.first:
                self.points[self.series.index(r.at)][1].append(r.at - r.waited_from)
        if facts.waiting_from is not None and conv.status in DUE:
            due = self._due(conv, facts.waiting_from, facts.first_pending)
            if due is not None and self.since <= due < self.end:
                for t in self.tallies(due):
                    t.breaches += 1

    def _due(self, conv: Conversation, start: float, first: bool) -> float | None:
        if self.sla is None:
            return None
        target = self.sla.targets.get(conv.priority)
        span = None if target is None else (target.first if first else target.next)
        if span is None:
            return None
        if self.sla.after is None:
            return start + span.total_seconds()
        return self.sla.after(conv.channel, _at(start), span).timestamp()

    def _resolutions(self, conv: Conversation, facts: ThreadFacts, created: float) -> None:
        for s in facts.resolutions:
            if self.inside(s.at):
                for t in self.tallies(s.at, s.author):
                    t.resolved.add(conv.id)
        for s in facts.reopens:
            if self.inside(s.at):
                for t in self.tallies(s.at):
                    t.reopened.add(conv.id)
        if conv.status is Status.RESOLVED and facts.resolutions:
            last = facts.resolutions[-1]
            if self.inside(last.at):
                cal, bus = self.measure(conv.channel, created, last.at)
                for t in self.tallies(last.at, last.author):
                    t.resolution.add(cal, bus)

    def _csat(self, conv: Conversation) -> None:
        sent = conv.survey_sent_at.timestamp() if conv.survey_sent_at else None
        if sent is not None and self.inside(sent):
            for t in self.tallies(sent):
                t.surveys += 1
        rated = conv.rated_at.timestamp() if conv.rated_at else None
        if conv.rating is not None and rated is not None and self.inside(rated):
            for t in self.tallies(rated):
                t.ratings += 1
                t.good += conv.rating >= GOOD_RATING

    def _responsiveness(self, conv: Conversation, facts: ThreadFacts) -> None:
        """Conversations whose first wait for a person began in the 7 days before the period's
        end: answered within 15 minutes, of those answered or left waiting longer."""
        first = facts.first_response
        if first is not None:
            start, answered_at = first.waited_from, first.at
        elif facts.first_pending and facts.waiting_from is not None and conv.status in DUE:
            start, answered_at = facts.waiting_from, None
        else:
            return
        if not self.responsive_since <= start < self.until:
            return
        deadline = start + RESPONSIVE_WITHIN
        if answered_at is not None and answered_at >= self.until:
            answered_at = None  # answered after the period: as it stood then, still waiting
        if answered_at is None and deadline > self.end:
            return  # still within its 15 minutes: not decided yet
        for t in self.tallies(start):
            t.answerable += 1
            t.answered += answered_at is not None and answered_at <= deadline

    def series_points(self) -> list[Point]:
        return [
            Point(
                start,
                tally.messages_in,
                tally.messages_out,
                len(tally.opened),
                median(firsts) if firsts else None,
            )
            for start, (tally, firsts) in zip(self.series.starts, self.points, strict=True)
        ]


def compute(
    conversations: Iterable[tuple[Conversation, ThreadFacts]],
    period: Period,
    grouping: Grouping,
    *,
    sla: SlaPolicy | None = None,
    business_seconds: BusinessSeconds | None = None,
    tz: tzinfo | None = None,
    now: datetime,
) -> Report:
    """The report of `period` by `grouping`; business times by `business_seconds` (None: the
    desk keeps no hours, business time is calendar time); days and hours in `tz` (UTC)."""
    zone = tz or timezone.utc
    gathering = _Gathering(period, grouping, sla, business_seconds, zone, now)
    count = 0
    for conv, facts in conversations:
        gathering.add(conv, facts)
        count += 1
    gathering.count_messages()
    rows = [Row(key, t.figures()) for key, t in gathering.groups.items()]
    if grouping in (Grouping.DAY, Grouping.HOUR):
        rows.sort(key=lambda row: row.key)
    else:
        rows.sort(key=lambda row: (row.key == "", row.key.casefold()))
    return Report(
        period=period,
        grouping=grouping,
        figures=gathering.whole.figures(),
        rows=rows,
        series=gathering.series_points(),
        series_step="hour" if gathering.hourly else "day",
        timezone=str(zone),
        business_hours=business_seconds is not None,
        conversations=count,
    )
