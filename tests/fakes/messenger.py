"""A fake Meta Graph API for the Messenger backend: Send API, User Profile API, Conversations API.

Follows the documented shapes: every path is `/{version}/…` with `access_token` as a query
parameter; errors are `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`;
the Send API answers `{"recipient_id", "message_id"}`; Page conversations and their
messages come newest first with cursor paging (`paging.cursors.after` and `paging.next`).
Records every request and the exact body of every send.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import datetime, timezone
from typing import Any

from fakes.server import AfterWork, Request, Response

TOKEN = "EAAGfake-page-token-do-not-leak_123"
APP_SECRET = "fake-app-secret-0123"
VERIFY_TOKEN = "verify-me-please"
PAGE_ID = "1122334455"
VERSION = "v21.0"


def graph_error(code: int, message: str, subcode: int | None = None, status: int = 400) -> Response:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = "AbCdEf"
    return Response(status, {"error": error})


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def graph_time(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+0000")


class FakeGraph:
    def __init__(self, token: str = TOKEN, page_id: str = PAGE_ID) -> None:
        self.token = token
        self.page_id = page_id
        self.lock = threading.Lock()
        self.profiles: dict[str, dict[str, str]] = {}
        #: conversation id -> {"updated": datetime, "psid": str, "messages": [graph message, …]}
        self.conversations: dict[str, dict[str, Any]] = {}
        #: per label ("send", "profile", "conversations", "messages", "page"), scripted answers first
        self.faults: dict[str, list[Any]] = {}
        self.requests: list[tuple[float, str, Request]] = []
        self.sent: list[dict[str, Any]] = []
        self.files: dict[str, bytes] = {}
        self.next_mid = 1

    # ---- scripting ------------------------------------------------------------------------

    def fail_next(self, label: str, *answers: Any) -> None:
        with self.lock:
            self.faults.setdefault(label, []).extend(answers)

    def count(self, label: str) -> int:
        return sum(1 for _, lab, _ in self.requests if lab == label)

    def times(self, label: str | None = None) -> list[float]:
        return [t for t, lab, _ in self.requests if label is None or lab == label]

    def add_message(
        self, psid: str, text: str, at: datetime, *, name: str = "", from_page: bool = False
    ) -> str:
        """A message in the Page's conversation with `psid` (the conversation is updated at `at`)."""
        with self.lock:
            conv_id = f"t_{psid}"
            conv = self.conversations.setdefault(conv_id, {"psid": psid, "messages": []})
            conv["updated"] = at
            mid = f"m_poll{self.next_mid}"
            self.next_mid += 1
            page = {"name": "Acme Support", "id": self.page_id}
            person = {"name": name or f"User {psid}", "email": f"{psid}@facebook.com", "id": psid}
            conv["messages"].insert(
                0,
                {
                    "id": mid,
                    "created_time": graph_time(at),
                    "from": page if from_page else person,
                    "to": {"data": [person if from_page else page]},
                    "message": text,
                },
            )
            return mid

    # ---- the API ----------------------------------------------------------------------------

    def __call__(self, request: Request) -> Any:
        label = self._label(request)
        self.requests.append((time.monotonic(), label, request))
        with self.lock:
            scripted = self.faults.get(label)
            fault = scripted.pop(0) if scripted else None
        if fault is not None and not isinstance(fault, AfterWork):
            return fault
        if label == "cdn":  # Messenger's file urls are signed links, without the token
            data = self.files.get(request.path.removeprefix("/cdn/"))
            return Response(200, data) if data is not None else Response(404, b"")
        if request.query.get("access_token", [""])[0] != self.token:
            answer = graph_error(190, "Invalid OAuth access token - Cannot parse access token")
        else:
            answer = self._answer(label, request)
        return fault.wrap(answer) if isinstance(fault, AfterWork) else answer

    def _label(self, request: Request) -> str:
        parts = request.path.strip("/").split("/")[1:]  # without the version
        if request.path.startswith("/cdn/"):
            return "cdn"
        if parts == ["me", "messages"]:
            return "send"
        if len(parts) == 2 and parts[1] == "conversations":
            return "conversations"
        if len(parts) == 2 and parts[1] == "messages":
            return "messages"
        if parts == [self.page_id]:
            return "page"
        return "profile"

    def _answer(self, label: str, request: Request) -> Response:
        if not request.path.startswith(f"/{VERSION}/") and label != "cdn":
            return graph_error(2500, "Unknown path components")
        query = {k: v[0] for k, v in request.query.items()}
        if label == "send":
            return self._send(request)
        if label == "page":
            return Response(200, {"name": "Acme Support", "id": self.page_id})
        if label == "conversations":
            convs = sorted(self.conversations.items(), key=lambda c: c[1]["updated"], reverse=True)
            rows = [{"id": cid, "updated_time": graph_time(c["updated"])} for cid, c in convs]
            return self._page(rows, query)
        if label == "messages":
            conv_id = request.path.strip("/").split("/")[1]
            conv = self.conversations.get(conv_id)
            if conv is None:
                return graph_error(100, "Unsupported get request")
            return self._page(list(conv["messages"]), query)
        psid = request.path.strip("/").split("/")[-1]
        profile = self.profiles.get(psid)
        if profile is None:
            return graph_error(100, "Unsupported get request. Object does not exist", 33)
        return Response(200, {**profile, "id": psid})

    def _page(self, rows: list[dict[str, Any]], query: dict[str, str]) -> Response:
        start = int(query.get("after", "0") or 0)
        limit = int(query.get("limit", "25"))
        chunk = rows[start : start + limit]
        body: dict[str, Any] = {"data": chunk}
        if start + limit < len(rows):
            body["paging"] = {
                "cursors": {"before": str(start), "after": str(start + limit)},
                "next": f"https://graph.facebook.com/next?after={start + limit}",
            }
        return Response(200, body)

    def _send(self, request: Request) -> Response:
        params = request.params()
        if "filedata" in params:
            record = {
                "recipient": json.loads(params["recipient"]),
                "messaging_type": params.get("messaging_type"),
                "message": json.loads(params["message"]),
                "filedata": params["filedata"],
            }
            if "tag" in params:
                record["tag"] = params["tag"]
        else:
            record = params
        if "sender_action" in record:
            self.sent.append(record)
            return Response(200, {"recipient_id": record["recipient"]["id"]})
        with self.lock:
            mid = f"m_sent{self.next_mid}"
            self.next_mid += 1
        self.sent.append({**record, "_mid": mid})
        return Response(200, {"recipient_id": record["recipient"]["id"], "message_id": mid})


