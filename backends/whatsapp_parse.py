"""WhatsApp Cloud API webhook bodies read into channel events: pure functions, no I/O.

A body is `{"object": "whatsapp_business_account", "entry": [{"changes": [{"field":
"messages", "value": {…}}]}]}`; a value holds `metadata`, `contacts` (profile names),
`messages` (what customers sent), `statuses` (progress of what we sent) and `errors`.
Each message and status is read on its own: a malformed one becomes an `Unparsable`
and the rest of the body is still read, so one bad item never costs the batch.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from frontdesk.backends.httpchannel import MALFORMED, clip, unparsable
from frontdesk.model import (
    Attachment,
    ChannelEvent,
    ContactRef,
    Delivery,
    DeliveryUpdate,
    Inbound,
    Unparsable,
)

log = logging.getLogger("frontdesk.backends.whatsapp")

NAME_LIMIT = 128
ID_LIMIT = 256
FILE_NAME_LIMIT = 255
#: Meta's code for a send refused because the 24-hour customer-service window closed
REENGAGEMENT = 131047
WINDOW_CLOSED = "the 24-hour window closed — send an approved template (ctrl+t)"

_STATUS = {
    "sent": Delivery.SENT,
    "delivered": Delivery.DELIVERED,
    "read": Delivery.READ,
    "failed": Delivery.FAILED,
}
_MEDIA = {
    "image": ("image", "image/jpeg"),
    "video": ("video", "video/mp4"),
    "audio": ("audio", "audio/ogg"),
    "document": ("document", "application/octet-stream"),
    "sticker": ("sticker", "image/webp"),
}


# ---- small readers that raise one of MALFORMED ------------------------------------------------


def _dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"{what} is not an object")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError(f"{what} is not a list")
    return value


def _id(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} is missing")
    return clip(value.strip(), ID_LIMIT)


def _text(value: Any, limit: int = 1000) -> str:
    """A string field, one line, at most `limit` characters ('' when it is not a string)."""
    return " ".join(clip(value, limit).split()) if isinstance(value, str) else ""


def _when(value: Any) -> datetime:
    """A Unix timestamp as Meta sends it (a string of digits)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError("timestamp is not a number")
    seconds = int(value)
    if not 0 <= seconds < 10**11:
        raise ValueError(f"timestamp {seconds} is out of range")
    return datetime.fromtimestamp(seconds, timezone.utc)


def _size(value: Any) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def short_id(message_id: str) -> str:
    """The tail of a wamid, enough to tell two messages apart in a thread."""
    return "…" + message_id[-8:] if len(message_id) > 12 else message_id


# ---- errors -----------------------------------------------------------------------------------


def error_text(errors: Any) -> str:
    """The first error of a message or status as 'code: title — details' (131047 explained)."""
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return ""
    first = errors[0]
    code = first.get("code")
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    title = _text(first.get("title"), 200) or _text(first.get("message"), 200)
    data = first.get("error_data")
    details = _text(data.get("details"), 300) if isinstance(data, dict) else ""
    text = f"{code}: {title}" if code is not None else title or "unknown error"
    if code == REENGAGEMENT:
        return f"{text} — {WINDOW_CLOSED}"
    if details and details.rstrip(".") != title.rstrip("."):
        text += f" — {details}"
    return text


# ---- the body -----------------------------------------------------------------------------------


def parse_body(
    body: bytes, channel: str = "whatsapp", phone_number_id: str = ""
) -> list[ChannelEvent]:
    """Every event of one webhook body; never raises. Changes for another phone number than
    `phone_number_id` (when set) are quarantined, not ingested into this channel."""
    try:
        top = json.loads(body)
        entries = _list(_dict(top, "the body").get("entry"), "entry")
    except (*MALFORMED, RecursionError) as exc:
        return [_bad(channel, body, exc, "webhook body")]
    events: list[ChannelEvent] = []
    for entry in entries:
        try:
            changes = _list(_dict(entry, "entry").get("changes"), "changes")
        except MALFORMED as exc:
            events.append(_bad(channel, entry, exc, "webhook entry"))
            continue
        for change in changes:
            _guarded(channel, change, "webhook change", events, _change_parser(phone_number_id))
    return events


def _bad(channel: str, item: Any, exc: BaseException, what: str) -> Unparsable:
    if isinstance(item, bytes):
        item = item[:10_000].decode("utf-8", "replace")
    return unparsable(channel, item, exc, log, what=what)


def _guarded(
    channel: str,
    item: Any,
    what: str,
    events: list[ChannelEvent],
    parse: Callable[[str, Any, list[ChannelEvent]], None],
) -> None:
    try:
        parse(channel, item, events)
    except (*MALFORMED, RecursionError) as exc:
        events.append(_bad(channel, item, exc, what))


