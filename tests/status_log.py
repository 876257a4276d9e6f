"""Every channel status a desk shows, in order, read through its public `channel_status` (not a
test module: tests/conftest.py puts tests/ on sys.path, so every layer imports it by name)."""

from __future__ import annotations

from frontdesk.model import ChannelStatus


class StatusLog(dict):
    """A desk's `channel_status` mapping that also keeps each status it is set to, in order."""

    def __init__(self, current: dict[str, ChannelStatus]) -> None:
        super().__init__(current)
        self.shown: list[tuple[str, ChannelStatus]] = []

    def __setitem__(self, name: str, status: ChannelStatus) -> None:
        self.shown.append((name, status))
        super().__setitem__(name, status)


def record_statuses(desk) -> list[tuple[str, ChannelStatus]]:
    """From now on, every status `desk` shows for a channel, as (channel, status) in order."""
    log = StatusLog(desk.channel_status)
    desk.channel_status = log
    return log.shown
