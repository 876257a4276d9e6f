"""A fake Telegram Bot API (https://core.telegram.org/bots/api) for the backend tests.

Follows the documented shapes: every method is `/bot<token>/<method>`, answers are
`{"ok": true, "result": …}` or `{"ok": false, "error_code": …, "description": …,
"parameters": {"retry_after": …}}`. getUpdates long-polls up to `timeout` seconds, returns
at most `limit` updates with `update_id >= offset` and forgets the ones below `offset`
(they are confirmed), as Telegram does.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from fakes.server import DROP, AfterWork, Hang, Request, Response

TOKEN = "123456789:AAF-fake-token-do-not-leak_XYZ"
BOT = {"id": 123456789, "is_bot": True, "first_name": "Support", "username": "support_test_bot"}


#: the Bot API's limit on a photo upload (sendPhoto); larger pictures go as documents
PHOTO_LIMIT = 10 * 1024 * 1024


def error(code: int, description: str, **parameters: Any) -> Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return Response(code, body)


class FakeTelegram:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.updates: list[dict[str, Any]] = []
        self.next_update_id = 1000
        self.next_message_id = {}
        self.cond = threading.Condition()
        #: per method, a queue of scripted answers (Response, DROP, Hang, Slow, Cut, AfterWork) used before the normal one
        self.faults: dict[str, list[Any]] = {}
        #: while set, every getUpdates answers with it (e.g. a 409 that lasts)
        self.persistent: dict[str, Response] = {}
        self.calls: list[tuple[float, str, dict[str, Any]]] = []
        self.sent: list[dict[str, Any]] = []
        self.files: dict[str, bytes] = {}
        self.webhook_url = ""
        self.blocked: set[int] = set()

    # ---- scripting ----------------------------------------------------------------------

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        with self.cond:
            if "update_id" not in update:
                update = {"update_id": self.next_update_id, **update}
            self.next_update_id = max(self.next_update_id, update["update_id"]) + 1
            self.updates.append(update)
            self.cond.notify_all()
        return update

    def message(
        self,
        chat_id: int,
        text: str | None = None,
        *,
        user: dict[str, Any] | None = None,
        kind: str = "message",
        date: int = 1_780_000_000,
        **fields: Any,
    ) -> dict[str, Any]:
        user = user or {
            "id": chat_id,
            "is_bot": False,
            "first_name": f"User{chat_id}",
            "language_code": "en",
        }
        mid = fields.pop("message_id", None) or self._new_message_id(chat_id)
        msg: dict[str, Any] = {
            "message_id": mid,
            "from": user,
            "chat": {"id": chat_id, "type": "private", "first_name": user.get("first_name", "")},
            "date": date,
            **fields,
        }
        if text is not None:
            msg["text"] = text
        return self.push({kind: msg})

    def _new_message_id(self, chat_id: int) -> int:
        self.next_message_id[chat_id] = self.next_message_id.get(chat_id, 0) + 1
        return self.next_message_id[chat_id]

    def fail_next(self, method: str, *answers: Any) -> None:
        self.faults.setdefault(method, []).extend(answers)

    def wake(self) -> None:
        with self.cond:
            self.cond.notify_all()

    def count(self, method: str) -> int:
        return sum(1 for _, m, _ in self.calls if m == method)

    # ---- the API --------------------------------------------------------------------------

    def __call__(self, request: Request) -> Any:
        path = request.path
        if path.startswith("/file/bot"):
            token, _, file_path = path.removeprefix("/file/bot").partition("/")
            if token != self.token or file_path not in self.files:
                return Response(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return Response(
                200, self.files[file_path], {"Content-Type": "application/octet-stream"}
            )
        if not path.startswith("/bot"):
            return error(404, "Not Found")
        token, _, method = path.removeprefix("/bot").partition("/")
        if token != self.token:
            return error(401, "Unauthorized")
        params = request.params()
        self.calls.append((time.monotonic(), method, params))
        queued = self.faults.get(method)
        scripted = queued.pop(0) if queued else None
        if scripted is not None and not isinstance(scripted, AfterWork):
            return scripted
        if method in self.persistent:
            return self.persistent[method]
        handler = getattr(self, f"api_{method}", None)
        if handler is None:
            return error(404, "Not Found: method not found")
        answer = handler(params)
        return scripted.wrap(answer) if isinstance(scripted, AfterWork) else answer

    def api_getMe(self, params: dict[str, Any]) -> Response:
        return Response(200, {"ok": True, "result": BOT})

    def api_getWebhookInfo(self, params: dict[str, Any]) -> Response:
        return Response(
            200,
            {
                "ok": True,
                "result": {
                    "url": self.webhook_url,
                    "has_custom_certificate": False,
                    "pending_update_count": len(self.updates),
                },
            },
        )

    def api_getUpdates(self, params: dict[str, Any]) -> Response:
        offset = int(params.get("offset", 0) or 0)
        limit = int(params.get("limit", 100))
        timeout = float(params.get("timeout", 0))
        if not 1 <= limit <= 100:
            return error(400, "Bad Request: limit must be between 1 and 100")
        deadline = time.monotonic() + timeout
        with self.cond:
            if offset:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            while not self.updates and time.monotonic() < deadline:
                self.cond.wait(deadline - time.monotonic())
            batch = self.updates[:limit]
        return Response(200, {"ok": True, "result": batch})

    def api_sendMessage(self, params: dict[str, Any]) -> Response:
        chat_id = int(params["chat_id"])
        text = params.get("text", "")
        if not text:
            return error(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return error(400, "Bad Request: message is too long")
        if chat_id in self.blocked:
            return error(403, "Forbidden: bot was blocked by the user")
        return self._sent("sendMessage", chat_id, params)

    def api_sendDocument(self, params: dict[str, Any]) -> Response:
        return self._sent("sendDocument", int(params["chat_id"]), params)

    def api_sendPhoto(self, params: dict[str, Any]) -> Response:
        photo = params.get("photo")
        if isinstance(photo, tuple) and len(photo[1]) > PHOTO_LIMIT:
            return error(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
        return self._sent("sendPhoto", int(params["chat_id"]), params)

    def api_getFile(self, params: dict[str, Any]) -> Response:
        file_id = params.get("file_id")
        path = f"documents/{file_id}.bin"
        if path not in self.files:
            return error(400, "Bad Request: invalid file_id")
        return Response(
            200,
            {
                "ok": True,
                "result": {
                    "file_id": file_id,
                    "file_unique_id": "u" + file_id,
                    "file_size": len(self.files[path]),
                    "file_path": path,
                },
            },
        )

    def _sent(self, method: str, chat_id: int, params: dict[str, Any]) -> Response:
        mid = self._new_message_id(chat_id)
        self.sent.append({"method": method, "chat_id": chat_id, "message_id": mid, **params})
        result = {
            "message_id": mid,
            "from": BOT,
            "chat": {"id": chat_id, "type": "private"},
            "date": int(time.time()),
        }
        if "text" in params:
            result["text"] = params["text"]
        return Response(200, {"ok": True, "result": result})


__all__ = ["BOT", "DROP", "TOKEN", "FakeTelegram", "Hang", "error"]
