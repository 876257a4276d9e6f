"""The demo's business hours: a Tokyo team whose day starts three hours after the demo does.

So the away message answers the demo's live customers from the first minute and says when
the team opens.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from frontdesk.config import ChannelHours, HoursConfig, ReplyChoice, Schedule

DEMO_TIMEZONE = "Asia/Tokyo"
OPENS_IN = timedelta(hours=3)
OPEN_FOR = timedelta(hours=8)


def demo_hours(now: datetime) -> HoursConfig:
    """Every day open 8 hours from the full hour 3 hours after `now` (Tokyo time), with the
    shipped examples' away replies in English and Japanese."""
    local = now.astimezone(ZoneInfo(DEMO_TIMEZONE)).replace(minute=0, second=0, microsecond=0)
    start = (local + OPENS_IN).hour * 60
    end = start + int(OPEN_FOR.total_seconds() // 60)
    # a day's ranges cannot cross midnight: the hours past it open each day's start
    ranges = ((start, end),) if end <= 1440 else ((0, end - 1440), (start, 1440))
    away = (ReplyChoice("en", "away"), ReplyChoice("ja", "away-ja"))
    return HoursConfig(ChannelHours(Schedule(DEMO_TIMEZONE, (ranges,) * 7), away_reply=away))
