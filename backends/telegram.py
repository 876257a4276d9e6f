"""The Telegram backend: a bot read by long polling `getUpdates`, answering with `sendMessage`/`sendDocument`.

Needs no public URL. Secret `token` (from @BotFather). Thread key: the chat id; the
contact: the Telegram user (id and name). External ids are `<chat id>:<message id>`,
unique per bot; an edit is a new message `<chat id>:<message id>:edit:<edit date>` whose
body says it edits the earlier one (Telegram has no way to show an edit in place here).

The update offset is the cursor: it is handed to the desk in the same `ingest` call as
the messages of its batch, so it is committed only with them, and Telegram drops
updates only once a later `getUpdates` confirms that offset. A restart re-reads an
unconfirmed batch and the desk's dedup on external id drops what it already has.

The token is part of every request path (`/bot<token>/method`), so it is protected from
httpx's log lines, and every error text is redacted before it leaves this module.
"""

from __future__ import annotations

import io
import json
import logging
import mimetypes
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

from frontdesk.backends.base import (
    AmbiguousError,
    Backend,
    BackendError,
    ConfigError,
    PermanentError,
    SecretSource,
    Sink,
    TransientError,
    integer,
    number,
)
from frontdesk.backends.httpchannel import (
    MALFORMED,
    Backoff,
    HTTPClient,
    PollRefused,
    Reply,
    StatusReporter,
    clip,
    poll_forever,
    protect,
    read_settings,
    scrub,
    unparsable,
)
from frontdesk.model import Attachment, ContactRef, Inbound, Outgoing, SendResult

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.telegram.org"
TEXT_LIMIT = 4096  # sendMessage text, characters
CAPTION_LIMIT = 1024
UPLOAD_LIMIT = 50 * 1024 * 1024  # sendDocument multipart upload
DOWNLOAD_LIMIT = 20 * 1024 * 1024  # getFile on the cloud Bot API
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

_DEFAULTS: dict[str, Any] = {
    "base_url": DEFAULT_BASE_URL,
    "poll_timeout": 30,
    "poll_interval": 1.0,
    "limit": 100,
    "allowed_updates": ["message", "edited_message"],
    "backoff_initial": 1.0,
    "backoff_max": 60.0,
    "conflict_retry": 60.0,
    "request_timeout": 30.0,
    "connect_timeout": 10.0,
}


class Conflict(PollRefused):
    """409: another program polls the same bot, or a webhook is set."""


class TokenRejected(PollRefused):
    """401/404: Telegram does not know the token."""


