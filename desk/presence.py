"""Presence: which agents are online, and who views or types in which conversation.

Nothing here is persisted: it lives as long as the desk process and its consoles. Each
change is published on the desk's change feed (PRESENCE, ACTIVITY), so every console
shows "Ben is viewing" / "Ben is typing…" while it is true.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from frontdesk.desk.changes import Change, ChangeKind
from frontdesk.model import Conversation, Status

TYPING_SECONDS = 6.0
"""Typing lapses this long after the last report of it: an agent's (from their console) and a
customer's (from their channel), on the desk, the team client's replica and the console alike."""
VIEWING, TYPING = "viewing", "typing"


@dataclass(frozen=True, slots=True)
class Activity:
    """One agent's activity in a conversation: `doing` is "viewing" or "typing"."""

    agent: str
    doing: str


@dataclass(frozen=True, slots=True)
class AgentInfo:
    """An agent as the assignment picker shows them: online, and how many open conversations are theirs."""

    user: str
    name: str
    online: bool
    open_count: int


@dataclass(slots=True)
class PresenceState:
    """What a console's replica needs to answer `online()` and `activity()` without asking."""

    online: list[str] = field(default_factory=list)
    viewing: dict[str, int] = field(default_factory=dict)  # agent → conversation
    typing: dict[str, int] = field(default_factory=dict)  # agent → conversation


class Presence:
    """Who is online (ref-counted per console), viewing and typing; publishes each change."""

    def __init__(
        self,
        publish: Callable[[list[Change]], None],
        clock: Callable[[], float] = time.monotonic,
        *,
        typing_seconds: float = TYPING_SECONDS,
    ) -> None:
        self._publish = publish
        self._clock = clock
        self._typing_seconds = typing_seconds
        self._sessions: dict[str, int] = {}
        self._viewing: dict[str, int] = {}
        self._typing: dict[str, tuple[int, float]] = {}  # agent → (conversation, until)
        self._lapses: dict[str, asyncio.TimerHandle] = {}

    # ---- reading ---------------------------------------------------------------------------

    def online(self) -> list[str]:
        """The agents with at least one console attached, in the order they came."""
        return list(self._sessions)

    def activity(self, conv_id: int) -> list[Activity]:
        """Who views or types in `conv_id` (typing wins over viewing for one agent)."""
        now = self._clock()
        found: dict[str, str] = {a: VIEWING for a, c in self._viewing.items() if c == conv_id}
        for agent, (conv, until) in self._typing.items():
            if conv == conv_id and now < until:
                found[agent] = TYPING
        return [Activity(agent, doing) for agent, doing in found.items()]

    def state(self) -> PresenceState:
        now = self._clock()
        return PresenceState(
            online=self.online(),
            viewing=dict(self._viewing),
            typing={a: conv for a, (conv, until) in self._typing.items() if now < until},
        )

    def restore(self, state: PresenceState) -> None:
        """Replace everything with `state` (a replica's copy: the desk that sent it lapses typing)."""
        for handle in self._lapses.values():
            handle.cancel()
        self._lapses.clear()
        self._sessions = dict.fromkeys(state.online, 1)
        self._viewing = dict(state.viewing)
        self._typing = {a: (conv, float("inf")) for a, conv in state.typing.items()}

    # ---- changes ---------------------------------------------------------------------------

    def join(self, agent: str) -> None:
        """One more console of `agent` is attached."""
        self._sessions[agent] = self._sessions.get(agent, 0) + 1
        if self._sessions[agent] == 1:
            self._publish([Change(ChangeKind.PRESENCE, agent=agent)])

    def leave(self, agent: str) -> None:
        """One console of `agent` left; with the last one, their viewing and typing end too."""
        count = self._sessions.get(agent, 0) - 1
        if count > 0:
            self._sessions[agent] = count
            return
        if self._sessions.pop(agent, None) is None:
            return
        touched = self._clear(agent)
        self._publish(
            [Change(ChangeKind.PRESENCE, agent=agent), *self._activity_changes(agent, touched)]
        )

    def view(self, agent: str, conv_id: int | None) -> None:
        """`agent` now has `conv_id` open (None: no conversation); typing elsewhere ends."""
        before = self._viewing.get(agent)
        if before == conv_id:
            return
        touched = {before} if before is not None else set()
        typing = self._typing.get(agent)
        if typing is not None and typing[0] != conv_id:
            touched |= self._stop_typing(agent)
        if conv_id is None:
            self._viewing.pop(agent, None)
        else:
            self._viewing[agent] = conv_id
            touched.add(conv_id)
        self._publish(self._activity_changes(agent, touched))

    def type(self, agent: str, conv_id: int, typing: bool) -> None:
        """`agent` is (or stopped) typing in `conv_id`; a renewal within TYPING_SECONDS publishes nothing."""
        before = self._typing.get(agent)
        if not typing:
            if before is not None and before[0] == conv_id:
                self._publish(self._activity_changes(agent, self._stop_typing(agent)))
            return
        touched = self._stop_typing(agent) if before is not None and before[0] != conv_id else set()
        renewed = self._lapses.pop(agent, None)
        if renewed is not None:
            renewed.cancel()
        self._typing[agent] = (conv_id, self._clock() + self._typing_seconds)
        self._lapses[agent] = asyncio.get_running_loop().call_later(
            self._typing_seconds, self._lapse, agent, conv_id
        )
        if before is None or before[0] != conv_id:
            touched.add(conv_id)
        self._publish(self._activity_changes(agent, touched))

    def _lapse(self, agent: str, conv_id: int) -> None:
        typing = self._typing.get(agent)
        if typing is not None and typing[0] == conv_id:
            self._publish(self._activity_changes(agent, self._stop_typing(agent)))

    def _stop_typing(self, agent: str) -> set[int]:
        handle = self._lapses.pop(agent, None)
        if handle is not None:
            handle.cancel()
        typing = self._typing.pop(agent, None)
        return {typing[0]} if typing is not None else set()

    def _clear(self, agent: str) -> set[int]:
        touched = self._stop_typing(agent)
        viewing = self._viewing.pop(agent, None)
        return touched | ({viewing} if viewing is not None else set())

    @staticmethod
    def _activity_changes(agent: str, touched: Iterable[int]) -> list[Change]:
        return [Change(ChangeKind.ACTIVITY, conv, agent=agent) for conv in sorted(touched)]


def roster(
    agents: Iterable[str],
    names: Mapping[str, str],
    online: Iterable[str],
    conversations: Iterable[Conversation],
) -> list[AgentInfo]:
    """Every known agent (and anyone online) with their display name, presence and open count.

    Open counts the conversations assigned to them that are not resolved.
    """
    here = list(online)
    everyone = list(dict.fromkeys([*agents, *here]))
    open_counts = dict.fromkeys(everyone, 0)
    for conv in conversations:
        if conv.assignee in open_counts and conv.status is not Status.RESOLVED:
            open_counts[conv.assignee] += 1
    return [
        AgentInfo(user, names.get(user, user), user in here, open_counts[user]) for user in everyone
    ]
