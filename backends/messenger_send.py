"""Sending on Messenger: the Send API (text, then each file), the mids sent, `mark_seen`."""

from __future__ import annotations

import json
import time
from collections import OrderedDict, deque
from pathlib import Path
from typing import Any

from frontdesk.backends.base import AmbiguousError, PermanentError, TransientError
from frontdesk.backends.httpbackend import check_length, part_sent, recipient
from frontdesk.backends.messenger_errors import TokenRejected
from frontdesk.backends.messenger_parse import OUR_METADATA, send_type
from frontdesk.model import Outgoing, SendResult

TEXT_LIMIT = 2000  # Send API text, characters
UPLOAD_LIMIT = 25 * 1024 * 1024  # Send API attachment upload


class SentLedger:
    """The mids this run sent, per PSID with their time, to map read watermarks to messages."""

    def __init__(self, per_psid: int = 200, psids: int = 10_000) -> None:
        self._sent: OrderedDict[str, deque[tuple[int, str]]] = OrderedDict()
        self._ours: OrderedDict[str, None] = OrderedDict()
        self.per_psid, self.psids = per_psid, psids

    def record(self, psid: str, mid: str, at_ms: int) -> None:
        queue = self._sent.setdefault(psid, deque(maxlen=self.per_psid))
        self._sent.move_to_end(psid)
        queue.append((at_ms, mid))
        self._ours[mid] = None
        while len(self._sent) > self.psids:
            self._sent.popitem(last=False)
        while len(self._ours) > self.psids * 10:
            self._ours.popitem(last=False)

    def is_ours(self, mid: str) -> bool:
        return mid in self._ours

    def saw_echo(self, psid: str, mid: str, timestamp_ms: int) -> None:
        queue = self._sent.get(psid)
        if queue:  # Meta's own time is exact; ours was an upper bound
            self._sent[psid] = deque(
                ((timestamp_ms if m == mid else t, m) for t, m in queue), maxlen=self.per_psid
            )

    def sent_up_to(self, psid: str, watermark_ms: int, forget: bool = True) -> list[str]:
        queue = self._sent.get(psid)
        if not queue:
            return []
        read = [m for t, m in queue if t <= watermark_ms]
        if forget:
            self._sent[psid] = deque(((t, m) for t, m in queue if t > watermark_ms), self.per_psid)
        return read


class MessengerSending:
    """MessengerBackend's sending (uses its `_graph`, `ledger` and `refused_retry`)."""

    async def send(self, outgoing: Outgoing) -> SendResult:
        """The text, then each file, through the Send API; RESPONSE inside 24 h, else the tag."""
        psid = recipient(outgoing, "no Messenger recipient: the conversation has no PSID")
        if outgoing.template is not None:
            raise PermanentError("Messenger has no message templates; send a text reply")
        body = outgoing.body
        check_length(body, TEXT_LIMIT, "Messenger")
        if not body.strip() and not outgoing.attachments:
            raise PermanentError("an empty message cannot be sent on Messenger")
        for attachment in outgoing.attachments:
            self._check_file(attachment.name, attachment.mime, attachment.ref)
        kind: dict[str, Any] = (
            {"messaging_type": "MESSAGE_TAG", "tag": outgoing.tag}
            if outgoing.tag
            else {"messaging_type": "RESPONSE"}
        )
        metadata = OUR_METADATA + (outgoing.idempotency_key or str(outgoing.message_id))
        first: str | None = None
        try:
            if body.strip():
                payload = {
                    "recipient": {"id": psid},
                    **kind,
                    "message": {"text": body, "metadata": metadata},
                }
                first = await self._post_message(psid, json=payload)
            for attachment in outgoing.attachments:
                path = Path(attachment.ref)
                form = {
                    "recipient": json.dumps({"id": psid}),
                    **kind,
                    "message": json.dumps(
                        {
                            "attachment": {
                                "type": send_type(attachment.mime),
                                "payload": {"is_reusable": False},
                            },
                            "metadata": metadata,
                        }
                    ),
                }
                files = {
                    "filedata": (attachment.name or path.name, path.read_bytes(), attachment.mime)
                }
                mid = await self._post_message(psid, data=form, files=files)
                first = first or mid
        except (TransientError, PermanentError, OSError) as exc:
            if first is None:
                if isinstance(exc, OSError):
                    raise PermanentError(f"cannot read the file to send: {exc}") from None
                raise
            raise part_sent(first, exc) from None
        assert first is not None
        return SendResult(first)

    async def _post_message(self, psid: str, **kwargs: Any) -> str:
        try:
            data = await self._graph(
                "POST", "/me/messages", label="send", sending=True, paced=False, **kwargs
            )
        except TokenRejected as exc:
            # the message waits for the new token instead of failing for good
            raise TransientError(str(exc), retry_after=self.refused_retry) from None
        mid = data.get("message_id")
        if not isinstance(mid, str) or not mid:
            raise AmbiguousError(
                "Messenger answered without a message id; the message may have been sent"
            )
        # the time after the answer is never earlier than Meta's, so a read is never guessed
        self.ledger.record(psid, mid, int(time.time() * 1000))
        return mid

    def _check_file(self, name: str, mime: str, ref: str) -> None:
        path = Path(ref) if ref else None
        if path is None or not path.is_file():
            raise PermanentError(f"the file {name!r} to send is missing ({ref or 'no path'})")
        if problem := self.attachment_problem(name, mime, path.stat().st_size):
            raise PermanentError(problem)

    def attachment_problem(self, name: str, mime: str, size: int) -> str | None:
        if size > UPLOAD_LIMIT:
            return (
                f"{name} is {size / 1_000_000:.1f} MB; Messenger accepts files up to 25 MB — "
                "send a smaller file or a link"
            )
        return None

    async def mark_read(self, thread_key: str, external_ids: Any) -> None:
        """`mark_seen` for the conversation: the customer sees their messages were read."""
        await self._graph(
            "POST",
            "/me/messages",
            label="mark_seen",
            paced=False,
            json={"recipient": {"id": thread_key}, "sender_action": "mark_seen"},
        )


__all__ = ["MessengerSending", "SentLedger"]
