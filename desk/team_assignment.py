"""Assigning a conversation to a team (a rule's assign_team), with its inline event."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from frontdesk.desk.errors import DeskError
from frontdesk.model import Conversation, EventKind


class TeamAssignment:
    """The part of the Desk that sets a conversation's team (with the desk's `conversation`
    and `_change`); the escalation targets are the teams when any are configured."""

    escalation_targets: list[str]
    conversation: Callable[[int], Awaitable[Conversation]]
    _change: Callable[..., Awaitable[None]]

    async def assign_team(self, conv_id: int, team: str | None) -> None:
        """Hand the conversation to `team` (None: no team) without escalating it: no hooks run."""
        team = team.strip() if team else None
        if team and self.escalation_targets and team not in self.escalation_targets:
            raise DeskError(
                f"{team!r} is not a team; choose one of [escalation] targets: {', '.join(self.escalation_targets)}"
            )
        conv = await self.conversation(conv_id)
        if conv.team == team:
            return
        text = f"assigned this to team {team}" if team else "removed the team"
        await self._change(conv, EventKind.ASSIGNED, text, lambda c: setattr(c, "team", team))
