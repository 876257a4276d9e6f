"""What a channel allows right now: the messaging window of a conversation and the length of an SMS."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from frontdesk.backends.base import WindowRule
from frontdesk.backends.sms import BODY_LIMIT, sms_segments

SMS_KINDS = frozenset({"sms"})
"""Channel kinds whose replies are counted in SMS segments."""


@dataclass(frozen=True, slots=True)
class WindowState:
    """Where a conversation stands in its channel's messaging window, as the console shows it."""

    label: str
    """The badge: "WhatsApp window 3h left", "sent with the HUMAN_AGENT tag, 6d left", "WhatsApp window closed — template required"."""
    closed: bool
    """True when the channel accepts no reply now."""
    explanation: str
    """One sentence for the composer: what the window means now and, once closed, the way out."""
    ends_at: datetime
    """When the current stage (window, tag, …) ends."""
    templates: bool = False
    """True when the window closed and the channel can still send an approved template."""


@dataclass(frozen=True, slots=True)
class SmsLength:
    """How long a reply is as SMS: characters, encoding and segments, and whether it is over the limit."""

    chars: int
    encoding: str
    units: int
    segments: int
    per_segment: int
    limit: int

    @property
    def over_limit(self) -> bool:
        return self.chars > self.limit

    def __str__(self) -> str:
        if self.over_limit:
            return f"{self.chars:,} chars — over the {self.limit:,}-character SMS limit"
        parts = f"{self.segments} SMS" if self.segments == 1 else f"{self.segments} SMS parts"
        return f"{self.chars:,} chars · {parts} ({self.encoding} {self.units}/{self.per_segment * max(1, self.segments)})"


def window_state(
    rule: WindowRule | None, kind: str, expires_at: datetime | None, now: datetime
) -> WindowState | None:
    """The window of a conversation whose free-reply window ends at `expires_at` (None: no window)."""
    if rule is None or expires_at is None:
        return None
    tagged = bool(rule.tag and rule.tag_span is not None)
    if now < expires_at:
        left = short_duration(expires_at - now)
        since = (
            " (24 h after the customer's last message)" if rule.span == timedelta(hours=24) else ""
        )
        # where a tag follows the window, say that this reply is the free kind
        return WindowState(
            f"free reply · {kind} window {left} left" if tagged else f"{kind} window {left} left",
            False,
            f"{kind} accepts free replies for {left} more{since}; then they go out with the "
            f"{rule.tag} tag."
            if tagged
            else f"{kind} accepts replies for {left} more{since}.",
            expires_at,
        )
    if tagged and rule.tag_span is not None:
        tag_ends = expires_at - rule.span + rule.tag_span
        if now < tag_ends:
            left = short_duration(tag_ends - now)
            return WindowState(
                f"sent with the {rule.tag} tag, {left} left",
                False,
                f"The {kind} window closed; this reply goes out with the {rule.tag} tag, accepted "
                f"for {left} more (answers from a person only, no promotions).",
                tag_ends,
            )
        expires_at = tag_ends
    return WindowState(
        f"{kind} window closed — {rule.closed_label}",
        True,
        f"The {kind} window closed {short_duration(now - expires_at)} ago: {rule.way_out}.",
        expires_at,
    )


def short_duration(delta: timedelta) -> str:
    """`3h`, `45m`, `6d`, `1d 4h`: the time left as an agent reads it at a glance."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days >= 2:
        return f"{days}d"
    if days == 1:
        return f"1d {hours}h" if hours else "1d"
    if hours:
        return f"{hours}h"
    return f"{mins}m" if mins else "<1m"


def sms_length(text: str) -> SmsLength:
    """Characters, encoding and segments of `text` as an SMS (Twilio's counting and its 1,600 limit)."""
    seg = sms_segments(text)
    return SmsLength(len(text), seg.encoding, seg.units, seg.segments, seg.per_segment, BODY_LIMIT)
