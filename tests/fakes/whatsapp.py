"""A fake WhatsApp Cloud API (Graph API) and builders of Meta's documented webhook bodies.

Follows developers.facebook.com/documentation/business-messaging/whatsapp: every call
carries `Authorization: Bearer <token>` (else 401 with Graph error code 190); sends are
POST /{version}/{phone_number_id}/messages answering `{"messaging_product", "contacts",
"messages": [{"id": "wamid…"}]}`; uploads are multipart POST …/media answering `{"id"}`;
GET /{media id} answers a short-lived `url` that is downloaded with the same token;
templates are GET /{waba id}/message_templates, paged by `paging.cursors.after` and a full
`paging.next` URL. Errors are `{"error": {"message": "(#code) title", "type", "code",
"error_data": {"messaging_product", "details"}, "fbtrace_id"}}`. Request bodies are kept as
sent (`sent`, `uploads`, `calls`) so tests can assert them exactly.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from typing import Any

from fakes.server import AfterWork, Request, Response

TOKEN = "EAAG-fake-whatsapp-permanent-token-do-not-leak"
APP_SECRET = "a1b2c3-fake-app-secret"
VERIFY_TOKEN = "verify-me-please"
PHONE_ID = "106540352242922"
WABA_ID = "102290129340398"
BUSINESS_NUMBER = "15550783881"
VERSION = "v21.0"
CUSTOMER = "16505551234"


def graph_error(
    status: int, code: int, title: str, details: str = "", headers: dict[str, str] | None = None
) -> Response:
    error: dict[str, Any] = {
        "message": f"(#{code}) {title}",
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AbCdEfGhIjK",
    }
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return Response(status, {"error": error}, headers or {})


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    """The X-Hub-Signature-256 header Meta sends with `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# ---- webhook bodies (Meta's documented shapes) ---------------------------------------------------


def webhook(*values: dict[str, Any], entries: int = 1) -> dict[str, Any]:
    """A body whose values are spread over `entries` entries (one change per value)."""
    groups: list[list[dict[str, Any]]] = [[] for _ in range(entries)]
    for i, value in enumerate(values):
        groups[i % entries].append({"value": value, "field": "messages"})
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": changes} for changes in groups],
    }


def value(
    messages: list[dict[str, Any]] = (),  # type: ignore[assignment]
    statuses: list[dict[str, Any]] = (),  # type: ignore[assignment]
    *,
    name: str = "Sheena Nelson",
    wa_id: str = CUSTOMER,
    phone_number_id: str = PHONE_ID,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": BUSINESS_NUMBER, "phone_number_id": phone_number_id},
    }
    if messages:
        out["contacts"] = [{"profile": {"name": name}, "wa_id": wa_id}]
        out["messages"] = list(messages)
    if statuses:
        out["statuses"] = list(statuses)
    return out


def message(
    kind: str,
    content: Any,
    *,
    mid: str,
    sender: str = CUSTOMER,
    ts: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    when = int(time.time()) - 60 if ts is None else ts  # a minute ago: the window is open
    return {"from": sender, "id": mid, "timestamp": str(when), "type": kind, kind: content, **extra}


def status(
    mid: str, state: str, *, errors: list[dict[str, Any]] | None = None, ts: int = 1749416400
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": mid,
        "status": state,
        "timestamp": str(ts),
        "recipient_id": CUSTOMER,
    }
    if state != "failed":
        out["conversation"] = {"id": "CONVERSATION_ID", "origin": {"type": "service"}}
        out["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "service"}
    if errors:
        out["errors"] = errors
    return out


def status_error(code: int, title: str, details: str = "") -> dict[str, Any]:
    return {
        "code": code,
        "title": title,
        "message": title,
        "error_data": {"details": details or title},
        "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
    }


# ---- the Graph API ---------------------------------------------------------------------------------


class FakeGraph:
    """The Graph API endpoints the backend uses, with per-route fault scripts."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.url = ""  # set by the test once the server runs: media URLs point back here
        self.token = TOKEN
        self.sent: list[dict[str, Any]] = []
        self.read: list[dict[str, Any]] = []
        self.uploads: list[dict[str, Any]] = []
        self.media: dict[str, tuple[bytes, str]] = {}
        self.templates: list[dict[str, Any]] = []
        self.page_size = 2
        self.counter = 0
        #: route -> scripted answers (Response, DROP, Hang, AfterWork, None = normal), used first
        self.faults: dict[str, list[Any]] = {}
        self.calls: list[tuple[str, Request]] = []

    def fail_next(self, route: str, *answers: Any) -> None:
        self.faults.setdefault(route, []).extend(answers)

    def add_media(self, media_id: str, data: bytes, mime: str) -> None:
        self.media[media_id] = (data, mime)

    def __call__(self, request: Request) -> Any:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        parts = request.path.strip("/").split("/")
        if parts[0] == "media-files" and len(parts) == 2:
            return self._route("download", request, lambda: self._download(parts[1]))
        if len(parts) < 2 or parts[0] != VERSION:
            return graph_error(400, 2500, "Unknown path components")
        rest = parts[1:]
        if rest == [PHONE_ID] and request.method == "GET":
            return self._route("number", request, self._number)
        if rest == [PHONE_ID, "messages"] and request.method == "POST":
            return self._route("messages", request, lambda: self._messages(request))
        if rest == [PHONE_ID, "media"] and request.method == "POST":
            return self._route("upload", request, lambda: self._upload(request))
        if rest == [WABA_ID, "message_templates"] and request.method == "GET":
            return self._route("templates", request, lambda: self._templates(request))
        if len(rest) == 1 and request.method == "GET" and rest[0] in self.media:
            return self._route("media", request, lambda: self._media_info(rest[0]))
        return graph_error(
            400, 100, "Unsupported get request. Object does not exist or cannot be loaded"
        )

    def _route(self, route: str, request: Request, normal: Any) -> Any:
        self.calls.append((route, request))
        queued = self.faults.get(route)
        if queued:
            answer = queued.pop(0)
            if isinstance(answer, AfterWork):
                return answer.wrap(normal())
            if answer is not None:
                return answer
        return normal()

    def _number(self) -> Response:
        return Response(
            200,
            {
                "verified_name": "Lucky Shrub",
                "display_phone_number": "+1 555-078-3881",
                "quality_rating": "GREEN",
                "id": PHONE_ID,
            },
        )

    def _messages(self, request: Request) -> Response:
        body = request.json()
        if body.get("status") == "read":
            self.read.append(body)
            return Response(200, {"success": True})
        with self.lock:
            self.counter += 1
            wamid = f"wamid.OUT{self.counter:06d}"
            self.sent.append(body)
        return Response(
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                "messages": [{"id": wamid}],
            },
        )

    def _upload(self, request: Request) -> Response:
        fields = request.params()
        with self.lock:
            self.counter += 1
            media_id = f"{900000 + self.counter}"
        name, data = fields["file"]
        self.uploads.append(
            {
                "messaging_product": fields.get("messaging_product"),
                "type": fields.get("type"),
                "name": name,
                "data": data,
            }
        )
        self.media[media_id] = (data, fields.get("type", "application/octet-stream"))
        return Response(200, {"id": media_id})

    def _media_info(self, media_id: str) -> Response:
        data, mime = self.media[media_id]
        return Response(
            200,
            {
                "messaging_product": "whatsapp",
                "url": f"{self.url}/media-files/{media_id}",
                "mime_type": mime,
                "sha256": hashlib.sha256(data).hexdigest(),
                "file_size": len(data),
                "id": media_id,
            },
        )

    def _download(self, media_id: str) -> Response:
        if media_id not in self.media:
            return Response(404, b"not found")
        data, mime = self.media[media_id]
        return Response(200, data, {"Content-Type": mime})

    def _templates(self, request: Request) -> Response:
        query = {k: v[0] for k, v in request.query.items()}
        wanted = query.get("status")
        items = [t for t in self.templates if not wanted or t.get("status") == wanted]
        limit = int(query.get("limit", self.page_size))
        size = min(limit, self.page_size)
        start = int(query.get("after", "0") or 0)
        page = items[start : start + size]
        body: dict[str, Any] = {
            "data": page,
            "paging": {"cursors": {"before": str(start), "after": str(start + size)}},
        }
        if start + size < len(items):
            following = dict(query, after=str(start + size))
            body["paging"]["next"] = (
                f"{self.url}/{VERSION}/{WABA_ID}/message_templates?"
                + "&".join(f"{k}={v}" for k, v in following.items())
            )
        return Response(200, body)


def template(
    name: str,
    body: str,
    *,
    language: str = "en_US",
    category: str = "UTILITY",
    status: str = "APPROVED",
    header: dict[str, Any] | None = None,
    buttons: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A template as GET message_templates lists it: a plain text header unless `header` is
    given, and a BUTTONS component when `buttons` are."""
    components = [
        header or {"type": "HEADER", "format": "TEXT", "text": "Lucky Shrub"},
        {"type": "BODY", "text": body},
        {"type": "FOOTER", "text": "Reply STOP to opt out"},
    ]
    if buttons:
        components.append({"type": "BUTTONS", "buttons": buttons})
    return {
        "name": name,
        "language": language,
        "category": category,
        "status": status,
        "id": str(abs(hash((name, language))) % 10**15),
        "components": components,
    }


def dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()