def _change_parser(phone_number_id: str) -> Callable[[str, Any, list[ChannelEvent]], None]:
    def parse(channel: str, change: Any, events: list[ChannelEvent]) -> None:
        change = _dict(change, "change")
        if change.get("field") not in ("messages", None):
            return  # template, quality and account updates: nothing for the console
        value = _dict(change.get("value"), "value")
        metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
        ours = metadata.get("phone_number_id")
        if phone_number_id and isinstance(ours, str) and ours != phone_number_id:
            raise ValueError(
                f"for phone number id {clip(ours, 40)}, not this channel's {phone_number_id}"
            )
        business = metadata.get("display_phone_number")
        names = _names(value.get("contacts"))
        for raw in _list(value.get("messages"), "messages"):
            _guarded(
                channel,
                raw,
                "WhatsApp message",
                events,
                lambda _c, m, out: out.append(parse_message(m, names, business)),
            )
        for raw in _list(value.get("statuses"), "statuses"):
            _guarded(channel, raw, "WhatsApp status", events, _status_into)
        if value.get("errors"):
            raise ValueError(f"WhatsApp reported an error: {error_text(value.get('errors'))}")

    return parse


def _status_into(_channel: str, raw: Any, events: list[ChannelEvent]) -> None:
    update = parse_status(raw)
    if update is not None:
        events.append(update)


def _names(contacts: Any) -> dict[str, str]:
    """wa_id -> profile name, from a value's `contacts` (a bad entry is skipped)."""
    names: dict[str, str] = {}
    for contact in contacts if isinstance(contacts, list) else []:
        if not isinstance(contact, dict):
            continue
        profile = contact.get("profile") if isinstance(contact.get("profile"), dict) else {}
        name = _text(profile.get("name"), NAME_LIMIT)
        for key in ("wa_id", "user_id"):
            if isinstance(contact.get(key), str) and name:
                names[contact[key]] = name
    return names


# ---- statuses --------------------------------------------------------------------------------------


def parse_status(raw: Any) -> DeliveryUpdate | None:
    """A status of a message we sent; None for states the console does not show (played …)."""
    raw = _dict(raw, "status")
    message_id = _id(raw.get("id"), "status id")
    state = raw.get("status")
    delivery = _STATUS.get(state) if isinstance(state, str) else None
    if delivery is None:
        return None
    reason = error_text(raw.get("errors")) if delivery is Delivery.FAILED else ""
    if delivery is Delivery.FAILED and not reason:
        reason = "WhatsApp could not deliver the message (no reason given)"
    return DeliveryUpdate(message_id, delivery, reason)


# ---- messages ----------------------------------------------------------------------------------


def parse_message(msg: Any, names: dict[str, str], business: Any = None) -> Inbound:
    """One message a customer sent, as an Inbound whose body says what it was."""
    msg = _dict(msg, "message")
    message_id = _id(msg.get("id"), "message id")
    sender = _id(msg.get("from") or msg.get("from_user_id"), "sender (from)")
    created_at = _when(msg.get("timestamp"))
    kind = msg.get("type") if isinstance(msg.get("type"), str) else "unknown"
    body, attachments = _content(kind, msg)
    problem = error_text(msg.get("errors"))
    if problem and problem not in body:
        body = f"{body}\n[WhatsApp: {problem}]" if body else f"[WhatsApp: {problem}]"
    body = _context(msg.get("context"), business) + _referral(msg.get("referral")) + body
    phone = "+" + sender if sender.isdigit() else ""
    return Inbound(
        external_id=message_id,
        thread_key=sender,
        sender=ContactRef(sender, names.get(sender, ""), phone=phone),
        body=clip(body),
        attachments=attachments,
        created_at=created_at,
    )


def _context(context: Any, business: Any) -> str:
    """A first line saying what the message answers or forwards ('' when nothing)."""
    if not isinstance(context, dict):
        return ""
    lines = []
    if context.get("forwarded") or context.get("frequently_forwarded"):
        lines.append("↪ Forwarded")
    replied = context.get("id")
    if isinstance(replied, str) and replied:
        whose = "our" if business and context.get("from") == business else "a"
        lines.append(f"↩ Replying to {whose} message {short_id(clip(replied, ID_LIMIT))}")
    product = context.get("referred_product")
    if isinstance(product, dict):
        lines.append(f"🛒 About product {_text(product.get('product_retailer_id'), 100)}")
    return "".join(line + "\n" for line in lines)


def _referral(referral: Any) -> str:
    """A first line naming the Click-to-WhatsApp ad or post the customer came from."""
    if not isinstance(referral, dict):
        return ""
    what = _text(referral.get("headline"), 200) or _text(referral.get("body"), 200) or "an ad"
    url = _text(referral.get("source_url"), 300)
    return f"📣 Came from {what}" + (f" ({url})" if url else "") + "\n"


def _content(kind: str, msg: dict[str, Any]) -> tuple[str, list[Attachment]]:
    if kind == "text":
        return clip(_dict(msg.get("text"), "text").get("body")), []
    if kind in _MEDIA:
        return _media(kind, _dict(msg.get(kind), kind))
    if kind == "contacts":
        return _contacts(msg.get("contacts")), []  # a list of cards, not an object
    reader = _READERS.get(kind)
    if reader is not None:
        return reader(_dict(msg.get(kind), kind)), []
    if kind == "unsupported" or kind == "unknown":
        return "[a message type WhatsApp does not pass on to frontdesk]", []
    return f"[a WhatsApp message of type {_text(kind, 40)!r} frontdesk cannot show]", []


