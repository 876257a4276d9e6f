"""Reading `[hours]`: business hours for all channels or per channel, the away reply, the greeting.

[hours]
timezone = "Asia/Tokyo"
mon-fri = "09:00-12:00,13:00-18:00"   # day keys mon … sun, or a span of them
sat = "10:00-14:00"
holidays = ["2027-01-01"]
away_reply = "away"                   # or {en = "away", ja = "away-ja"}
greeting = "hi"                       # optional
greeting_when = "open"                # "open", "closed" or "always"

[hours.channels.line]                 # overrides, key by key; day keys replace the week
enabled = false
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from frontdesk.config.checks import CHANNEL_NAME, Checks
from frontdesk.config_text import Where, _show

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
GREETING_WHEN = ("open", "closed", "always")
MAX_HOLIDAYS = 1000
_DAY_KEY = re.compile(r"(mon|tue|wed|thu|fri|sat|sun)(?:-(mon|tue|wed|thu|fri|sat|sun))?\Z")
_RANGE = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*\Z")
_SHORTCODE = re.compile(r"/?[\w-]+\Z")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*\Z|default\Z")
_SCHEDULE_KEYS = ("timezone", "holidays")
_REPLY_KEYS = ("away_reply", "greeting", "greeting_when", "enabled")

Ranges = tuple[tuple[int, int], ...]
"""A day's opening ranges in minutes after local midnight, sorted, end up to 1440 (24:00)."""


@dataclass(frozen=True, slots=True)
class Schedule:
    """A weekly schedule in one timezone, with holidays (closed all day)."""

    timezone: str
    week: tuple[Ranges, ...] = ((),) * 7
    """Monday first: each day's opening ranges."""
    holidays: frozenset[date] = frozenset()


@dataclass(frozen=True, slots=True)
class ReplyChoice:
    """A canned reply to send, by the contact's language ("" = for any language)."""

    language: str
    shortcode: str
    line: int | None = None
    """Where the config names it, for doctor's messages."""


@dataclass(frozen=True, slots=True)
class ChannelHours:
    """What a channel (or every channel) does about business hours."""

    schedule: Schedule
    away_reply: tuple[ReplyChoice, ...] = ()
    """Sent outside hours; empty: no away message."""
    greeting: tuple[ReplyChoice, ...] = ()
    """Sent to a new conversation; empty: no greeting."""
    greeting_when: str = "open"
    """When the greeting goes: inside hours ("open"), outside ("closed") or "always"."""
    enabled: bool = True
    """False: neither away message nor greeting on this channel."""


@dataclass(frozen=True, slots=True)
class HoursConfig:
    """`[hours]`: the default for every channel and `[hours.channels.<name>]` overrides."""

    default: ChannelHours
    channels: Mapping[str, ChannelHours] = field(default_factory=dict)

    def for_channel(self, channel: str) -> ChannelHours:
        return self.channels.get(channel, self.default)

    def replies(self) -> list[tuple[str, ReplyChoice]]:
        """Every canned reply named, with the table naming it (for doctor)."""
        tables = [("hours", self.default)]
        tables += [(f"hours.channels.{name}", hours) for name, hours in self.channels.items()]
        return [
            (table, choice)
            for table, hours in tables
            for choice in (*hours.away_reply, *hours.greeting)
        ]


def parse_ranges(text: str) -> Ranges | str:
    """ "09:00-12:00,13:00-18:00" as minute ranges, or the problem as text ("closed" is no range)."""
    if text.strip().casefold() in ("", "closed"):
        return ()
    ranges: list[tuple[int, int]] = []
    for part in text.split(","):
        match = _RANGE.match(part)
        if not match:
            return f'has {_show(part.strip())}, which is not a range like "09:00-18:00"'
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
            return f"has {_show(part.strip())}, which is not a time of day (00:00 to 24:00)"
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if end <= start:
            return (
                f"has {_show(part.strip())}, which ends before it starts; a range crossing "
                'midnight is two ranges: fri = "22:00-24:00" and sat = "00:00-02:00"'
            )
        ranges.append((start, end))
    ranges.sort()
    for (_, end), (start, _) in zip(ranges, ranges[1:], strict=False):
        if start < end:
            return "has ranges that overlap; write each opening time once"
    return tuple(ranges)


def day_span(key: str) -> list[int] | None:
    """The weekdays (0 = Monday) a day key names: "sat", "mon-fri", "fri-mon"; None if it is none."""
    match = _DAY_KEY.match(key)
    if not match:
        return None
    first = DAYS.index(match.group(1))
    last = DAYS.index(match.group(2) or match.group(1))
    return [(first + n) % 7 for n in range((last - first) % 7 + 1)]