class TelegramBackend(Backend):
    """A Telegram bot, polled with getUpdates."""

    kind = "telegram"
    polling = True
    supports_attachments = True
    settings_schema: ClassVar[Mapping[str, Any]] = {
        "base_url": str,
        "poll_timeout": integer(0, 300, "seconds"),
        "poll_interval": number(0, 3600, "seconds"),
        "limit": integer(1, 100),
        "allowed_updates": list[str],
        "backoff_initial": number(0, 3600, "seconds"),
        "backoff_max": number(0, 86400, "seconds"),
        "conflict_retry": number(0, 86400, "seconds"),
        "request_timeout": number(0.1, 600, "seconds"),
        "connect_timeout": number(0.1, 600, "seconds"),
    }
    """base_url: the Bot API server (a local `telegram-bot-api` or a proxy works too);
    poll_timeout: seconds a getUpdates long poll waits (0 = short polling); poll_interval:
    the least pause between polls that brought nothing; limit: updates per poll (1–100);
    allowed_updates: update kinds to receive; backoff_initial/backoff_max: retry delays
    while the network is down; conflict_retry: pause after 409 or a rejected token;
    request_timeout/connect_timeout: for sends and other calls."""
    secret_names = ("token",)

    def __init__(
        self,
        name: str,
        settings: Mapping[str, Any] | None = None,
        secrets: SecretSource | None = None,
        cursor: str | None = None,
    ) -> None:
        super().__init__(name, settings, secrets, cursor)
        cfg, problems = read_settings(self.settings, self.settings_schema, _DEFAULTS)
        self._problem = f"channel {name!r}: " + "; ".join(problems) if problems else None
        self.base_url: str = cfg["base_url"].rstrip("/")
        self.poll_timeout = max(0, int(cfg["poll_timeout"]))
        self.poll_interval = max(0.0, float(cfg["poll_interval"]))
        self.limit = min(100, max(1, int(cfg["limit"])))
        self.allowed_updates: list[str] = list(cfg["allowed_updates"])
        self.backoff = Backoff(float(cfg["backoff_initial"]), float(cfg["backoff_max"]))
        self.conflict_retry = max(0.0, float(cfg["conflict_retry"]))
        self.request_timeout = float(cfg["request_timeout"])
        self.http = HTTPClient(
            self.base_url, "Telegram", connect_timeout=float(cfg["connect_timeout"])
        )
        self.offset = _parse_cursor(cursor)
        self.status = StatusReporter(name)
        self._token: str | None = None

    # ---- plumbing ----------------------------------------------------------------------------

    def _bot_token(self, fresh: bool = False) -> str:
        if self._problem:
            raise ConfigError(self._problem)
        if self._token is None or fresh:
            self._token = self.secret("token")
            protect(self._token)
        return self._token

    async def _call(
        self,
        method: str,
        *,
        timeout: float | None = None,
        sending: bool = False,
        payload: dict[str, Any] | None = None,
        files: dict[str, Any] | None = None,
    ) -> Any:
        """Call a Bot API method; return its `result` or raise the matching BackendError."""
        token = self._bot_token()
        kwargs: dict[str, Any] = {}
        if files:
            kwargs["data"] = {
                k: v if isinstance(v, str) else json.dumps(v) for k, v in (payload or {}).items()
            }
            kwargs["files"] = files
        else:
            kwargs["json"] = payload or {}
        reply = await self.http.request(
            "POST",
            f"/bot{token}/{method}",
            timeout=timeout or self.request_timeout,
            sending=sending,
            label=method,
            **kwargs,
        )
        return self._result(method, reply)

    def _result(self, method: str, reply: Reply) -> Any:
        data = reply.data if isinstance(reply.data, dict) else {}
        if reply.status == 200 and data.get("ok") is True:
            return data.get("result")
        code = data.get("error_code") if isinstance(data.get("error_code"), int) else reply.status
        description = (
            scrub(clip(data.get("description"), 300))
            or reply.text.strip()[:200]
            or f"HTTP {reply.status}"
        )
        parameters = data.get("parameters") if isinstance(data.get("parameters"), dict) else {}
        if code == 429:
            retry_after = parameters.get("retry_after")
            if (
                not isinstance(retry_after, (int, float))
                or isinstance(retry_after, bool)
                or retry_after < 0
            ):
                retry_after = reply.retry_after() or 5.0
            raise TransientError(
                f"Telegram rate limit on {method} ({description})", retry_after=float(retry_after)
            )
        if code == 409:
            raise Conflict(
                f"Telegram refuses to serve updates: {description}. Another program is polling this bot, or a "
                f"webhook is set: stop the other poller (only one may run), or call deleteWebhook"
            )
        if code in (401, 404) and method != "getFile":
            raise TokenRejected(
                f"Telegram rejected the bot token ({code} {description}): copy it again from @BotFather "
                f"(/mybots → API Token) and run `frontdesk creds set {self.name} token`; check base_url too"
            )
        if reply.status >= 500 or code >= 500:
            raise TransientError(f"Telegram server error on {method} ({code} {description})")
        migrate = parameters.get("migrate_to_chat_id")
        if migrate is not None:
            description += f" (the group is now the supergroup {migrate})"
        raise PermanentError(f"Telegram refused {method}: {description}")

    # ---- reading -------------------------------------------------------------------------------

    async def run(self, sink: Sink) -> None:
        """Long-poll getUpdates until cancelled; outages and conflicts show as the channel status."""
        self._bot_token()

        async def poll_once() -> float:
            started = time.monotonic()
            try:
                count = await self._poll(sink, self.poll_timeout)
            except TokenRejected:
                self._token = None  # read the secret again: the agent may have fixed it
                raise
            quick = time.monotonic() - started < 1.0
            # a server that ignores `timeout` (or short polling) must not make this a tight loop
            return self.poll_interval if count == 0 and (quick or self.poll_timeout == 0) else 0.0

        await poll_forever(
            self.name,
            sink,
            poll_once,
            backoff=self.backoff,
            slow_retry=self.conflict_retry,
            status=self.status,
            logger=log,
        )

    async def fetch_once(self, sink: Sink) -> None:
        """Read every pending update (short polls until a page comes back short)."""
        for _ in range(10_000):
            if await self._poll(sink, 0) < self.limit:
                return

    async def _poll(self, sink: Sink, timeout: int) -> int:
        """One getUpdates; ingest its messages with the next offset as cursor. Returns the page size."""
        payload: dict[str, Any] = {
            "timeout": timeout,
            "limit": self.limit,
            "allowed_updates": self.allowed_updates,
        }
        if self.offset:
            payload["offset"] = self.offset
        # the long poll may take its full `timeout`, plus a margin for the answer to travel
        result = await self._call(
            "getUpdates", payload=payload, timeout=timeout + min(10.0, self.request_timeout)
        )
        if not isinstance(result, list):
            raise TransientError(
                "Telegram answered getUpdates with something that is not a list of updates"
            )
        events: list[Any] = []
        next_offset = self.offset
        for update in result:
            update_id = update.get("update_id") if isinstance(update, dict) else None
            if isinstance(update_id, int) and not isinstance(update_id, bool):
                if update_id < self.offset:
                    continue  # already confirmed: a server that re-sends is harmless
                next_offset = max(next_offset, update_id + 1)
            try:
                events += parse_update(update)
            except MALFORMED as exc:
                events.append(unparsable(self.name, update, exc, log, what="Telegram update"))
        if next_offset != self.offset or events:
            await sink.ingest(self.name, events, cursor=str(next_offset) if next_offset else None)
            self.offset = next_offset
            self.cursor = str(next_offset)
        return len(result)

    # ---- sending -------------------------------------------------------------------------------

    async def send(self, outgoing: Outgoing) -> SendResult:
        """sendMessage for text; sendDocument per attachment (the text as caption when it fits)."""
        chat_id = outgoing.thread_key or outgoing.to
        if not chat_id:
            raise PermanentError("no Telegram chat to send to: the conversation has no chat id")
        body = outgoing.body
        if len(body) > TEXT_LIMIT:
            raise PermanentError(
                f"the reply is {len(body):,} characters; Telegram accepts at most {TEXT_LIMIT:,} — shorten or split it"
            )
        if not outgoing.attachments:
            if not body.strip():
                raise PermanentError("an empty message cannot be sent on Telegram")
            result = await self._call(
                "sendMessage", sending=True, payload={"chat_id": chat_id, "text": body}
            )
            return SendResult(_sent_id(chat_id, result))
        first_id: str | None = None
        caption = body if len(body) <= CAPTION_LIMIT else ""
        try:
            if body.strip() and not caption:
                first_id = _sent_id(
                    chat_id,
                    await self._call(
                        "sendMessage", sending=True, payload={"chat_id": chat_id, "text": body}
                    ),
                )
            for index, attachment in enumerate(outgoing.attachments):
                payload: dict[str, Any] = {"chat_id": chat_id}
                if index == 0 and caption.strip():
                    payload["caption"] = caption
                files = None
                path = Path(attachment.ref) if attachment.ref else None
                if path is not None and path.is_file():
                    if path.stat().st_size > UPLOAD_LIMIT:
                        raise PermanentError(
                            f"{attachment.name} is larger than Telegram's 50 MB upload limit"
                        )
                    files = {
                        "document": (
                            attachment.name or path.name,
                            path.read_bytes(),
                            attachment.mime,
                        )
                    }
                elif attachment.ref:
                    payload["document"] = attachment.ref  # a file_id Telegram already has
                else:
                    raise PermanentError(f"attachment {attachment.name!r} has no file to send")
                sent = _sent_id(
                    chat_id,
                    await self._call("sendDocument", sending=True, payload=payload, files=files),
                )
                first_id = first_id or sent
        except (TransientError, PermanentError) as exc:
            if first_id is None:
                raise
            raise AmbiguousError(
                f"part of the message was sent ({first_id}) but not all: {exc}"
            ) from None
        assert first_id is not None
        return SendResult(first_id)

    async def fetch_attachment(self, ref: str, max_bytes: int = DOWNLOAD_LIMIT) -> bytes:
        """The bytes of a received file (`Attachment.ref` is its file_id), through getFile."""
        buffer = io.BytesIO()
        await self.download_attachment(ref, buffer, max_bytes)
        return buffer.getvalue()

    async def download_attachment(
        self, ref: str, into: BinaryIO, max_bytes: int = DOWNLOAD_LIMIT
    ) -> int:
        """A received file (`Attachment.ref` is its file_id), found with getFile, streamed into `into`."""
        info = await self._call("getFile", payload={"file_id": ref})
        file_path = info.get("file_path") if isinstance(info, dict) else None
        if not isinstance(file_path, str) or ".." in file_path or file_path.startswith("/"):
            raise PermanentError("Telegram did not give a path for this file (larger than 20 MB?)")
        token = self._bot_token()
        return await self.http.download(
            f"/file/bot{token}/{file_path}",
            timeout=self.request_timeout,
            max_bytes=max_bytes,
            into=into,
        )

    # ---- doctor --------------------------------------------------------------------------------

    async def check(self) -> list[str]:
        """getMe (token valid?) and getWebhookInfo (a webhook blocks polling)."""
        try:
            me = await self._call("getMe")
            hook = await self._call("getWebhookInfo")
        except ConfigError as exc:
            return [str(exc)]
        except TokenRejected as exc:
            return [str(exc)]
        except TransientError as exc:
            return [f"{exc} — check the network, a proxy, or base_url ({self.base_url})"]
        except BackendError as exc:
            return [str(exc)]
        problems: list[str] = []
        if not isinstance(me, dict) or not me.get("is_bot"):
            problems.append("getMe did not describe a bot: is base_url a Telegram Bot API server?")
        if isinstance(hook, dict) and hook.get("url"):
            problems.append(
                "a webhook is set for this bot, so polling gets 409 Conflict — remove it by calling "
                "deleteWebhook (https://api.telegram.org/bot<token>/deleteWebhook)"
            )
        return problems

    async def close(self) -> None:
        await self.http.aclose()


# ---- parsing (pure functions; each raises on a malformed update) ---------------------------------


def _parse_cursor(cursor: str | None) -> int:
    try:
        return max(0, int(cursor)) if cursor else 0
    except ValueError:
        log.warning("telegram: ignoring an unreadable cursor")
        return 0


def _sent_id(chat_id: str, result: Any) -> str:
    if not isinstance(result, dict) or not isinstance(result.get("message_id"), int):
        raise AmbiguousError(
            "Telegram answered without a message id; the message may have been sent"
        )
    return f"{chat_id}:{result['message_id']}"


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


__all__ = ["TelegramBackend", "attachments_of", "parse_message", "parse_update"]
