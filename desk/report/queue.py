"""The live queue: who waits now, by age and channel, the longest waits, SLA breaches, agents' loads."""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from frontdesk.desk.presence import AgentInfo
from frontdesk.desk.sla import DUE
from frontdesk.model import Conversation, Status

BUCKETS: tuple[tuple[str, float | None], ...] = (
    ("<15m", 15 * 60),
    ("15m–1h", 3600),
    ("1–4h", 4 * 3600),
    ("4–24h", 24 * 3600),
    (">1d", None),
)
"""Age buckets of a wait: (label, upper bound in seconds, excluded; None: no bound)."""
LONGEST = 10
"""How many of the longest waits the queue lists."""


@dataclass(frozen=True, slots=True)
class Waiting:
    """One conversation whose customer waits for a reply."""

    id: int
    channel: str
    contact_id: int
    since: datetime
    assignee: str | None
    sla_due_at: datetime | None
    sla_breached: bool

    def breached(self, now: datetime) -> bool:
        """The desk saw its SLA pass, or the due time is behind `now` already."""
        return self.sla_breached or (self.sla_due_at is not None and self.sla_due_at <= now)


@dataclass(frozen=True, slots=True)
class AgentLoad:
    """An agent as the queue shows them: online (team mode) and their open conversations."""

    user: str
    name: str
    online: bool
    open_count: int


@dataclass(frozen=True, slots=True)
class QueueSnapshot:
    """The queue at one moment: counts per bucket (in BUCKETS' order), the same per channel,
    the longest waits (longest first), the breaches (most overdue first), and the agents."""

    waiting: int
    buckets: tuple[int, ...]
    by_channel: dict[str, tuple[int, ...]]
    longest: list[Waiting]
    breaches: list[Waiting]
    agents: list[AgentLoad]


def bucket_of(age_seconds: float) -> int:
    """The index in BUCKETS of a wait of `age_seconds`."""
    for index, (_, bound) in enumerate(BUCKETS):
        if bound is not None and age_seconds < bound:
            return index
    return len(BUCKETS) - 1


def waiting_of(conv: Conversation) -> Waiting | None:
    """`conv` as a wait, or None when nobody waits on an agent there: answered, or not due a
    reply (resolved, snoozed, the bot's), as the SLA counts it. A pending conversation the
    customer wrote to again stays pending and waits."""
    if conv.status not in DUE or conv.waiting_since is None:
        return None
    return Waiting(
        conv.id,
        conv.channel,
        conv.contact_id,
        conv.waiting_since,
        conv.assignee,
        conv.sla_due_at,
        conv.sla_breached,
    )


class LiveQueue:
    """The waits and the agents' open counts, kept one conversation at a time: `reset` reads
    every conversation once, `update` takes one changed conversation; `snapshot` reads only
    the waits."""

    def __init__(self) -> None:
        self._waiting: dict[int, Waiting] = {}
        self._owner: dict[int, str] = {}  # unresolved conversation → its assignee
        self._open: Counter[str] = Counter()

    def reset(self, conversations: Iterable[Conversation]) -> None:
        self._waiting.clear()
        self._owner.clear()
        self._open.clear()
        for conv in conversations:
            self.update(conv)

    def update(self, conv: Conversation) -> None:
        """Take the current state of one conversation (new or changed)."""
        wait = waiting_of(conv)
        if wait is None:
            self._waiting.pop(conv.id, None)
        else:
            self._waiting[conv.id] = wait
        owner = conv.assignee if conv.status is not Status.RESOLVED else None
        before = self._owner.pop(conv.id, None)
        if before is not None:
            self._open[before] -= 1
        if owner is not None:
            self._owner[conv.id] = owner
            self._open[owner] += 1

    def remove(self, conv_id: int) -> None:
        """Forget a conversation that is gone (merged away)."""
        self._waiting.pop(conv_id, None)
        before = self._owner.pop(conv_id, None)
        if before is not None:
            self._open[before] -= 1

    def open_count(self, agent: str) -> int:
        return self._open[agent]

    def snapshot(self, now: datetime, roster: Sequence[AgentInfo] = ()) -> QueueSnapshot:
        """The queue at `now`; `roster` (desk.online()) names the agents and who is online,
        whose open counts come from the queue's own tally, current to the last update."""
        buckets = [0] * len(BUCKETS)
        by_channel: dict[str, list[int]] = {}
        breaches: list[Waiting] = []
        for wait in self._waiting.values():
            index = bucket_of((now - wait.since).total_seconds())
            buckets[index] += 1
            by_channel.setdefault(wait.channel, [0] * len(BUCKETS))[index] += 1
            if wait.breached(now):
                breaches.append(wait)
        longest = heapq.nsmallest(LONGEST, self._waiting.values(), key=lambda w: (w.since, w.id))
        breaches.sort(key=lambda w: (w.sla_due_at or w.since, w.id))
        agents = [
            AgentLoad(info.user, info.name, info.online, self._open[info.user]) for info in roster
        ]
        agents.sort(key=lambda a: (not a.online, -a.open_count, a.name))
        return QueueSnapshot(
            len(self._waiting),
            tuple(buckets),
            {channel: tuple(counts) for channel, counts in sorted(by_channel.items())},
            longest,
            breaches,
            agents,
        )
