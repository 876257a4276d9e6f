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

The backend is this module (settings, Graph calls, the webhook, `run`, received files, doctor)
with its parts beside it: `messenger_send.py` (the Send API and the mids sent),
`messenger_poll.py` (poll mode), `messenger_profiles.py` (sender names),
`messenger_errors.py` (Graph's codes) and `messenger_parse.py` (bodies → events).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, BinaryIO, ClassVar
from urllib.parse import urlsplit

from frontdesk.backends.base import BackendError, PermanentError, Sink, WindowRule, integer, number
from frontdesk.backends.httpbackend import HTTPChannel
from frontdesk.backends.httpchannel import Backoff, HTTPClient, Reply, StatusReporter, protect
from frontdesk.backends.messenger_errors import MESSENGER, TokenRejected, messenger_failure
from frontdesk.backends.messenger_parse import parse_body
from frontdesk.backends.messenger_poll import MessengerPolling, Pacer
from frontdesk.backends.messenger_profiles import PROFILE_QUEUE, MessengerProfiles
from frontdesk.backends.messenger_send import MessengerSending, SentLedger
from frontdesk.backends.webhook import WebhookBackend, meta_challenge, meta_signature_ok
from frontdesk.model import ChannelEvent

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://graph.facebook.com"
DOWNLOAD_LIMIT = 100 * 1024 * 1024
HUMAN_AGENT = "HUMAN_AGENT"

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


class MessengerBackend(
    MessengerProfiles, MessengerPolling, MessengerSending, HTTPChannel, WebhookBackend
):
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
    defaults = _DEFAULTS
    download_limit = DOWNLOAD_LIMIT

    def configure(self, cfg: dict[str, Any]) -> None:
        if cfg["mode"] not in ("webhook", "poll"):
            self._problems.append(f'setting mode is {cfg["mode"]!r}; set "webhook" or "poll"')
        if not cfg["page_id"]:
            self._problems.append("setting page_id is missing; set it to the Facebook Page's id")
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
        self.status = StatusReporter(self.name)
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

    # ---- plumbing ----------------------------------------------------------------------------

    def _page_token(self) -> str:
        self._check_settings()
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
        failure = messenger_failure(reply)
        judged = MESSENGER.judge(failure, label=label, wait=self.rate_limit_wait, name=self.name)
        raise judged.error

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

        await self._keep_polling(sink, poll_once, self.refused_retry, log)

    # ---- received files --------------------------------------------------------------------------

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
        except BackendError as exc:
            return [self.doctor_line(exc)]
        problems: list[str] = []
        if str(page.get("id", self.page_id)) != self.page_id:
            problems.append(
                f"the token answers for Page {page.get('id')!r}, not page_id {self.page_id!r}; "
                "fix page_id in the channel block"
            )
        return problems


__all__ = ["MessengerBackend", "Pacer", "SentLedger"]
