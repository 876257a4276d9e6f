"""The outbox dispatcher: one sender per channel takes due replies from the durable outbox to their channel."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from frontdesk.backends.base import Backend, DeadlineError, WindowRule
from frontdesk.desk.automation import is_automation_author
from frontdesk.desk.due import pause_after_bug, run_when_due
from frontdesk.desk.changes import Broker, Change, ChangeKind
from frontdesk.desk.outbox import after_failure, may_replace
from frontdesk.desk.templates import template_from_extra
from frontdesk.model import (
    Conversation,
    Delivery,
    Direction,
    Message,
    MessageTemplate,
    Outgoing,
)
from frontdesk.store import OutboxEntry, Store

log = logging.getLogger("frontdesk.desk")


class Dispatcher:
    """The part of the Desk that sends queued replies (a slow channel delays only its own, in order)."""

    store: Store
    channels: dict[str, Backend]
    now: Callable[[], datetime]
    _broker: Broker
    _wake_outbox: asyncio.Event
    #: one sender per channel with replies due, so a slow channel delays only itself
    _senders: dict[str, asyncio.Task[None]]
    _send_locks: dict[str, asyncio.Lock]
    #: the template lists `Templates` keeps, by channel (a failed template send drops its own)
    _template_lists: dict[str, tuple[datetime, list[MessageTemplate]]]
    _release_files: Callable[[str, Message], None]  # OutgoingFiles': a sent reply's copies
    _drop_files: Callable[[int], None]

    def _recover_outbox(self) -> None:
        """An entry left `sending` by a previous run may or may not have gone out."""
        for entry in self.store.outbox():
            if entry.state != "sending":
                continue
            backend = self.channels.get(entry.channel)
            with self.store.batch():
                if backend is not None and backend.idempotent_send:
                    entry.state = "pending"
                    self.store.put_outbox(entry)
                else:
                    self._finish(
                        entry,
                        Delivery.UNCONFIRMED,
                        "frontdesk stopped while sending: not confirmed",
                    )

    async def drain_sends(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the replies being sent now (a served desk stopping
        lets them finish, so none is left "sending" and later reported unconfirmed); True if
        none is still running."""
        running = list(self._senders.values())
        if not running:
            return True
        _, pending = await asyncio.wait(running, timeout=timeout)
        return not pending

    async def flush_outbox(self, channel: str | None = None) -> None:
        """Try every reply that is due now (of `channel`, or of every channel side by side), and
        wait for them (the dispatcher and `sync --once`). A channel's replies go in order."""
        now = self.now()
        channels = (
            [channel]
            if channel is not None
            else list(dict.fromkeys(e.channel for e in self.store.outbox() if self._due(e, now)))
        )
        results = await asyncio.gather(
            *(self._flush_channel(name, now) for name in channels), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    @staticmethod
    def _due(entry: OutboxEntry, now: datetime) -> bool:
        return entry.state == "pending" and (
            entry.next_attempt_at is None or entry.next_attempt_at <= now
        )

    async def _flush_channel(self, channel: str, now: datetime) -> None:
        # one sender at a time per channel: its replies keep their order and none goes out twice
        async with self._send_locks.setdefault(channel, asyncio.Lock()):
            for entry in self.store.outbox():
                if entry.channel == channel and self._due(entry, now):
                    await self._send(entry)

    async def _dispatch_forever(self) -> None:
        await run_when_due(
            self._wake_outbox, self._start_senders, self._outbox_retry_waits, "outbox dispatch"
        )

    def _start_senders(self) -> None:
        """A sender task for each channel with replies due that has none running."""
        now = self.now()
        for channel in dict.fromkeys(e.channel for e in self.store.outbox() if self._due(e, now)):
            if channel not in self._senders:
                self._senders[channel] = asyncio.create_task(
                    self._send_logged(channel), name=f"outbox:{channel}"
                )

    async def _send_logged(self, channel: str) -> None:
        try:
            await self.flush_outbox(channel)
        except Exception:
            log.exception("outbox dispatch for channel %s", channel)
            await pause_after_bug()
        finally:
            self._senders.pop(channel, None)
            self._wake_outbox.set()  # more may be due now, or a retry time was set

    def _outbox_retry_waits(self) -> list[float]:
        """Seconds until the retry time of each pending reply whose channel has no sender running."""
        return [
            (e.next_attempt_at - self.now()).total_seconds()
            for e in self.store.outbox()
            if e.state == "pending"
            and e.next_attempt_at is not None
            and e.channel not in self._senders
        ]

    async def _send(self, entry: OutboxEntry) -> None:
        message = self.store.message(entry.conversation_id, entry.message_id)
        conv = self.store.conversation(entry.conversation_id)
        backend = self.channels.get(entry.channel)
        if message is None or conv is None:
            with self.store.batch():
                self.store.delete_outbox(entry.message_id)
            self._drop_files(entry.message_id)
            return
        if backend is None:
            with self.store.batch():
                self._finish(
                    entry,
                    Delivery.FAILED,
                    f"channel {entry.channel!r} is not configured in this frontdesk",
                )
            return
        outgoing = self._outgoing(conv, message, entry)
        with self.store.batch():  # persisted before the request: a crash now means "unknown"
            entry.state, entry.attempts = "sending", entry.attempts + 1
            self.store.put_outbox(entry)
        try:
            result = await backend.send(outgoing)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if isinstance(exc, DeadlineError):
                self._sends_overdue(entry.channel, backend.redact(str(exc)))
            if outgoing.template is not None:
                self._template_lists.pop(entry.channel, None)  # the template may be withdrawn
            outcome = after_failure(exc, entry.attempts, backend.idempotent_send, self.now())
            outcome = replace(outcome, reason=backend.redact(outcome.reason))
            with self.store.batch():
                if outcome.delivery is Delivery.PENDING:
                    entry.state, entry.next_attempt_at, entry.last_error = (
                        "pending",
                        outcome.retry_at,
                        outcome.reason,
                    )
                    self.store.put_outbox(entry)
                    message.delivery_reason = outcome.reason
                    self.store.put_message(message)
                else:
                    self._finish(entry, outcome.delivery, outcome.reason)
            self._broker.publish([Change(ChangeKind.MESSAGE, conv.id, message.id)])
            return
        self._sends_overdue(entry.channel, None)
        with self.store.batch():
            message.external_id = result.external_id
            if (
                may_replace(message.delivery, result.delivery)
                or message.delivery is Delivery.PENDING
            ):
                message.delivery = result.delivery
            message.delivery_reason = ""
            self.store.put_message(message, entry.channel)
            self.store.delete_outbox(entry.message_id)
        self._release_files(entry.channel, message)  # after the commit: a crash before keeps them
        self._broker.publish([Change(ChangeKind.MESSAGE, conv.id, message.id)])

    def _finish(self, entry: OutboxEntry, delivery: Delivery, reason: str) -> None:
        message = self.store.message(entry.conversation_id, entry.message_id)
        if message is not None:
            message.delivery, message.delivery_reason = delivery, reason
            self.store.put_message(message)
        self.store.delete_outbox(entry.message_id)
        self._broker.publish([Change(ChangeKind.MESSAGE, entry.conversation_id, entry.message_id)])

    def _outgoing(self, conv: Conversation, message: Message, entry: OutboxEntry) -> Outgoing:
        contact = self.store.contact(conv.contact_id)
        address = next(
            (
                i.address
                for i in (contact.identities if contact else [])
                if i.channel == conv.channel
            ),
            conv.thread_key,
        )
        backend = self.channels.get(conv.channel)
        parent = (
            self._last_inbound(conv.id) if backend and backend.replies_name_last_inbound else None
        )
        return Outgoing(
            message_id=message.id,
            conversation_id=conv.id,
            thread_key=conv.thread_key,
            to=address,
            body=message.body,
            attachments=list(message.attachments),
            subject=conv.subject,
            idempotency_key=entry.extra.get("key", f"frontdesk-{message.id}"),
            reply_to_external_id=parent,
            tag=message_tag(
                backend.window_rule if backend else None, conv.window_expires_at, self.now()
            ),
            template=template_from_extra(entry.extra) or message.template,
            automated=is_automation_author(message.author),
        )

    def _last_inbound(self, conv_id: int) -> str | None:
        return next(
            (
                m.external_id
                for m in reversed(self.store.messages(conv_id))
                if m.direction is Direction.IN and m.external_id
            ),
            None,
        )


def message_tag(rule: WindowRule | None, expires_at: datetime | None, now: datetime) -> str:
    """The tag a reply must carry now: the rule's tag once the free window ended and while the
    tag span lasts (Messenger's HUMAN_AGENT); "" inside the window, or when there is none."""
    if rule is None or not rule.tag or rule.tag_span is None or expires_at is None:
        return ""
    if now < expires_at:
        return ""
    tag_ends = expires_at - rule.span + rule.tag_span
    return rule.tag if now < tag_ends else ""
