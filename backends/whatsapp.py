"""The WhatsApp Cloud API backend: inbound by Meta's webhook, outbound through the Graph API.

Settings `phone_number_id` (the business number's id), `business_account_id` (the WABA,
for the template list), `api_version`, `base_url`; secrets `access_token` (a permanent
System User token), `app_secret` (verifies `X-Hub-Signature-256`) and `verify_token`
(Meta's subscription check). Thread key and contact address: the customer's wa_id;
external ids: the wamid of each message, so a webhook Meta retries is dropped by the
store's dedup, and a status names the wamid it updates.

Free replies go out for 24 hours after the customer's last message; after that only an
approved template (`Outgoing.template`, listed by `templates`). Files are uploaded to
`/{phone_number_id}/media` and sent by media id. A rejected token or a policy block shows
the channel down with the fix, through the sink the desk gave `run`.

The backend is this module (settings, Graph calls and their errors, the webhook, read
receipts, doctor) with its parts beside it: `whatsapp_send.py` (texts and files),
`whatsapp_templates.py` (the template list and template sends), `whatsapp_media.py`
(received files) and `whatsapp_parse.py` (webhook bodies → events).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, ClassVar

import httpx

from frontdesk.backends.apierrors import Judged, Verdict
from frontdesk.backends.base import BackendError, Sink, TransientError, WindowRule, number
from frontdesk.backends.httpbackend import BearerAuth, HTTPChannel
from frontdesk.backends.httpchannel import HTTPClient, Reply, StatusReporter, clip, protect
from frontdesk.backends.webhook import WebhookBackend, meta_challenge, meta_signature_ok
from frontdesk.backends.whatsapp_errors import (
    WAY_OUT,
    WHATSAPP,
    AccountBlocked,
    TokenRejected,
    whatsapp_failure,
)
from frontdesk.backends.whatsapp_media import DOWNLOAD_LIMIT, WhatsAppMedia
from frontdesk.backends.whatsapp_parse import parse_body
from frontdesk.backends.whatsapp_send import WhatsAppSending, media_kind
from frontdesk.backends.whatsapp_template_list import WhatsAppTemplates
from frontdesk.model import ChannelEvent, Unparsable

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v21.0"

_DEFAULTS: dict[str, Any] = {
    "base_url": DEFAULT_BASE_URL,
    "api_version": DEFAULT_API_VERSION,
    "phone_number_id": "",
    "business_account_id": "",
    "read_receipts": True,
    "request_timeout": 30.0,
    "connect_timeout": 10.0,
}


class WhatsAppBackend(
    WhatsAppSending, WhatsAppTemplates, WhatsAppMedia, HTTPChannel, WebhookBackend
):
    """One WhatsApp business phone number on the Cloud API."""

    kind = "whatsapp"
    supports_attachments = True
    supports_read_receipts = True
    supports_templates = True
    messaging_window = timedelta(hours=24)
    settings_schema: ClassVar[Mapping[str, Any]] = {
        "base_url": str,
        "api_version": str,
        "phone_number_id": str,
        "business_account_id": str,
        "read_receipts": bool,
        "request_timeout": number(0.1, 600, "seconds"),
        "connect_timeout": number(0.1, 600, "seconds"),
    }
    """phone_number_id: WhatsApp Manager → API Setup → Phone number ID; business_account_id:
    the WhatsApp Business Account ID (for the template list); api_version: the Graph API
    version ("v21.0"); base_url: the Graph API host (a proxy or a local fake works too);
    read_receipts: mark customers' messages read (blue ticks) when an agent opens them;
    request_timeout/connect_timeout: for every Graph call."""
    secret_names = ("access_token", "app_secret", "verify_token")
    defaults = _DEFAULTS
    download_limit = DOWNLOAD_LIMIT

    def configure(self, cfg: dict[str, Any]) -> None:
        self.phone_number_id: str = cfg["phone_number_id"].strip()
        self.business_account_id: str = cfg["business_account_id"].strip()
        self.api_version: str = cfg["api_version"].strip().strip("/") or DEFAULT_API_VERSION
        if not self.phone_number_id:
            self._problems.append(
                'setting phone_number_id is missing; add phone_number_id = "1065…" to the channel '
                "block (WhatsApp Manager → API Setup → Phone number ID)"
            )
        elif not self.phone_number_id.isdigit():
            self._problems.append("setting phone_number_id must be the number's id (digits only)")
        self.base_url: str = cfg["base_url"].rstrip("/")
        self.request_timeout = float(cfg["request_timeout"])
        self.read_receipts = bool(cfg["read_receipts"])
        self.http = HTTPClient(
            self.base_url,
            "WhatsApp",
            connect_timeout=float(cfg["connect_timeout"]),
            auth=self._auth,
        )
        self._media_hosts: dict[str, HTTPClient] = {}
        self.status = StatusReporter(self.name)
        self._sink: Sink | None = None
        self._token: str | None = None
        self._named: dict[tuple[str, str], tuple[str, ...]] = {}
        self._warned_secret = False
        self._app_secret = ""

    @property
    def window_rule(self) -> WindowRule:
        return WindowRule(self.messaging_window, "template required", WAY_OUT)

    # ---- plumbing ----------------------------------------------------------------------------

    def _auth(self) -> httpx.Auth:
        if self._token is None:
            self._token = self.secret("access_token")
            protect(self._token)
        return BearerAuth(self._token)

    def _path(self, *parts: str) -> str:
        return "/" + "/".join([self.api_version, *parts])

    async def _graph(
        self, method: str, path: str, *, sending: bool = False, label: str = "", **kwargs: Any
    ) -> dict[str, Any]:
        """One Graph call; its JSON object, or the matching BackendError (channel down when it must be)."""
        self._check_settings()
        self._auth()
        reply = await self.http.request(
            method, path, timeout=self.request_timeout, sending=sending, label=label, **kwargs
        )
        if 200 <= reply.status < 300 and isinstance(reply.data, dict):
            await self._report("ok")
            return reply.data
        judged = self._error(reply, label, sending)
        if judged.down:
            await self._report("down", str(judged.error))
        raise judged.error

    async def _report(self, state: str, detail: str = "") -> None:
        if self._sink is not None and (state != "ok" or self.status.down):
            await self.status.report(self._sink, state, detail)

    def _error(self, reply: Reply, label: str, sending: bool = False) -> Judged:
        """Graph's error answer judged by WhatsApp's table (whatsapp_errors.py)."""
        judged = WHATSAPP.judge(
            whatsapp_failure(reply), label=label, sending=sending, name=self.name
        )
        if judged.verdict is Verdict.TOKEN:
            self._token = None  # read the secret again next time: the agent may have fixed it
        return judged

    # ---- webhook -----------------------------------------------------------------------------

    async def run(self, sink: Sink) -> None:
        """Keep the sink so a send that finds the token rejected can show the channel down."""
        self._check_settings()
        self._auth()
        self.secret("app_secret")  # without it every webhook is refused: show the fix now
        self._sink = sink
        await super().run(sink)

    def signature_ok(self, headers: Mapping[str, str], body: bytes) -> bool:
        if not self._app_secret:  # read once: a keyring lookup per request would cap the receiver
            self._app_secret = self._secrets("app_secret") or ""
        secret = self._app_secret
        if not secret:
            if not self._warned_secret:
                self._warned_secret = True
                log.warning(
                    "channel %s: secret app_secret is not set, so every webhook is refused — run "
                    "`frontdesk creds set %s app_secret`",
                    self.name,
                    self.name,
                )
            return False
        return meta_signature_ok(secret, headers.get("x-hub-signature-256"), body)

    def subscription_answer(self, query: Mapping[str, str]) -> str | None:
        return meta_challenge(self._secrets("verify_token") or "", query)

    def parse_webhook(self, body: bytes) -> list[ChannelEvent]:
        try:
            return parse_body(body, self.name, self.phone_number_id)
        except Exception as exc:  # a bug in the parser must not cost the request
            log.exception("channel %s: the WhatsApp parser failed", self.name)
            return [
                Unparsable(
                    f"parser error: {type(exc).__name__}", body[:10_000].decode(errors="replace")
                )
            ]

    # ---- read receipts -------------------------------------------------------------------------

    async def mark_read(self, thread_key: str, external_ids: Sequence[str]) -> None:
        """Mark the newest of `external_ids` read (WhatsApp marks the earlier ones with it)."""
        if not external_ids or not self.read_receipts:
            return
        await self._graph(
            "POST",
            self._path(self.phone_number_id, "messages"),
            label="mark read",
            json={
                "messaging_product": "whatsapp",
                "status": "read",
                "message_id": external_ids[-1],
            },
        )

    # ---- doctor --------------------------------------------------------------------------------

    async def check(self) -> list[str]:
        """Settings, then the phone number and the template list read with the token."""
        if self._problems:
            return list(self._problems)
        try:
            number = await self._graph(
                "GET",
                self._path(self.phone_number_id),
                label="phone number",
                params={"fields": "display_phone_number,verified_name,quality_rating"},
            )
            if self.business_account_id:
                await self._graph(
                    "GET",
                    self._path(self.business_account_id, "message_templates"),
                    label="templates",
                    params={"limit": 1, "fields": "name"},
                )
        except (TransientError, TokenRejected, AccountBlocked) as exc:
            return [self.doctor_line(exc)]
        except BackendError as exc:
            return [
                f"{exc} — check phone_number_id and business_account_id (WhatsApp Manager → API Setup)"
            ]
        problems = []
        if number.get("id") not in (None, self.phone_number_id):
            problems.append(
                f"the Graph API answered for another phone number id ({clip(number.get('id'), 40)})"
            )
        if not self.business_account_id:
            problems.append(
                "setting business_account_id is missing, so the template picker (ctrl+t) has "
                'nothing to offer once the 24-hour window closed; add business_account_id = "1029…" '
                "(WhatsApp Manager → Account tools → WhatsApp Business Account ID)"
            )
        return problems

    async def close(self) -> None:
        await self.http.aclose()
        for client in self._media_hosts.values():
            await client.aclose()
        self._media_hosts.clear()


__all__ = ["TokenRejected", "WhatsAppBackend", "media_kind"]
