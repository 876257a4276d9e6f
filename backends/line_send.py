"""Sending on LINE: by reply token while one is fresh (free), else by push with a retry key; the quota."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from frontdesk.backends.base import (
    AmbiguousDeadline,
    AmbiguousError,
    BackendError,
    PermanentError,
    TransientDeadline,
    TransientError,
)
from frontdesk.backends.httpbackend import check_length, recipient
from frontdesk.backends.httpchannel import Reply, scrub
from frontdesk.backends.line_errors import error_text
from frontdesk.model import Outgoing, SendResult

log = logging.getLogger("frontdesk.backends.line")  # the channel's records keep one logger

TEXT_LIMIT = 5000  # characters in one text message object
ALLOWANCE_SECONDS = 60.0
#: names a stable X-Line-Retry-Key (a UUID, as LINE requires) for one outgoing message
_RETRY_NAMESPACE = uuid.UUID("6c1b3f4e-2a55-4a43-9a0e-4c7b1f0d5e21")


class LineSending:
    """LineBackend's sending (uses its `_call`, `_error`, `clock`, `name`, `reply_token_seconds`,
    the files part's `_files`, and the `_tokens` and `_allowance` its __init__ sets)."""

    async def send(self, outgoing: Outgoing) -> SendResult:
        """A text by reply token while one is fresh and unused (free), else by push."""
        to = recipient(outgoing, "no LINE user or group to send to: the conversation has none")
        if outgoing.template is not None:
            raise PermanentError("LINE has no message templates; write the reply as text")
        body = outgoing.body
        check_length(body, TEXT_LIMIT, "LINE", " in one message")
        messages: list[dict[str, Any]] = [{"type": "text", "text": body}] if body.strip() else []
        messages += self._files(outgoing)
        if not messages:
            raise PermanentError("an empty message cannot be sent on LINE")
        token = self._take_token(to)
        if token is not None:
            sent = await self._reply(to, token, messages)
            if sent is not None:
                return sent
        return await self._push(to, messages, outgoing)

    def _take_token(self, thread_key: str) -> tuple[str, float] | None:
        """The thread's reply token if still fresh; it is removed either way (single use)."""
        found = self._tokens.pop(thread_key, None)
        if found is None or self.clock() - found[1] > self.reply_token_seconds:
            return None
        return found

    async def _reply(
        self, to: str, token: tuple[str, float], messages: list[dict[str, Any]]
    ) -> SendResult | None:
        """Send by reply token; None when LINE no longer accepts the token (push instead)."""
        reply = await self._call(
            "POST",
            "/v2/bot/message/reply",
            label="reply",
            sending=True,
            payload={"replyToken": token[0], "messages": messages},
        )
        if reply.status == 200:
            return SendResult(_sent_id(reply) or f"reply:{token[0]}")
        if reply.status == 400 and "reply token" in error_text(reply).lower():
            return None
        if reply.status == 429 and to not in self._tokens:
            self._tokens[to] = token  # LINE did not process it: the token is still good
        raise self._error(reply, "the reply", sending=True)

    async def _push(
        self, to: str, messages: list[dict[str, Any]], outgoing: Outgoing
    ) -> SendResult:
        key = outgoing.idempotency_key or f"message-{outgoing.message_id}"
        retry_key = str(uuid.uuid5(_RETRY_NAMESPACE, f"{self.name}\0{key}"))
        try:
            reply = await self._call(
                "POST",
                "/v2/bot/message/push",
                label="push",
                sending=True,
                payload={"to": to, "messages": messages},
                headers={"X-Line-Retry-Key": retry_key},
            )
        except AmbiguousDeadline as exc:
            raise TransientDeadline(f"{exc}; retrying with the same retry key is safe") from None
        except AmbiguousError as exc:
            raise TransientError(f"{exc}; retrying with the same retry key is safe") from None
        self._allowance = None  # a push spent quota
        if reply.status in (200, 409):  # 409: LINE accepted this retry key before
            return SendResult(_sent_id(reply) or f"push:{retry_key}")
        error = self._error(reply, "the push message")
        raise error

    async def allowance(self) -> str | None:
        """ "LINE push quota: 412 of 500 left this month", cached for a minute."""
        now = self.clock()
        if self._allowance is not None and now - self._allowance[0] < ALLOWANCE_SECONDS:
            return self._allowance[1]
        try:
            line = await self._quota_line()
        except BackendError as exc:
            log.info("channel %s: no quota now (%s)", self.name, scrub(str(exc)))
            return None
        self._allowance = (now, line)
        return line

    async def _quota_line(self) -> str:
        quota = await self._call("GET", "/v2/bot/message/quota", label="quota")
        if quota.status != 200 or not isinstance(quota.data, dict):
            raise self._error(quota, "the quota query")
        limit = quota.data.get("value")
        if quota.data.get("type") == "none" or not isinstance(limit, int):
            return "LINE push quota: unlimited (replies within a minute are free)"
        used = await self._call("GET", "/v2/bot/message/quota/consumption", label="consumption")
        if used.status != 200 or not isinstance(used.data, dict):
            raise self._error(used, "the quota query")
        total = used.data.get("totalUsage")
        spent = total if isinstance(total, int) and not isinstance(total, bool) else 0
        return f"LINE push quota: {max(0, limit - spent):,} of {limit:,} left this month"


def _sent_id(reply: Reply) -> str:
    data = reply.data if isinstance(reply.data, dict) else {}
    sent = data.get("sentMessages")
    if isinstance(sent, list) and sent and isinstance(sent[0], dict):
        mid = sent[0].get("id")
        if isinstance(mid, str) and mid.isdigit() and len(mid) <= 64:
            return mid
    return ""


__all__ = ["LineSending"]
