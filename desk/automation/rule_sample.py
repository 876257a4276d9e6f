"""A sample event for `frontdesk rules test`: JSON read into the `Facts` rules look at, checked."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from frontdesk.config.read_rules import EVENTS, HOURS, PRIORITIES, STATUSES
from frontdesk.desk.automation.rules import Facts, OpenAt

MAX_SAMPLE_BYTES = 1_000_000
MAX_TEXT = 100_000
KEYS = (
    "event",
    "channel",
    "channel_kind",
    "text",
    "language",
    "labels",
    "priority",
    "status",
    "contact",
    "at",
    "business_hours",
)
EXAMPLE = '{"event": "message_created", "channel": "whatsapp", "text": "I want a refund"}'


class SampleError(Exception):
    """A sample event that cannot be read; one line naming the file, the key and the fix."""


def parse_sample(
    data: bytes, shown: str, channel_kind: Callable[[str], str] = str
) -> tuple[Facts, OpenAt | None]:
    """The facts of the sample in `data` (the file `shown`), and the business hours it fixes
    ("business_hours": "inside"/"outside"), else None. `channel_kind(name)` names a channel's kind."""
    if len(data) > MAX_SAMPLE_BYTES:
        raise SampleError(f"{shown}: {len(data)} bytes; a sample event is one small JSON object")
    try:
        raw = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        where = f":{exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise SampleError(
            f"{shown}{where}: not JSON text ({_first_line(exc)}); write one object, e.g. {EXAMPLE}"
        ) from None
    if not isinstance(raw, dict):
        raise SampleError(f"{shown}: must be one JSON object, e.g. {EXAMPLE}")
    return _Sample(shown, raw, channel_kind).facts()


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


class _Sample:
    def __init__(self, shown: str, raw: dict[str, Any], kind: Callable[[str], str]) -> None:
        self.shown, self.raw, self.kind = shown, raw, kind

    def fail(self, key: str, problem: str) -> SampleError:
        return SampleError(f"{self.shown}: {key} {problem}")

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.raw.get(key, default)
        if value is not None and not isinstance(value, str):
            raise self.fail(key, f"must be a string (got {type(value).__name__})")
        if value is not None and len(value) > MAX_TEXT:
            raise self.fail(key, f"is {len(value)} characters; keep it under {MAX_TEXT}")
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: str | None) -> str | None:
        value = self.text(key, default)
        if value is not None and value not in choices:
            raise self.fail(
                key, f"must be one of {', '.join(choices)} (got {json.dumps(value)[:40]})"
            )
        return value

    def facts(self) -> tuple[Facts, OpenAt | None]:
        unknown = [key for key in self.raw if key not in KEYS]
        if unknown:
            raise self.fail(
                str(unknown[0])[:40], f"is not a key of a sample event; keys: {', '.join(KEYS)}"
            )
        if "event" not in self.raw or "channel" not in self.raw:
            raise SampleError(f"{self.shown}: needs event and channel, e.g. {EXAMPLE}")
        event = self.choice("event", EVENTS, None)
        channel = self.text("channel") or ""
        if not channel.strip():
            raise self.fail("channel", 'must name a channel, e.g. "whatsapp"')
        labels = self.raw.get("labels", [])
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise self.fail("labels", 'must be a list of strings, e.g. ["vip"]')
        contact = self.raw.get("contact", {})
        if not isinstance(contact, dict) or not all(
            isinstance(v, str | int | float | bool) for v in contact.values()
        ):
            raise self.fail(
                "contact", 'must be an object of attributes, e.g. {"plan": "enterprise"}'
            )
        hours = self.choice("business_hours", HOURS, None)
        facts = Facts(
            event=event or "",
            channel=channel,
            channel_kind=self.text("channel_kind") or self.kind(channel),
            text=self.text("text"),
            language=self.text("language", "") or "",
            labels=tuple(labels),
            priority=self.choice("priority", PRIORITIES, "none") or "none",
            status=self.choice("status", STATUSES, "open") or "open",
            attributes={str(k): str(v) for k, v in contact.items()},
            at=self.at(),
        )
        return facts, (None if hours is None else _fixed(hours == "inside"))

    def at(self) -> datetime:
        value = self.text("at")
        if value is None:
            return datetime.now(UTC)
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            raise self.fail("at", 'must be an ISO time, e.g. "2027-01-04T20:00:00+09:00"') from None
        if at.tzinfo is None:
            raise self.fail("at", 'needs its UTC offset, e.g. "2027-01-04T20:00:00+09:00"')
        return at


def _fixed(inside: bool) -> OpenAt:
    return lambda channel, at: inside
