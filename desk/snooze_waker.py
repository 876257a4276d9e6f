"""The snooze waker: reopen each snoozed conversation once its time has come."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from frontdesk.desk.changes import Broker, Change, ChangeKind
from frontdesk.model import EventKind, Status
from frontdesk.store import Store

log = logging.getLogger("frontdesk.desk")


class SnoozeWaker:
    """The part of the Desk that ends snoozes (writing events with the desk's `_add_event`)."""

    store: Store
    now: Callable[[], datetime]
    _broker: Broker

    async def wake_snoozed(self) -> None:
        now = self.now()
        for conv in self.store.conversations():
            if (
                conv.status is Status.SNOOZED
                and conv.snoozed_until is not None
                and conv.snoozed_until <= now
            ):
                changes: list[Change] = []
                with self.store.batch():
                    conv.status, conv.snoozed_until = Status.OPEN, None
                    self._add_event(
                        conv, EventKind.SNOOZED, "snooze ended: reopened", changes, author=""
                    )
                    self.store.put_conversation(conv)
                self._broker.publish([*changes, Change(ChangeKind.CONVERSATION, conv.id)])

    async def _wake_snoozed_forever(self) -> None:
        while True:
            try:
                await self.wake_snoozed()
            except Exception:
                log.exception("waking snoozed conversations")
            await asyncio.sleep(30)