def _media(kind: str, item: dict[str, Any]) -> tuple[str, list[Attachment]]:
    """A file the customer sent: its media id is the `ref` a download asks Graph for."""
    media_id = _id(item.get("id"), f"{kind} id")
    label, default_mime = _MEDIA[kind]
    mime = _text(item.get("mime_type"), 100) or default_mime
    mime = mime.split(";")[0].strip() or default_mime
    if kind == "audio" and item.get("voice") is True:
        label = "voice"
    name = _text(item.get("filename"), FILE_NAME_LIMIT)
    if not name:
        ext = mimetypes.guess_extension(mime) or ""
        tail = re.sub(r"[^0-9A-Za-z]", "", media_id)[-32:] or "file"
        name = f"{label}_{tail}{ext}"
    name = name.replace("/", "_").replace("\\", "_")
    caption = clip(item.get("caption"))
    if kind == "sticker" and not caption:
        caption = "[sticker]"
    size = _size(item.get("file_size"))
    return caption, [Attachment(name=name, mime=mime, size=size, ref=media_id)]


def _location(item: dict[str, Any]) -> str:
    lat, lon = item.get("latitude"), item.get("longitude")
    where = ""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lat, lon)):
        where = f"{lat:.6f}, {lon:.6f}"
    parts = [p for p in (_text(item.get("name"), 200), _text(item.get("address"), 300)) if p]
    url = _text(item.get("url"), 300)
    text = "📍 Location: " + (" — ".join(parts) or "(no name)")
    if where:
        text += f" ({where})"
    return text + (f"\n{url}" if url else "")


def _contacts(items: Any) -> str:
    cards = []
    for card in _list(items, "contacts")[:20]:
        card = _dict(card, "contact card")
        name = card.get("name") if isinstance(card.get("name"), dict) else {}
        label = _text(name.get("formatted_name"), NAME_LIMIT) or " ".join(
            p for p in (_text(name.get("first_name")), _text(name.get("last_name"))) if p
        )
        details = [
            _text(p.get("phone"), 40)
            for p in (card.get("phones") if isinstance(card.get("phones"), list) else [])
            if isinstance(p, dict)
        ] + [
            _text(e.get("email"), 200)
            for e in (card.get("emails") if isinstance(card.get("emails"), list) else [])
            if isinstance(e, dict)
        ]
        org = card.get("org") if isinstance(card.get("org"), dict) else {}
        if _text(org.get("company")):
            details.append(_text(org.get("company"), 200))
        shown = ", ".join(d for d in details if d)
        cards.append(f"👤 Contact card: {label or '(no name)'}" + (f" — {shown}" if shown else ""))
    return "\n".join(cards) or "👤 Contact card (empty)"


def _interactive(item: dict[str, Any]) -> str:
    kind = item.get("type")
    if kind == "button_reply":
        reply = _dict(item.get("button_reply"), "button_reply")
        return f"[chose the button “{_text(reply.get('title'), 100)}”]"
    if kind == "list_reply":
        reply = _dict(item.get("list_reply"), "list_reply")
        text = f"[chose “{_text(reply.get('title'), 100)}” from the list"
        description = _text(reply.get("description"), 200)
        return text + (f": {description}]" if description else "]")
    if kind == "nfm_reply":
        reply = _dict(item.get("nfm_reply"), "nfm_reply")
        answer = reply.get("response_json")
        shown = clip(answer, 2000) if isinstance(answer, str) else ""
        return "[answered a form]" + (f"\n{shown}" if shown else "")
    return f"[an interactive reply of type {_text(kind, 40)!r}]"


def _button(item: dict[str, Any]) -> str:
    text = _text(item.get("text"), 100) or _text(item.get("payload"), 100)
    return f"[chose the button “{text}”]"


def _reaction(item: dict[str, Any]) -> str:
    target = item.get("message_id")
    which = short_id(clip(target, ID_LIMIT)) if isinstance(target, str) and target else "a message"
    emoji = _text(item.get("emoji"), 16)
    if not emoji:
        return f"removed their reaction from message {which}"
    return f"reacted {emoji} to message {which}"


def _order(item: dict[str, Any]) -> str:
    lines = [
        f"{_size(p.get('quantity'))} × {_text(p.get('product_retailer_id'), 100)}"
        for p in _list(item.get("product_items"), "product_items")[:50]
        if isinstance(p, dict)
    ]
    note = _text(item.get("text"), 500)
    return "🛒 Order: " + ("; ".join(lines) or "(no items)") + (f"\n{note}" if note else "")


def _system(item: dict[str, Any]) -> str:
    return "[WhatsApp: " + (_text(item.get("body"), 500) or "a system notice") + "]"


_READERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "location": _location,
    "interactive": _interactive,
    "button": _button,
    "reaction": _reaction,
    "order": _order,
    "system": _system,
}


__all__ = ["WINDOW_CLOSED", "error_text", "parse_body", "parse_message", "parse_status"]
