"""SMS segment counting shared by the SMS backends and the desk's composer limits."""

from __future__ import annotations

import math
from dataclasses import dataclass

BODY_LIMIT = 1600  # characters Twilio accepts in one message body

_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True, slots=True)
class Segments:
    """How an SMS body is split: encoding, length in its units, segments and units per segment."""

    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    per_segment: int

    def __str__(self) -> str:
        return f"{self.segments} SMS segment{'s' if self.segments != 1 else ''} ({self.encoding}, {self.units}/{self.per_segment * self.segments})"


def sms_segments(text: str) -> Segments:
    """Segments of `text`: GSM-7 (160 septets, 153 per part; ^{}[]~|€ count double) unless a
    character is outside it, then UCS-2 (70 UTF-16 units, 67 per part; an emoji counts 2)."""
    if all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in text):
        units = sum(2 if c in _GSM_EXTENDED else 1 for c in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    if units <= single:
        return Segments(encoding, units, 1 if units else 0, single)
    return Segments(encoding, units, math.ceil(units / multi), multi)
