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

import io
import json
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
    ConfigError,
    PermanentError,
    SecretSource,
    Sink,
    TransientError,
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
from frontdesk.backends.sms import BODY_LIMIT
from frontdesk.backends.twilio_parse import (
    FINAL,
    delivery_update,
    failure_reason,
    media_count,
    media_extension,
    message_date,
    message_date_or_none,
)
from frontdesk.model import (
    Attachment,
    ContactRef,
    Delivery,
    DeliveryUpdate,
    Inbound,
    Outgoing,
    SendResult,
    utcnow,
)

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.twilio.com"
API = "/2010-04-01"
OVERLAP = timedelta(minutes=10)
MAX_PAGES = 200
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


# ---- the backend ----------------------------------------------------------------------------------


class TwilioSMSBackend(Backend):
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

    def __init__(
        self,
        name: str,
        settings: Mapping[str, Any] | None = None,
        secrets: SecretSource | None = None,
        cursor: str | None = None,
    ) -> None:
        super().__init__(name, settings, secrets, cursor)
        cfg, self._problems = read_settings(self.settings, self.settings_schema, _DEFAULTS)
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
        self.status = StatusReporter(name)
        self._token: str | None = None
        self.after, self.follow = self._read_cursor(cursor)
        self._seen: dict[str, datetime] = {}  # SIDs ingested by this process, for the overlap
        self._bad: set[str] = set()  # items already quarantined by this process

    # ---- plumbing ----------------------------------------------------------------------------

    def _check_settings(self) -> None:
        if self._problems:
            raise ConfigError(f"channel {self.name!r}: " + "; ".join(self._problems))

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
        """Twilio's error JSON ({code, message, more_info, status}) as the plugin API's error."""
        data = reply.data if isinstance(reply.data, dict) else {}
        code = data.get("code")
        message = scrub(clip(data.get("message"), 300)) or reply.text.strip()[:200] or "no details"
        more = data.get("more_info") if isinstance(data.get("more_info"), str) else ""
        text = (
            f"Twilio error {code}: {message}"
            if isinstance(code, int)
            else f"Twilio answered HTTP {reply.status}: {message}"
        )
        if more.startswith("https://"):
            text += f" ({clip(more, 200)})"
        if reply.status == 429:
            return TransientError(
                text, retry_after=reply.retry_after() or (None if sending else 10.0)
            )
        if reply.status >= 500:
            return TransientError(text)
        if reply.status == 401:
            self._token = None  # read the secret again next time: the agent may have fixed it
            fix = (
                f"Twilio rejected the credentials ({text}): copy the Auth Token of account {self.account_sid} from "
                f"Twilio Console → Account Info and run `frontdesk creds set {self.name} auth_token`"
            )
            return PermanentError(fix) if sending else AuthRejected(fix)
        if reply.status == 200:
            return TransientError("Twilio answered with something that is not JSON")
        return PermanentError(text)

    # ---- reading -------------------------------------------------------------------------------

    async def run(self, sink: Sink) -> None:
        """Poll every `poll_interval` seconds until cancelled; outages show as the channel status."""
        self._check_settings()
        self._auth()

        async def poll_once() -> float:
            await self._poll(sink)
            return self.poll_interval

        await poll_forever(
            self.name,
            sink,
            poll_once,
            backoff=self.backoff,
            slow_retry=self.error_retry,
            status=self.status,
            logger=log,
        )

    async def fetch_once(self, sink: Sink) -> None:
        await self._poll(sink)

    async def _poll(self, sink: Sink) -> None:
        """One round: new inbound messages and the status of followed sent messages, one ingest."""
        now = utcnow()
        floor = self._floor(now)
        raws = await self._list_inbound(floor)
        events: list[Any] = []
        fresh: dict[str, datetime] = {}
        parsed: list[Inbound] = []
        newest = self.after
        for raw in raws:
            at = message_date_or_none(raw)
            if at is not None and (newest is None or at > newest):
                newest = at  # listed and handled, whatever it turns out to be
            try:
                event = await self._inbound(raw)
            except MALFORMED as exc:
                key = (
                    raw.get("sid")
                    if isinstance(raw, dict) and isinstance(raw.get("sid"), str)
                    else json.dumps(raw, sort_keys=True, default=repr)[:200]
                )
                if key not in self._bad:
                    self._bad.add(key)
                    events.append(unparsable(self.name, raw, exc, log, what="Twilio message"))
                continue
            if event is None or event.external_id in self._seen or event.external_id in fresh:
                continue
            fresh[event.external_id] = event.created_at
            parsed.append(event)
        parsed.sort(key=lambda e: (e.created_at, e.external_id))
        events += parsed
        events += await self._delivery_updates(now)
        cursor = self._write_cursor(newest, self.follow)
        if events or cursor != self.cursor:
            await sink.ingest(self.name, events, cursor=cursor)
            self.cursor = cursor
        self.after = newest
        self._seen.update(fresh)
        keep = self._floor(now)
        self._seen = {sid: at for sid, at in self._seen.items() if at >= keep}
        if len(self._bad) > 10_000:
            self._bad.clear()

    def _floor(self, now: datetime) -> datetime:
        """Messages older than this are taken as read: the watermark (or the backfill) minus the overlap."""
        return (self.after or now - self.backfill) - OVERLAP

    async def _list_inbound(self, floor: datetime) -> list[Any]:
        """Raw messages sent to us from the day of `floor` on, newest first, stopping below `floor`."""
        params: dict[str, Any] = {"DateSent>": floor.date().isoformat(), "PageSize": self.page_size}
        if self.from_number:
            params["To"] = self.from_number
        found: list[Any] = []
        path: str | None = self._messages_path
        for page_number in range(MAX_PAGES):
            page = await self._api("GET", path, params=params if page_number == 0 else None)
            messages = page.get("messages")
            if not isinstance(messages, list):
                raise TransientError("Twilio answered the Messages list without a `messages` list")
            older = False
            for raw in messages:
                at = message_date_or_none(raw)
                if at is not None and at < floor:
                    older = True
                    continue
                found.append(raw)
            next_uri = page.get("next_page_uri")
            if older or not next_uri:
                return found
            path = _account_uri(next_uri, self.account_sid)
            if path is None:
                log.warning(
                    "channel %s: Twilio gave a next_page_uri outside this account's API; not following it",
                    self.name,
                )
                return found
        log.warning(
            "channel %s: stopped after %d pages of messages; the rest comes on the next poll",
            self.name,
            MAX_PAGES,
        )
        return found

    async def _inbound(self, raw: Any) -> Inbound | None:
        """One listed message as an Inbound (None when it is not a message to us); raises if malformed."""
        if not isinstance(raw, dict):
            raise TypeError("a message that is not an object")
        sid = raw["sid"]
        if not isinstance(sid, str) or not re.fullmatch(r"[A-Z]{2}[0-9a-fA-F]{32}", sid):
            raise ValueError("a message without a valid sid")
        if raw.get("direction") != "inbound":
            return None
        if not self.from_number and raw.get("messaging_service_sid") != self.messaging_service_sid:
            return None
        sender = raw["from"]
        if not isinstance(sender, str) or not sender:
            raise ValueError("a message without a sender")
        sender = clip(sender, 64)
        body = raw.get("body") or ""
        if not isinstance(body, str):
            raise TypeError("body is not a string")
        created = message_date(raw)
        attachments: list[Attachment] = []
        num_media = media_count(raw.get("num_media"))
        if num_media:
            attachments, note = await self._media(raw, num_media)
            if note:
                body = f"{body}\n{note}" if body else note
        return Inbound(
            external_id=sid,
            thread_key=sender,
            sender=ContactRef(sender, sender, phone=sender if sender.startswith("+") else ""),
            body=clip(body),
            attachments=attachments,
            created_at=created,
        )

    async def _media(self, raw: dict[str, Any], count: int) -> tuple[list[Attachment], str]:
        """The media of an MMS as attachments (ref: the media URL path, for fetch_attachment)."""
        uris = raw.get("subresource_uris") if isinstance(raw.get("subresource_uris"), dict) else {}
        path = _account_uri(
            uris.get("media")
            or f"{API}/Accounts/{self.account_sid}/Messages/{raw['sid']}/Media.json",
            self.account_sid,
        )
        gone = f"[{count} media file{'s' if count != 1 else ''} not available]"
        if path is None:
            return [], gone
        try:
            page = await self._api("GET", path)
        except PermanentError:
            return [], gone
        items = page.get("media_list")
        if not isinstance(items, list):
            raise TypeError("media_list is not a list")
        found: list[Attachment] = []
        for item in items[:10]:
            if not isinstance(item, dict) or not isinstance(item.get("sid"), str):
                raise TypeError("a media item without sid")
            mime = (
                item.get("content_type")
                if isinstance(item.get("content_type"), str)
                else "application/octet-stream"
            )
            media_sid = re.sub(r"[^A-Za-z0-9]", "", item["sid"])[:40]
            uri = (
                _account_uri(item.get("uri"), self.account_sid)
                or f"{path.removesuffix('.json')}/{media_sid}.json"
            )
            ref = uri.removesuffix(".json")
            found.append(
                Attachment(
                    name=f"{media_sid}{media_extension(mime)}",
                    mime=clip(mime, 100),
                    size=0,
                    ref=ref,
                )
            )
        return found, ""

    async def _delivery_updates(self, now: datetime) -> list[DeliveryUpdate]:
        """Re-read each followed sent message; a final status ends the following."""
        updates: list[DeliveryUpdate] = []
        for sid, since in list(self.follow.items()):
            if now - since > self.follow_for:
                self.follow.pop(sid, None)
                continue
            try:
                raw = await self._api(
                    "GET", f"{API}/Accounts/{self.account_sid}/Messages/{sid}.json"
                )
            except PermanentError as exc:  # 404: deleted, or not ours
                log.info("channel %s: stopped following %s: %s", self.name, sid, exc)
                self.follow.pop(sid, None)
                continue
            update = delivery_update(raw)
            if update is not None:
                update.external_id = sid
                updates.append(update)
            status = raw.get("status")
            if (
                isinstance(status, str) and status in FINAL
            ):  # a list here would raise TypeError (unhashable)
                self.follow.pop(sid, None)
        return updates

    # ---- cursor --------------------------------------------------------------------------------

    def _read_cursor(self, cursor: str | None) -> tuple[datetime | None, dict[str, datetime]]:
        if not cursor:
            return None, {}
        try:
            data = json.loads(cursor)
            after = datetime.fromisoformat(data["after"]) if data.get("after") else None
            follow = {
                str(sid): datetime.fromisoformat(at)
                for sid, at in dict(data.get("follow", {})).items()
            }
            return after, follow
        except (ValueError, TypeError, KeyError, AttributeError):
            log.warning(
                "channel %s: ignoring an unreadable cursor; reading the last %s again",
                self.name,
                self.backfill,
            )
            return None, {}

    @staticmethod
    def _write_cursor(after: datetime | None, follow: Mapping[str, datetime]) -> str:
        return json.dumps(
            {
                "after": after.isoformat() if after else None,
                "follow": {sid: at.isoformat() for sid, at in follow.items()},
            },
            sort_keys=True,
        )

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

    async def fetch_attachment(self, ref: str, max_bytes: int = MEDIA_LIMIT) -> bytes:
        """The bytes of an MMS media file (`Attachment.ref` is its URL path under base_url)."""
        buffer = io.BytesIO()
        await self.download_attachment(ref, buffer, max_bytes)
        return buffer.getvalue()

    async def download_attachment(
        self, ref: str, into: BinaryIO, max_bytes: int = MEDIA_LIMIT
    ) -> int:
        """An MMS media file (`Attachment.ref` is its URL path under base_url), streamed into `into`."""
        self._check_settings()
        path = _account_uri(ref, self.account_sid)
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
        except ConfigError as exc:
            return [str(exc)]
        except TransientError as exc:
            return [f"{exc} — check the network, a proxy, or base_url ({self.base_url})"]
        except BackendError as exc:
            return [str(exc)]
        state = account.get("status")
        if state not in (None, "active"):
            return [
                f"Twilio account {self.account_sid} is {clip(state, 20)}; reactivate it in the Twilio Console"
            ]
        return []

    async def close(self) -> None:
        await self.http.aclose()


def _account_uri(uri: Any, account_sid: str) -> str | None:
    """A URI from a response if it stays in this account's API paths (never another host: the
    credentials go with it), else None."""
    if (
        not isinstance(uri, str)
        or not uri.startswith(f"{API}/Accounts/{account_sid}/")
        or "//" in uri
        or ".." in uri
    ):
        return None
    if any(c in uri for c in "\\ \r\n\t#@"):
        return None
    return uri


__all__ = ["TwilioSMSBackend"]
