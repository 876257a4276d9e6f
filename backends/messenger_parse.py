"""Messenger webhook bodies and Conversations API messages parsed into channel events: pure functions.

A webhook body is `{"object": "page", "entry": [{"id", "time", "messaging": [event, …]}]}`;
each messaging event has `sender`, `recipient`, `timestamp` and one of `message`,
`postback`, `delivery` or `read`. A malformed event becomes an `Unparsable` and the rest of
the body is kept. What the parser cannot decide alone (which of our sent messages a read
watermark covers; whether an echo is a message this desk sent) it asks through a `Ledger`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from frontdesk.backends.httpchannel import MALFORMED, clip
from frontdesk.model import (
    Attachment,
    ChannelEvent,
    ContactRef,
    Delivery,
    DeliveryUpdate,
    Direction,
    Inbound,
    Unparsable,
)

#: echoes whose metadata starts with this are messages this desk sent (already stored)
OUR_METADATA = "frontdesk:"
#: first line of a message the Page sent from elsewhere (the desk would name its own agent)
ELSEWHERE = "↪ Sent by the Page outside frontdesk"
ID_LIMIT = 256
PAYLOAD_LIMIT = 1000
#: Send API `attachment.type` for a MIME type's major part; anything else goes as `file`
MEDIA_TYPES = {"image": "image", "video": "video", "audio": "audio"}
_MIME_OF_TYPE = {"image": "image/*", "video": "video/*", "audio": "audio/*"}


class Ledger(Protocol):
    """What the backend remembers of the messages it sent, per customer (PSID)."""

    def sent_up_to(self, psid: str, watermark_ms: int, forget: bool = True) -> list[str]:
        """The mids we sent to `psid` at or before `watermark_ms` not yet reported read
        (`forget`: they are read now, so never reported again)."""
        ...

    def is_ours(self, mid: str) -> bool:
        """Whether `mid` is a message this desk sent."""
        ...

    def saw_echo(self, psid: str, mid: str, timestamp_ms: int) -> None:
        """Meta's own time for a message we sent (from its echo)."""
        ...


class NoLedger:
    """A ledger that knows nothing (read watermarks then map to no message)."""

    def sent_up_to(self, psid: str, watermark_ms: int, forget: bool = True) -> list[str]:
        return []

    def is_ours(self, mid: str) -> bool:
        return False

    def saw_echo(self, psid: str, mid: str, timestamp_ms: int) -> None:
        pass


@dataclass
class Parsed:
    """The events of one webhook body and the customers (PSIDs) who wrote in it."""

    events: list[ChannelEvent] = field(default_factory=list)
    senders: list[str] = field(default_factory=list)


def parse_body(body: bytes, page_id: str = "", ledger: Ledger | None = None) -> Parsed:
    """The events of a verified webhook body; never raises (what it cannot read is Unparsable)."""
    ledger = ledger or NoLedger()
    out = Parsed()
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        out.events.append(_unparsable("body is not JSON", exc, body[:10_000]))
        return out
    try:
        if not isinstance(data, dict) or data.get("object") != "page":
            raise ValueError("not a Page webhook (object is not 'page')")
        entries = data["entry"]
        if not isinstance(entries, list):
            raise TypeError("entry is not a list")
    except MALFORMED as exc:
        out.events.append(_unparsable("unreadable body", exc, data))
        return out
    for entry in entries:
        messaging = entry.get("messaging") if isinstance(entry, dict) else None
        if not isinstance(messaging, list):
            out.events.append(_unparsable("entry without messaging", None, entry))
            continue
        for event in messaging:
            try:
                events, sender = parse_event(event, page_id, ledger)
            except (*MALFORMED, RecursionError) as exc:
                out.events.append(_unparsable("malformed messaging event", exc, event))
                continue
            out.events += events
            if sender and sender not in out.senders:
                out.senders.append(sender)
    return out


