"""The SLA clock: stamp each conversation's due reply as it is written, alert when one breaches."""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Callable
from datetime import datetime

from frontdesk.desk.changes import Broker, Change, ChangeKind
from frontdesk.desk.due import sleep_until_due
from frontdesk.desk.automation import automation_author
from frontdesk.desk.sla import SlaPolicy, breached, overdue_text, stamp
from frontdesk.model import Conversation, EventKind
from frontdesk.store import Store

log = logging.getLogger("frontdesk.desk")

SLA_AUTHOR = automation_author("SLA")


class SlaWatching:
    """The part of the Desk that keeps `[sla]`: due times in a heap (earliest first; an entry
    whose conversation has since changed is skipped), one SLA change published per breach."""

    store: Store
    now: Callable[[], datetime]
    _broker: Broker
    sla: SlaPolicy | None

    def _start_sla_clock(self) -> None:
        """Stamp every conversation (the due times are derived, never stored) and from now on
        each one written; what fell due before this start is marked breached quietly (a first
        start with [sla] must not write a line into, or ring for, every old conversation)."""
        self._sla_due: list[tuple[datetime, int]] = []
        self._sla_alerted: set[tuple[int, datetime]] = set()
        self._sla_wake = asyncio.Event()
        if self.sla is None:
            return
        for conv in self.store.conversations():
            self._sla_written(conv)
        self.store.on_put_conversation = self._sla_written

    def _sla_written(self, conv: Conversation) -> None:
        before = conv.sla_due_at
        assert self.sla is not None
        stamp(conv, self.sla)
        due = conv.sla_due_at
        if due == before:
            return  # already scheduled (or marked)
        if before is not None:
            self._sla_alerted.discard((conv.id, before))  # that due time is gone
        if due is None:
            return
        if breached(conv, self.now()):
            # due before the desk knew it (history loaded, backlog read, a start): marked for
            # the list and the filter quietly, no line written into it, no alert
            conv.sla_breached = True
            self._sla_alerted.add((conv.id, due))
            return
        heapq.heappush(self._sla_due, (due, conv.id))
        self._sla_wake.set()

    async def check_sla(self) -> list[int]:
        """For each conversation whose reply fell due while the desk ran (once per due time):
        the thread line saying so and an SLA change that alerts; returns their ids."""
        now, due, found = self.now(), self._sla_due, []
        while due and due[0][0] <= now:
            at, conv_id = heapq.heappop(due)
            conv = self.store.conversation(conv_id)
            if conv is None or conv.sla_due_at != at or not breached(conv, now):
                continue  # answered, resolved or re-targeted since
            if (conv_id, at) not in self._sla_alerted:
                self._sla_alerted.add((conv_id, at))
                conv.sla_breached = True  # derived like the due time: the Breaching filter reads it
                found.append(conv)
        if not found:
            return []
        changes: list[Change] = []
        with self.store.batch(durable=False):
            for conv in found:
                self._say_overdue(conv, changes)
        self._broker.publish(
            [*changes, *(Change(ChangeKind.SLA, conv.id, detail="breached") for conv in found)]
        )
        await self.store.sync()
        return [conv.id for conv in found]

    def _say_overdue(self, conv: Conversation, changes: list[Change]) -> None:
        """The thread line explaining the list's breach mark."""
        assert self.sla is not None
        text = overdue_text(conv, self.sla)
        self._add_event(conv, EventKind.AUTOMATION, text, changes, author=SLA_AUTHOR)
        self.store.put_conversation(conv)
        changes.append(Change(ChangeKind.CONVERSATION, conv.id))

    async def _watch_sla_forever(self) -> None:
        while True:
            self._sla_wake.clear()
            try:
                await self.check_sla()
            except Exception:
                log.exception("checking SLAs")
            now = self.now()
            waits = [(self._sla_due[0][0] - now).total_seconds()] if self._sla_due else []
            await sleep_until_due(self._sla_wake, waits)
