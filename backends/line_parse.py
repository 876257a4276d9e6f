"""Pure parsing of LINE Messaging API webhook bodies into channel events (untrusted input).

A body is `{"destination": …, "events": [...]}`. Each event becomes at most one `Inbound`:
messages (text, image, video, audio, file, location, sticker), follow, unfollow and postback;
other event types (join, leave, unsend, beacon …) are skipped. A malformed event is
quarantined as `Unparsable` and the rest of the batch is kept. Besides the events, the
parse says which reply tokens arrived (for free replies) and whose profile to look up.

Thread key: the userId for a 1:1 chat, the groupId or roomId for a group (the sender's
userId is the contact). External id: the message id for messages, else the webhookEventId,
so a redelivery (`deliveryContext.isRedelivery`) is dropped by the store's dedup.
"""

from __future__ import annotations

import json
import logging
import mimetypes
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from frontdesk.backends.httpchannel import MALFORMED, clip, unparsable
from frontdesk.model import Attachment, ChannelEvent, ContactRef, Inbound, Unparsable

log = logging.getLogger(__name__)

#: ids LINE uses (message ids, user/group ids, event ids) are short; anything longer is not one
MAX_ID_CHARS = 128
#: events read from one body; LINE sends far fewer per request
MAX_EVENTS = 1000

_MEDIA = {"image": "image/jpeg", "video": "video/mp4", "audio": "audio/mp4"}
_SUFFIX = {"image": ".jpg", "video": ".mp4", "audio": ".m4a"}


@dataclass(slots=True)
class ReplyToken:
    """A reply token LINE gave with an event of thread `thread_key` (single-use, short-lived)."""

    thread_key: str
    token: str


@dataclass(slots=True)
class ReadToken:
    """A message's `markAsReadToken`: marks it and every earlier one in its chat read."""

    thread_key: str
    message_id: str
    token: str


@dataclass(slots=True)
class ProfileWanted:
    """A sender whose display name to look up: `path` is the profile endpoint for them."""

    user_id: str
    path: str


@dataclass(slots=True)
class ParsedBody:
    """What one webhook body holds: events for the desk, reply tokens and profile lookups."""

    events: list[ChannelEvent] = field(default_factory=list)
    reply_tokens: list[ReplyToken] = field(default_factory=list)
    read_tokens: list[ReadToken] = field(default_factory=list)
    profiles: list[ProfileWanted] = field(default_factory=list)


def parse_body(channel: str, body: bytes) -> ParsedBody:
    """Parse one verified webhook body; never raises (what cannot be read is `Unparsable`)."""
    out = ParsedBody()
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        out.events.append(
            Unparsable(f"not JSON: {type(exc).__name__}", body[:10_000].decode("utf-8", "replace"))
        )
        return out
    events = data.get("events") if isinstance(data, dict) else None
    if not isinstance(events, list):
        out.events.append(unparsable(channel, data, ValueError("no events list"), log, "LINE body"))
        return out
    for event in events[:MAX_EVENTS]:
        try:
            _parse_event(event, out)
        except (*MALFORMED, RecursionError) as exc:
            out.events.append(unparsable(channel, event, exc, log, what="LINE event"))
    return out


def _parse_event(event: Any, out: ParsedBody) -> None:
    if not isinstance(event, dict):
        raise TypeError("an event is not an object")
    kind = event.get("type")
    if kind not in ("message", "follow", "unfollow", "postback"):
        return  # join, leave, unsend, beacon …: nothing for an agent to answer
    thread_key, user_id, profile_path = _source(event.get("source"))
    inbound = Inbound(
        external_id="",
        thread_key=thread_key,
        sender=ContactRef(user_id or thread_key),
        created_at=_timestamp(event.get("timestamp")),
    )
    if kind == "message":
        message = event.get("message")
        _message(message, inbound)
        read = message.get("markAsReadToken")
        if isinstance(read, str) and 0 < len(read) <= 4 * MAX_ID_CHARS:
            out.read_tokens.append(ReadToken(thread_key, inbound.external_id, read))
    else:
        inbound.external_id = _event_id(event)
        inbound.body = _note(kind, event)
    out.events.append(inbound)
    redelivered = _redelivery(event)
    token = event.get("replyToken")
    # a redelivered event's token is likely expired: replies to it go by push
    if isinstance(token, str) and 0 < len(token) <= MAX_ID_CHARS and not redelivered:
        out.reply_tokens.append(ReplyToken(thread_key, token))
    if user_id and kind != "unfollow":
        out.profiles.append(ProfileWanted(user_id, profile_path))


def _source(source: Any) -> tuple[str, str, str]:
    """(thread key, sender userId or "", profile endpoint for the sender)."""
    if not isinstance(source, dict):
        raise ValueError("the event has no source")
    kind = source.get("type")
    user_id = _optional_id(source.get("userId"))
    if kind == "user":
        if not user_id:
            raise ValueError("a user source without userId")
        return user_id, user_id, f"/v2/bot/profile/{user_id}"
    if kind in ("group", "room"):
        group_id = _id(source.get(f"{kind}Id"), f"{kind}Id")
        return group_id, user_id, f"/v2/bot/{kind}/{group_id}/member/{user_id}"
    raise ValueError(f"unknown source type {clip(kind, 20)!r}")


