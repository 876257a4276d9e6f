"""Outbox rules: what a send failure means for the reply, and when to try again.

Retry only what certainly did not reach the channel (TransientError: connect errors,
429 with Retry-After, 5xx) with exponential backoff; an ambiguous failure (the request
may have been sent) becomes `unconfirmed` for the agent to decide, unless the backend
guarantees idempotent sends; everything else fails visibly with the channel's reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from frontdesk.backends.base import (
    AmbiguousError,
    PermanentError,
    TransientError,
    WindowClosedError,
)
from frontdesk.model import Delivery

MAX_ATTEMPTS = 8
BASE_DELAY = 2.0
MAX_DELAY = 300.0


def backoff(attempts: int) -> float:
    """Seconds to wait after the `attempts`-th failed try: 2, 4, 8 … capped at 5 minutes."""
    return min(MAX_DELAY, BASE_DELAY * 2 ** max(0, attempts - 1))


@dataclass(frozen=True, slots=True)
class Outcome:
    """What to do with the message and its outbox entry after a failed send."""

    delivery: Delivery  # PENDING means: stays in the outbox for another try
    reason: str
    retry_at: datetime | None = None


def after_failure(error: BaseException, attempts: int, idempotent: bool, now: datetime) -> Outcome:
    if isinstance(error, WindowClosedError):
        reason = f"{error} — {error.way_out}" if error.way_out else str(error)
        return Outcome(Delivery.FAILED, reason)
    if isinstance(error, PermanentError):
        return Outcome(Delivery.FAILED, str(error) or type(error).__name__)
    if isinstance(error, TransientError) or (isinstance(error, AmbiguousError) and idempotent):
        if attempts >= MAX_ATTEMPTS:
            return Outcome(Delivery.FAILED, f"gave up after {attempts} tries: {error}")
        retry_after = getattr(error, "retry_after", None)
        delay = retry_after if retry_after is not None else backoff(attempts)
        return Outcome(
            Delivery.PENDING, f"try {attempts} failed: {error}", now + timedelta(seconds=delay)
        )
    if isinstance(error, AmbiguousError):
        return Outcome(Delivery.UNCONFIRMED, f"not confirmed by the channel: {error}")
    # a bug in a backend: the request may or may not have gone out
    return Outcome(Delivery.UNCONFIRMED, f"not confirmed ({type(error).__name__}: {error})")


def may_replace(old: Delivery, new: Delivery) -> bool:
    """Whether a delivery report `new` may overwrite `old` (reports arrive out of order)."""
    if new is Delivery.FAILED:
        return old not in (Delivery.READ, Delivery.FAILED)
    return new.rank > old.rank