class HoursReading(Checks):
    """The reader's part for `[hours]`."""

    def hours(self, raw: Any) -> HoursConfig:
        raw = self.table(("hours",), raw)
        self._only_hours_keys(("hours",), raw, channels=True)
        if "timezone" not in raw:
            self.fail(("hours",), 'has no timezone; add timezone = "Asia/Tokyo" (an IANA name)')
        default = self._channel_hours(("hours",), raw, None)
        channels = self.table(("hours", "channels"), raw.get("channels", {}))
        return HoursConfig(
            default,
            {
                name: self._channel_override(name, value, default)
                for name, value in channels.items()
            },
        )

    def _channel_override(self, name: str, value: Any, default: ChannelHours) -> ChannelHours:
        where: Where = ("hours", "channels", name)
        if not CHANNEL_NAME.match(name):
            self.fail(where, "is not a channel name; name each table after a [[channels]] name")
        value = self.table(where, value)
        self._only_hours_keys(where, value, channels=False)
        return self._channel_hours(where, value, default)

    def _only_hours_keys(self, where: Where, raw: dict[str, Any], channels: bool) -> None:
        known = (*_SCHEDULE_KEYS, *_REPLY_KEYS, *(("channels",) if channels else ()))
        for key in raw:
            if key not in known and day_span(key) is None:
                self.fail(
                    (*where, key),
                    f"is not a known key in [{'.'.join(where)}]; use timezone, holidays, day keys "
                    f'(mon … sun or spans like mon-fri = "09:00-18:00"), {", ".join(_REPLY_KEYS)}'
                    + (", channels" if channels else ""),
                )

    def _channel_hours(
        self, where: Where, raw: dict[str, Any], base: ChannelHours | None
    ) -> ChannelHours:
        """One table's hours; a channel's table takes what it does not set from `base`."""
        timezone = (
            self._timezone((*where, "timezone"), raw["timezone"])
            if "timezone" in raw
            else base.schedule.timezone
            if base
            else "UTC"
        )
        has_days = any(day_span(key) is not None for key in raw)
        week = self._week(where, raw) if has_days or base is None else base.schedule.week
        holidays = (
            self._holidays((*where, "holidays"), raw["holidays"])
            if "holidays" in raw
            else base.schedule.holidays
            if base
            else frozenset()
        )
        return ChannelHours(
            Schedule(timezone, week, holidays),
            away_reply=self._replies(where, raw, "away_reply", base),
            greeting=self._replies(where, raw, "greeting", base),
            greeting_when=self.one_of(
                (*where, "greeting_when"),
                raw.get("greeting_when", base.greeting_when if base else "open"),
                GREETING_WHEN,
            ),
            enabled=self.typed(
                (*where, "enabled"), raw.get("enabled", base.enabled if base else True), bool
            ),
        )

    def _timezone(self, where: Where, value: Any) -> str:
        name = self.typed(where, value, str).strip()
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            self.fail(
                where,
                f'{_show(name)} is not a known timezone; write an IANA name such as "Asia/Tokyo" '
                'or "Europe/Berlin" (on systems without a timezone database: pip install tzdata)',
            )
        return name

    def _week(self, where: Where, raw: dict[str, Any]) -> tuple[Ranges, ...]:
        week: list[Ranges] = [()] * 7
        set_by: dict[int, str] = {}
        for key, value in raw.items():
            days = day_span(key)
            if days is None:
                continue
            text = self.typed((*where, key), value, str)
            ranges = parse_ranges(text)
            if isinstance(ranges, str):
                self.fail((*where, key), ranges)
            for day in days:
                if day in set_by:
                    self.fail(
                        (*where, key),
                        f"sets {DAYS[day]}, which {set_by[day]} sets too; name each day once",
                    )
                set_by[day] = key
                week[day] = ranges
        return tuple(week)

    def _holidays(self, where: Where, value: Any) -> frozenset[date]:
        items = self.typed(where, value, list)
        if len(items) > MAX_HOLIDAYS:
            self.fail(where, f"lists {len(items)} dates; at most {MAX_HOLIDAYS}")
        days: set[date] = set()
        for index, item in enumerate(items):
            if isinstance(item, date) and not hasattr(item, "hour"):
                days.add(item)
                continue
            try:
                if not isinstance(item, str):
                    raise ValueError(item)
                days.add(date.fromisoformat(item.strip()))
            except ValueError:
                self.fail(
                    where,
                    f'has {_show(item)}, which is not a date; write dates as "2027-01-01"',
                )
        return frozenset(days)

    def _replies(
        self, where: Where, raw: dict[str, Any], key: str, base: ChannelHours | None
    ) -> tuple[ReplyChoice, ...]:
        if key not in raw:
            return getattr(base, key) if base else ()
        line = self.line_of((*where, key))
        value = raw[key]
        if isinstance(value, str):
            return (ReplyChoice("", self._shortcode((*where, key), value), line),) if value else ()
        table = self.typed((*where, key), value, dict[str, str])
        choices = []
        for language, shortcode in table.items():
            if not _LANGUAGE.match(language):
                self.fail(
                    (*where, key, language),
                    'is not a language code; key each shortcode by language: {en = "away", '
                    'ja = "away-ja", default = "away"}',
                )
            wanted = "" if language == "default" else language.casefold()
            choices.append(ReplyChoice(wanted, self._shortcode((*where, key), shortcode), line))
        return tuple(choices)

    def _shortcode(self, where: Where, value: str) -> str:
        if not _SHORTCODE.match(value.strip()):
            self.fail(
                where,
                f"{_show(value)} is not a canned reply's shortcode (one word of letters, digits, "
                '- or _), e.g. away_reply = "away"',
            )
        return value.strip().lstrip("/")