def _message(message: Any, inbound: Inbound) -> None:
    if not isinstance(message, dict):
        raise TypeError("a message event without a message")
    mid = _id(message.get("id"), "message id")
    inbound.external_id = mid
    kind = message.get("type")
    if kind == "text":
        inbound.body = clip(message.get("text"))
    elif kind in _MEDIA:
        inbound.attachments.append(_media(kind, mid, message))
    elif kind == "file":
        name = clip(message.get("fileName"), 255) or f"file-{mid}"
        size = message.get("fileSize")
        inbound.attachments.append(
            Attachment(
                name=name,
                mime=mimetypes.guess_type(name)[0] or "application/octet-stream",
                size=size
                if isinstance(size, int) and not isinstance(size, bool) and size > 0
                else 0,
                ref=mid,
            )
        )
    elif kind == "location":
        inbound.body = _location(message)
    elif kind == "sticker":
        inbound.body = _sticker(message)
    else:
        inbound.body = f"[a LINE {clip(kind, 20) or 'message'} message frontdesk cannot show]"


def _media(kind: str, mid: str, message: dict[str, Any]) -> Attachment:
    ref = mid
    provider = message.get("contentProvider")
    if isinstance(provider, dict) and provider.get("type") == "external":
        url = provider.get("originalContentUrl")
        if isinstance(url, str) and url.startswith("https://") and len(url) <= 2000:
            ref = url  # LINE keeps no copy of content sent by another provider
    return Attachment(name=f"{kind}-{mid}{_SUFFIX[kind]}", mime=_MEDIA[kind], ref=ref)


def _location(message: dict[str, Any]) -> str:
    lat, lon = message.get("latitude"), message.get("longitude")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lat, lon)):
        raise ValueError("a location without latitude/longitude")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError("a location out of range")
    parts = [clip(message.get("title"), 200), clip(message.get("address"), 500)]
    where = " — ".join(p for p in parts if p.strip())
    head = f"📍 {where}\n" if where else "📍 "
    return f"{head}{lat:.6f}, {lon:.6f} (https://maps.google.com/?q={lat:.6f},{lon:.6f})"


def _sticker(message: dict[str, Any]) -> str:
    words = message.get("keywords")
    shown = ""
    if isinstance(message.get("text"), str) and message["text"].strip():
        shown = clip(message["text"], 200)
    elif isinstance(words, list):
        shown = ", ".join(clip(w, 40) for w in words[:5] if isinstance(w, str))
    ids = f"{clip(str(message.get('packageId', '')), 20)}/{clip(str(message.get('stickerId', '')), 20)}"
    return f"[sticker {ids}{': ' + shown if shown else ''}]"


def _note(kind: str, event: dict[str, Any]) -> str:
    if kind == "follow":
        follow = event.get("follow")
        if isinstance(follow, dict) and follow.get("isUnblocked") is True:
            return "(unblocked the account)"
        return "(followed the account)"
    if kind == "unfollow":
        return "(unfollowed or blocked the account: messages to them are no longer delivered)"
    postback = event.get("postback")
    if not isinstance(postback, dict):
        raise TypeError("a postback event without postback")
    body = clip(postback.get("data"), 300)
    params = postback.get("params")
    if isinstance(params, dict) and params:
        picked = ", ".join(f"{clip(k, 40)}={clip(v, 100)}" for k, v in list(params.items())[:5])
        body = f"{body} ({picked})" if body else picked
    return body or "(a postback with no data)"


def _event_id(event: dict[str, Any]) -> str:
    eid = _optional_id(event.get("webhookEventId"))
    if eid:
        return eid
    # events from before webhookEventId existed: the time and the source identify them
    source = event.get("source") or {}
    who = source.get("userId") or source.get("groupId") or source.get("roomId") or ""
    return f"{event.get('type')}:{_optional_id(who)}:{int(event.get('timestamp', 0))}"


def _redelivery(event: dict[str, Any]) -> bool:
    context = event.get("deliveryContext")
    return isinstance(context, dict) and context.get("isRedelivery") is True


def _timestamp(value: Any) -> datetime:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10**14:
        return datetime.fromtimestamp(value / 1000, timezone.utc)
    return datetime.now(timezone.utc)


def _id(value: Any, what: str) -> str:
    found = _optional_id(value)
    if not found:
        raise ValueError(f"missing or bad {what}")
    return found


def _optional_id(value: Any) -> str:
    """An id LINE gave: letters, digits, '-' and '_' only, so it is safe in a request path."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID_CHARS:
        return ""
    return value if all(c.isascii() and (c.isalnum() or c in "-_") for c in value) else ""
