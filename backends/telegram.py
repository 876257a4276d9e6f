"""The Telegram backend: a bot read by long polling `getUpdates`, answering with `sendMessage`, `sendPhoto`, `sendDocument`.

Needs no public URL. Secret `token` (from @BotFather). Thread key: the chat id; the
contact: the Telegram user (id and name). External ids are `<chat id>:<message id>`,
unique per bot; an edit is a new message `<chat id>:<message id>:edit:<edit date>` whose
body says it edits the earlier one (Telegram has no way to show an edit in place here).

The update offset is the cursor: it is handed to the desk in the same `ingest` call as
the messages of its batch, so it is committed only with them, and Telegram drops
updates only once a later `getUpdates` confirms that offset. A restart re-reads an
unconfirmed batch and the desk's dedup on external id drops what it already has.

The token is part of every request path (`/bot<token>/method`), so it is protected from
httpx's log lines, and every error text is redacted before it leaves this module.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

from frontdesk.backends.base import (
    AmbiguousError,
    Backend,
    BackendError,
    PermanentError,
    Sink,
    TransientError,
    integer,
    number,
)
from frontdesk.backends.apierrors import SERVER_STATUSES, Failure, Provider, Rule, Verdict
from frontdesk.backends.apierrors import answer_object, words_of
from frontdesk.backends.httpbackend import HTTPChannel, check_length, part_sent, recipient
from frontdesk.backends.httpchannel import (
    MALFORMED,
    Backoff,
    HTTPClient,
    PollRefused,
    Reply,
    StatusReporter,
    protect,
    unparsable,
)
from frontdesk.backends.telegram_parse import parse_update
from frontdesk.model import Attachment, Outgoing, SendResult

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.telegram.org"
TEXT_LIMIT = 4096  # sendMessage text, characters
CAPTION_LIMIT = 1024
UPLOAD_LIMIT = 50 * 1024 * 1024  # sendDocument multipart upload
DOWNLOAD_LIMIT = 20 * 1024 * 1024  # getFile on the cloud Bot API
#: pictures sent with sendPhoto (shown inline, compressed by Telegram); others go as documents
PHOTO_TYPES = ("image/jpeg", "image/png")
PHOTO_LIMIT = 10 * 1024 * 1024  # sendPhoto upload

_DEFAULTS: dict[str, Any] = {
    "base_url": DEFAULT_BASE_URL,
    "poll_timeout": 30,
    "poll_interval": 1.0,
    "limit": 100,
    "allowed_updates": ["message", "edited_message"],
    "backoff_initial": 1.0,
    "backoff_max": 60.0,
    "conflict_retry": 60.0,
    "request_timeout": 30.0,
    "connect_timeout": 10.0,
}


class Conflict(PollRefused):
    """409: another program polls the same bot, or a webhook is set."""


class TokenRejected(PollRefused):
    """401/404: Telegram does not know the token."""


TELEGRAM = Provider(
    rules=(
        Rule(Verdict.RATE, codes={429}),
        Rule(Verdict.CONFLICT, codes={409}),
        Rule(Verdict.TOKEN, codes={401, 404}),
        Rule(Verdict.SERVER, statuses=SERVER_STATUSES, codes=SERVER_STATUSES),
    ),
    words={
        Verdict.RATE: "Telegram rate limit on {label} ({said})",
        Verdict.CONFLICT: "Telegram refuses to serve updates: {said}. Another program is polling "
        "this bot, or a webhook is set: stop the other poller (only one may run), or call "
        "deleteWebhook",
        Verdict.TOKEN: "Telegram rejected the bot token ({code} {said}): copy it again from "
        "@BotFather (/mybots → API Token) and run `frontdesk creds set {name} token`; check "
        "base_url too",
        Verdict.SERVER: "Telegram server error on {label} ({code} {said})",
        Verdict.REFUSED: "Telegram refused {label}: {said}",
    },
    errors={Verdict.CONFLICT: Conflict, Verdict.TOKEN: TokenRejected},
    wait=5.0,
)
#: getFile answers 404 for a file Telegram no longer has, with a good token
TELEGRAM_FILES = replace(
    TELEGRAM, rules=tuple(rule for rule in TELEGRAM.rules if rule.verdict is not Verdict.TOKEN)
)


def telegram_failure(reply: Reply) -> Failure:
    """The Bot API's `{error_code, description, parameters}`; its own retry_after comes first."""
    data = answer_object(reply)
    code = data.get("error_code") if isinstance(data.get("error_code"), int) else reply.status
    said = words_of(reply, data.get("description")) or f"HTTP {reply.status}"
    parameters = answer_object(reply, "parameters")
    wait = parameters.get("retry_after")
    if not isinstance(wait, (int, float)) or isinstance(wait, bool) or wait < 0:
        wait = reply.retry_after() or None
    migrate = parameters.get("migrate_to_chat_id")
    if migrate is not None:
        said += f" (the group is now the supergroup {migrate})"
    return Failure(reply.status, code, None, said, wait)


