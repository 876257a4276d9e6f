"""Change notifications the desk publishes and the subscriptions that receive them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import StrEnum


class ChangeKind(StrEnum):
    CONVERSATION = "conversation"  # created or updated (status, assignee, unread …)
    MESSAGE = "message"  # added or updated (delivery state)
    TYPING = "typing"  # the customer is typing (not persisted)
    CHANNEL = "channel"  # a channel's health changed
    RESET = "reset"  # a subscriber fell behind: reload everything
    HOOK = "hook"  # an escalation hook succeeded, failed or will retry: `detail` says which
    PRESENCE = "presence"  # who is online changed (`agent` joined or left)
    ACTIVITY = "activity"  # who views or types in `conversation_id` changed (not persisted)
    MENTION = "mention"  # a note (`message_id`) in `conversation_id` mentions `agent`
    SLA = "sla"  # the reply awaited in `conversation_id` fell due (`[sla]`): an alert
    LINK = (
        "link"  # published by the team client only: `failed` with "lost", then "back" and a RESET
    )


@dataclass(frozen=True, slots=True)
class Change:
    kind: ChangeKind
    conversation_id: int | None = None
    message_id: int | None = None
    channel: str | None = None
    detail: str = ""  # for HOOK and LINK: one line for the agent
    failed: bool = False  # for HOOK: the line reports a failure; for LINK: the desk is lost
    agent: str | None = None  # for PRESENCE, ACTIVITY and MENTION: the agent it is about


class Subscription:
    """An async iterator of changes. A subscriber that falls far behind gets one RESET."""

    def __init__(self, broker: Broker, limit: int) -> None:
        self._broker = broker
        self._queue: asyncio.Queue[Change | None] = asyncio.Queue()
        self._limit = limit
        self._overflowed = False

    def push(self, change: Change) -> None:
        if self._overflowed:
            return
        if self._queue.qsize() >= self._limit:
            self._overflowed = True
            self._queue.put_nowait(Change(ChangeKind.RESET))
            return
        self._queue.put_nowait(change)

    def close(self) -> None:
        self._broker.remove(self)
        self._queue.put_nowait(None)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Change:
        change = await self._queue.get()
        if change is None:
            raise StopAsyncIteration
        if change.kind is ChangeKind.RESET:
            self._overflowed = False
        return change

    def pending(self) -> list[Change]:
        """Take every change already queued without waiting (for coalescing bursts)."""
        taken: list[Change] = []
        while not self._queue.empty():
            change = self._queue.get_nowait()
            if change is None:
                self._queue.put_nowait(None)
                break
            if change.kind is ChangeKind.RESET:
                self._overflowed = False
            taken.append(change)
        return taken


class Broker:
    def __init__(self, limit: int = 10_000) -> None:
        self._subscribers: list[Subscription] = []
        self._limit = limit

    def subscribe(self) -> Subscription:
        sub = Subscription(self, self._limit)
        self._subscribers.append(sub)
        return sub

    def remove(self, sub: Subscription) -> None:
        if sub in self._subscribers:
            self._subscribers.remove(sub)

    def publish(self, changes: list[Change]) -> None:
        unique = list(dict.fromkeys(changes))
        for sub in list(self._subscribers):
            for change in unique:
                sub.push(change)
