"""What an agent does to a Chatwoot conversation, each command one REST call that updates the record.

Assign, status, snooze, priority, labels, escalation, read marks and typing (replies and notes go
through the outbox: `chatwoot.sending`).

Mixed into `ChatwootDesk`, which provides `_api`, `_state`, `_ask` (the server's errors as one
DeskError line) and `_publish`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from frontdesk.chatwoot.mapping import STATUS_TO, payload, unix
from frontdesk.desk.changes import Change, ChangeKind
from frontdesk.desk.errors import DeskError
from frontdesk.model import (
    Conversation,
    Message,
    MessageTemplate,
    Priority,
    Status,
    TemplateSend,
)


class Commands:
    """The conversation commands of `ChatwootDesk`."""

    # ---- messages the outbox does not carry ---------------------------------------------------

    async def templates(self, conv_id: int) -> list[MessageTemplate]:
        raise DeskError(self.unsupported["templates"])

    async def send_template(self, conv_id: int, send: TemplateSend) -> Message:
        raise DeskError(self.unsupported["send_template"])

    async def allowance(self, conv_id: int) -> str | None:
        return None

    # ---- the conversation's fields --------------------------------------------------------

    async def assign(self, conv_id: int, agent: str | None) -> None:
        conv = await self.conversation(conv_id)
        agent_id = None
        if agent is not None:
            found = self._state.agent_by_user(agent)
            if found is None:
                raise DeskError(f"no agent {agent} in the Chatwoot account")
            agent_id = found.id
        await self._ask(
            f"Could not assign #{conv_id}", lambda: self._api.assign_agent(conv_id, agent_id)
        )
        conv.assignee = agent
        self._changed(conv)

    async def set_status(self, conv_id: int, status: Status) -> None:
        name = STATUS_TO.get(status)
        if name is None:
            raise DeskError(
                "Chatwoot has no 'waiting on the customer' status: snooze the conversation instead"
            )
        conv = await self.conversation(conv_id)
        await self._ask(
            f"Could not set #{conv_id} {status.value}",
            lambda: self._api.toggle_status(conv_id, name),
        )
        conv.status = status
        conv.snoozed_until = None
        self._changed(conv)

    async def snooze(self, conv_id: int, until: datetime) -> None:
        conv = await self.conversation(conv_id)
        await self._ask(
            f"Could not snooze #{conv_id}",
            lambda: self._api.toggle_status(conv_id, "snoozed", snoozed_until=unix(until)),
        )
        conv.status = Status.SNOOZED
        conv.snoozed_until = until
        self._changed(conv)

    async def set_priority(self, conv_id: int, priority: Priority) -> None:
        conv = await self.conversation(conv_id)
        await self._ask(
            f"Could not set #{conv_id}'s priority",
            lambda: self._api.toggle_priority(conv_id, priority.value),
        )
        conv.priority = priority
        self._changed(conv)

    async def label(
        self, conv_id: int, add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> None:
        """Chatwoot's POST replaces a conversation's labels: read the set, change it, send it whole."""
        conv = await self.conversation(conv_id)
        add, remove = list(add), set(remove)
        what = f"Could not label #{conv_id}"
        current = _labels(await self._ask(what, lambda: self._api.conversation_labels(conv_id)))
        wanted = [x for x in dict.fromkeys([*current, *add]) if x not in remove]
        answer = await self._ask(what, lambda: self._api.set_labels(conv_id, wanted))
        conv.labels = _labels(answer) if isinstance(payload(answer), list) else wanted
        self._changed(conv)

    async def escalate(
        self, conv_id: int, team: str, reason: str, priority: Priority | None = None
    ) -> list:
        """Hand the conversation to a Chatwoot team (with the priority and a note saying why)."""
        team_id = self._state.team_id(team)
        if team_id is None:
            teams = ", ".join(sorted(self._state.teams.values())) or "none"
            raise DeskError(f"no team {team} in the Chatwoot account (teams: {teams})")
        conv = await self.conversation(conv_id)
        await self._ask(
            f"Could not escalate #{conv_id}", lambda: self._api.assign_team(conv_id, team_id)
        )
        conv.team = team
        self._changed(conv)
        if priority is not None:
            await self.set_priority(conv_id, priority)
        await self.note(
            conv_id, f"Escalated to {team}: {reason}" if reason else f"Escalated to {team}"
        )
        return []

    async def retry_hooks(self, conv_id: int) -> list:
        raise DeskError(self.unsupported["retry_hooks"])

    async def mark_read(self, conv_id: int) -> None:
        conv = self._state.conversations.get(conv_id)
        if self._problem:
            return  # read marks are a courtesy: none is owed to an unreachable server
        await self._ask(
            f"Could not mark #{conv_id} read", lambda: self._api.update_last_seen(conv_id)
        )
        if conv is not None and conv.unread:
            conv.unread = 0
            self._changed(conv)

    async def set_typing(self, conv_id: int, typing: bool) -> None:
        if self._problem:
            return
        await self._ask(
            f"Could not tell Chatwoot you are typing in #{conv_id}",
            lambda: self._api.toggle_typing(conv_id, typing),
        )

    def _changed(self, conv: Conversation) -> None:
        self._state.put_conversation(conv)
        self._publish(Change(ChangeKind.CONVERSATION, conversation_id=conv.id))
        self._counts_later(conv.id)


def _labels(answer: Any) -> list[str]:
    found = payload(answer)
    if not isinstance(found, list):
        return []
    return [x for x in found[:500] if isinstance(x, str) and x]
