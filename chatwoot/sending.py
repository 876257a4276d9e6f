"""Replies and notes on a Chatwoot account: a local message at once, posted by the outbox.

Each reply or note becomes an outbox entry (`chatwoot.outbox`) and a local message standing for
it in the thread (its negative `local_id`, the entry's `echo_id` as `external_id`, delivery
pending), so the console shows it at once, offline too. The server's message replaces the local
one when the post is answered (or its websocket echo comes first); an unconfirmed or failed post
stays visible with its reason until the agent retries it.

Mixed into `ChatwootDesk`, which provides `_api`, `_state`, `_outbox`, `_publish` and the link's
`_lost` / `_say_lost`.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from typing import Any

from frontdesk.chatwoot.errors import TokenRefused, Unreachable
from frontdesk.chatwoot.mapping import Unreadable, message_from
from frontdesk.chatwoot.outbox import OutboxEntry, OutboxState
from frontdesk.desk.changes import Change, ChangeKind
from frontdesk.desk.errors import DeskError
from frontdesk.model import Delivery, Direction, FileUpload, Message

MAX_BODY = 150_000
"""Characters of one reply or note sent (Chatwoot's own limit on a message's content)."""
MAX_FILE_BYTES = 40 << 20
"""Chatwoot's default limit on one attachment (its MAXIMUM_FILE_UPLOAD_SIZE)."""

_DELIVERY = {
    OutboxState.PENDING: Delivery.PENDING,
    OutboxState.SENDING: Delivery.PENDING,
    OutboxState.UNCONFIRMED: Delivery.UNCONFIRMED,
    OutboxState.FAILED: Delivery.FAILED,
}


class Sending:
    """`reply`, `note` and `retry` of `ChatwootDesk`: through its outbox, a reply with files at once."""

    async def reply(self, conv_id: int, body: str, files: Sequence[FileUpload] = ()) -> Message:
        if files:
            return await self._post_files(conv_id, body, files)
        return await self._queue(conv_id, body, private=False)

    async def file_problem(self, conv_id: int, name: str, mime: str, size: int) -> str | None:
        if size > MAX_FILE_BYTES:
            return f"{name} is over Chatwoot's {MAX_FILE_BYTES >> 20} MB for a file"
        return None

    async def _post_files(self, conv_id: int, body: str, files: Sequence[FileUpload]) -> Message:
        """A reply with files goes at once, not through the outbox (which keeps text only): while
        the server does not answer it is refused, and one not confirmed is said so."""
        for file in files:
            problem = await self.file_problem(conv_id, file.name, file.mime, len(file.data))
            if problem:
                raise DeskError(problem)
        if len(body) > MAX_BODY:
            raise DeskError(f"the reply is longer than Chatwoot takes ({MAX_BODY} characters)")
        if self._problem:
            raise DeskError(f"files go only while {self._api.host} answers; send them again then")
        await self.conversation(conv_id)
        echo_id = uuid.uuid4().hex
        uploads = [(f.name, f.data, f.mime or "application/octet-stream") for f in files]
        answer = await self._ask(
            f"The reply with files to #{conv_id}",
            lambda: self._api.create_message_with_files(conv_id, body, uploads, echo_id=echo_id),
        )
        try:
            message = message_from(answer, self._state)
        except Unreadable:
            raise DeskError(
                f"Chatwoot took the files for #{conv_id}; they show when the thread is read again"
            ) from None
        message.direction = Direction.OUT
        kept = self._state.put_message(message, echo_id) or message
        self._publish(
            Change(ChangeKind.MESSAGE, conversation_id=conv_id, message_id=kept.id),
            Change(ChangeKind.CONVERSATION, conversation_id=conv_id),
        )
        return kept

    async def note(self, conv_id: int, body: str) -> Message:
        return await self._queue(conv_id, body, private=True)

    async def retry(self, conv_id: int, message_id: int) -> None:
        """Post an unconfirmed or failed reply again (the agent checked it did not arrive)."""
        entry = self._outbox.entry(message_id)
        if entry is None or entry.conversation_id != conv_id or not self._outbox.retry(message_id):
            raise DeskError("only a reply not confirmed or failed can be sent again")

    async def _queue(self, conv_id: int, body: str, *, private: bool) -> Message:
        what = "note" if private else "reply"
        if not body.strip():
            raise DeskError(f"the {what} is empty")
        if len(body) > MAX_BODY:
            raise DeskError(f"the {what} is longer than Chatwoot takes ({MAX_BODY} characters)")
        conv = await self.conversation(conv_id)
        if self._state.thread(conv_id) is None and not self._problem:
            with contextlib.suppress(DeskError):  # the reply waits in the outbox all the same
                await self.thread(conv_id)  # the local message needs its thread to show in
        entry = self._outbox.add(conv_id, body, private)
        local = Message(
            id=entry.local_id,
            conversation_id=conv_id,
            direction=Direction.OUT,
            body=body,
            private=private,
            external_id=entry.echo_id,
            delivery=Delivery.PENDING,
            delivery_reason=entry.reason,
            author=self.agent,
            created_at=entry.created_at,
        )
        kept = self._state.put_message(local) or local
        conv.last_activity_at = max(conv.last_activity_at, kept.created_at)
        if not private:
            conv.preview = " ".join(body.split())[:300]
            conv.waiting_since = None
        self._publish(
            Change(ChangeKind.MESSAGE, conversation_id=conv_id, message_id=kept.id),
            Change(ChangeKind.CONVERSATION, conversation_id=conv_id),
        )
        return kept

    async def _post_entry(self, entry: OutboxEntry) -> dict[str, Any]:
        """The outbox's send: post the entry and keep the server's message in place of the local one."""
        try:
            answer = await self._api.create_message(
                entry.conversation_id, entry.body, private=entry.private, echo_id=entry.echo_id
            )
        except TokenRefused as exc:
            self._say_lost(str(exc))
            raise
        except Unreachable:
            self._lost()
            raise
        self._take_posted(entry, answer)
        return answer if isinstance(answer, dict) else {}

    def _take_posted(self, entry: OutboxEntry, answer: Any) -> None:
        try:
            message = message_from(answer, self._state)
        except Unreadable:
            return  # the thread shows it when read again; the entry is sent all the same
        message.direction = Direction.OUT
        if message.conversation_id != entry.conversation_id:
            return
        self._state.put_message(message, entry.echo_id)
        conv = self._state.conversations.get(entry.conversation_id)
        if conv is not None and not entry.private:
            conv.first_reply_at = conv.first_reply_at or message.created_at

    def _entry_changed(self, entry: OutboxEntry) -> None:
        """The outbox moved an entry: its local message shows where it stands."""
        _, local = self._state.message(entry.conversation_id, entry.local_id)
        if local is not None and entry.state in _DELIVERY:
            local.delivery = _DELIVERY[entry.state]
            local.delivery_reason = entry.reason
        elif local is not None and entry.state is OutboxState.SENT:
            # answered without a message we could read: the server has it; drop the stand-in
            self._state.threads[entry.conversation_id].pop(entry.local_id, None)
        # once sent, the stand-in's id is gone: the console reads the thread again and finds the server's
        self._publish(
            Change(
                ChangeKind.MESSAGE, conversation_id=entry.conversation_id, message_id=entry.local_id
            ),
            Change(ChangeKind.CONVERSATION, conversation_id=entry.conversation_id),
        )
