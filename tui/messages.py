"""The App's own messages: a burst of desk changes, and a thread read for the panes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from textual.message import Message

from frontdesk.desk import Change
from frontdesk.desk.hooks import HookJob
from frontdesk.desk.limits import WindowState
from frontdesk.model import Contact, Conversation
from frontdesk.model import Message as DeskMessage


@dataclass
class DeskChanged(Message):
    """One or more changes published by the desk (a burst, coalesced)."""

    changes: tuple[Change, ...]
    handled: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class ThreadLoaded(Message):
    """A conversation's thread and contact, read from the desk for the middle and right panes."""

    conversation: Conversation
    messages: list[DeskMessage]
    contact: Contact | None
    others: list[Conversation]
    typing: bool
    window: WindowState | None = None
    hooks: list[HookJob] = field(default_factory=list)
    draft: dict[str, str] = field(default_factory=dict)