def webhook_body(*events: dict[str, Any], page_id: str = PAGE_ID, entries: int = 1) -> bytes:
    """A Page webhook body whose events are spread over `entries` entries."""
    chunks: list[list[dict[str, Any]]] = [[] for _ in range(entries)]
    for i, event in enumerate(events):
        chunks[i % entries].append(event)
    return json.dumps(
        {
            "object": "page",
            "entry": [
                {"id": page_id, "time": 1_780_000_000_000, "messaging": chunk} for chunk in chunks
            ],
        }
    ).encode()


def message_event(
    psid: str, mid: str, text: str | None = None, *, ts: int = 1_780_000_000_000, **message: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"mid": mid, **message}
    if text is not None:
        body["text"] = text
    return {
        "sender": {"id": psid},
        "recipient": {"id": PAGE_ID},
        "timestamp": ts,
        "message": body,
    }


def echo_event(psid: str, mid: str, text: str, *, ts: int, metadata: str | None = None) -> dict:
    message: dict[str, Any] = {
        "mid": mid,
        "is_echo": True,
        "app_id": 1517776481860111,
        "text": text,
    }
    if metadata is not None:
        message["metadata"] = metadata
    return {
        "sender": {"id": PAGE_ID},
        "recipient": {"id": psid},
        "timestamp": ts,
        "message": message,
    }