def parse_event(event: Any, page_id: str, ledger: Ledger) -> tuple[list[ChannelEvent], str | None]:
    """One messaging event as channel events, and the PSID of a customer who wrote (else None);
    raises one of MALFORMED on a malformed one."""
    event = _dict(event, "messaging event")
    sender = _id(_dict(event["sender"], "sender")["id"])
    recipient = _id(_dict(event["recipient"], "recipient")["id"])
    when = _ms(event.get("timestamp", 0))
    if "message" in event:
        message = _dict(event["message"], "message")
        if message.get("is_echo") is True:
            return _echo(message, recipient, when, ledger), None
        if page_id and recipient != page_id:
            raise ValueError("a message to another Page")
        return [_inbound(message, sender, when)], sender
    if "postback" in event:
        postback = _dict(event["postback"], "postback")
        return [_postback(postback, sender, when)], sender
    if "delivery" in event:
        delivery = _dict(event["delivery"], "delivery")
        mids = delivery.get("mids")
        if mids is None:  # "may not be present": then everything up to the watermark
            mids = ledger.sent_up_to(sender, _ms(delivery["watermark"]), forget=False)
        if not isinstance(mids, list):
            raise TypeError("delivery.mids is not a list")
        return [DeliveryUpdate(_id(mid), Delivery.DELIVERED) for mid in mids], None
    if "read" in event:
        watermark = _ms(_dict(event["read"], "read")["watermark"])
        read = ledger.sent_up_to(sender, watermark)
        return [DeliveryUpdate(mid, Delivery.READ) for mid in read], None
    return [], None  # reactions, referrals, optins …: not shown in the console


def _inbound(message: dict[str, Any], psid: str, when: int) -> Inbound:
    mid = _id(message["mid"])
    text = _text(message.get("text", ""))
    attachments, notes = attachments_of(message.get("attachments"))
    lines: list[str] = []
    reply_to = message.get("reply_to")
    if isinstance(reply_to, dict) and isinstance(reply_to.get("mid"), str):
        lines.append(f"↩ Replying to message {clip(reply_to['mid'], ID_LIMIT)}")
    if text:
        lines.append(text)
    lines += notes
    quick = message.get("quick_reply")
    if isinstance(quick, dict) and isinstance(quick.get("payload"), str):
        lines.append(f"(quick reply: {clip(quick['payload'], PAYLOAD_LIMIT)})")
    if not lines and not attachments:
        lines.append("(a message frontdesk cannot show; open it in Meta Business Suite)")
    return Inbound(
        external_id=mid,
        thread_key=psid,
        sender=ContactRef(psid),
        body="\n".join(lines),
        attachments=attachments,
        created_at=_when(when),
    )


def _echo(message: dict[str, Any], psid: str, when: int, ledger: Ledger) -> list[ChannelEvent]:
    """A message the Page sent: ours (already stored) is only noted; one sent elsewhere is kept."""
    mid = _id(message["mid"])
    metadata = message.get("metadata")
    if ledger.is_ours(mid) or (isinstance(metadata, str) and metadata.startswith(OUR_METADATA)):
        ledger.saw_echo(psid, mid, when)
        return []
    sent = _inbound(message, psid, when)
    sent.direction = Direction.OUT
    sent.body = f"{ELSEWHERE}\n{sent.body}"
    return [sent]


def _postback(postback: dict[str, Any], psid: str, when: int) -> Inbound:
    title = _text(postback.get("title", ""))
    payload = postback.get("payload", "")
    payload = clip(payload, PAYLOAD_LIMIT) if isinstance(payload, str) else ""
    mid = postback.get("mid")
    # a postback has a mid in current versions; older ones are keyed by who and when
    external = _id(mid) if mid is not None else f"postback:{psid}:{when}"
    body = f"(tapped “{title or payload}”)"
    if payload and payload != title:
        body += f" payload: {payload}"
    return Inbound(external, psid, ContactRef(psid), body=body, created_at=_when(when))


def attachments_of(items: Any) -> tuple[list[Attachment], list[str]]:
    """Files to download on request (`ref` = the payload url) and lines for what is not a file."""
    if items is None:
        return [], []
    if not isinstance(items, list):
        raise TypeError("attachments is not a list")
    files: list[Attachment] = []
    notes: list[str] = []
    for n, item in enumerate(items[:50], 1):
        item = _dict(item, "attachment")
        kind = item.get("type")
        payload = item.get("payload") if isinstance(item.get("payload"), dict) else {}
        if kind == "location":
            coords = _dict(payload.get("coordinates", {}), "coordinates")
            lat, lon = _coord(coords.get("lat")), _coord(coords.get("long"))
            notes.append(f"📍 Location {lat:.6f}, {lon:.6f}")
            continue
        url = payload.get("url") if isinstance(payload.get("url"), str) else ""
        if kind == "fallback" or not url:
            title = payload.get("title", item.get("title", ""))
            link = url or item.get("url", "")
            shown = " ".join(
                clip(v, 500) for v in (title, link) if isinstance(v, str) and v.strip()
            )
            notes.append(
                f"🔗 Shared: {shown}" if shown else "(an attachment Messenger did not send)"
            )
            continue
        kind = kind if isinstance(kind, str) else "file"
        name = f"{clip(kind, 20)}-{n}"
        files.append(Attachment(name, _MIME_OF_TYPE.get(kind, "application/octet-stream"), 0, url))
    return files, notes


