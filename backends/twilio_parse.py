"""Twilio message resources read without I/O: delivery states, failure reasons, dates, media."""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

from frontdesk.backends.httpchannel import clip
from frontdesk.model import Delivery, DeliveryUpdate

API = "/2010-04-01"

#: Twilio status -> what the console shows; statuses not listed (queued, sending …) change nothing
_DELIVERY = {
    "sent": Delivery.SENT,
    "delivered": Delivery.DELIVERED,
    "read": Delivery.READ,
    "undelivered": Delivery.FAILED,
    "failed": Delivery.FAILED,
    "canceled": Delivery.FAILED,
}
FINAL = frozenset({"delivered", "read", "undelivered", "failed", "canceled"})
#: the commonest delivery errors, for when Twilio leaves error_message empty (it usually does)
ERROR_TEXT = {
    30001: "queue overflow",
    30002: "account suspended",
    30003: "unreachable destination handset",
    30004: "message blocked",
    30005: "unknown destination handset",
    30006: "landline or unreachable carrier",
    30007: "message filtered by the carrier",
    30008: "unknown error",
    30034: "message from an unregistered number (US A2P 10DLC)",
    21610: "the recipient replied STOP (unsubscribed)",
    21211: "invalid 'To' phone number",
    21408: "permission to send to this region is not enabled",
    21614: "'To' is not a valid mobile number",
}


def delivery_update(raw: Any) -> DeliveryUpdate | None:
    """The DeliveryUpdate a message resource implies (None while it is queued or sending)."""
    if not isinstance(raw, dict):
        return None
    status = raw.get("status")
    delivery = _DELIVERY.get(status) if isinstance(status, str) else None
    if delivery is None:
        return None
    sid = raw.get("sid") if isinstance(raw.get("sid"), str) else ""
    reason = failure_reason(raw) if delivery is Delivery.FAILED else ""
    return DeliveryUpdate(sid, delivery, reason)


def failure_reason(raw: dict[str, Any]) -> str:
    """'undelivered: error 30003 — unreachable destination handset (https://…/30003)'."""
    status = raw.get("status") if isinstance(raw.get("status"), str) else "failed"
    code = _error_code(raw.get("error_code"))
    message = raw.get("error_message") if isinstance(raw.get("error_message"), str) else ""
    message = clip(message, 300) or ERROR_TEXT.get(code or 0, "")
    if code is None:
        return f"{status}{': ' + message if message else ''}"
    text = f"{status}: error {code}"
    if message:
        text += f" — {message}"
    return text + f" (https://www.twilio.com/docs/api/errors/{code})"


def _error_code(value: Any) -> int | None:
    """Twilio's error code (5 digits) from an int or a numeric string; None for anything else
    (an Infinity in the JSON made int() raise OverflowError and stopped the channel)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    try:
        code = int(value) if isinstance(value, int) or len(value) < 10 else None
    except ValueError:
        return None
    return code if code is not None and 0 < code < 1_000_000 else None


def message_date(raw: dict[str, Any]) -> datetime:
    value = raw.get("date_sent") or raw.get("date_created")
    if not isinstance(value, str):
        raise ValueError("a message without a date")
    at = parsedate_to_datetime(value)
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def message_date_or_none(raw: Any) -> datetime | None:
    try:
        return message_date(raw)
    except (ValueError, TypeError, AttributeError, IndexError):
        return None


def media_count(value: Any) -> int:
    try:
        return max(0, min(10, int(value)))
    except (TypeError, ValueError):
        return 0


def media_extension(mime: str) -> str:
    return {
        "image/jpeg": ".jpg",
        "image/png": ".png",
        "image/gif": ".gif",
        "video/mp4": ".mp4",
        "audio/mpeg": ".mp3",
        "text/vcard": ".vcf",
        "application/pdf": ".pdf",
    }.get(mime.lower(), "")


def account_uri(uri: Any, account_sid: str) -> str | None:
    """A URI from a response if it stays in this account's API paths (never another host: the
    credentials go with it), else None."""
    if (
        not isinstance(uri, str)
        or not uri.startswith(f"{API}/Accounts/{account_sid}/")
        or "//" in uri
        or ".." in uri
    ):
        return None
    if any(c in uri for c in "\\ \r\n\t#@"):
        return None
    return uri


__all__ = ["API", "ERROR_TEXT", "account_uri", "delivery_update", "failure_reason"]
