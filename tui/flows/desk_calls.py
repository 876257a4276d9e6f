"""One shape for agent actions: pick the conversation, call the desk, report a failure once."""

from __future__ import annotations

from collections.abc import Awaitable
from enum import Enum
from typing import TypeVar

from rich.markup import escape

from frontdesk.model import Conversation

T = TypeVar("T")


class Failed(Enum):
    """What `DeskCalls._attempt` returns when the desk call raised (and was reported)."""

    FAILED = "failed"


FAILED = Failed.FAILED


class DeskCalls:
    """Mixed into the App: `_current` picks the highlighted conversation, `_attempt` wraps a
    desk call, `_error` reports what went wrong."""

    def _current(self) -> Conversation | None:
        conv = self.conversation_list.current
        if conv is None:
            self.notify("No conversation selected.", severity="warning")
        return conv

    async def _attempt(self, failure: str, call: Awaitable[T]) -> T | Failed:
        """Await a desk call; when it raises, say so as `failure` (one notification) and return FAILED."""
        try:
            return await call
        except Exception as exc:
            self._error(failure, exc)
            return FAILED

    def _error(self, what: str, exc: Exception) -> None:
        self.notify(escape(f"{exc}"), title=escape(what), severity="error", timeout=8)
