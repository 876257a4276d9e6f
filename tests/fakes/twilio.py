"""A fake Twilio Messages API (https://www.twilio.com/docs/messaging/api/message-resource).

Basic auth `AccountSid:AuthToken`; resources under `/2010-04-01/Accounts/{AccountSid}/`;
lists newest first with `next_page_uri` (a PageToken naming the last SID, so pages stay
stable while messages arrive); `DateSent>` filters by day (YYYY-MM-DD), as Twilio does;
errors are `{"code", "message", "more_info", "status"}`; dates are RFC 2822.
"""

from __future__ import annotations

import base64
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote, urlencode

from fakes.server import DROP, AfterWork, Hang, Request, Response

ACCOUNT = "AC" + "a1" * 16
TOKEN = "f00dfeedtwilio-auth-token-secret-1"
NUMBER = "+15550100"
API = f"/2010-04-01/Accounts/{ACCOUNT}"
START = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=2)
"""The fake's clock starts two hours ago, so messages fall inside the backend's default backfill."""


def error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status,
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        headers or {},
    )


def rfc2822(at: datetime) -> str:
    return format_datetime(at.astimezone(timezone.utc))


class FakeTwilio:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: dict[str, dict[str, Any]] = {}
        self.media: dict[str, list[dict[str, Any]]] = {}
        self.counter = 0
        self.clock = START
        #: scripted answers per route ("list", "create", "fetch", "media", "account"): Response, DROP,
        #: Hang, AfterWork, or None for "answer normally", consumed in order before the normal answers
        self.faults: dict[str, list[Any]] = {}
        self.calls: list[
            tuple[str, str, dict[str, Any], float]
        ] = []  # (route, path, params, monotonic time)
        self.created: list[dict[str, Any]] = []

    # ---- scripting ------------------------------------------------------------------------

    def _sid(self, prefix: str = "SM") -> str:
        self.counter += 1
        return f"{prefix}{self.counter:032x}"

    def tick(self, seconds: float = 1.0) -> datetime:
        self.clock += timedelta(seconds=seconds)
        return self.clock

    def inbound(
        self,
        sender: str,
        body: str,
        *,
        at: datetime | None = None,
        media: list[str] | None = None,
        **override: Any,
    ) -> dict[str, Any]:
        with self.lock:
            at = at or self.tick()
            sid = self._sid("MM" if media else "SM")
            raw = self._resource(sid, sender, NUMBER, body, "inbound", "received", at)
            raw["num_media"] = str(len(media or []))
            self.media[sid] = [
                {
                    "sid": self._sid("ME"),
                    "content_type": kind,
                    "parent_sid": sid,
                    "uri": f"{API}/Messages/{sid}/Media/ME{i:032x}.json",
                }
                for i, kind in enumerate(media or [])
            ]
            raw.update(override)
            self.messages[sid] = raw
            return raw

    def set_status(
        self, sid: str, status: str, error_code: int | None = None, error_message: str | None = None
    ) -> None:
        with self.lock:
            raw = self.messages[sid]
            raw.update(status=status, error_code=error_code, error_message=error_message)
            if status in ("sent", "delivered") and raw["date_sent"] is None:
                raw["date_sent"] = rfc2822(self.tick())

    def fail_next(self, what: str, *answers: Any) -> None:
        self.faults.setdefault(what, []).extend(answers)

    def _resource(
        self,
        sid: str,
        sender: str,
        to: str,
        body: str,
        direction: str,
        status: str,
        at: datetime | None,
    ) -> dict[str, Any]:
        return {
            "account_sid": ACCOUNT,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": rfc2822(at or self.clock),
            "date_sent": rfc2822(at) if at else None,
            "date_updated": rfc2822(at or self.clock),
            "direction": direction,
            "error_code": None,
            "error_message": None,
            "from": sender,
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": status,
            "subresource_uris": {"media": f"{API}/Messages/{sid}/Media.json"},
            "to": to,
            "uri": f"{API}/Messages/{sid}.json",
        }

    # ---- the API --------------------------------------------------------------------------

    def __call__(self, request: Request) -> Any:
        auth = request.headers.get("authorization", "")
        expected = "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
        if auth != expected:
            return error(401, 20003, "Authenticate")
        path = request.path
        if not path.startswith(API):
            return error(404, 20404, f"The requested resource {path} was not found")
        rest = path.removeprefix(API)
        if rest == ".json":
            return self._route(
                "account",
                request,
                lambda: Response(
                    200, {"sid": ACCOUNT, "status": "active", "friendly_name": "Test account"}
                ),
            )
        if rest == "/Messages.json" and request.method == "GET":
            return self._route("list", request, lambda: self._list(request))
        if rest == "/Messages.json" and request.method == "POST":
            return self._route("create", request, lambda: self._create(request))
        if rest.startswith("/Messages/") and rest.endswith("/Media.json"):
            sid = rest.split("/")[2]
            return self._route("media", request, lambda: self._media(sid))
        if rest.startswith("/Messages/") and rest.endswith(".json"):
            sid = rest.removeprefix("/Messages/").removesuffix(".json")
            return self._route("fetch", request, lambda: self._fetch(sid))
        return error(404, 20404, f"The requested resource {path} was not found")

    def _route(self, what: str, request: Request, normal: Any) -> Any:
        self.calls.append((what, request.path, request.params(), time.monotonic()))
        queued = self.faults.get(what)
        if queued:
            answer = queued.pop(0)
            if isinstance(answer, AfterWork):
                return answer.wrap(normal())
            if answer is not None:  # None in the script: answer this one normally
                return answer
        return normal()

    def _list(self, request: Request) -> Response:
        q = {k: v[0] for k, v in request.query.items()}
        size = min(1000, int(q.get("PageSize", 50)))
        with self.lock:
            items = sorted(
                self.messages.values(),
                key=lambda m: (
                    m["date_sent"] and parse_date(m["date_sent"]) or START,
                    str(m["sid"]),
                ),
                reverse=True,
            )
        if "To" in q:
            items = [m for m in items if m["to"] == q["To"]]
        if "DateSent>" in q:
            day = datetime.fromisoformat(q["DateSent>"]).replace(tzinfo=timezone.utc)
            items = [m for m in items if m["date_sent"] and parse_date(m["date_sent"]) >= day]
        token = q.get("PageToken")
        page = int(q.get("Page", 0))
        if token:
            last = token.removeprefix("PA")
            index = next((i for i, m in enumerate(items) if m["sid"] == last), len(items) - 1)
            items = items[index + 1 :]
        chunk = items[:size]
        base = {k: v for k, v in q.items() if k not in ("Page", "PageToken")}
        uri = f"{API}/Messages.json?{urlencode(q, quote_via=quote)}"
        next_uri = None
        if len(items) > size:
            next_uri = f"{API}/Messages.json?{urlencode({**base, 'Page': page + 1, 'PageToken': 'PA' + chunk[-1]['sid']}, quote_via=quote)}"
        return Response(
            200,
            {
                "messages": chunk,
                "page": page,
                "page_size": size,
                "start": page * size,
                "end": page * size + max(0, len(chunk) - 1),
                "uri": uri,
                "first_page_uri": f"{API}/Messages.json?{urlencode(base, quote_via=quote)}",
                "next_page_uri": next_uri,
                "previous_page_uri": None,
            },
        )

    def _create(self, request: Request) -> Response:
        form = request.params()
        to, body = form.get("To"), form.get("Body", "")
        if not to or not str(to).startswith("+"):
            return error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if len(body) > 1600:
            return error(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return error(
                400,
                21603,
                "A 'From' or 'MessagingServiceSid' parameter is required to send a message.",
            )
        with self.lock:
            sid = self._sid()
            raw = self._resource(
                sid, form.get("From", NUMBER), to, body, "outbound-api", "queued", None
            )
            self.messages[sid] = raw
            self.created.append(raw)
        return Response(201, raw)

    def _fetch(self, sid: str) -> Response:
        with self.lock:
            raw = self.messages.get(sid)
        if raw is None:
            return error(
                404, 20404, f"The requested resource {API}/Messages/{sid}.json was not found"
            )
        return Response(200, raw)

    def _media(self, sid: str) -> Response:
        return Response(
            200,
            {
                "media_list": self.media.get(sid, []),
                "page": 0,
                "page_size": 50,
                "next_page_uri": None,
                "uri": f"{API}/Messages/{sid}/Media.json",
            },
        )


def parse_date(value: str) -> datetime:
    """An RFC 2822 date; a broken one (a test's malformed message) sorts as the newest."""
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, AttributeError):
        return datetime.max.replace(tzinfo=timezone.utc)


__all__ = ["ACCOUNT", "API", "DROP", "NUMBER", "TOKEN", "FakeTwilio", "Hang", "error", "rfc2822"]
