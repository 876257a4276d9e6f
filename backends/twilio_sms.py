"""The Twilio SMS backend: inbound by polling the Messages list, outbound by creating a Message.

Needs no public URL. Settings `account_sid` and `from_number` (or `messaging_service_sid`),
secret `auth_token`. Thread key and contact address: the customer's phone number;
external id: the Message SID.

Reading: every `poll_interval` seconds, list Messages sent to our number since the
watermark (Twilio filters by day, `DateSent>=YYYY-MM-DD`; newest first), follow
`next_page_uri` until the page reaches messages older than the watermark minus an
overlap, and ingest the new ones oldest first in one batch together with the cursor.
The overlap re-reads a few minutes so a late-listed message is not missed; the SIDs
already seen (and the desk's dedup on external id) keep it from showing twice.

Delivery: a sent message is followed by re-reading it (`Messages/{Sid}.json`) on each
poll until it reaches a final state: queued → sent → delivered, or undelivered / failed
with the error code and text shown to the agent. The SIDs being followed live in the
cursor, so a restart keeps following them.

The cursor is JSON: {"after": ISO time of the newest message ingested, "follow": {SID: ISO sent time}}.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, BinaryIO, ClassVar

import httpx

from frontdesk.backends.base import (
    AmbiguousError,
    Backend,
    BackendError,
    PermanentError,
    Sink,
    integer,
    number,
)
from frontdesk.backends.apierrors import SERVER_STATUSES, Failure, Provider, Rule, Verdict
from frontdesk.backends.apierrors import answer_object, words_of
from frontdesk.backends.httpbackend import HTTPChannel
from frontdesk.backends.httpchannel import (
    Backoff,
    HTTPClient,
    PollRefused,
    Reply,
    StatusReporter,
    clip,
    protect,
)
from frontdesk.backends.sms import BODY_LIMIT
from frontdesk.backends.twilio_parse import API, FINAL, account_uri, failure_reason
from frontdesk.backends.twilio_read import TwilioReading
from frontdesk.model import Delivery, Outgoing, SendResult, utcnow

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.twilio.com"
MAX_FOLLOWED = 1000
MEDIA_LIMIT = 20 * 1024 * 1024
E164 = re.compile(r"\+[1-9]\d{6,14}\Z")

_DEFAULTS: dict[str, Any] = {
    "base_url": DEFAULT_BASE_URL,
    "account_sid": "",
    "from_number": "",
    "messaging_service_sid": "",
    "poll_interval": 10.0,
    "page_size": 100,
    "backfill_hours": 24.0,
    "follow_hours": 24.0,
    "backoff_initial": 1.0,
    "backoff_max": 60.0,
    "error_retry": 60.0,
    "request_timeout": 30.0,
    "connect_timeout": 10.0,
}


class AuthRejected(PollRefused):
    """401: Twilio does not accept account_sid with this auth_token."""


TWILIO = Provider(
    rules=(
        Rule(Verdict.RATE, statuses={429}),
        Rule(Verdict.SERVER, statuses=SERVER_STATUSES),
        Rule(Verdict.TOKEN, statuses={401}),
    ),
    words={
        Verdict.RATE: "{said}",
        Verdict.SERVER: "{said}",
        Verdict.TOKEN: "Twilio rejected the credentials ({said}): copy the Auth Token of account "
        "{account} from Twilio Console → Account Info and run `frontdesk creds set {name} "
        "auth_token`",
        Verdict.UNREADABLE: "Twilio answered with something that is not JSON",
        Verdict.REFUSED: "{said}",
    },
    errors={Verdict.TOKEN: AuthRejected},
)


def twilio_failure(reply: Reply) -> Failure:
    """Twilio's error JSON ({code, message, more_info, status}), said with its code and link."""
    data = answer_object(reply)
    code = data.get("code")
    message = words_of(reply, data.get("message")) or "no details"
    more = data.get("more_info") if isinstance(data.get("more_info"), str) else ""
    said = (
        f"Twilio error {code}: {message}"
        if isinstance(code, int)
        else f"Twilio answered HTTP {reply.status}: {message}"
    )
    if more.startswith("https://"):
        said += f" ({clip(more, 200)})"
    return Failure(reply.status, code, None, said, reply.retry_after() or None)


