"""Who a desk command is authored by: the agent acting in the current task's context.

A served desk runs every console's commands in one process; the server sets
`ACTING_AGENT` at the top of each connection's handler task, and tasks copy the context
when created, so every command that connection runs is authored by its Unix user.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

ACTING_AGENT: ContextVar[str | None] = ContextVar("frontdesk_acting_agent", default=None)
"""The agent the current context acts as; None: the desk's configured agent."""


@contextmanager
def acting_as(agent: str) -> Iterator[str]:
    """Run the block's desk commands as `agent` (restored on exit, even on error)."""
    token = ACTING_AGENT.set(agent)
    try:
        yield agent
    finally:
        ACTING_AGENT.reset(token)
