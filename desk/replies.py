"""Replies and notes: what an agent writes in a conversation, queued or kept in one batch each."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from frontdesk.desk.canned import CannedError, CannedLibrary, TemplateError, fill, variables_for
from frontdesk.desk.batches import mark_answered
from frontdesk.desk.changes import Broker, Change, ChangeKind
from frontdesk.desk.errors import DeskError
from frontdesk.desk.outgoing_files import clean_upload
from frontdesk.desk.templates import template_extra
from frontdesk.model import (
    Conversation,
    Delivery,
    Direction,
    EventKind,
    FileUpload,
    Message,
)
from frontdesk.store import OutboxEntry, Store

MENTION = re.compile(r"@([\w.-]+)")


class Replies:
    """The part of the Desk that queues replies in the outbox, keeps notes and retries a reply
    (with the desk's `conversation`, `window`, `_append` and the kept-files helpers)."""

    store: Store
    agent: str
    agents: list[str]
    now: Callable[[], datetime]
    _broker: Broker
    _wake_outbox: asyncio.Event
    _agent_names: dict[str, str]
    _configured_agent: str
    canned: CannedLibrary
    _taken_by_person: Callable[[Conversation, str, list[Change]], bool]
    _handed_over: Callable[[int], None]

    async def reply(self, conv_id: int, body: str, files: Sequence[FileUpload] = ()) -> Message:
        """Queue a reply to the customer in the durable outbox; the dispatcher sends it.

        `files` go with it: each is checked against the channel's limits and the desk's, and
        a copy is kept under the data dir for the outbox to send (and send again)."""
        files = [clean_upload(upload) for upload in files]
        if not body.strip() and not files:
            raise DeskError("an empty reply is not sent")
        conv = await self.conversation(conv_id)
        await self._check_window(conv_id)
        self._check_files(conv.channel, files)
        now = self.now()
        changes: list[Change] = []
        message_id: int | None = None
        try:
            with self.store.batch():
                handed = self._taken_by_person(conv, "replied", changes)
                message_id = self.store.new_id("message")
                message = self._queue_reply(conv, message_id, body, files, now)
                changes += [
                    Change(ChangeKind.MESSAGE, conv.id, message.id),
                    Change(ChangeKind.CONVERSATION, conv.id),
                ]
        except BaseException:
            if message_id is not None and files:
                self._drop_files(message_id)
            raise
        self._broker.publish(changes)
        self._wake_outbox.set()
        if handed:
            self._handed_over(conv.id)
        return message

    def _queue_reply(
        self,
        conv: Conversation,
        message_id: int,
        body: str,
        files: Sequence[FileUpload],
        now: datetime,
        answers: bool = True,
    ) -> Message:
        """In the caller's batch: the reply, its conversation's reply marks (when it `answers`
        the customer: a person wrote it) and its outbox entry."""
        message = Message(
            id=message_id,
            conversation_id=conv.id,
            direction=Direction.OUT,
            body=body,
            attachments=self._keep_files(conv.id, message_id, files) if files else [],
            delivery=Delivery.PENDING,
            author=self.agent,
            created_at=now,
        )
        self._append(conv, message)
        if answers:
            mark_answered(conv, now)
        self._put_outgoing(conv, message, now)
        return message

    async def auto_reply(self, conv_id: int, body: str) -> Message:
        """Queue a reply written by automation (the acting author, `automation_author`): sent
        like an agent's, but it answers nobody, so the conversation keeps waiting for a person
        (first reply, waiting since, unread and status stay). DeskError when the channel's
        messaging window is closed or the body is empty."""
        if not body.strip():
            raise DeskError("an empty automated reply is not sent")
        conv = await self.conversation(conv_id)
        await self._check_window(conv_id)
        with self.store.batch():
            message = self._queue_reply(
                conv, self.store.new_id("message"), body, (), self.now(), answers=False
            )
        self._broker.publish(
            [
                Change(ChangeKind.MESSAGE, conv.id, message.id),
                Change(ChangeKind.CONVERSATION, conv.id),
            ]
        )
        self._wake_outbox.set()
        return message

    async def render_canned(self, conv_id: int, shortcode: str) -> str:
        """The canned reply `shortcode` filled in for this conversation; DeskError naming the
        shortcode and the file when it is missing or a variable has no value (automation then
        notes it, never half-sends). Replies by language are different shortcodes."""
        conv = await self.conversation(conv_id)
        contact = self.store.contact(conv.contact_id)
        try:
            canned = self.canned.current()
        except CannedError as exc:
            raise DeskError(str(exc)) from None
        reply = canned.find(shortcode)
        if reply is None:
            raise DeskError(f"no canned reply /{shortcode.lstrip('/')} in {canned.source}")
        agent = conv.assignee or self._configured_agent
        variables = variables_for(
            conv, contact, self.agent_name(agent), self.channel_kind(conv.channel)
        )
        try:
            return fill(reply.body, variables)
        except TemplateError as exc:
            raise DeskError(
                f"canned reply /{reply.shortcode} ({canned.where(reply)}): {exc}"
            ) from None

    async def record_automation(self, conv_id: int, text: str) -> None:
        """Leave the thread line that says what automation did and why: "<author> <text>"."""
        conv = await self.conversation(conv_id)
        changes: list[Change] = []
        with self.store.batch(durable=False):
            self._add_event(conv, EventKind.AUTOMATION, f"{self.agent} {text}", changes)
            self.store.put_conversation(conv)
        changes.append(Change(ChangeKind.CONVERSATION, conv.id))
        self._broker.publish(changes)
        await self.store.sync()

    async def _check_window(self, conv_id: int) -> None:
        """Refuse to queue a reply the channel would refuse: its messaging window closed (with the way out)."""
        window = await self.window(conv_id)
        if window is not None and window.closed:
            raise DeskError(f"{window.label}. {window.explanation}")

    async def note(self, conv_id: int, body: str) -> Message:
        """Add an internal note: stored and shown, never sent to the channel."""
        if not body.strip():
            raise DeskError("an empty note is not saved")
        conv = await self.conversation(conv_id)
        known = {name.casefold(): user for user, name in self._agent_names.items()}
        known |= {a.casefold(): a for a in self.agents}
        named = [
            m.rstrip(".-").casefold() for m in MENTION.findall(body)
        ]  # "thanks @Ben." mentions Ben
        mentions = list(dict.fromkeys(known[m] for m in named if m in known))
        changes: list[Change] = []
        with self.store.batch():
            handed = self._taken_by_person(conv, "wrote a note", changes)
            message = Message(
                id=self.store.new_id("message"),
                conversation_id=conv.id,
                direction=Direction.OUT,
                body=body,
                private=True,
                delivery=Delivery.RECEIVED,
                author=self.agent,
                created_at=self.now(),
                mentions=mentions,
            )
            self._append(conv, message)
            self.store.put_message(message)
            self.store.put_conversation(conv)
        self._broker.publish(
            [
                *changes,
                Change(ChangeKind.MESSAGE, conv.id, message.id),
                Change(ChangeKind.CONVERSATION, conv.id),
                *[Change(ChangeKind.MENTION, conv.id, message.id, agent=a) for a in mentions],
            ]
        )
        if handed:
            self._handed_over(conv.id)
        return message

    async def retry(self, conv_id: int, message_id: int) -> None:
        """Send again a reply that failed or was not confirmed — the agent's decision."""
        message = self.store.message(conv_id, message_id)
        if message is None or message.direction is not Direction.OUT or message.private:
            raise DeskError("only a reply to the customer can be retried")
        if message.delivery not in (Delivery.FAILED, Delivery.UNCONFIRMED):
            raise DeskError(f"this reply is {message.delivery.value}; nothing to retry")
        conv = await self.conversation(conv_id)
        extra: dict[str, object] = {"key": uuid.uuid4().hex}
        if message.template is not None:  # a template goes out once the window closed, too
            extra["template"] = template_extra(message.template)
        else:
            await self._check_window(conv_id)
        with self.store.batch():
            message.delivery, message.delivery_reason = Delivery.PENDING, ""
            self.store.put_message(message)
            self.store.put_outbox(
                OutboxEntry(message.id, conv.id, conv.channel, created_at=self.now(), extra=extra)
            )
        self._broker.publish([Change(ChangeKind.MESSAGE, conv.id, message.id)])
        self._wake_outbox.set()