def parse_graph_message(message: Any, page_id: str) -> Inbound:
    """One message from the Conversations API (`id`, `created_time`, `from`, `to`, `message`,
    `attachments`) as an Inbound; from the Page it is an outgoing message. Raises MALFORMED."""
    message = _dict(message, "message")
    mid = _id(message["id"])
    sender = _dict(message["from"], "from")
    sender_id = _id(sender["id"])
    to = _dict(message.get("to") or {}, "to").get("data") or []
    if sender_id == page_id:
        if not isinstance(to, list) or not to:
            raise ValueError("a Page message without a recipient")
        psid, name, direction = _id(_dict(to[0], "to")["id"]), "", Direction.OUT
    else:
        psid, direction = sender_id, Direction.IN
        name = clip(sender.get("name", ""), 128)
    text = _text(message.get("message", ""))
    files: list[Attachment] = []
    attached = message.get("attachments")
    for n, item in enumerate(_dict(attached, "attachments").get("data") or [] if attached else []):
        files.append(_graph_attachment(item, n + 1))
    return Inbound(
        external_id=mid,
        thread_key=psid,
        sender=ContactRef(psid, name),
        body=(f"{ELSEWHERE}\n" if direction is Direction.OUT else "")
        + (text if text or files else "(a message frontdesk cannot show)"),
        attachments=files,
        created_at=parse_time(message["created_time"]),
        direction=direction,
    )


def _graph_attachment(item: Any, n: int) -> Attachment:
    item = _dict(item, "attachment")
    mime = item.get("mime_type") if isinstance(item.get("mime_type"), str) else ""
    url = item.get("file_url")
    for key in ("image_data", "video_data"):
        if not isinstance(url, str) and isinstance(item.get(key), dict):
            url = item[key].get("url")
    if not isinstance(url, str):
        raise ValueError("an attachment without a url")
    name = item.get("name") if isinstance(item.get("name"), str) else f"file-{n}"
    size = item.get("size") if isinstance(item.get("size"), int) else 0
    return Attachment(clip(name, 255), clip(mime, 100) or "application/octet-stream", size, url)


def parse_time(value: Any) -> datetime:
    """Graph's `2026-12-06T18:00:00+0000` as an aware datetime; raises ValueError."""
    if not isinstance(value, str):
        raise TypeError("a time that is not text")
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")


def send_type(mime: str) -> str:
    """The Send API attachment type for a file of `mime`."""
    return MEDIA_TYPES.get(mime.split("/", 1)[0].lower(), "file")


# ---- small checks ---------------------------------------------------------------------------


def _dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"{what} is not an object")
    return value


def _id(value: Any) -> str:
    """A Graph id: text (or a number, as older payloads sent), bounded."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value or len(value) > ID_LIMIT:
        raise ValueError("an id that is not a short non-empty text")
    return value


def _ms(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 10**15:
        raise ValueError("a timestamp that is not milliseconds since 1970")
    return value


def _when(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, timezone.utc)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("text is not a string")
    return clip(value)


def _coord(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError("a coordinate that is not a number")
    return float(value)


def _unparsable(reason: str, exc: BaseException | None, item: Any) -> Unparsable:
    why = f"{reason}: {type(exc).__name__}: {exc}" if exc is not None else reason
    try:
        payload = item.decode("utf-8", "replace") if isinstance(item, bytes) else json.dumps(item)
    except (ValueError, TypeError, RecursionError):
        payload = repr(item)
    return Unparsable(why[:500], payload[:10_000])


__all__ = [
    "Ledger",
    "NoLedger",
    "Parsed",
    "attachments_of",
    "parse_body",
    "parse_event",
    "parse_graph_message",
    "parse_time",
    "send_type",
]
