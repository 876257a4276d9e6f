"""When a snooze ends: the presets (1 hour, tomorrow 9:00, next Monday 9:00) and custom input.

Pure functions on an aware `now` and the agent's local time zone (`tz`; None means the
system's, with its daylight-saving rules); the results are aware datetimes in UTC, what
`Desk.snooze` takes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone, tzinfo

MORNING = time(9, 0)
CUSTOM_HELP = '"2h", "30m", "3d" or "YYYY-MM-DD HH:MM" (your local time)'
_DURATION = re.compile(r"(\d{1,4})\s*([mhd])", re.IGNORECASE)
_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})")
_UNIT = {"m": "minutes", "h": "hours", "d": "days"}


class SnoozeTimeError(ValueError):
    """Custom snooze text that is not a duration or a local date and time in the future."""


@dataclass(frozen=True, slots=True)
class SnoozePreset:
    label: str
    until: datetime  # aware, UTC


def _local(naive: datetime, tz: tzinfo | None) -> datetime:
    """`naive` read as a wall-clock time in `tz` (None: the system's local time)."""
    return naive.replace(tzinfo=tz) if tz is not None else naive.astimezone()


def _at_morning(day: datetime, tz: tzinfo | None) -> datetime:
    return _local(datetime.combine(day.date(), MORNING), tz).astimezone(timezone.utc)


def presets(now: datetime, tz: tzinfo | None) -> list[SnoozePreset]:
    """1 hour from now, tomorrow 9:00 and next Monday 9:00 (local; Monday → the one after)."""
    local = now.astimezone(tz)
    days_to_monday = (7 - local.weekday()) % 7 or 7
    return [
        SnoozePreset("1 hour", (now + timedelta(hours=1)).astimezone(timezone.utc)),
        SnoozePreset("Tomorrow 9:00", _at_morning(local + timedelta(days=1), tz)),
        SnoozePreset("Next Monday 9:00", _at_morning(local + timedelta(days=days_to_monday), tz)),
    ]


def parse_snooze(text: str, now: datetime, tz: tzinfo | None) -> datetime:
    """The end of a snooze the agent typed: a duration ("2h", "30m", "3d") or a local time.

    Raises SnoozeTimeError with a message for the agent when the text is neither, or
    names a time that is not in the future.
    """
    value = text.strip()
    if not value:
        raise SnoozeTimeError(f"type a time: {CUSTOM_HELP}")
    if match := _DURATION.fullmatch(value):
        amount, unit = int(match.group(1)), match.group(2).lower()
        if amount == 0:
            raise SnoozeTimeError("snooze for more than zero")
        return (now + timedelta(**{_UNIT[unit]: amount})).astimezone(timezone.utc)
    if match := _DATETIME.fullmatch(value):
        year, month, day, hour, minute = map(int, match.groups())
        try:
            local = _local(datetime(year, month, day, hour, minute), tz)
        except ValueError as exc:
            raise SnoozeTimeError(f"{value!r} is not a real date and time ({exc})") from None
        until = local.astimezone(timezone.utc)
        if until <= now:
            raise SnoozeTimeError(f"{value} has already passed; pick a time in the future")
        return until
    raise SnoozeTimeError(f"cannot read {value!r}: use {CUSTOM_HELP}")
