"""Reading `[sla]`: first- and next-response targets per priority ("15m", "1h", "2d")."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from frontdesk.config.checks import Checks
from frontdesk.config.sections import SlaConfig

_SPAN = re.compile(r"\s*(\d{1,6})\s*(min|m|h|d)\s*", re.IGNORECASE)
_UNIT = {"m": 60, "min": 60, "h": 3600, "d": 86400}


def parse_span(text: str) -> timedelta:
    """ "15m", "1h", "1h30m", "2d" → a timedelta; ValueError with the accepted shape."""
    position, seconds = 0, 0
    while position < len(text):
        match = _SPAN.match(text, position)
        if match is None or match.end() == position:
            raise ValueError(f'{text!r} is not a duration; write e.g. "15m", "1h", "1h30m" or "2d"')
        seconds += int(match.group(1)) * _UNIT[match.group(2).lower()]
        position = match.end()
    if seconds <= 0:
        raise ValueError(f'{text!r} is not a duration above zero; write e.g. "15m" or "1h"')
    return timedelta(seconds=seconds)


PRIORITIES = ("urgent", "high", "medium", "low", "none")


class SlaReading(Checks):
    """The reader's part for `[sla]`."""

    def sla(self, raw: Any) -> SlaConfig:
        raw = self.table(("sla",), raw)
        self.only_known(("sla",), raw, (*PRIORITIES, "business_hours"), what="priority")
        business = self.typed(("sla", "business_hours"), raw.get("business_hours", False), bool)
        first: dict[str, timedelta] = {}
        following: dict[str, timedelta] = {}
        for priority, table in raw.items():
            if priority == "business_hours":
                continue
            where = ("sla", priority)
            table = self.table(where, table)
            self.only_known(where, table, ("first", "next"))
            for key, into in (("first", first), ("next", following)):
                if key in table:
                    into[priority] = self.span((*where, key), table[key])
        return SlaConfig(first=first, next=following, business_hours=business)

    def span(self, where: tuple[str, ...], value: Any) -> timedelta:
        text = self.typed(where, value, str)
        try:
            return parse_span(text)
        except ValueError as exc:
            self.fail(where, str(exc))
