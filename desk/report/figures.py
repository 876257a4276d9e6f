"""What a report holds: the period, the grouping, and the figures whole, per group and over time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


class Grouping(StrEnum):
    """What a report's rows are by; DAY and HOUR are buckets of local time (the report's zone)."""

    AGENT = "agent"
    CHANNEL = "channel"
    LABEL = "label"
    TEAM = "team"
    DAY = "day"
    HOUR = "hour"


@dataclass(frozen=True, slots=True)
class Period:
    """From `since` (included) to `until` (excluded), both aware datetimes."""

    since: datetime
    until: datetime

    @classmethod
    def last(cls, days: float, now: datetime) -> Period:
        """The `days` before `now`."""
        return cls(now - timedelta(days=days), now)


@dataclass(slots=True)
class Stat:
    """One time metric over a set of spans, in seconds: how many, median, 90th percentile,
    mean (None when there are none)."""

    count: int = 0
    median: float | None = None
    p90: float | None = None
    mean: float | None = None


@dataclass(slots=True)
class Times:
    """A time metric in calendar time and in business hours (the same as calendar when the
    desk keeps no hours)."""

    calendar: Stat = field(default_factory=Stat)
    business: Stat = field(default_factory=Stat)


@dataclass(slots=True)
class Figures:
    """Every metric of issue 19 for one set of conversations (the whole period or one group);
    shares are 0–1, None when there is nothing to divide by."""

    opened: int = 0
    resolved: int = 0
    reopened: int = 0
    messages_in: int = 0
    messages_out: int = 0
    first_response: Times = field(default_factory=Times)
    reply: Times = field(default_factory=Times)
    resolution: Times = field(default_factory=Times)
    surveys_sent: int = 0
    ratings: int = 0
    ratings_good: int = 0  # rated 4 or 5
    csat: float | None = None  # ratings_good / ratings
    survey_response: float | None = None  # ratings / surveys_sent
    sla_first: int = 0  # first responses a target applied to
    sla_first_met: int = 0
    sla_next: int = 0
    sla_next_met: int = 0
    sla_breaches: int = 0  # responses past their target, and waits past it still unanswered
    sla_met: float | None = None  # (first_met + next_met) / (first + next)
    answered_15m: int = 0  # responsiveness: conversations answered within 15 minutes …
    answerable_15m: int = 0  # … of those whose customer waited in the last 7 days
    responsiveness: float | None = None


@dataclass(slots=True)
class Row:
    """One group's figures: `key` is the agent, channel, label or team (`""`: none), or the
    day ("2026-12-01") or hour ("2026-12-01 14:00")."""

    key: str
    figures: Figures


@dataclass(slots=True)
class Point:
    """One day or hour of the period, for the chart: volume and median first response."""

    at: datetime
    messages_in: int = 0
    messages_out: int = 0
    opened: int = 0
    first_response_median: float | None = None  # seconds, calendar time


@dataclass(slots=True)
class Report:
    """A period's report: the headline `figures`, the `rows` by `grouping`, and the `series` per
    day (per hour when the rows are by hour or the period is two days or less)."""

    period: Period
    grouping: Grouping
    figures: Figures
    rows: list[Row] = field(default_factory=list)
    series: list[Point] = field(default_factory=list)
    series_step: str = "day"  # "day" or "hour"
    timezone: str = "UTC"  # the zone days and hours are counted in
    business_hours: bool = False  # business times follow the desk's hours (else calendar)
    conversations: int = 0  # how many conversations the report read
