"""One shape for agent actions that call the desk: await it, report a failure once."""

from __future__ import annotations

from collections.abc import Awaitable
from enum import Enum
from typing import TypeVar

from rich.markup import escape

T = TypeVar("T")


class Failed(Enum):
    """What `DeskCalls._attempt` returns when the desk call raised (and was reported)."""

    FAILED = "failed"


FAILED = Failed.FAILED


class DeskCalls:
    """Mixed into the App: `_attempt` wraps a desk call, `_error` reports what went wrong."""

    async def _attempt(self, failure: str, call: Awaitable[T]) -> T | Failed:
        """Await a desk call; when it raises, say so as `failure` (one notification) and return FAILED."""
        try:
            return await call
        except Exception as exc:
            self._error(failure, exc)
            return FAILED

    def _error(self, what: str, exc: Exception) -> None:
        self.notify(escape(f"{exc}"), title=escape(what), severity="error", timeout=8)
