"""The Desk's part for conversations the FAQ bot holds: new ones start as the bot's, it hands them
to the agents, and a person's action on one hands it over in the same batch."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from frontdesk.desk.automation.engine import Automation, automation_author, is_automation_author
from frontdesk.desk.automation.triggers import Trigger, TriggerKind, is_live
from frontdesk.desk.changes import Broker, Change, ChangeKind
from frontdesk.model import Conversation, Direction, EventKind, Inbound, Status
from frontdesk.store import Store

BOT_NAME = "FAQ bot"
BOT_AUTHOR = automation_author(BOT_NAME)


class BotHandoff:
    """`_first_status` (ingest asks it for a new conversation), the bot's `hand_over`, and
    `_taken_by_person`, which every command a person runs on a conversation calls in its batch."""

    store: Store
    agent: str
    now: Callable[[], datetime]
    automation: Automation
    _broker: Broker
    _add_event: Callable[..., None]
    agent_name: Callable[[str | None], str]

    def _first_status(self, channel: str, ev: Inbound) -> Status:
        """The status of a conversation `ev` starts: bot when a customer starts it now on a
        channel an automaton takes (`takes_new_on`), so it never waits for an agent, not even
        until automation runs; open otherwise (backlog, an agent's message from elsewhere)."""
        if ev.direction is Direction.IN and is_live(ev.created_at, self.now()):
            for automaton in self.automation.automata:
                if channel in getattr(automaton, "takes_new_on", ()):
                    return Status.BOT
        return Status.OPEN

    async def hand_over(self, conv_id: int, why: str) -> bool:
        """Hand a conversation the bot holds to the agents (status open), with a line saying
        why, and tell automation (CONVERSATION_OPENED: assignment runs on it); False when the
        bot no longer holds it."""
        conv = self.store.conversation(conv_id)
        if conv is None or conv.status is not Status.BOT:
            return False
        await self._bot_batch(conv, Status.OPEN, f"{self.agent} handed this to the agents: {why}")
        self._announce_waiting(conv)
        self._handed_over(conv_id)
        return True

    def _taken_by_person(self, conv: Conversation, what: str, changes: list[Change]) -> bool:
        """In the caller's batch: a person acting on a conversation the bot holds takes it from
        the bot (status open, a line naming what they did). The caller stores `conv` and, once
        its batch is durable, calls `_handed_over` when this returned True."""
        if conv.status is not Status.BOT or is_automation_author(self.agent):
            return False
        conv.status = Status.OPEN
        who = self.agent_name(self.agent)
        line = f"{BOT_AUTHOR} handed this to the agents: {who} {what}"
        self._add_event(conv, EventKind.AUTOMATION, line, changes, author=BOT_AUTHOR)
        return True

    def _announce_waiting(self, conv: Conversation) -> None:
        """Publish the customer's last message again now that an agent is waited for: consoles
        alert on it as on a new one (it alerted nobody while the bot held the conversation)."""
        last = next(
            (
                m
                for m in reversed(self.store.messages(conv.id))
                if m.direction is Direction.IN and not m.private
            ),
            None,
        )
        if last is not None:
            self._broker.publish([Change(ChangeKind.MESSAGE, conv.id, last.id)])

    def _handed_over(self, conv_id: int) -> None:
        self.automation.submit([Trigger(TriggerKind.CONVERSATION_OPENED, conv_id, self.now())])

    async def _bot_batch(self, conv: Conversation, status: Status, line: str) -> None:
        changes: list[Change] = []
        with self.store.batch(durable=False):
            conv.status, conv.snoozed_until = status, None
            self._add_event(conv, EventKind.AUTOMATION, line, changes)
            self.store.put_conversation(conv)
        changes.append(Change(ChangeKind.CONVERSATION, conv.id))
        self._broker.publish(changes)
        await self.store.sync()
