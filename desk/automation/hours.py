"""Business hours as instants: open or not, the next opening, time inside hours, a span's end.

Each day's ranges become real instants through the timezone on that date, so a DST change
makes its day an hour shorter or longer exactly as clocks do; holidays have no ranges.
Work is per local day, never per minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from frontdesk.config import HoursConfig, Schedule

#: how far ahead `next_open` looks before it says the schedule never opens
LOOKAHEAD_DAYS = 400
#: how many local days' intervals an `Hours` keeps worked out
DAYS_KEPT = 512


class Hours:
    """A `Schedule` answered for instants (aware datetimes, any timezone)."""

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self.zone = ZoneInfo(schedule.timezone)
        self.never_open = not any(schedule.week)
        self._days: dict[date, tuple[tuple[datetime, datetime], ...]] = {}

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self.zone)

    def is_holiday(self, at: datetime) -> bool:
        return self.local(at).date() in self.schedule.holidays

    def intervals(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The open intervals of one local date, as UTC instants (none on a holiday)."""
        found = self._days.get(day)
        if found is None:
            if len(self._days) >= DAYS_KEPT:  # every trigger asks about today: keep a few
                self._days.clear()
            found = self._days[day] = (
                ()
                if day in self.schedule.holidays
                else tuple(
                    (self._instant(day, start), self._instant(day, end))
                    for start, end in self.schedule.week[day.weekday()]
                )
            )
        return found

    def _instant(self, day: date, minute: int) -> datetime:
        if minute >= 1440:  # 24:00 is the next day's midnight
            day, minute = day + timedelta(days=1), minute - 1440
        local = datetime.combine(day, time(minute // 60, minute % 60), self.zone)
        return local.astimezone(UTC)

    def is_open(self, at: datetime) -> bool:
        return any(start <= at < end for start, end in self.intervals(self.local(at).date()))

    def next_open(self, at: datetime) -> datetime | None:
        """`at` when open, else when it next opens; None when it never does (within a year)."""
        if self.never_open:
            return None
        for start, end in self._intervals_from(self.local(at).date(), LOOKAHEAD_DAYS):
            if end > at:
                return max(start, at)
        return None

    def business_seconds(self, start: datetime, end: datetime) -> float:
        """Seconds between `start` and `end` that fall inside business hours (0 when end <= start)."""
        if end <= start:
            return 0.0
        first = self.local(start).date()
        days = (self.local(end).date() - first).days + 1
        total = timedelta()  # summed exactly, in microseconds
        for open_at, close_at in self._intervals_from(first, days):
            total += max(min(close_at, end) - max(open_at, start), timedelta())
        return total.total_seconds()

    def after(self, start: datetime, span: timedelta) -> datetime | None:
        """The instant `span` of business time after `start` (an SLA's due time counted in open
        hours); None when the schedule stops opening (a year without hours)."""
        if span <= timedelta():
            return start
        left = span
        day, idle = self.local(start).date(), 0
        while idle <= LOOKAHEAD_DAYS:
            intervals = [(s, e) for s, e in self.intervals(day) if e > start]
            idle = 0 if intervals else idle + 1
            for open_at, close_at in intervals:
                begin = max(open_at, start)
                if close_at - begin >= left:
                    return begin + left
                left -= close_at - begin
            day += timedelta(days=1)
        return None

    def _intervals_from(self, first: date, days: int) -> Iterator[tuple[datetime, datetime]]:
        for n in range(days):
            yield from self.intervals(first + timedelta(days=n))


def opening_text(hours: Hours, at: datetime) -> str:
    """Why it is closed at `at` and when it opens, as the thread line says it:
    "outside business hours, open again Mon 09:00 JST" (the schedule's local time and zone)."""
    why = "a holiday" if hours.is_holiday(at) else "outside business hours"
    opens = hours.next_open(at)
    if opens is None:
        return f"{why}, no opening hours ahead"
    local, now = hours.local(opens), hours.local(at)
    when = local.strftime("%a %H:%M %Z")  # the agent reading it may sit in another zone
    if (local.date() - now.date()).days >= 7:
        when = local.strftime("%a %Y-%m-%d %H:%M %Z")
    return f"{why}, open again {when}"


class ChannelClock:
    """`[hours]` per channel for the rules' in/out-of-hours condition and an SLA counted in
    business hours (one `Hours` per channel, made when first asked)."""

    def __init__(self, config: HoursConfig) -> None:
        self.config = config
        self._hours: dict[str, Hours] = {}

    def hours(self, channel: str) -> Hours:
        hours = self._hours.get(channel)
        if hours is None:
            hours = self._hours[channel] = Hours(self.config.for_channel(channel).schedule)
        return hours

    def open_at(self, channel: str, at: datetime) -> bool:
        return self.hours(channel).is_open(at)

    def business_seconds(self, channel: str, start: datetime, end: datetime) -> float:
        """Seconds of the channel's business hours between `start` and `end` (reports)."""
        return self.hours(channel).business_seconds(start, end)

    def after(self, channel: str, start: datetime, span: timedelta) -> datetime:
        """`span` of the channel's business time after `start` (calendar time if it never opens)."""
        return self.hours(channel).after(start, span) or start + span
