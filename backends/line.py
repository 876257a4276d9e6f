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

The backend is this module (settings, calls and their errors, the webhook, `run`, read
marks, doctor) with its parts beside it: `line_send.py` (reply token or push, the quota),
`line_files.py` (files served to LINE, received files), `line_media.py` (what LINE takes by
URL, the message objects), `line_errors.py` (LINE's error answers) and `line_parse.py`
(webhook bodies → events).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import httpx

from frontdesk.backends.base import BackendError, Sink, number
from frontdesk.backends.httpbackend import BearerAuth, HTTPChannel
from frontdesk.backends.httpchannel import HTTPClient, Reply, StatusReporter, clip, protect, scrub
from frontdesk.backends.line_errors import LINE, TokenRejected, error_text, line_failure
from frontdesk.backends.line_files import DOWNLOAD_LIMIT, FILES_PROBLEM, LineFiles
from frontdesk.backends.line_parse import ProfileWanted, parse_body
from frontdesk.backends.line_send import LineSending
from frontdesk.backends.webhook import WebhookBackend, line_signature_ok
from frontdesk.model import ChannelEvent, ChannelStatus, ContactProfile

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.line.me"
DEFAULT_DATA_BASE_URL = "https://api-data.line.me"
#: reply tokens kept (one per thread, the newest); the oldest go first
MAX_TOKENS = 10_000
#: display names remembered, so a chatty customer is looked up once
MAX_PROFILES = 10_000

_DEFAULTS: dict[str, Any] = {
    "base_url": DEFAULT_BASE_URL,
    "data_base_url": DEFAULT_DATA_BASE_URL,
    "reply_token_seconds": 50.0,
    "request_timeout": 30.0,
    "connect_timeout": 10.0,
}


class LineBackend(LineSending, LineFiles, HTTPChannel, WebhookBackend):
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
    defaults = _DEFAULTS
    download_limit = DOWNLOAD_LIMIT

    def configure(self, cfg: dict[str, Any]) -> None:
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
        self.status = StatusReporter(self.name)
        self._told = ChannelStatus("ok")

    # ---- plumbing ----------------------------------------------------------------------------

    def _access_token(self) -> str:
        self._check_settings()
        token = self.secret("channel_access_token")
        protect(token)
        return token

    def _auth(self) -> httpx.Auth:
        return BearerAuth(self._access_token())

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
            self._tell(ChannelStatus("down", str(self._error(reply, label))))
        elif reply.status < 500 and self._told.state != "ok":
            self._tell(ChannelStatus("ok"))
        return reply

    def _tell(self, status: ChannelStatus) -> None:
        """Hand a channel status to `run`, which reports it to the desk (each change once)."""
        if status != self._told:
            self._told = status
            self._jobs.put_nowait(status)

    def _error(self, reply: Reply, what: str, *, sending: bool = False) -> BackendError:
        """The BackendError for a failed answer, by LINE's table (line_errors.py); `sending`: a
        5xx may have sent it."""
        return LINE.judge(line_failure(reply), label=what, sending=sending, name=self.name).error

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
            log.info("channel %s: not marked read (%s)", self.name, error_text(reply))

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
        except BackendError as exc:
            return [*problems, self.doctor_line(exc)]
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


__all__ = ["FILES_PROBLEM", "LineBackend"]
