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
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO, ClassVar
from urllib.parse import urlsplit

import httpx

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
from frontdesk.backends.webhook import WebhookBackend, meta_challenge, meta_signature_ok
from frontdesk.backends.whatsapp_parse import REENGAGEMENT, parse_body
from frontdesk.backends.whatsapp_templates import template_of, template_payload
from frontdesk.model import (
    ChannelEvent,
    MessageTemplate,
    Outgoing,
    SendResult,
    TemplateSend,
    Unparsable,
)

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v21.0"
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
#: what Cloud API accepts per media type, by the mime types it sends as that type
MB = 1024 * 1024
MEDIA_KINDS: dict[str, tuple[frozenset[str], int]] = {
    "image": (frozenset({"image/jpeg", "image/png"}), 5 * MB),
    "video": (frozenset({"video/mp4", "video/3gpp"}), 16 * MB),
    "audio": (
        frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}),
        16 * MB,
    ),
}
DOCUMENT_LIMIT = 100 * MB
DOWNLOAD_LIMIT = 100 * MB
TEMPLATE_PAGES = 50
WAY_OUT = "send an approved template (ctrl+t)"
#: Graph codes: rate limits (retry later), a closed window, and blocks that stop the whole channel
RATE_LIMITED = frozenset({4, 80007, 130429, 131056})
BLOCKED = frozenset({10, 200, 368, 131031, 131042})
SERVER_TROUBLE = frozenset({1, 2, 131000, 131016})

_DEFAULTS: dict[str, Any] = {
    "base_url": DEFAULT_BASE_URL,
    "api_version": DEFAULT_API_VERSION,
    "phone_number_id": "",
    "business_account_id": "",
    "read_receipts": True,
    "request_timeout": 30.0,
    "connect_timeout": 10.0,
}


class TokenRejected(PermanentError):
    """Graph refused the access token (401, code 190): the channel is down until it is replaced."""


class AccountBlocked(PermanentError):
    """Meta stops the account from sending (policy block, locked, payment, permission)."""


class _Bearer(httpx.Auth):
    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request):  # type: ignore[no-untyped-def]
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


