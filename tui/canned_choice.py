"""The canned replies the agent chooses from: their own canned.toml and the ones their account shares."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from frontdesk.desk.canned import CannedReply, CannedSet

MAX_SHARED = 1000
"""The most shared replies offered: the server's list is untrusted input, and the picker ranks
and lists every reply on each keypress."""
SHARED_SOURCE = "your account's shared canned replies"
"""Where a shared reply comes from, for messages that point the agent at it."""


@dataclass(frozen=True, slots=True)
class CannedChoice:
    """The agent's replies, then the account's, each shortcode once (`of` decides which)."""

    own: CannedSet
    replies: tuple[CannedReply, ...]
    shared: frozenset[CannedReply]
    """The account's replies that made it into `replies`."""

    @classmethod
    def of(cls, own: CannedSet, shared: Iterable[CannedReply]) -> CannedChoice:
        """The agent's own file wins a shortcode both use (in any case); the shipped examples
        lose it, as a team's real reply is worth more than a sample. Shared replies keep
        the server's order, the first of a repeated shortcode only."""
        taken = set() if own.examples else {r.shortcode.casefold() for r in own.replies}
        offered: list[CannedReply] = []
        for reply in shared:
            code = reply.shortcode.casefold()
            if code not in taken and len(offered) < MAX_SHARED:
                taken.add(code)
                offered.append(reply)
        codes = {r.shortcode.casefold() for r in offered}
        kept = tuple(r for r in own.replies if r.shortcode.casefold() not in codes)
        return cls(own, kept + tuple(offered), frozenset(offered))

    def is_shared(self, reply: CannedReply) -> bool:
        return reply in self.shared

    def find(self, shortcode: str) -> CannedReply | None:
        """The reply with this shortcode (any case, with or without the leading /)."""
        wanted = shortcode.lstrip("/").casefold()
        return next((r for r in self.replies if r.shortcode.casefold() == wanted), None)

    def starting(self, prefix: str) -> list[CannedReply]:
        """The replies whose shortcode starts with `prefix` (any case)."""
        wanted = prefix.lstrip("/").casefold()
        return [r for r in self.replies if r.shortcode.casefold().startswith(wanted)]

    def where(self, reply: CannedReply) -> str:
        """Where a reply comes from: `file:line` of the agent's, or the account."""
        return SHARED_SOURCE if self.is_shared(reply) else self.own.where(reply)

    @property
    def source(self) -> str:
        """Where the replies come from, for "no such reply" messages."""
        return f"{self.own.source} and {SHARED_SOURCE}" if self.shared else self.own.source