# ---- the backend ----------------------------------------------------------------------------------


class TwilioSMSBackend(TwilioReading, HTTPChannel, Backend):
    """SMS (and MMS) through one Twilio number or Messaging Service, polled."""

    kind = "sms"
    polling = True
    supports_attachments = False  # sending media needs a public URL; received MMS media are listed
    settings_schema: ClassVar[Mapping[str, Any]] = {
        "base_url": str,
        "account_sid": str,
        "from_number": str,
        "messaging_service_sid": str,
        "poll_interval": number(0, 3600, "seconds"),
        "page_size": integer(1, 1000),
        "backfill_hours": number(0, 24 * 366, "hours"),
        "follow_hours": number(0, 24 * 31, "hours"),
        "backoff_initial": number(0, 3600, "seconds"),
        "backoff_max": number(0, 86400, "seconds"),
        "error_retry": number(0, 86400, "seconds"),
        "request_timeout": number(0.1, 600, "seconds"),
        "connect_timeout": number(0.1, 600, "seconds"),
    }
    """account_sid: "AC…" from the Twilio Console; from_number: our number in E.164 ("+1555…"),
    or messaging_service_sid: "MG…" to send through a Messaging Service; poll_interval:
    seconds between polls; page_size: messages per list page (≤ 1000); backfill_hours: how
    far back the first poll reads; follow_hours: how long a sent message's delivery status
    is followed; backoff_initial/backoff_max: retry delays while the network is down;
    error_retry: pause after Twilio refuses the poll (bad credentials …)."""
    secret_names = ("auth_token",)
    defaults = _DEFAULTS
    download_limit = MEDIA_LIMIT

    def configure(self, cfg: dict[str, Any]) -> None:
        self.account_sid: str = cfg["account_sid"].strip()
        self.from_number: str = cfg["from_number"].strip()
        self.messaging_service_sid: str = cfg["messaging_service_sid"].strip()
        if not self.account_sid:
            self._problems.append(
                'setting account_sid is missing; add account_sid = "AC…" to the channel block '
                "(Twilio Console → Account Info)"
            )
        elif not re.fullmatch(r"AC[0-9a-fA-F]{32}", self.account_sid):
            self._problems.append(
                "setting account_sid does not look like a Twilio Account SID (AC followed by 32 hex digits)"
            )
        if not self.from_number and not self.messaging_service_sid:
            self._problems.append(
                'neither from_number nor messaging_service_sid is set; add from_number = "+15550100" '
                '(your Twilio number, E.164) or messaging_service_sid = "MG…"'
            )
        elif self.from_number and not E164.match(self.from_number):
            self._problems.append(
                f'setting from_number must be E.164, like "+15550100" (got {self.from_number[:20]!r})'
            )
        self.base_url: str = cfg["base_url"].rstrip("/")
        self.poll_interval = max(0.0, float(cfg["poll_interval"]))
        self.page_size = min(1000, max(1, int(cfg["page_size"])))
        self.backfill = timedelta(hours=max(0.0, float(cfg["backfill_hours"])))
        self.follow_for = timedelta(hours=max(0.0, float(cfg["follow_hours"])))
        self.backoff = Backoff(float(cfg["backoff_initial"]), float(cfg["backoff_max"]))
        self.error_retry = max(0.0, float(cfg["error_retry"]))
        self.request_timeout = float(cfg["request_timeout"])
        self.http = HTTPClient(
            self.base_url, "Twilio", connect_timeout=float(cfg["connect_timeout"]), auth=self._auth
        )
        self.status = StatusReporter(self.name)
        self._token: str | None = None
        self.after, self.follow = self._read_cursor(self.cursor)
        self._seen: dict[str, datetime] = {}  # SIDs ingested by this process, for the overlap
        self._bad: set[str] = set()  # items already quarantined by this process

    # ---- plumbing ----------------------------------------------------------------------------

    def _auth(self) -> httpx.Auth:
        if self._token is None:
            self._token = self.secret("auth_token")
            protect(self._token)
        return httpx.BasicAuth(self.account_sid, self._token)

    @property
    def _messages_path(self) -> str:
        return f"{API}/Accounts/{self.account_sid}/Messages.json"

    async def _api(self, method: str, path: str, *, sending: bool = False, **kwargs: Any) -> Any:
        self._check_settings()
        self._auth()
        reply = await self.http.request(
            method, path, timeout=self.request_timeout, sending=sending, **kwargs
        )
        if 200 <= reply.status < 300 and isinstance(reply.data, dict):
            return reply.data
        raise self._error(reply, sending)

    def _error(self, reply: Reply, sending: bool) -> BackendError:
        """Twilio's error JSON judged by its table; a send keeps its own wait (none unless told)."""
        judged = TWILIO.judge(
            twilio_failure(reply),
            sending=sending,
            wait=None if sending else 10.0,
            name=self.name,
            account=self.account_sid,
        )
        if judged.verdict is not Verdict.TOKEN:
            return judged.error
        self._token = None  # read the secret again next time: the agent may have fixed it
        # a poll retries slowly until the secret is fixed; a message fails with the fix
        return PermanentError(str(judged.error)) if sending else judged.error

    # ---- reading -------------------------------------------------------------------------------

    async def run(self, sink: Sink) -> None:
        """Poll every `poll_interval` seconds until cancelled; outages show as the channel status."""
        self._check_settings()
        self._auth()

        async def poll_once() -> float:
            await self._poll(sink)
            return self.poll_interval

        await self._keep_polling(sink, poll_once, self.error_retry, log)

    async def fetch_once(self, sink: Sink) -> None:
        await self._poll(sink)

    # ---- sending -------------------------------------------------------------------------------

    async def send(self, outgoing: Outgoing) -> SendResult:
        """Create a Message; its delivery is followed on the next polls."""
        body = outgoing.body
        if len(body) > BODY_LIMIT:
            raise PermanentError(
                f"the reply is {len(body):,} characters; an SMS through Twilio holds at most "
                f"{BODY_LIMIT:,} — shorten it or send it in parts"
            )
        to = outgoing.to or outgoing.thread_key
        if not to:
            raise PermanentError("no phone number to send to")
        data: dict[str, Any] = {"To": to, "Body": body}
        if self.messaging_service_sid:
            data["MessagingServiceSid"] = self.messaging_service_sid
        else:
            data["From"] = self.from_number
        media = []
        for attachment in outgoing.attachments:
            if not attachment.ref.startswith("https://"):
                raise PermanentError(
                    f"{attachment.name}: MMS media must be a public https URL Twilio can fetch"
                )
            media.append(attachment.ref)
        if media:
            data["MediaUrl"] = media[:10]
        if not body.strip() and not media:
            raise PermanentError("an empty SMS cannot be sent")
        raw = await self._api("POST", self._messages_path, sending=True, data=data)
        sid = raw.get("sid")
        if not isinstance(sid, str) or not sid:
            raise AmbiguousError(
                "Twilio answered without a message SID; the message may have been sent"
            )
        status = raw.get("status")
        if status in ("failed", "undelivered", "canceled"):
            raise PermanentError(failure_reason(raw))
        if status not in FINAL:
            if len(self.follow) >= MAX_FOLLOWED:
                self.follow.pop(next(iter(self.follow)))
            self.follow[sid] = utcnow()
        return SendResult(sid, Delivery.DELIVERED if status == "delivered" else Delivery.SENT)

    async def download_attachment(
        self, ref: str, into: BinaryIO, max_bytes: int = MEDIA_LIMIT
    ) -> int:
        """An MMS media file (`Attachment.ref` is its URL path under base_url), streamed into `into`."""
        self._check_settings()
        path = account_uri(ref, self.account_sid)
        if path is None:
            raise PermanentError("not a media file of this Twilio account")
        self._auth()
        return await self.http.download(
            path, timeout=self.request_timeout, max_bytes=max_bytes, into=into
        )

    # ---- doctor --------------------------------------------------------------------------------

    async def check(self) -> list[str]:
        """Settings present and valid, then the account fetched with the credentials."""
        if self._problems:
            return list(self._problems)
        try:
            account = await self._api("GET", f"{API}/Accounts/{self.account_sid}.json")
        except BackendError as exc:
            return [self.doctor_line(exc)]
        state = account.get("status")
        if state not in (None, "active"):
            return [
                f"Twilio account {self.account_sid} is {clip(state, 20)}; reactivate it in the Twilio Console"
            ]
        return []


__all__ = ["TwilioSMSBackend"]
