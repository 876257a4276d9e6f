"""What automation reacts to: a message or a conversation event, and whether it happened now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class TriggerKind(StrEnum):
    """The events rules name (Chatwoot's automation events)."""

    MESSAGE_CREATED = "message_created"  # a customer's message was stored
    CONVERSATION_CREATED = "conversation_created"
    CONVERSATION_RESOLVED = "conversation_resolved"
    CONVERSATION_REOPENED = "conversation_reopened"
    CONVERSATION_OPENED = "conversation_opened"  # the bot handed it to the agents (Chatwoot's name)


LIVE_WITHIN = timedelta(minutes=10)
"""A message written longer ago than this when it is stored is backlog (a first sync, a
catch-up after downtime): automation records it but never answers it."""


def is_live(created_at: datetime, now: datetime) -> bool:
    """True for what arrives now, False for backlog."""
    return now - created_at <= LIVE_WITHIN


@dataclass(frozen=True, slots=True)
class Trigger:
    """One thing that happened: its kind, its conversation, the message that caused it (for
    MESSAGE_CREATED) and whether it is live (not backlog)."""

    kind: TriggerKind
    conversation_id: int
    at: datetime
    message_id: int | None = None
    live: bool = True
    text: str | None = None
    """The customer's message that caused it (ingest's triggers), so an automaton need not read
    it back from the store; None for the status commands' triggers."""
