"""Auto-assignment: a new, reopened or handed-over conversation goes to an online agent with room.

Round robin among the eligible agents (online, with fewer unresolved conversations than their
`max_open`, counted as the assignment picker counts them), preferring those who
speak the contact's language and whose skills name the channel or a label. Nobody eligible:
the conversation waits unassigned, and is assigned when someone comes online or frees room.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from frontdesk.desk.automation.engine import AutomationDesk
from frontdesk.desk.automation.triggers import Trigger, TriggerKind
from frontdesk.model import Conversation, Status

NAME = "Auto-assignment"
#: the triggers that hand a conversation to someone ("conversation_opened": a bot handed over)
ASSIGNS_ON = frozenset(
    {TriggerKind.CONVERSATION_CREATED, TriggerKind.CONVERSATION_REOPENED, "conversation_opened"}
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """An agent who may be given conversations: `[team.agents.<user>]`."""

    user: str
    languages: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    max_open: int | None = None


def _language(tag: str) -> str:
    """ "ja-JP", "ja_jp" and "JA" are one language for matching."""
    return tag.replace("_", "-").split("-")[0].casefold()


def preference(candidate: Candidate, language: str, channel: str, labels: Iterable[str]) -> int:
    """How well `candidate` fits: 2 for the contact's language, 1 for a skill naming the channel
    or a label (both: 3)."""
    speaks = bool(language) and _language(language) in {_language(x) for x in candidate.languages}
    wanted = {channel.casefold(), *(label.casefold() for label in labels)}
    skilled = any(skill.casefold() in wanted for skill in candidate.skills)
    return 2 * speaks + skilled


def pick(
    candidates: Iterable[Candidate],
    online: Iterable[str],
    open_counts: Mapping[str, int],
    turns: Mapping[str, int],
    *,
    language: str = "",
    channel: str = "",
    labels: Iterable[str] = (),
) -> str | None:
    """The agent to assign, or None when nobody online has room.

    Among the eligible agents of the best preference, the one whose last turn is oldest
    (`turns`: a counter per agent, higher = assigned more recently; never assigned = 0), then
    the one with fewer open conversations, then the config's order.
    """
    here = set(online)
    labels = list(labels)
    eligible = [
        (order, c)
        for order, c in enumerate(candidates)
        if c.user in here and (c.max_open is None or open_counts.get(c.user, 0) < c.max_open)
    ]
    if not eligible:
        return None
    best = max(preference(c, language, channel, labels) for _, c in eligible)
    top = [(o, c) for o, c in eligible if preference(c, language, channel, labels) == best]
    _, chosen = min(
        top, key=lambda oc: (turns.get(oc[1].user, 0), open_counts.get(oc[1].user, 0), oc[0])
    )
    return chosen.user


class AutoAssign:
    """The automaton: assigns on ASSIGNS_ON triggers, and sweeps what waits when agents change."""

    name = NAME

    def __init__(self, candidates: Iterable[Candidate], channels: Iterable[str] | None = None):
        self.candidates = list(candidates)
        self.channels = None if channels is None else frozenset(channels)
        self._turn = itertools.count(1)
        self.turns: dict[str, int] = {}
        #: conversations that found nobody eligible, oldest first (assigned by the next sweep)
        self.waiting: dict[int, None] = {}

    async def handle(self, desk: AutomationDesk, trigger: Trigger) -> None:
        if trigger.kind == TriggerKind.CONVERSATION_RESOLVED:
            await self.sweep(desk)  # room freed
            return
        if trigger.kind not in ASSIGNS_ON or not trigger.live:
            return
        conv = await desk.conversation(trigger.conversation_id)
        if not self._wanted(conv):
            return
        if not await self._assign(desk, conv) and conv.id not in self.waiting:
            self.waiting[conv.id] = None
            await desk.record_automation(
                conv.id, "found no agent online with room; it waits unassigned until one is"
            )

    async def sweep(self, desk: AutomationDesk) -> None:
        """Assign what waits, oldest first, until nobody has room."""
        for conv_id in list(self.waiting):
            conv = await desk.conversation(conv_id)
            if not self._wanted(conv):
                self.waiting.pop(conv_id, None)
                continue
            if not await self._assign(desk, conv):
                return
            self.waiting.pop(conv_id, None)

    def _wanted(self, conv: Conversation) -> bool:
        return (
            conv.assignee is None
            and conv.status is Status.OPEN
            and (self.channels is None or conv.channel in self.channels)
        )

    async def _assign(self, desk: AutomationDesk, conv: Conversation) -> bool:
        contact = await desk.contact(conv.contact_id)
        roster = desk.online()  # open counts as the assignment picker shows them
        chosen = pick(
            self.candidates,
            [agent.user for agent in roster if agent.online],
            {agent.user: agent.open_count for agent in roster},
            self.turns,
            language=contact.language,
            channel=conv.channel,
            labels=conv.labels,
        )
        if chosen is None:
            return False
        self.turns[chosen] = next(self._turn)
        await desk.assign(conv.id, chosen)
        return True
