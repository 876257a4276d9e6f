"""The Messenger backend: a Facebook Page's chats by webhook (or by polling its Conversations API), answered with the Send API.

Settings `page_id`, `mode` ("webhook" or "poll"), `api_version`, `base_url`; secrets
`page_access_token`, `app_secret` (signs webhooks), `verify_token` (Meta's GET check).
Thread key and contact address: the customer's Page-scoped id (PSID); external id: the
message's mid.

Webhook mode: the desk's receiver hands each signed body to `parse_webhook`; `run` then
looks up the names of new senders (User Profile API, cached per PSID) and hands them as
`ContactProfile`, so a profile call never delays the answer to Meta.

Poll mode: `run` reads the Page's Conversations API, paced to `calls_per_second` (Meta
allows 2 per Page), with the newest `updated_time` fully ingested as the cursor, so a
restart re-reads from there and the store's dedup on mid drops what it has.

Read receipts carry only a watermark (a time), not message ids. Mapping it needs the
times of the messages we sent; the backend remembers the mids it sent in this run with
Meta's time from their echo (else the time the Send API answered, which is never earlier),
and reports those up to the watermark as read. Messages sent before a restart stay
"delivered" rather than being guessed read.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, BinaryIO, ClassVar
from urllib.parse import urlsplit

from frontdesk.backends.base import (
    AmbiguousError,
    BackendError,
    ConfigError,
    PermanentError,
    SecretSource,
    Sink,
    TransientError,
    WindowClosedError,
    WindowRule,
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
from frontdesk.backends.messenger_parse import (
    OUR_METADATA,
    parse_body,
    parse_graph_message,
    parse_time,
    send_type,
)
from frontdesk.backends.webhook import WebhookBackend, meta_challenge, meta_signature_ok
from frontdesk.model import ChannelEvent, ContactProfile, Outgoing, SendResult

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://graph.facebook.com"
TEXT_LIMIT = 2000  # Send API text, characters
UPLOAD_LIMIT = 25 * 1024 * 1024  # Send API attachment upload
DOWNLOAD_LIMIT = 100 * 1024 * 1024
HUMAN_AGENT = "HUMAN_AGENT"
#: Graph error codes of the rate limits (application, user, calls to this API)
RATE_LIMIT_CODES = {4, 17, 32, 613}
WINDOW_SUBCODES = {2018278, 2018065}
#: PSIDs whose names are kept; PSIDs queued for a lookup at most
PROFILE_CACHE = 10_000
PROFILE_QUEUE = 10_000

_DEFAULTS: dict[str, Any] = {
    "page_id": "",
    "mode": "webhook",
    "api_version": "v21.0",
    "base_url": DEFAULT_BASE_URL,
    "poll_interval": 10.0,
    "calls_per_second": 2.0,
    "history_days": 7,
    "page_size": 25,
    "rate_limit_wait": 60.0,
    "backoff_initial": 1.0,
    "backoff_max": 300.0,
    "refused_retry": 300.0,
    "request_timeout": 30.0,
    "connect_timeout": 10.0,
}


class TokenRejected(PollRefused):
    """190: Meta does not accept the Page access token (wrong, expired or revoked)."""


class Pacer:
    """Spaces calls at least 1/`per_second` apart (Meta's limit per Page), across tasks."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            now = time.monotonic()
            if self._next > now:
                await asyncio.sleep(self._next - now)
            self._next = max(now, self._next) + self.interval


class SentLedger:
    """The mids this run sent, per PSID with their time, to map read watermarks to messages."""

    def __init__(self, per_psid: int = 200, psids: int = 10_000) -> None:
        self._sent: OrderedDict[str, deque[tuple[int, str]]] = OrderedDict()
        self._ours: OrderedDict[str, None] = OrderedDict()
        self.per_psid, self.psids = per_psid, psids

    def record(self, psid: str, mid: str, at_ms: int) -> None:
        queue = self._sent.setdefault(psid, deque(maxlen=self.per_psid))
        self._sent.move_to_end(psid)
        queue.append((at_ms, mid))
        self._ours[mid] = None
        while len(self._sent) > self.psids:
            self._sent.popitem(last=False)
        while len(self._ours) > self.psids * 10:
            self._ours.popitem(last=False)

    def is_ours(self, mid: str) -> bool:
        return mid in self._ours

    def saw_echo(self, psid: str, mid: str, timestamp_ms: int) -> None:
        queue = self._sent.get(psid)
        if queue:  # Meta's own time is exact; ours was an upper bound
            self._sent[psid] = deque(
                ((timestamp_ms if m == mid else t, m) for t, m in queue), maxlen=self.per_psid
            )

    def sent_up_to(self, psid: str, watermark_ms: int, forget: bool = True) -> list[str]:
        queue = self._sent.get(psid)
        if not queue:
            return []
        read = [m for t, m in queue if t <= watermark_ms]
        if forget:
            self._sent[psid] = deque(((t, m) for t, m in queue if t > watermark_ms), self.per_psid)
        return read


class MessengerBackend(WebhookBackend):
    """A Facebook Page's Messenger inbox."""

    kind = "messenger"
    supports_attachments = True
    supports_read_receipts = True
    messaging_window = timedelta(hours=24)
    settings_schema: ClassVar[Mapping[str, Any]] = {
        "page_id": str,
        "mode": str,
        "api_version": str,
        "base_url": str,
        "poll_interval": number(0, 3600, "seconds"),
        "calls_per_second": number(0.01, 2, "calls per second"),
        "history_days": integer(0, 7, "days"),
        "page_size": integer(1, 100),
        "rate_limit_wait": number(0, 3600, "seconds"),
        "backoff_initial": number(0, 3600, "seconds"),
        "backoff_max": number(0, 86400, "seconds"),
        "refused_retry": number(0, 86400, "seconds"),
        "request_timeout": number(0.1, 600, "seconds"),
        "connect_timeout": number(0.1, 600, "seconds"),
    }
    """page_id: the Facebook Page's id; mode: "webhook" (Meta calls the desk's receiver) or
    "poll" (read the Conversations API, for a box Meta cannot reach); api_version: the Graph
    API version ("v21.0"); base_url: the Graph API host; poll_interval: seconds between polls;
    calls_per_second: pace of Graph reads (at most Meta's 2 per Page); history_days: how far
    back the first poll reads; page_size: conversations or messages per Graph page;
    rate_limit_wait: pause after Meta's rate-limit errors;
    backoff_initial/backoff_max: retry delays while Meta is unreachable; refused_retry: pause
    after a rejected token; request_timeout/connect_timeout: per request."""
    secret_names = ("page_access_token", "app_secret", "verify_token")

    def __init__(
        self,
        name: str,
        settings: Mapping[str, Any] | None = None,
        secrets: SecretSource | None = None,
        cursor: str | None = None,
    ) -> None:
        super().__init__(name, settings, secrets, cursor)
        cfg, problems = read_settings(self.settings, self.settings_schema, _DEFAULTS)
        if cfg["mode"] not in ("webhook", "poll"):
            problems.append(f'setting mode is {cfg["mode"]!r}; set "webhook" or "poll"')
        if not cfg["page_id"]:
            problems.append("setting page_id is missing; set it to the Facebook Page's id")
        self._problem = f"channel {name!r}: " + "; ".join(problems) if problems else None
        self.page_id: str = cfg["page_id"]
        self.mode: str = cfg["mode"] if cfg["mode"] in ("webhook", "poll") else "webhook"
        self.polling = self.mode == "poll"  # type: ignore[misc]
        self.webhook = self.mode == "webhook"  # type: ignore[misc]
        self.api_version: str = cfg["api_version"].strip("/")
        self.base_url: str = cfg["base_url"].rstrip("/")
        self.poll_interval = float(cfg["poll_interval"])
        self.history = timedelta(days=int(cfg["history_days"]))
        self.page_size = int(cfg["page_size"])
        self.rate_limit_wait = float(cfg["rate_limit_wait"])
        self.backoff = Backoff(float(cfg["backoff_initial"]), float(cfg["backoff_max"]))
        self.refused_retry = float(cfg["refused_retry"])
        self.request_timeout = float(cfg["request_timeout"])
        self.connect_timeout = float(cfg["connect_timeout"])
        self.http = HTTPClient(self.base_url, "Messenger", connect_timeout=self.connect_timeout)
        self.pacer = Pacer(float(cfg["calls_per_second"]))
        self.status = StatusReporter(name)
        self.ledger = SentLedger()
        self.names: OrderedDict[str, str] = OrderedDict()
        self.lookups: asyncio.Queue[str] = asyncio.Queue(PROFILE_QUEUE)
        self._queued: set[str] = set()
        self._sink: Sink | None = None
        self._token: str | None = None

    @property
    def required_secrets(self) -> tuple[str, ...]:
        # app_secret and verify_token serve only the webhook: a polled Page needs its token alone
        return ("page_access_token",) if self.polling else self.secret_names

    @property
    def window_rule(self) -> WindowRule:
        return WindowRule(
            timedelta(hours=24),
            closed_label="the customer must write first",
            way_out="Messenger accepts no reply 7 days after the customer's last message; wait "
            "for them to write again, or reach them on another channel",
            tag=HUMAN_AGENT,
            tag_span=timedelta(days=7),
        )

    # ---- webhook -------------------------------------------------------------------------------

    def signature_ok(self, headers: Mapping[str, str], body: bytes) -> bool:
        secret = self._secrets("app_secret") or ""
        return meta_signature_ok(secret, headers.get("x-hub-signature-256"), body)

    def subscription_answer(self, query: Mapping[str, str]) -> str | None:
        return meta_challenge(self._secrets("verify_token") or "", query)

    def parse_webhook(self, body: bytes) -> list[ChannelEvent]:
        """The body's events; the names of new senders are looked up later by `run`."""
        parsed = parse_body(body, self.page_id, self.ledger)
        for psid in parsed.senders:
            self._want_name(psid)
        return parsed.events

    def _want_name(self, psid: str) -> None:
        if psid in self.names or psid in self._queued:
            return
        try:
            self.lookups.put_nowait(psid)
        except asyncio.QueueFull:
            return  # under a flood the names wait for the sender's next message
        self._queued.add(psid)

    # ---- plumbing ----------------------------------------------------------------------------

    def _page_token(self) -> str:
        if self._problem:
            raise ConfigError(self._problem)
        if self._token is None:
            self._token = self.secret("page_access_token")
            protect(self._token)
        return self._token

    async def _graph(
        self,
        method: str,
        path: str,
        *,
        label: str,
        params: dict[str, Any] | None = None,
        sending: bool = False,
        paced: bool = True,
        **kwargs: Any,
    ) -> Any:
        """One Graph API call under `/{api_version}`; its JSON, or the matching BackendError."""
        token = self._page_token()
        if paced:
            await self.pacer.wait()
        reply = await self.http.request(
            method,
            f"/{self.api_version}{path}",
            params={**(params or {}), "access_token": token},
            timeout=self.request_timeout,
            sending=sending,
            label=label,
            **kwargs,
        )
        try:
            data = self._result(reply, label)
        except TokenRejected as exc:
            self._token = None  # read the secret again: the agent may have set a new one
            await self._report("down", str(exc))
            raise
        if self.status.down and not self.polling:
            await self._report("ok")
        return data

    async def _report(self, state: str, detail: str = "") -> None:
        if self._sink is not None:
            await self.status.report(self._sink, state, detail)

    def _result(self, reply: Reply, label: str) -> Any:
        data = reply.data if isinstance(reply.data, dict) else None
        error = data.get("error") if data is not None else None
        if reply.status == 200 and data is not None and not isinstance(error, dict):
            return data
        error = error if isinstance(error, dict) else {}
        code = error.get("code") if isinstance(error.get("code"), int) else reply.status
        subcode = error.get("error_subcode")
        text = scrub(clip(error.get("message"), 300)) or reply.text.strip()[:200]
        said = f"({code}{f'/{subcode}' if subcode else ''} {text or f'HTTP {reply.status}'})"
        if code == 190 or reply.status == 401:
            raise TokenRejected(
                f"Messenger rejected the Page access token {said}: create a new one (Meta app → "
                f"Messenger → Access tokens) and run `frontdesk creds set {self.name} page_access_token`"
            )
        if code in RATE_LIMIT_CODES:
            raise TransientError(
                f"Messenger rate limit on {label} {said}", retry_after=self.rate_limit_wait
            )
        if code == 10 and subcode in WINDOW_SUBCODES:
            raise WindowClosedError(
                f"Messenger refused the reply: it is outside the allowed window {said}",
                "the customer wrote more than 7 days ago (or the HUMAN_AGENT tag is not approved "
                "for this app); wait for them to write again, or reach them on another channel",
            )
        if code == 551:
            raise PermanentError(f"Messenger: this person is not available right now {said}")
        if code in (1, 2) or reply.status >= 500:
            raise TransientError(f"Messenger server error on {label} {said}")
        if code in (10, 200, 230) or reply.status == 403:
            raise PermanentError(
                f"Messenger refused {label}: the app lacks a permission {said}; check the app's "
                "pages_messaging permission and that the token belongs to this Page"
            )
        raise PermanentError(f"Messenger refused {label} {said}")

    # ---- reading -------------------------------------------------------------------------------

    async def run(self, sink: Sink) -> None:
        """Webhook mode: look up the names of new senders. Poll mode: poll until cancelled."""
        self._sink = sink
        self._page_token()
        if not self.polling:
            await self._look_up_names(sink)
            return

        async def poll_once() -> float:
            try:
                await self._poll(sink)
            except TokenRejected:
                self._token = None
                raise
            return self.poll_interval

        await poll_forever(
            self.name,
            sink,
            poll_once,
            backoff=self.backoff,
            slow_retry=self.refused_retry,
            status=self.status,
            logger=log,
        )

    async def _look_up_names(self, sink: Sink) -> None:
        while True:
            psid = await self.lookups.get()
            try:
                name = await self.profile_name(psid)
            except (TransientError, TokenRejected) as exc:
                log.info("channel %s: no name for a sender yet (%s)", self.name, scrub(str(exc)))
                self._queued.discard(psid)  # asked again at their next message
                await asyncio.sleep(self.backoff.next())
                continue
            except BackendError as exc:
                log.info("channel %s: no profile for a sender (%s)", self.name, scrub(str(exc)))
                name = ""  # the person does not share it; not asked again in this run
            self.backoff.reset()
            self._queued.discard(psid)
            self.names[psid] = name
            while len(self.names) > PROFILE_CACHE:
                self.names.popitem(last=False)
            if name:
                await sink.ingest(self.name, [ContactProfile(psid, name)])

    async def profile_name(self, psid: str) -> str:
        """The person's name from the User Profile API (first and last name)."""
        data = await self._graph(
            "GET", f"/{psid}", label="profile", params={"fields": "first_name,last_name"}
        )
        parts = [data.get(k) for k in ("first_name", "last_name")]
        return clip(" ".join(p for p in parts if isinstance(p, str) and p.strip()), 128)

    async def fetch_once(self, sink: Sink) -> None:
        """Poll mode: read what changed since the cursor (`sync --once`)."""
        if not self.polling:
            raise NotImplementedError(
                f'channel {self.name!r} receives by webhook; set mode = "poll" to fetch once'
            )
        await self._poll(sink)

    async def _poll(self, sink: Sink) -> None:
        """Ingest the messages of every conversation updated since the cursor, oldest first,
        committing each conversation's updated_time as the cursor with its messages."""
        since = self._since()
        for updated, conv_id in await self._changed_conversations(since):
            events = await self._messages_since(conv_id, since)
            cursor = updated.isoformat()
            await sink.ingest(self.name, events, cursor=cursor)
            self.cursor = cursor

    def _since(self) -> datetime:
        try:
            if self.cursor:
                return datetime.fromisoformat(self.cursor)
        except ValueError:
            log.warning("channel %s: ignoring an unreadable cursor", self.name)
        return datetime.now(timezone.utc) - self.history

    async def _changed_conversations(self, since: datetime) -> list[tuple[datetime, str]]:
        found: list[tuple[datetime, str]] = []
        params: dict[str, Any] = {
            "platform": "messenger",
            "fields": "id,updated_time",
            "limit": self.page_size,
        }
        for _ in range(400):  # newest first; stop at the first one not changed since
            data = await self._graph(
                "GET", f"/{self.page_id}/conversations", label="conversations", params=params
            )
            items = data.get("data") if isinstance(data.get("data"), list) else []
            for item in items:
                try:
                    updated, conv_id = parse_time(item["updated_time"]), str(item["id"])
                except (*MALFORMED, TypeError):
                    continue
                if updated < since:
                    return sorted(found)
                found.append((updated, conv_id))
            after = _next_cursor(data)
            if not items or after is None:
                break
            params = {**params, "after": after}
        return sorted(found)

    async def _messages_since(self, conv_id: str, since: datetime) -> list[ChannelEvent]:
        events: list[ChannelEvent] = []
        params: dict[str, Any] = {
            "fields": "id,created_time,from,to,message,attachments",
            "limit": self.page_size,
        }
        for _ in range(400):
            data = await self._graph("GET", f"/{conv_id}/messages", label="messages", params=params)
            items = data.get("data") if isinstance(data.get("data"), list) else []
            older = False
            for item in items:
                try:
                    message = parse_graph_message(item, self.page_id)
                except MALFORMED as exc:
                    events.append(unparsable(self.name, item, exc, log, what="Messenger message"))
                    continue
                if message.created_at < since:
                    older = True
                    break
                if not self.ledger.is_ours(message.external_id):  # sent by this run: stored
                    events.append(message)
            after = _next_cursor(data)
            if older or not items or after is None:
                break
            params = {**params, "after": after}
        events.reverse()  # oldest first, as they were written
        return events

    # ---- sending -------------------------------------------------------------------------------

    async def send(self, outgoing: Outgoing) -> SendResult:
        """The text, then each file, through the Send API; RESPONSE inside 24 h, else the tag."""
        psid = outgoing.thread_key or outgoing.to
        if not psid:
            raise PermanentError("no Messenger recipient: the conversation has no PSID")
        if outgoing.template is not None:
            raise PermanentError("Messenger has no message templates; send a text reply")
        body = outgoing.body
        if len(body) > TEXT_LIMIT:
            raise PermanentError(
                f"the reply is {len(body):,} characters; Messenger accepts at most "
                f"{TEXT_LIMIT:,} — shorten or split it"
            )
        if not body.strip() and not outgoing.attachments:
            raise PermanentError("an empty message cannot be sent on Messenger")
        for attachment in outgoing.attachments:
            self._check_file(attachment.name, attachment.mime, attachment.ref)
        kind: dict[str, Any] = (
            {"messaging_type": "MESSAGE_TAG", "tag": outgoing.tag}
            if outgoing.tag
            else {"messaging_type": "RESPONSE"}
        )
        metadata = OUR_METADATA + (outgoing.idempotency_key or str(outgoing.message_id))
        first: str | None = None
        try:
            if body.strip():
                payload = {
                    "recipient": {"id": psid},
                    **kind,
                    "message": {"text": body, "metadata": metadata},
                }
                first = await self._post_message(psid, json=payload)
            for attachment in outgoing.attachments:
                path = Path(attachment.ref)
                form = {
                    "recipient": json.dumps({"id": psid}),
                    **kind,
                    "message": json.dumps(
                        {
                            "attachment": {
                                "type": send_type(attachment.mime),
                                "payload": {"is_reusable": False},
                            },
                            "metadata": metadata,
                        }
                    ),
                }
                files = {
                    "filedata": (attachment.name or path.name, path.read_bytes(), attachment.mime)
                }
                mid = await self._post_message(psid, data=form, files=files)
                first = first or mid
        except (TransientError, PermanentError, OSError) as exc:
            if first is None:
                if isinstance(exc, OSError):
                    raise PermanentError(f"cannot read the file to send: {exc}") from None
                raise
            raise AmbiguousError(
                f"part of the message was sent ({first}) but not all: {exc}"
            ) from None
        assert first is not None
        return SendResult(first)

    async def _post_message(self, psid: str, **kwargs: Any) -> str:
        try:
            data = await self._graph(
                "POST", "/me/messages", label="send", sending=True, paced=False, **kwargs
            )
        except TokenRejected as exc:
            # the message waits for the new token instead of failing for good
            raise TransientError(str(exc), retry_after=self.refused_retry) from None
        mid = data.get("message_id")
        if not isinstance(mid, str) or not mid:
            raise AmbiguousError(
                "Messenger answered without a message id; the message may have been sent"
            )
        # the time after the answer is never earlier than Meta's, so a read is never guessed
        self.ledger.record(psid, mid, int(time.time() * 1000))
        return mid

    def _check_file(self, name: str, mime: str, ref: str) -> None:
        path = Path(ref) if ref else None
        if path is None or not path.is_file():
            raise PermanentError(f"the file {name!r} to send is missing ({ref or 'no path'})")
        if problem := self.attachment_problem(name, mime, path.stat().st_size):
            raise PermanentError(problem)

    def attachment_problem(self, name: str, mime: str, size: int) -> str | None:
        if size > UPLOAD_LIMIT:
            return (
                f"{name} is {size / 1_000_000:.1f} MB; Messenger accepts files up to 25 MB — "
                "send a smaller file or a link"
            )
        return None

    async def mark_read(self, thread_key: str, external_ids: Any) -> None:
        """`mark_seen` for the conversation: the customer sees their messages were read."""
        await self._graph(
            "POST",
            "/me/messages",
            label="mark_seen",
            paced=False,
            json={"recipient": {"id": thread_key}, "sender_action": "mark_seen"},
        )

    # ---- received files --------------------------------------------------------------------------

    async def fetch_attachment(self, ref: str, max_bytes: int = DOWNLOAD_LIMIT) -> bytes:
        buffer = io.BytesIO()
        await self.download_attachment(ref, buffer, max_bytes)
        return buffer.getvalue()

    async def download_attachment(
        self, ref: str, into: BinaryIO, max_bytes: int = DOWNLOAD_LIMIT
    ) -> int:
        """A received file: `ref` is the url Messenger gave (its CDN; https only)."""
        parts = urlsplit(ref)
        ours = ref.startswith(self.base_url + "/")
        if parts.scheme != "https" and not ours:
            raise PermanentError("Messenger gave a file address that is not https; not fetched")
        origin = f"{parts.scheme}://{parts.netloc}"
        path = ref[len(origin) :] or "/"
        cdn = HTTPClient(origin, "Messenger file host", connect_timeout=self.connect_timeout)
        try:
            return await cdn.download(
                path, timeout=self.request_timeout, max_bytes=max_bytes, into=into
            )
        finally:
            await cdn.aclose()

    # ---- doctor --------------------------------------------------------------------------------

    async def check(self) -> list[str]:
        """The Page token against the Page (GET /{page_id}?fields=name)."""
        try:
            page = await self._graph(
                "GET", f"/{self.page_id}", label="page", params={"fields": "name"}, paced=False
            )
        except ConfigError as exc:
            return [str(exc)]
        except TransientError as exc:
            return [f"{exc} — check the network, a proxy, or base_url ({self.base_url})"]
        except BackendError as exc:
            return [str(exc)]
        problems: list[str] = []
        if str(page.get("id", self.page_id)) != self.page_id:
            problems.append(
                f"the token answers for Page {page.get('id')!r}, not page_id {self.page_id!r}; "
                "fix page_id in the channel block"
            )
        return problems

    async def close(self) -> None:
        await self.http.aclose()


def _next_cursor(data: dict[str, Any]) -> str | None:
    paging = data.get("paging")
    if not isinstance(paging, dict) or not paging.get("next"):
        return None
    cursors = paging.get("cursors")
    after = cursors.get("after") if isinstance(cursors, dict) else None
    return after if isinstance(after, str) and after else None


__all__ = ["MessengerBackend", "Pacer", "SentLedger"]