class WhatsAppBackend(WebhookBackend):
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

    def __init__(
        self,
        name: str,
        settings: Mapping[str, Any] | None = None,
        secrets: SecretSource | None = None,
        cursor: str | None = None,
    ) -> None:
        super().__init__(name, settings, secrets, cursor)
        cfg, self._problems = read_settings(self.settings, self.settings_schema, _DEFAULTS)
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
        self.status = StatusReporter(name)
        self._sink: Sink | None = None
        self._token: str | None = None
        self._named: dict[tuple[str, str], tuple[str, ...]] = {}
        self._warned_secret = False
        self._app_secret = ""

    @property
    def window_rule(self) -> WindowRule:
        return WindowRule(self.messaging_window, "template required", WAY_OUT)

    # ---- plumbing ----------------------------------------------------------------------------

    def _check_settings(self) -> None:
        if self._problems:
            raise ConfigError(f"channel {self.name!r}: " + "; ".join(self._problems))

    def _auth(self) -> httpx.Auth:
        if self._token is None:
            self._token = self.secret("access_token")
            protect(self._token)
        return _Bearer(self._token)

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
        error = self._error(reply, label, sending)
        if isinstance(error, (TokenRejected, AccountBlocked)):
            await self._report("down", str(error))
        raise error

    async def _report(self, state: str, detail: str = "") -> None:
        if self._sink is not None and (state != "ok" or self.status.down):
            await self.status.report(self._sink, state, detail)

    def _error(self, reply: Reply, label: str, sending: bool = False) -> BackendError:
        """Graph's `{"error": {message, code, error_subcode, error_data}}` as the plugin API's error."""
        data = reply.data if isinstance(reply.data, dict) else {}
        error = data.get("error") if isinstance(data.get("error"), dict) else {}
        code = error.get("code") if isinstance(error.get("code"), int) else None
        message = scrub(clip(error.get("message"), 300)) if error else ""
        title = re.sub(r"^\(#\d+\)\s*", "", message) or reply.text.strip()[:200]
        details = error.get("error_data") if isinstance(error.get("error_data"), dict) else {}
        detail = scrub(clip(details.get("details"), 300)) if details else ""
        said = f"{code}: {title}" if code is not None else f"HTTP {reply.status}: {title}"
        if detail and detail.rstrip(".") != title.rstrip("."):
            said += f" — {detail}"
        what = f"WhatsApp {label}".strip() if label else "WhatsApp"
        if reply.status == 401 or code == 190:
            self._token = None  # read the secret again next time: the agent may have fixed it
            return TokenRejected(
                f"WhatsApp rejected the access token ({said}): create a permanent token (Business "
                f"Settings → System users → Generate token, with whatsapp_business_messaging and "
                f"whatsapp_business_management) and run `frontdesk creds set {self.name} access_token`"
            )
        if reply.status == 429 or code in RATE_LIMITED:
            wait = reply.retry_after() or (60.0 if code == 131056 else 30.0)
            return TransientError(f"{what} rate limit ({said})", retry_after=wait)
        if code == REENGAGEMENT:
            return WindowClosedError(f"{said} — the 24-hour window closed", way_out=WAY_OUT)
        if code in BLOCKED:
            return AccountBlocked(
                f"{what}: the account may not send ({said}); fix it in WhatsApp Manager "
                "(Account quality, Payment settings) or Business Settings"
            )
        if reply.status >= 500 or code in SERVER_TROUBLE:
            return TransientError(f"{what} server error ({said})")
        if 200 <= reply.status < 300:
            unread = f"{what} answered with something that is not JSON"
            if sending:  # it was accepted: sending it again could deliver it twice
                return AmbiguousError(f"{unread}; the message may have been sent")
            return TransientError(unread)
        return PermanentError(f"{what} refused: {said}")

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

    # ---- sending -------------------------------------------------------------------------------

    async def send(self, outgoing: Outgoing) -> SendResult:
        """A template, a text (as a reply when it names one), or files sent by uploaded media id."""
        to = outgoing.to or outgoing.thread_key
        if not to:
            raise PermanentError("no WhatsApp number to send to: the conversation has no wa_id")
        base = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to}
        if outgoing.template is not None:
            await self._learn_parameter_names(outgoing.template)
            return await self._post_message({**base, **self._template(outgoing.template)})
        body = outgoing.body
        if len(body) > TEXT_LIMIT:
            raise PermanentError(
                f"the reply is {len(body):,} characters; WhatsApp accepts at most {TEXT_LIMIT:,} — "
                "shorten or split it"
            )
        context = (
            {"context": {"message_id": outgoing.reply_to_external_id}}
            if outgoing.reply_to_external_id
            else {}
        )
        if not outgoing.attachments:
            if not body.strip():
                raise PermanentError("an empty message cannot be sent on WhatsApp")
            text = {"type": "text", "text": {"preview_url": False, "body": body}}
            return await self._post_message({**base, **context, **text})
        return await self._send_files(outgoing, base, context)

    async def _send_files(
        self, outgoing: Outgoing, base: dict[str, Any], context: dict[str, Any]
    ) -> SendResult:
        body = outgoing.body
        # audio takes no caption: the text then goes first, as it does when it is too long
        captioned = media_kind(outgoing.attachments[0].mime) != "audio"
        caption = body if captioned and len(body) <= CAPTION_LIMIT else ""
        first: SendResult | None = None
        try:
            if body.strip() and not caption:
                text = {"type": "text", "text": {"preview_url": False, "body": body}}
                first = await self._post_message({**base, **context, **text})
            for index, attachment in enumerate(outgoing.attachments):
                path = Path(attachment.ref) if attachment.ref else None
                if path is None or not path.is_file():
                    raise PermanentError(f"attachment {attachment.name!r} has no file to send")
                data = path.read_bytes()
                mime = attachment.mime or "application/octet-stream"
                problem = self.attachment_problem(attachment.name or path.name, mime, len(data))
                if problem:
                    raise PermanentError(problem)
                kind = media_kind(mime)
                media_id = await self._upload(attachment.name or path.name, mime, data)
                media: dict[str, Any] = {"id": media_id}
                if index == 0 and caption.strip():
                    media["caption"] = caption
                if kind == "document":
                    media["filename"] = attachment.name or path.name
                extra = context if first is None else {}
                sent = await self._post_message({**base, **extra, "type": kind, kind: media})
                first = first or sent
        except (TransientError, PermanentError) as exc:
            if first is None:
                raise
            raise AmbiguousError(
                f"part of the message was sent ({first.external_id}) but not all: {exc}"
            ) from None
        assert first is not None
        return first

    async def _upload(self, name: str, mime: str, data: bytes) -> str:
        """Upload a file to the number's media store; its media id (good for 30 days)."""
        answer = await self._graph(
            "POST",
            self._path(self.phone_number_id, "media"),
            label="media upload",
            data={"messaging_product": "whatsapp", "type": mime},
            files={"file": (name, data, mime)},
        )
        media_id = answer.get("id")
        if not isinstance(media_id, str) or not media_id:
            raise TransientError("WhatsApp answered the media upload without a media id")
        return media_id

    async def _post_message(self, payload: dict[str, Any]) -> SendResult:
        answer = await self._graph(
            "POST",
            self._path(self.phone_number_id, "messages"),
            sending=True,
            label="send",
            json=payload,
        )
        messages = answer.get("messages")
        first = messages[0] if isinstance(messages, list) and messages else None
        wamid = first.get("id") if isinstance(first, dict) else None
        if not isinstance(wamid, str) or not wamid:
            raise AmbiguousError(
                "WhatsApp answered without a message id; the message may have been sent"
            )
        return SendResult(wamid)

    async def _learn_parameter_names(self, template: TemplateSend) -> None:
        """List the templates once when this one's parameters are not known yet (a template
        queued before a restart): named parameters must be sent with their names."""
        key = (template.name, template.language)
        if not template.parameters or key in self._named or not self.business_account_id:
            return
        try:
            await self.templates()
        except BackendError as exc:  # the send itself will say what is wrong
            log.info("channel %s: template list unavailable (%s)", self.name, scrub(str(exc)))
        self._named.setdefault(key, ())

    def _template(self, template: TemplateSend) -> dict[str, Any]:
        return template_payload(template, self._named.get((template.name, template.language), ()))

    def attachment_problem(self, name: str, mime: str, size: int) -> str | None:
        if mime.split(";")[0].strip().lower() == "image/webp":
            return (
                f"{name}: WhatsApp takes .webp images only as stickers, which frontdesk cannot "
                "send — convert it to PNG or JPEG"
            )
        kind = media_kind(mime)
        limit = MEDIA_KINDS[kind][1] if kind in MEDIA_KINDS else DOCUMENT_LIMIT
        if size > limit:
            return (
                f"{name} is {size / MB:.1f} MB; WhatsApp sends a{'n' if kind[0] in 'aeiou' else ''} "
                f"{kind} of at most {limit // MB} MB — make it smaller or share a link"
            )
        return None

    # ---- templates, read receipts, files ------------------------------------------------------

    async def templates(self) -> list[MessageTemplate]:
        """The account's APPROVED templates, every page (`paging.next`), with their body parameters."""
        if not self.business_account_id:
            raise ConfigError(
                f"channel {self.name!r}: setting business_account_id is missing, so the templates "
                'cannot be listed; add business_account_id = "1029…" (WhatsApp Manager → '
                "Account tools → WhatsApp Business Account ID)"
            )
        path = self._path(self.business_account_id, "message_templates")
        params: dict[str, Any] | None = {
            "fields": "name,language,category,status,components",
            "status": "APPROVED",
            "limit": 100,
        }
        found: list[MessageTemplate] = []
        for _ in range(TEMPLATE_PAGES):
            answer = await self._graph("GET", path, label="templates", params=params)
            for raw in answer.get("data") if isinstance(answer.get("data"), list) else []:
                template = template_of(raw)
                if template is not None:
                    found.append(template)
                    self._named[(template.name, template.language)] = template.parameters
            following = self._next_page(answer.get("paging"))
            if following is None:
                break
            path, params = following, None
        return sorted(found, key=lambda t: (t.name, t.language))

    def _next_page(self, paging: Any) -> str | None:
        """The path of `paging.next` when it is on base_url (the token never goes elsewhere)."""
        following = paging.get("next") if isinstance(paging, dict) else None
        if not isinstance(following, str) or not following:
            return None
        parts, ours = urlsplit(following), urlsplit(self.base_url)
        if (parts.scheme, parts.netloc) != (ours.scheme, ours.netloc):
            log.warning("channel %s: ignoring a template page on another host", self.name)
            return None
        return parts.path + (f"?{parts.query}" if parts.query else "")

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

    async def fetch_attachment(self, ref: str, max_bytes: int = DOWNLOAD_LIMIT) -> bytes:
        buffer = io.BytesIO()
        await self.download_attachment(ref, buffer, max_bytes)
        return buffer.getvalue()

    async def download_attachment(
        self, ref: str, into: BinaryIO, max_bytes: int = DOWNLOAD_LIMIT
    ) -> int:
        """A received file: GET /{media id} gives a short-lived URL, fetched with the token."""
        if not ref or not re.fullmatch(r"[0-9A-Za-z_.-]{1,256}", ref):
            raise PermanentError("not a WhatsApp media id")
        info = await self._graph("GET", self._path(ref), label="media")
        url = info.get("url")
        parts = urlsplit(url) if isinstance(url, str) else None
        ours = urlsplit(self.base_url)
        if (
            parts is None
            or not parts.netloc
            or (
                parts.scheme != "https"
                and (parts.scheme, parts.netloc) != (ours.scheme, ours.netloc)
            )
        ):
            raise PermanentError("WhatsApp did not give a usable address for this file")
        origin = f"{parts.scheme}://{parts.netloc}"
        client = self._media_hosts.get(origin)
        if client is None:
            client = HTTPClient(
                origin, "WhatsApp media", connect_timeout=self.http.connect_timeout, auth=self._auth
            )
            self._media_hosts[origin] = client
        return await client.download(
            parts.path + (f"?{parts.query}" if parts.query else ""),
            timeout=self.request_timeout,
            max_bytes=max_bytes,
            into=into,
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
        except TransientError as exc:
            return [f"{exc} — check the network, a proxy, or base_url ({self.base_url})"]
        except (TokenRejected, AccountBlocked) as exc:
            return [str(exc)]
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


def media_kind(mime: str) -> str:
    """How WhatsApp sends a file of type `mime`: image, video or audio when it takes that
    format as such, else document (webp images go as stickers only)."""
    mime = mime.split(";")[0].strip().lower()
    for kind, (types, _) in MEDIA_KINDS.items():
        if mime in types:
            return kind
    return "document"


__all__ = ["WhatsAppBackend", "media_kind"]
