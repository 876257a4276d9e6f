"""Telegram updates parsed into Inbound messages: pure functions, each raising on a malformed one."""

from __future__ import annotations

import mimetypes
from datetime import datetime, timezone
from typing import Any

from frontdesk.backends.httpchannel import clip
from frontdesk.model import Attachment, ContactRef, Inbound

NAME_LIMIT = 128
FILE_NAME_LIMIT = 255
#: update kinds handled; others are confirmed (the offset moves past them) and ignored
MESSAGE_KINDS = {
    "message": False,
    "edited_message": True,
    "channel_post": False,
    "edited_channel_post": True,
    "business_message": False,
    "edited_business_message": True,
}


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value


def _dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"{what} is not an object")
    return value


def _ts(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(_int(value), timezone.utc)
    except OSError:  # beyond the platform's time_t (10**18): as malformed as a date in year 300,000
        raise ValueError(f"date {value} is out of range") from None


def _name(user: dict[str, Any]) -> str:
    parts = [user.get("first_name"), user.get("last_name")]
    name = " ".join(p for p in parts if isinstance(p, str) and p.strip())
    if not name and isinstance(user.get("title"), str):
        name = user["title"]
    if not name and isinstance(user.get("username"), str):
        name = "@" + user["username"]
    return clip(name, NAME_LIMIT) or str(user.get("id", ""))


def parse_update(update: Any) -> list[Inbound]:
    """The messages in one Update: [] for kinds frontdesk does not show; raises one of
    httpchannel.MALFORMED on a malformed one."""
    update = _dict(update, "update")
    _int(update["update_id"])
    for kind, edited in MESSAGE_KINDS.items():
        if kind in update:
            return [parse_message(_dict(update[kind], kind), edited=edited)]
    return []


def parse_message(msg: dict[str, Any], *, edited: bool = False) -> Inbound:
    """One Telegram Message as an Inbound (an edit as a new message that says so)."""
    message_id = _int(msg["message_id"])
    chat = _dict(msg["chat"], "chat")
    chat_id = _int(chat["id"])
    date = _ts(msg["date"])
    sender = msg.get("from") or msg.get("sender_chat") or chat
    sender = _dict(sender, "from")
    sender_id = _int(sender["id"])
    language = sender.get("language_code") if isinstance(sender.get("language_code"), str) else ""
    text = msg.get("text", msg.get("caption", ""))
    if not isinstance(text, str):
        raise TypeError("text is not a string")
    attachments = [] if edited else attachments_of(msg)
    body = text or ("" if attachments else _describe_other(msg))
    prefix = ""
    if "forward_origin" in msg or "forward_from" in msg or "forward_sender_name" in msg:
        prefix += f"↪ Forwarded{_forwarded_from(msg)}\n"
    if isinstance(msg.get("reply_to_message"), dict):
        prefix += f"↩ Replying to “{_quoted(msg)}”\n"
    body = prefix + body
    if edited:
        edit_date = _ts(msg.get("edit_date", msg["date"]))
        body = f"✏️ Edited their message of {date:%Y-%m-%d %H:%M} UTC:\n{body}"
        external_id = f"{chat_id}:{message_id}:edit:{int(edit_date.timestamp())}"
        created_at = edit_date
    else:
        external_id = f"{chat_id}:{message_id}"
        created_at = date
    subject = clip(chat.get("title"), NAME_LIMIT) if chat.get("type") != "private" else ""
    return Inbound(
        external_id=external_id,
        thread_key=str(chat_id),
        sender=ContactRef(str(sender_id), _name(sender), language=clip(language, 16)),
        body=clip(body),
        attachments=attachments,
        created_at=created_at,
        subject=subject,
    )


def attachments_of(msg: dict[str, Any]) -> list[Attachment]:
    """Photos, documents, voice notes, audio and video of a message, with file_id as `ref`."""
    found: list[Attachment] = []
    photos = msg.get("photo")
    if photos is not None:
        if not isinstance(photos, list) or not photos:
            raise TypeError("photo is not a list of sizes")
        best = max(
            (_dict(p, "photo size") for p in photos),
            key=lambda p: _size(p.get("file_size")) or _size(p.get("width")),
        )
        found.append(_attachment(best, f"photo_{_id_part(best)}.jpg", "image/jpeg"))
    for key, default_name, default_mime in (
        ("document", "document", "application/octet-stream"),
        ("voice", "voice.ogg", "audio/ogg"),
        ("audio", "audio.mp3", "audio/mpeg"),
        ("video", "video.mp4", "video/mp4"),
        ("video_note", "video_note.mp4", "video/mp4"),
        ("animation", "animation.mp4", "video/mp4"),
    ):
        if key in msg:
            item = _dict(msg[key], key)
            name = item.get("file_name") if isinstance(item.get("file_name"), str) else ""
            if not name:
                stem, _, ext = default_name.partition(".")
                duration = item.get("duration")
                suffix = (
                    f"_{duration}s"
                    if isinstance(duration, int) and not isinstance(duration, bool)
                    else ""
                )
                name = f"{stem}{suffix}_{_id_part(item)}" + (f".{ext}" if ext else "")
            found.append(_attachment(item, name, default_mime))
    return found


def _attachment(item: dict[str, Any], name: str, default_mime: str) -> Attachment:
    file_id = item.get("file_id")
    if not isinstance(file_id, str) or not file_id:
        raise TypeError("an attachment without file_id")
    mime = item.get("mime_type") if isinstance(item.get("mime_type"), str) else ""
    if not mime:
        mime = mimetypes.guess_type(name)[0] or default_mime
    name = clip(name.replace("/", "_").replace("\\", "_"), FILE_NAME_LIMIT)
    return Attachment(
        name=name, mime=clip(mime, 100), size=_size(item.get("file_size")), ref=clip(file_id, 512)
    )


def _size(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _id_part(item: dict[str, Any]) -> str:
    unique = item.get("file_unique_id")
    return (
        "".join(c for c in unique if c.isalnum() or c in "-_")[:32]
        if isinstance(unique, str)
        else "file"
    )


def _quoted(msg: dict[str, Any]) -> str:
    quote = msg.get("quote")
    original = msg["reply_to_message"]
    text = quote.get("text") if isinstance(quote, dict) else None
    if not isinstance(text, str):
        text = original.get("text", original.get("caption", ""))
    text = " ".join(text.split()) if isinstance(text, str) else ""
    if not text:
        text = "an earlier message"
    return text if len(text) <= 80 else text[:79] + "…"


def _forwarded_from(msg: dict[str, Any]) -> str:
    origin = msg.get("forward_origin")
    if isinstance(origin, dict):
        who = origin.get("sender_user") or origin.get("chat") or origin.get("sender_chat")
        if isinstance(who, dict):
            return f" from {_name(who)}"
        if isinstance(origin.get("sender_user_name"), str):
            return f" from {clip(origin['sender_user_name'], NAME_LIMIT)}"
    if isinstance(msg.get("forward_from"), dict):
        return f" from {_name(msg['forward_from'])}"
    return ""


def _describe_other(msg: dict[str, Any]) -> str:
    """A plain-text stand-in for a message with neither text nor a file."""
    if isinstance(msg.get("sticker"), dict):
        emoji = msg["sticker"].get("emoji")
        return f"[sticker {clip(emoji, 16)}]".replace(" ]", "]")
    if isinstance(msg.get("location"), dict):
        loc = msg["location"]
        lat, lon = loc.get("latitude"), loc.get("longitude")
        if isinstance(lat, (int, float)) and isinstance(lon, (int, float)):
            return f"[location {lat:.5f}, {lon:.5f}]"
        return "[location]"
    if isinstance(msg.get("contact"), dict):
        contact = msg["contact"]
        phone = contact.get("phone_number") if isinstance(contact.get("phone_number"), str) else ""
        return f"[contact: {_name(contact)} {clip(phone, 32)}]".replace(" ]", "]")
    if isinstance(msg.get("poll"), dict):
        return f"[poll: {clip(msg['poll'].get('question'), 300)}]"
    for key in ("new_chat_members", "left_chat_member", "new_chat_title", "pinned_message"):
        if key in msg:
            return f"[{key.replace('_', ' ')}]"
    return "[a kind of Telegram message frontdesk cannot show]"


__all__ = ["MESSAGE_KINDS", "attachments_of", "parse_message", "parse_update"]
