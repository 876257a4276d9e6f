"""Small shared helpers for the widgets: ages, channel badges, sizes, times, a line LRU cache."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from datetime import datetime
from typing import Generic, TypeVar

from rich.style import Style
from rich.text import Text

BADGES = {
    "email": "✉",
    "whatsapp": "WA",
    "messenger": "FB",
    "facebook": "FB",
    "sms": "SMS",
    "telegram": "TG",
    "line": "LINE",
    "instagram": "IG",
    "web": "WEB",
}


def badge(kind: str) -> str:
    """A short label for a kind of channel: ✉, WA, FB, SMS, TG, LINE …"""
    return BADGES.get(kind.lower(), kind[:4].upper() or "?")


def age(then: datetime, now: datetime) -> str:
    """How long ago, in at most four cells: "now", "3m", "2h", "5d", "3w", "2y"."""
    seconds = (now - then).total_seconds()
    if seconds < 60:
        return "now"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 24:
        return f"{hours}h"
    days = hours // 24
    if days < 7:
        return f"{days}d"
    if days < 365:
        return f"{days // 7}w"
    return f"{days // 365}y"


def clock_time(at: datetime, now: datetime) -> str:
    """ "10:32" today, "Mon 2 Nov 10:32" this year, "2 Nov 2025 10:32" before."""
    if at.tzinfo is not None and now.tzinfo is not None:
        at = at.astimezone(now.tzinfo)
    if at.date() == now.date():
        return f"{at:%H:%M}"
    if at.year == now.year:
        return f"{at:%a} {at.day} {at:%b %H:%M}"
    return f"{at.day} {at:%b %Y %H:%M}"


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def foreground(style: Style) -> Style:
    """`style` without its background, so a row's background (the cursor) shows through."""
    return Style(
        color=style.color,
        bold=style.bold,
        dim=style.dim,
        italic=style.italic,
        underline=style.underline,
        strike=style.strike,
        reverse=style.reverse,
    )


def background(style: Style) -> Style:
    """Only the background of `style`."""
    return Style(bgcolor=style.bgcolor)


def fit(text: Text, width: int) -> Text:
    """`text` cut (with an ellipsis) or padded to exactly `width` cells."""
    fitted = text.copy()
    fitted.truncate(max(0, width), overflow="ellipsis", pad=True)
    return fitted


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A tiny least-recently-used cache for rendered rows and wrapped lines."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.maxsize:
            self._data.popitem(last=False)

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
