"""A fake LINE Messaging API (https://developers.line.biz/en/reference/messaging-api/) for the tests.

Follows the documented shapes: `Authorization: Bearer <channel access token>` on every call
(401 `{"message": "Authentication failed…"}` otherwise); reply (`replyToken` single-use, valid
for `token_seconds` after the fake issued it), push (`X-Line-Retry-Key`: a second request with
an accepted key answers 409 with the first answer's `sentMessages`), quota and its
consumption, profiles, message content on the data host, bot info and the webhook endpoint.
Errors are `{"message": …, "details": [{"message": …, "property": …}]}`. Every request is
recorded (`server.requests`) with its exact body and headers; `signed` builds webhook bodies
with a valid `X-Line-Signature`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from typing import Any

from fakes.server import AfterWork, Request, Response

TOKEN = "line-fake-access-token-DO-NOT-LEAK-0123456789"
SECRET = "line-fake-channel-secret-abcdef"
USER = "U4af4980629a0b1c2d3e4f5a6b7c8d9e0"
BOT = {
    "userId": "Ub0t0000000000000000000000000001",
    "basicId": "@216ru...",
    "displayName": "Support",
    "chatMode": "chat",
}


def error(status: int, message: str, *details: tuple[str, str]) -> Response:
    body: dict[str, Any] = {"message": message}
    if details:
        body["details"] = [{"property": p, "message": m} for p, m in details]
    return Response(status, body)


def signature(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def webhook(*events: dict[str, Any], destination: str = BOT["userId"]) -> bytes:
    return json.dumps({"destination": destination, "events": list(events)}).encode()


def event(
    kind: str = "message",
    *,
    user: str = USER,
    group: str = "",
    room: str = "",
    event_id: str = "01FZ74A0TDDPYRVKNK77XKC3ZR",
    reply_token: str | None = "757913772c4646b784d4b7ce46d12671",
    redelivery: bool = False,
    timestamp: int = 1_780_000_000_000,
    **fields: Any,
) -> dict[str, Any]:
    """One webhook event object as LINE documents it."""
    if group:
        source: dict[str, Any] = {"type": "group", "groupId": group, "userId": user}
    elif room:
        source = {"type": "room", "roomId": room, "userId": user}
    else:
        source = {"type": "user", "userId": user}
    out: dict[str, Any] = {
        "type": kind,
        "mode": "active",
        "timestamp": timestamp,
        "source": source,
        "webhookEventId": event_id,
        "deliveryContext": {"isRedelivery": redelivery},
        **fields,
    }
    if reply_token is not None and kind != "unfollow":
        out["replyToken"] = reply_token
    return out


def text(mid: str, body: str, **kw: Any) -> dict[str, Any]:
    return event(message={"id": mid, "type": "text", "text": body, "quoteToken": "q" + mid}, **kw)


class FakeLine:
    """The API's state; call it with a Request (FakeServer's app)."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.lock = threading.Lock()
        #: reply token -> when it was issued (monotonic); used tokens are removed
        self.reply_tokens: dict[str, float] = {}
        self.token_seconds = 60.0
        self.retry_keys: dict[str, dict[str, Any]] = {}
        self.sent: list[dict[str, Any]] = []  # {"via", "to", "messages"}
        self.sent_ids: list[str] = []
        self.read: list[str] = []  # markAsReadToken values marked read
        self.quota: dict[str, Any] = {"type": "limited", "value": 500}
        self.usage = 88
        self.profiles: dict[str, dict[str, Any]] = {
            USER: {"userId": USER, "displayName": "Aiko Tanaka", "language": "ja"}
        }
        self.content: dict[str, bytes] = {}
        self.webhook_active = True
        #: per path, scripted answers used before the normal one
        self.faults: dict[str, list[Any]] = {}
        self.next_id = 461230966842064897

    def issue_token(self, token: str) -> str:
        with self.lock:
            self.reply_tokens[token] = time.monotonic()
        return token

    def __call__(self, request: Request) -> Any:
        queue = self.faults.get(request.path)
        fault = queue.pop(0) if queue else None
        if fault is not None and not isinstance(fault, AfterWork):
            return fault
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return error(
                401,
                "Authentication failed. Confirm that the access token in the authorization "
                "header is valid.",
            )
        with self.lock:
            answer = self._route(request)
        return fault.wrap(answer) if fault is not None else answer

    def _route(self, request: Request) -> Response:
        path = request.path
        if path == "/v2/bot/message/reply" and request.method == "POST":
            return self._reply(request.json())
        if path == "/v2/bot/message/push" and request.method == "POST":
            return self._push(request)
        if path == "/v2/bot/chat/markAsRead" and request.method == "POST":
            self.read.append(request.json().get("markAsReadToken"))
            return Response(200, {})
        if path == "/v2/bot/message/quota":
            return Response(200, self.quota)
        if path == "/v2/bot/message/quota/consumption":
            return Response(200, {"totalUsage": self.usage})
        if path == "/v2/bot/info":
            return Response(200, BOT)
        if path == "/v2/bot/channel/webhook/endpoint":
            return Response(
                200,
                {
                    "endpoint": "https://support.example.com/webhooks/line",
                    "active": self.webhook_active,
                },
            )
        for prefix in ("/v2/bot/profile/", "/v2/bot/group/", "/v2/bot/room/"):
            if path.startswith(prefix):
                profile = self.profiles.get(path.rsplit("/", 1)[-1])
                return Response(200, profile) if profile else error(404, "Not found")
        if path.startswith("/v2/bot/message/") and path.endswith("/content"):
            data = self.content.get(path.split("/")[4])
            if data is None:
                return error(404, "Not found")
            return Response(200, data, {"Content-Type": "image/jpeg"})
        return error(404, "Not found")

    @staticmethod
    def _invalid(messages: list[Any]) -> Response | None:
        """LINE's 400 for a media message without the fields its reference requires."""
        required = {
            "image": {"originalContentUrl": str, "previewImageUrl": str},
            "video": {"originalContentUrl": str, "previewImageUrl": str},
            "audio": {"originalContentUrl": str, "duration": int},
        }
        for index, message in enumerate(messages):
            for field, kind in required.get(message.get("type"), {}).items():
                value = message.get(field)
                if not isinstance(value, kind) or (
                    kind is str and not value.startswith("https://")
                ):
                    return error(
                        400,
                        "The request body has 1 error(s)",
                        (f"messages[{index}].{field}", "must be specified"),
                    )
        return None

    def _sent(self, via: str, to: str, messages: list[Any]) -> dict[str, Any]:
        self.next_id += 1
        self.sent.append({"via": via, "to": to, "messages": messages})
        self.sent_ids.append(str(self.next_id))
        return {"sentMessages": [{"id": str(self.next_id), "quoteToken": f"q{self.next_id}"}]}

    def _reply(self, body: dict[str, Any]) -> Response:
        token = body.get("replyToken")
        if (invalid := self._invalid(body["messages"])) is not None:
            return invalid
        issued = self.reply_tokens.pop(token, None)
        if issued is None or time.monotonic() - issued > self.token_seconds:
            return error(400, "Invalid reply token")
        # LINE does not tell the reply's recipient; the test knows it from the token
        return Response(200, self._sent("reply", token, body["messages"]))

    def _push(self, request: Request) -> Response:
        key = request.headers.get("x-line-retry-key")
        if key and key in self.retry_keys:
            return Response(
                409,
                {"message": "The retry key is already accepted", **self.retry_keys[key]},
                {"x-line-accepted-request-id": "accepted-" + key},
            )
        body = request.json()
        if (invalid := self._invalid(body["messages"])) is not None:
            return invalid
        if self.quota.get("type") == "limited" and self.usage >= self.quota["value"]:
            return error(429, "You have reached your monthly limit.")
        answer = self._sent("push", body["to"], body["messages"])
        self.usage += 1
        if key:
            self.retry_keys[key] = answer
        return Response(200, answer)
