"""The LINE backend: a Messaging API channel fed by webhook, answering by reply token or push.

Secrets `channel_access_token` (long-lived, from the LINE Developers console) and
`channel_secret` (checks `X-Line-Signature`). Thread key: the userId of a 1:1 chat, or the
groupId/roomId of a group. Display names come from the profile API after the message is
stored: `parse_webhook` queues the lookup and `run` does it, so the webhook's 200 never waits.

Sending: a reply token LINE gave with the customer's latest event is free but single-use
and valid for about a minute, so `send` uses it while it is under `reply_token_seconds` old
and unused, else a push (counted against the monthly quota) with `X-Line-Retry-Key` derived
from the message's idempotency key: a retried push LINE already accepted answers 409, which
is success. A reply that may have gone out is never retried (it cannot be deduplicated),
so `idempotent_send` stays False; a push whose answer was lost is retried with the same key.
LINE takes files only by HTTPS URL: a picture, MP4 video or M4A audio the agent attaches
(`line_media.py`: types, sizes, the message objects) is served by the desk's receiver at
`<public_url>/files/<token>` (`served_file`), the token an HMAC of the file's path under the
channel secret, so nobody can guess it and a retry reuses it. A video goes with a preview
picture written beside it; an audio file with its length read from its MP4 header.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import io
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO, ClassVar
from urllib.parse import urlsplit

import httpx

from frontdesk.backends.base import (
    AmbiguousDeadline,
    AmbiguousError,
    BackendError,
    ConfigError,
    PermanentError,
    SecretSource,
    Sink,
    TransientDeadline,
    TransientError,
    number,
)
from frontdesk.backends.httpchannel import (
    HTTPClient,
    Reply,
    StatusReporter,
    clip,
    protect,
    read_settings,
    scrub,
)
from frontdesk.backends.line_media import (
    audio_problem,
    file_message,
    kind_of,
    mp4_duration_ms,
    size_problem,
)
from frontdesk.backends.line_parse import ProfileWanted, parse_body
from frontdesk.backends.webhook import WebhookBackend, line_signature_ok
from frontdesk.model import ChannelEvent, ChannelStatus, ContactProfile, Outgoing, SendResult

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.line.me"
DEFAULT_DATA_BASE_URL = "https://api-data.line.me"
TEXT_LIMIT = 5000  # characters in one text message object
DOWNLOAD_LIMIT = 200 * 1024 * 1024  # the largest file a customer can send on LINE, with room
#: reply tokens kept (one per thread, the newest); the oldest go first
MAX_TOKENS = 10_000
#: display names remembered, so a chatty customer is looked up once
MAX_PROFILES = 10_000
ALLOWANCE_SECONDS = 60.0
#: names a stable X-Line-Retry-Key (a UUID, as LINE requires) for one outgoing message
_RETRY_NAMESPACE = uuid.UUID("6c1b3f4e-2a55-4a43-9a0e-4c7b1f0d5e21")

_DEFAULTS: dict[str, Any] = {
    "base_url": DEFAULT_BASE_URL,
    "data_base_url": DEFAULT_DATA_BASE_URL,
    "reply_token_seconds": 50.0,
    "request_timeout": 30.0,
    "connect_timeout": 10.0,
}

#: a request holds at most five message objects: the text and four files
MAX_FILES = 4
#: files served to LINE by token, newest kept
MAX_SERVED = 10_000

FILES_PROBLEM = (
    "LINE sends files only from a public HTTPS URL; set [webhooks] public_url (the desk's "
    "receiver then serves the file to LINE), or share the file by a link in the text"
)


class TokenRejected(PermanentError):
    """401: LINE does not accept the channel access token."""


class _Bearer(httpx.Auth):
    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request):  # type: ignore[override]
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


class LineBackend(WebhookBackend):
    """A LINE Official Account's Messaging API channel."""

    kind = "line"
    supports_attachments = (
        True  # received files download; sending them is refused (see FILES_PROBLEM)
    )
    idempotent_send = False
    #: LINE fetches a picture from the desk when the customer opens it, maybe days later
    sent_files_fetched_for = timedelta(days=30)
    settings_schema: ClassVar[Mapping[str, Any]] = {
        "base_url": str,
        "data_base_url": str,
        "reply_token_seconds": number(0, 60, "seconds"),
        "request_timeout": number(0.1, 600, "seconds"),
        "connect_timeout": number(0.1, 600, "seconds"),
    }
    """base_url: the Messaging API host; data_base_url: the host serving received content;
    reply_token_seconds: how long after the customer's event its reply token is used (LINE
    accepts it for about a minute); request_timeout/connect_timeout: for every call."""
    secret_names = ("channel_access_token", "channel_secret")

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
        self.reply_token_seconds = float(cfg["reply_token_seconds"])
        self.request_timeout = float(cfg["request_timeout"])
        connect = float(cfg["connect_timeout"])
        self.http = HTTPClient(self.base_url, "LINE", connect_timeout=connect, auth=self._auth)
        self.data_http = HTTPClient(
            cfg["data_base_url"], "LINE", connect_timeout=connect, auth=self._auth
        )
        #: monotonic seconds; tests replace it to age reply tokens
        self.clock: Callable[[], float] = time.monotonic
        self._tokens: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._names: OrderedDict[str, str] = OrderedDict()
        self._jobs: asyncio.Queue[ProfileWanted | ChannelStatus] = asyncio.Queue()
        self._wanted: set[str] = set()
        self._allowance: tuple[float, str | None] | None = None
        self._served: OrderedDict[str, Path] = OrderedDict()
        #: thread key -> (message id, markAsReadToken) of its newest message
        self._read_tokens: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self.status = StatusReporter(name)
        self._told = ChannelStatus("ok")

    # ---- plumbing ----------------------------------------------------------------------------

    def _access_token(self) -> str:
        if self._problem:
            raise ConfigError(self._problem)
        token = self.secret("channel_access_token")
        protect(token)
        return token

    def _auth(self) -> httpx.Auth:
        return _Bearer(self._access_token())

    async def _call(
        self,
        method: str,
        path: str,
        *,
        label: str,
        sending: bool = False,
        payload: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        kwargs: dict[str, Any] = {"headers": headers} if headers else {}
        if payload is not None:
            kwargs["json"] = payload
        reply = await self.http.request(
            method,
            path,
            timeout=self.request_timeout,
            sending=sending,
            label=label,
            **kwargs,
        )
        if reply.status == 401:
            self._tell(ChannelStatus("down", self._token_fix(reply)))
        elif reply.status < 500 and self._told.state != "ok":
            self._tell(ChannelStatus("ok"))
        return reply

    def _tell(self, status: ChannelStatus) -> None:
        """Hand a channel status to `run`, which reports it to the desk (each change once)."""
        if status != self._told:
            self._told = status
            self._jobs.put_nowait(status)

    def _token_fix(self, reply: Reply) -> str:
        return (
            f"LINE rejected the channel access token ({_message(reply)}): issue a long-lived "
            f"channel access token in the LINE Developers console (your channel → Messaging API "
            f"tab) and run `frontdesk creds set {self.name} channel_access_token`"
        )

    def _error(self, reply: Reply, what: str, *, sending: bool = False) -> BackendError:
        """The BackendError for a failed answer; `sending`: a 5xx may have sent it."""
        message = _message(reply)
        text = f"LINE refused {what}: {message}"
        if reply.status == 401:
            return TokenRejected(self._token_fix(reply))
        if reply.status == 429:
            if "monthly" in message.lower():
                return PermanentError(
                    f"LINE: the monthly message quota is used up ({message}); replies within a minute "
                    f"of the customer's message are still free — raise the plan in LINE Official "
                    f"Account Manager, or wait for next month"
                )
            return TransientError(
                f"LINE rate limit on {what} ({message})", retry_after=reply.retry_after() or 10.0
            )
        if reply.status >= 500:
            if sending:
                return AmbiguousError(
                    f"LINE server error on {what} ({reply.status} {message}); the message may have been sent"
                )
            return TransientError(f"LINE server error on {what} ({reply.status} {message})")
        if reply.status == 403:
            return PermanentError(
                f"{text} — the channel's plan or settings do not allow it (LINE Official Account Manager)"
            )
        return PermanentError(text)

    # ---- receiving ---------------------------------------------------------------------------

    def signature_ok(self, headers: Mapping[str, str], body: bytes) -> bool:
        """`X-Line-Signature` checked with the channel secret (False while it is not set)."""
        secret = self._secrets("channel_secret") or ""
        return line_signature_ok(secret, headers.get("x-line-signature"), body)

    def parse_webhook(self, body: bytes) -> list[ChannelEvent]:
        """The body's events; keeps its reply tokens and queues profile lookups for `run`."""
        parsed = parse_body(self.name, body)
        now = self.clock()
        for found in parsed.reply_tokens:
            self._tokens.pop(found.thread_key, None)
            self._tokens[found.thread_key] = (found.token, now)
            while len(self._tokens) > MAX_TOKENS:
                self._tokens.popitem(last=False)
        for read in parsed.read_tokens:
            self._read_tokens.pop(read.thread_key, None)
            self._read_tokens[read.thread_key] = (read.message_id, read.token)
            while len(self._read_tokens) > MAX_TOKENS:
                self._read_tokens.popitem(last=False)
        for wanted in parsed.profiles:
            if wanted.user_id not in self._names and wanted.user_id not in self._wanted:
                self._wanted.add(wanted.user_id)
                self._jobs.put_nowait(wanted)
        return parsed.events

    async def run(self, sink: Sink) -> None:
        """Check the token once, then look up display names and report the channel's status."""
        self._access_token()  # a missing secret shows the channel down with the fix
        try:
            await self._bot_info()
        except TokenRejected as exc:
            await self.status.report(sink, "down", str(exc))
        except BackendError as exc:
            log.info("channel %s: cannot check the token now (%s)", self.name, scrub(str(exc)))
        while True:
            job = await self._jobs.get()
            if isinstance(job, ChannelStatus):
                await self.status.report(sink, job.state, job.detail)
                continue
            await self._look_up(sink, job)

    async def _look_up(self, sink: Sink, wanted: ProfileWanted) -> None:
        try:
            reply = await self._call("GET", wanted.path, label="profile")
        except BackendError as exc:
            log.info("channel %s: no profile now (%s)", self.name, scrub(str(exc)))
            return
        finally:
            self._wanted.discard(wanted.user_id)
        data = reply.data if isinstance(reply.data, dict) else {}
        if reply.status != 200:
            if reply.status == 404:  # not a friend (or left the group): asking again will not help
                self._remember(wanted.user_id, "")
            return
        name = clip(data.get("displayName"), 100).strip()
        language = clip(data.get("language"), 20).strip()
        self._remember(wanted.user_id, name)
        if name or language:
            await sink.ingest(self.name, [ContactProfile(wanted.user_id, name, language)])

    def _remember(self, user_id: str, name: str) -> None:
        self._names[user_id] = name
        while len(self._names) > MAX_PROFILES:
            self._names.popitem(last=False)

    async def fetch_attachment(self, ref: str, max_bytes: int = DOWNLOAD_LIMIT) -> bytes:
        """The bytes of a received image, video, audio or file (`Attachment.ref`)."""
        buffer = io.BytesIO()
        await self.download_attachment(ref, buffer, max_bytes)
        return buffer.getvalue()

    async def download_attachment(
        self, ref: str, into: BinaryIO, max_bytes: int = DOWNLOAD_LIMIT
    ) -> int:
        """Stream a received file into `into`: by message id from LINE's content host, or from
        the other provider's HTTPS URL (without LINE's token) when LINE keeps no copy."""
        if ref.startswith("https://"):
            parts = urlsplit(ref)
            origin = HTTPClient(f"https://{parts.netloc}", "the content provider")
            try:
                path = parts.path + (f"?{parts.query}" if parts.query else "")
                return await origin.download(
                    path, timeout=self.request_timeout, max_bytes=max_bytes, into=into
                )
            finally:
                await origin.aclose()
        if not ref.isdigit():
            raise PermanentError("not a LINE message id")
        return await self.data_http.download(
            f"/v2/bot/message/{ref}/content",
            timeout=self.request_timeout,
            max_bytes=max_bytes,
            into=into,
        )

    async def mark_read(self, thread_key: str, external_ids: Sequence[str]) -> None:
        """Mark the thread read up to its newest message the agent saw (one call marks all
        earlier ones too); LINE refuses it while Chat is off, when it marks everything itself."""
        found = self._read_tokens.get(thread_key)
        if found is None or found[0] not in external_ids:
            return
        try:
            reply = await self._call(
                "POST",
                "/v2/bot/chat/markAsRead",
                label="mark as read",
                payload={"markAsReadToken": found[1]},
            )
        except BackendError as exc:
            log.info("channel %s: not marked read (%s)", self.name, scrub(str(exc)))
            return
        if reply.status == 200 and self._read_tokens.get(thread_key) == found:
            del self._read_tokens[thread_key]
        elif reply.status != 200:
            log.info("channel %s: not marked read (%s)", self.name, _message(reply))

    # ---- sending -----------------------------------------------------------------------------

    def attachment_problem(self, name: str, mime: str, size: int) -> str | None:
        """LINE takes pictures, MP4 videos and M4A audio by URL, served by the desk's receiver."""
        if not self.public_url.startswith("https://"):
            return FILES_PROBLEM
        return size_problem(name, mime, size)

    def content_problem(self, name: str, mime: str, data: bytes) -> str | None:
        """An audio file must say its length (LINE's audio message requires it)."""
        kind = kind_of(mime)
        if kind is None or kind.message != "audio":
            return None
        return audio_problem(name, mp4_duration_ms(data))

    def served_file(self, token: str) -> Path | None:
        """A file `send` offered LINE under this token (it fetches it when shown)."""
        return self._served.get(token)

    def _serve(self, path: Path) -> str:
        """The URL LINE fetches a stored file from, under a token nobody can guess."""
        key = (self._secrets("channel_secret") or self.name).encode()
        # the same file gets the same URL, so a retried push (409) points at a served file
        digest = hmac.new(key, f"file\0{path}".encode(), hashlib.sha256).digest()
        token = base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")
        self._served.pop(token, None)
        self._served[token] = path
        while len(self._served) > MAX_SERVED:
            self._served.popitem(last=False)
        return f"{self.public_url}/files/{token}"

    async def send(self, outgoing: Outgoing) -> SendResult:
        """A text by reply token while one is fresh and unused (free), else by push."""
        to = outgoing.thread_key or outgoing.to
        if not to:
            raise PermanentError("no LINE user or group to send to: the conversation has none")
        if outgoing.template is not None:
            raise PermanentError("LINE has no message templates; write the reply as text")
        body = outgoing.body
        if len(body) > TEXT_LIMIT:
            raise PermanentError(
                f"the reply is {len(body):,} characters; LINE accepts at most {TEXT_LIMIT:,} "
                f"in one message — shorten or split it"
            )
        messages: list[dict[str, Any]] = [{"type": "text", "text": body}] if body.strip() else []
        messages += self._files(outgoing)
        if not messages:
            raise PermanentError("an empty message cannot be sent on LINE")
        token = self._take_token(to)
        if token is not None:
            sent = await self._reply(to, token, messages)
            if sent is not None:
                return sent
        return await self._push(to, messages, outgoing)

    def _files(self, outgoing: Outgoing) -> list[dict[str, Any]]:
        if len(outgoing.attachments) > MAX_FILES:
            raise PermanentError(
                f"LINE takes at most {MAX_FILES} files with one reply; send the rest in another"
            )
        for attachment in outgoing.attachments:
            path = Path(attachment.ref) if attachment.ref else None
            if path is None or not path.is_absolute() or not path.is_file():
                raise PermanentError(f"{attachment.name}: the file to send is gone from the desk")
            problem = self.attachment_problem(attachment.name, attachment.mime, path.stat().st_size)
            if problem:
                raise PermanentError(problem)
        return [file_message(a, self._serve) for a in outgoing.attachments]

    def _take_token(self, thread_key: str) -> tuple[str, float] | None:
        """The thread's reply token if still fresh; it is removed either way (single use)."""
        found = self._tokens.pop(thread_key, None)
        if found is None or self.clock() - found[1] > self.reply_token_seconds:
            return None
        return found

    async def _reply(
        self, to: str, token: tuple[str, float], messages: list[dict[str, Any]]
    ) -> SendResult | None:
        """Send by reply token; None when LINE no longer accepts the token (push instead)."""
        reply = await self._call(
            "POST",
            "/v2/bot/message/reply",
            label="reply",
            sending=True,
            payload={"replyToken": token[0], "messages": messages},
        )
        if reply.status == 200:
            return SendResult(_sent_id(reply) or f"reply:{token[0]}")
        if reply.status == 400 and "reply token" in _message(reply).lower():
            return None
        if reply.status == 429 and to not in self._tokens:
            self._tokens[to] = token  # LINE did not process it: the token is still good
        raise self._error(reply, "the reply", sending=True)

    async def _push(
        self, to: str, messages: list[dict[str, Any]], outgoing: Outgoing
    ) -> SendResult:
        key = outgoing.idempotency_key or f"message-{outgoing.message_id}"
        retry_key = str(uuid.uuid5(_RETRY_NAMESPACE, f"{self.name}\0{key}"))
        try:
            reply = await self._call(
                "POST",
                "/v2/bot/message/push",
                label="push",
                sending=True,
                payload={"to": to, "messages": messages},
                headers={"X-Line-Retry-Key": retry_key},
            )
        except AmbiguousDeadline as exc:
            raise TransientDeadline(f"{exc}; retrying with the same retry key is safe") from None
        except AmbiguousError as exc:
            raise TransientError(f"{exc}; retrying with the same retry key is safe") from None
        self._allowance = None  # a push spent quota
        if reply.status in (200, 409):  # 409: LINE accepted this retry key before
            return SendResult(_sent_id(reply) or f"push:{retry_key}")
        error = self._error(reply, "the push message")
        raise error

    async def allowance(self) -> str | None:
        """ "LINE push quota: 412 of 500 left this month", cached for a minute."""
        now = self.clock()
        if self._allowance is not None and now - self._allowance[0] < ALLOWANCE_SECONDS:
            return self._allowance[1]
        try:
            line = await self._quota_line()
        except BackendError as exc:
            log.info("channel %s: no quota now (%s)", self.name, scrub(str(exc)))
            return None
        self._allowance = (now, line)
        return line

    async def _quota_line(self) -> str:
        quota = await self._call("GET", "/v2/bot/message/quota", label="quota")
        if quota.status != 200 or not isinstance(quota.data, dict):
            raise self._error(quota, "the quota query")
        limit = quota.data.get("value")
        if quota.data.get("type") == "none" or not isinstance(limit, int):
            return "LINE push quota: unlimited (replies within a minute are free)"
        used = await self._call("GET", "/v2/bot/message/quota/consumption", label="consumption")
        if used.status != 200 or not isinstance(used.data, dict):
            raise self._error(used, "the quota query")
        total = used.data.get("totalUsage")
        spent = total if isinstance(total, int) and not isinstance(total, bool) else 0
        return f"LINE push quota: {max(0, limit - spent):,} of {limit:,} left this month"

    # ---- doctor ------------------------------------------------------------------------------

    async def _bot_info(self) -> dict[str, Any]:
        reply = await self._call("GET", "/v2/bot/info", label="bot info")
        if reply.status != 200:
            raise self._error(reply, "the bot info query")
        return reply.data if isinstance(reply.data, dict) else {}

    async def check(self) -> list[str]:
        """The token against GET /v2/bot/info, the channel secret present, the webhook on."""
        problems: list[str] = []
        if not self._secrets("channel_secret"):
            problems.append(
                f"channel {self.name!r}: secret 'channel_secret' is not set, so every webhook is "
                f"refused (403) — copy it from the LINE Developers console (Basic settings) and "
                f"run `frontdesk creds set {self.name} channel_secret`"
            )
        try:
            info = await self._bot_info()
            hook = await self._call("GET", "/v2/bot/channel/webhook/endpoint", label="webhook")
        except ConfigError as exc:
            return [*problems, str(exc)]
        except TransientError as exc:
            return [*problems, f"{exc} — check the network, a proxy, or base_url ({self.base_url})"]
        except BackendError as exc:
            return [*problems, str(exc)]
        if not info.get("userId"):
            problems.append(
                "GET /v2/bot/info did not describe a bot: is base_url the Messaging API?"
            )
        data = hook.data if isinstance(hook.data, dict) else {}
        if hook.status == 200 and data.get("active") is False:
            problems.append(
                "LINE does not send webhooks to this desk: turn on 'Use webhook' in the LINE "
                "Developers console (your channel → Messaging API tab)"
            )
        return problems

    async def close(self) -> None:
        await self.http.aclose()
        await self.data_http.aclose()


def _message(reply: Reply) -> str:
    """LINE's error text with its details ("The request body has 1 error(s): text: must …")."""
    data = reply.data if isinstance(reply.data, dict) else {}
    text = (
        scrub(clip(data.get("message"), 300)) or reply.text.strip()[:200] or f"HTTP {reply.status}"
    )
    details = data.get("details")
    if isinstance(details, list):
        parts = [
            f"{clip(d.get('property'), 60)}: {clip(d.get('message'), 200)}".lstrip(": ")
            for d in details[:5]
            if isinstance(d, dict)
        ]
        if parts:
            text += " — " + "; ".join(scrub(p) for p in parts)
    return text


def _sent_id(reply: Reply) -> str:
    data = reply.data if isinstance(reply.data, dict) else {}
    sent = data.get("sentMessages")
    if isinstance(sent, list) and sent and isinstance(sent[0], dict):
        mid = sent[0].get("id")
        if isinstance(mid, str) and mid.isdigit() and len(mid) <= 64:
            return mid
    return ""


__all__ = ["LineBackend"]
