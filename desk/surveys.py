"""Surveys: the desk's record of a satisfaction survey sent and of the customer's rating."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from frontdesk.desk.changes import Broker, Change, ChangeKind
from frontdesk.model import EventKind
from frontdesk.store import Store


class Surveys:
    """The part of the Desk that marks a conversation's survey sent (with the desk's
    `conversation` and `_add_event`); ingest stores the answer (`desk.automation.csat`)."""

    store: Store
    agent: str
    now: Callable[[], datetime]
    _broker: Broker

    async def survey_sent(self, conv_id: int) -> None:
        """The survey went out now: its answer, for the next days, is a rating (one batch with
        the thread line saying so)."""
        conv = await self.conversation(conv_id)
        changes: list[Change] = []
        with self.store.batch(durable=False):
            conv.survey_sent_at = self.now()
            self._add_event(
                conv, EventKind.AUTOMATION, f"{self.agent} sent the satisfaction survey", changes
            )
            self.store.put_conversation(conv)
        changes.append(Change(ChangeKind.CONVERSATION, conv.id))
        self._broker.publish(changes)
        await self.store.sync()
