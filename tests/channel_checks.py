"""What a channel backend test reads back: the messages stored, a channel's state, a patient wait
(not a test module: tests/conftest.py puts tests/ on sys.path, so every layer imports it by name)."""

from __future__ import annotations

from functools import partial

from pilot_helpers import eventually as wait_for_condition
from status_log import record_statuses

from frontdesk.desk import Desk
from frontdesk.model import Direction, MessageKind

# the fakes on loopback answer slowly on a busy box: a longer limit than the default
eventually = partial(wait_for_condition, timeout=8.0)


class RecordingDesk(Desk):
    """A Desk that remembers every channel status it was told, in order."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.shown = record_statuses(self)

    @property
    def statuses(self) -> list[tuple[str, str]]:
        return [(status.state, status.detail) for _, status in self.shown]


def messages_of(store, direction: Direction | None = None) -> list:
    """The stored messages (not the thread's activity lines), conversation by conversation."""
    return [
        m
        for c in store.conversations()
        for m in store.messages(c.id)
        if m.kind is not MessageKind.ACTIVITY and (direction is None or m.direction is direction)
    ]


def state(desk, channel: str) -> str | None:
    """The state the desk shows for `channel` ("ok", "down" …), None before any."""
    status = desk.channel_status.get(channel)
    return status.state if status else None