class PhotoRefused(PermanentError):
    """400 on sendPhoto (dimensions, format): nothing was sent, so the picture can go as a file."""


class TelegramBackend(HTTPChannel, Backend):
    """A Telegram bot, polled with getUpdates."""

    kind = "telegram"
    polling = True
    supports_attachments = True
    settings_schema: ClassVar[Mapping[str, Any]] = {
        "base_url": str,
        "poll_timeout": integer(0, 300, "seconds"),
        "poll_interval": number(0, 3600, "seconds"),
        "limit": integer(1, 100),
        "allowed_updates": list[str],
        "backoff_initial": number(0, 3600, "seconds"),
        "backoff_max": number(0, 86400, "seconds"),
        "conflict_retry": number(0, 86400, "seconds"),
        "request_timeout": number(0.1, 600, "seconds"),
        "connect_timeout": number(0.1, 600, "seconds"),
    }
    """base_url: the Bot API server (a local `telegram-bot-api` or a proxy works too);
    poll_timeout: seconds a getUpdates long poll waits (0 = short polling); poll_interval:
    the least pause between polls that brought nothing; limit: updates per poll (1–100);
    allowed_updates: update kinds to receive; backoff_initial/backoff_max: retry delays
    while the network is down; conflict_retry: pause after 409 or a rejected token;
    request_timeout/connect_timeout: for sends and other calls."""
    secret_names = ("token",)
    defaults = _DEFAULTS
    download_limit = DOWNLOAD_LIMIT

    def configure(self, cfg: dict[str, Any]) -> None:
        self.base_url: str = cfg["base_url"].rstrip("/")
        self.poll_timeout = max(0, int(cfg["poll_timeout"]))
        self.poll_interval = max(0.0, float(cfg["poll_interval"]))
        self.limit = min(100, max(1, int(cfg["limit"])))
        self.allowed_updates: list[str] = list(cfg["allowed_updates"])
        self.backoff = Backoff(float(cfg["backoff_initial"]), float(cfg["backoff_max"]))
        self.conflict_retry = max(0.0, float(cfg["conflict_retry"]))
        self.request_timeout = float(cfg["request_timeout"])
        self.http = HTTPClient(
            self.base_url, "Telegram", connect_timeout=float(cfg["connect_timeout"])
        )
        self.offset = _parse_cursor(self.cursor)
        self.status = StatusReporter(self.name)
        self._token: str | None = None

    # ---- plumbing ----------------------------------------------------------------------------

    def _bot_token(self, fresh: bool = False) -> str:
        self._check_settings()
        if self._token is None or fresh:
            self._token = self.secret("token")
            protect(self._token)
        return self._token

    async def _call(
        self,
        method: str,
        *,
        timeout: float | None = None,
        sending: bool = False,
        payload: dict[str, Any] | None = None,
        files: dict[str, Any] | None = None,
    ) -> Any:
        """Call a Bot API method; return its `result` or raise the matching BackendError."""
        token = self._bot_token()
        kwargs: dict[str, Any] = {}
        if files:
            kwargs["data"] = {
                k: v if isinstance(v, str) else json.dumps(v) for k, v in (payload or {}).items()
            }
            kwargs["files"] = files
        else:
            kwargs["json"] = payload or {}
        reply = await self.http.request(
            "POST",
            f"/bot{token}/{method}",
            timeout=timeout or self.request_timeout,
            sending=sending,
            label=method,
            **kwargs,
        )
        return self._result(method, reply)

    def _result(self, method: str, reply: Reply) -> Any:
        data = reply.data if isinstance(reply.data, dict) else {}
        if reply.status == 200 and data.get("ok") is True:
            return data.get("result")
        failure = telegram_failure(reply)
        table = TELEGRAM_FILES if method == "getFile" else TELEGRAM
        error = table.judge(failure, label=method, name=self.name).error
        if method == "sendPhoto" and failure.code == 400:  # nothing was sent: it can go as a file
            raise PhotoRefused(str(error))
        raise error

    # ---- reading -------------------------------------------------------------------------------

    async def run(self, sink: Sink) -> None:
        """Long-poll getUpdates until cancelled; outages and conflicts show as the channel status."""
        self._bot_token()

        async def poll_once() -> float:
            started = time.monotonic()
            try:
                count = await self._poll(sink, self.poll_timeout)
            except TokenRejected:
                self._token = None  # read the secret again: the agent may have fixed it
                raise
            quick = time.monotonic() - started < 1.0
            # a server that ignores `timeout` (or short polling) must not make this a tight loop
            return self.poll_interval if count == 0 and (quick or self.poll_timeout == 0) else 0.0

        await self._keep_polling(sink, poll_once, self.conflict_retry, log)

    async def fetch_once(self, sink: Sink) -> None:
        """Read every pending update (short polls until a page comes back short)."""
        for _ in range(10_000):
            if await self._poll(sink, 0) < self.limit:
                return

    async def _poll(self, sink: Sink, timeout: int) -> int:
        """One getUpdates; ingest its messages with the next offset as cursor. Returns the page size."""
        payload: dict[str, Any] = {
            "timeout": timeout,
            "limit": self.limit,
            "allowed_updates": self.allowed_updates,
        }
        if self.offset:
            payload["offset"] = self.offset
        # the long poll may take its full `timeout`, plus a margin for the answer to travel
        result = await self._call(
            "getUpdates", payload=payload, timeout=timeout + min(10.0, self.request_timeout)
        )
        if not isinstance(result, list):
            raise TransientError(
                "Telegram answered getUpdates with something that is not a list of updates"
            )
        events: list[Any] = []
        next_offset = self.offset
        for update in result:
            update_id = update.get("update_id") if isinstance(update, dict) else None
            if isinstance(update_id, int) and not isinstance(update_id, bool):
                if update_id < self.offset:
                    continue  # already confirmed: a server that re-sends is harmless
                next_offset = max(next_offset, update_id + 1)
            try:
                events += parse_update(update)
            except MALFORMED as exc:
                events.append(unparsable(self.name, update, exc, log, what="Telegram update"))
        if next_offset != self.offset or events:
            await sink.ingest(self.name, events, cursor=str(next_offset) if next_offset else None)
            self.offset = next_offset
            self.cursor = str(next_offset)
        return len(result)

    # ---- sending -------------------------------------------------------------------------------

    def attachment_problem(self, name: str, mime: str, size: int) -> str | None:
        """Bots upload at most 50 MB per file (sendDocument)."""
        if size > UPLOAD_LIMIT:
            return f"{self.name}: files over 50 MB cannot be sent on Telegram ({name} is {size / 1e6:.1f} MB)"
        return None

    async def send(self, outgoing: Outgoing) -> SendResult:
        """sendMessage for text; sendPhoto or sendDocument per file (the text as caption when it fits)."""
        chat_id = recipient(
            outgoing, "no Telegram chat to send to: the conversation has no chat id"
        )
        body = outgoing.body
        check_length(body, TEXT_LIMIT, "Telegram")
        if not outgoing.attachments:
            if not body.strip():
                raise PermanentError("an empty message cannot be sent on Telegram")
            result = await self._call(
                "sendMessage", sending=True, payload={"chat_id": chat_id, "text": body}
            )
            return SendResult(_sent_id(chat_id, result))
        first_id: str | None = None
        caption = body if len(body) <= CAPTION_LIMIT else ""
        try:
            if body.strip() and not caption:
                first_id = _sent_id(
                    chat_id,
                    await self._call(
                        "sendMessage", sending=True, payload={"chat_id": chat_id, "text": body}
                    ),
                )
            for index, attachment in enumerate(outgoing.attachments):
                sent = await self._send_file(
                    chat_id, attachment, caption if index == 0 and caption.strip() else ""
                )
                first_id = first_id or sent
        except (TransientError, PermanentError) as exc:
            if first_id is None:
                raise
            raise part_sent(first_id, exc) from None
        assert first_id is not None
        return SendResult(first_id)

    async def _send_file(self, chat_id: str, attachment: Attachment, caption: str) -> str:
        """One file: a JPEG or PNG under the photo limit with sendPhoto (shown inline), any other
        with sendDocument; a picture Telegram refuses as a photo (400) goes as a document."""
        payload: dict[str, Any] = {"chat_id": chat_id}
        if caption:
            payload["caption"] = caption
        path = Path(attachment.ref) if attachment.ref else None
        if path is not None and path.is_absolute() and not path.is_file():
            # a kept copy (an absolute path) is never a file_id Telegram knows
            raise PermanentError(
                f"{attachment.name}: the copy kept to send is gone ({path}) — attach it again"
            )
        if path is None or not path.is_file():
            if not attachment.ref:
                raise PermanentError(f"attachment {attachment.name!r} has no file to send")
            payload["document"] = attachment.ref  # a file_id Telegram already has
            return _sent_id(
                chat_id, await self._call("sendDocument", sending=True, payload=payload)
            )
        size = path.stat().st_size
        if size > UPLOAD_LIMIT:
            raise PermanentError(f"{attachment.name} is larger than Telegram's 50 MB upload limit")
        upload = (attachment.name or path.name, path.read_bytes(), attachment.mime)
        if attachment.mime in PHOTO_TYPES and size <= PHOTO_LIMIT:
            try:
                result = await self._call(
                    "sendPhoto", sending=True, payload=payload, files={"photo": upload}
                )
                return _sent_id(chat_id, result)
            except PhotoRefused as exc:
                log.info("channel %s: sent as a document instead (%s)", self.name, exc)
        result = await self._call(
            "sendDocument", sending=True, payload=payload, files={"document": upload}
        )
        return _sent_id(chat_id, result)

    async def download_attachment(
        self, ref: str, into: BinaryIO, max_bytes: int = DOWNLOAD_LIMIT
    ) -> int:
        """A received file (`Attachment.ref` is its file_id), found with getFile, streamed into `into`."""
        info = await self._call("getFile", payload={"file_id": ref})
        file_path = info.get("file_path") if isinstance(info, dict) else None
        if not isinstance(file_path, str) or ".." in file_path or file_path.startswith("/"):
            raise PermanentError("Telegram did not give a path for this file (larger than 20 MB?)")
        token = self._bot_token()
        return await self.http.download(
            f"/file/bot{token}/{file_path}",
            timeout=self.request_timeout,
            max_bytes=max_bytes,
            into=into,
        )

    # ---- doctor --------------------------------------------------------------------------------

    async def check(self) -> list[str]:
        """getMe (token valid?) and getWebhookInfo (a webhook blocks polling)."""
        try:
            me = await self._call("getMe")
            hook = await self._call("getWebhookInfo")
        except BackendError as exc:
            return [self.doctor_line(exc)]
        problems: list[str] = []
        if not isinstance(me, dict) or not me.get("is_bot"):
            problems.append("getMe did not describe a bot: is base_url a Telegram Bot API server?")
        if isinstance(hook, dict) and hook.get("url"):
            problems.append(
                "a webhook is set for this bot, so polling gets 409 Conflict — remove it by calling "
                "deleteWebhook (https://api.telegram.org/bot<token>/deleteWebhook)"
            )
        return problems


def _parse_cursor(cursor: str | None) -> int:
    try:
        return max(0, int(cursor)) if cursor else 0
    except ValueError:
        log.warning("telegram: ignoring an unreadable cursor")
        return 0


def _sent_id(chat_id: str, result: Any) -> str:
    if not isinstance(result, dict) or not isinstance(result.get("message_id"), int):
        raise AmbiguousError(
            "Telegram answered without a message id; the message may have been sent"
        )
    return f"{chat_id}:{result['message_id']}"


__all__ = ["TelegramBackend"]
