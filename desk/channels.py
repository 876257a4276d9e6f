"""Channel supervision: run each backend, restart it with backoff, and keep its status shown."""

from __future__ import annotations

import asyncio
import logging

from frontdesk.backends.base import Backend, ConfigError
from frontdesk.desk.changes import Broker, Change, ChangeKind
from frontdesk.model import ChannelStatus

log = logging.getLogger("frontdesk.desk")


class ChannelSupervisor:
    """The part of the Desk that runs its channels and tracks each one's status."""

    channel_status: dict[str, ChannelStatus]
    _broker: Broker
    #: channels shown down because their sends ran past the deadline
    _overdue: set[str]

    async def _run_channel(self, name: str, backend: Backend) -> None:
        """Run a backend for as long as the desk runs, restarting it with backoff."""
        delay = 1.0
        while True:
            try:
                self._set_channel_status(name, ChannelStatus("ok"))
                await backend.run(self)
                return
            except asyncio.CancelledError:
                raise
            except ConfigError as exc:
                self._set_channel_status(name, ChannelStatus("down", backend.redact(str(exc))))
                return
            except Exception as exc:
                reason = backend.redact(f"{exc}")
                log.warning("channel %s stopped: %s; restarting in %.0fs", name, reason, delay)
                self._set_channel_status(
                    name, ChannelStatus("down", f"{reason} — retrying in {delay:.0f}s")
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)

    def _set_channel_status(self, name: str, status: ChannelStatus) -> None:
        if self.channel_status.get(name) != status:
            self.channel_status[name] = status
            self._broker.publish([Change(ChangeKind.CHANNEL, channel=name)])

    def _sends_overdue(self, channel: str, reason: str | None) -> None:
        """Show a channel whose sends run past their deadline as down (None: a send was in time again)."""
        if reason is not None:
            self._overdue.add(channel)
            self._set_channel_status(channel, ChannelStatus("down", reason))
        elif channel in self._overdue:
            self._overdue.discard(channel)
            self._set_channel_status(channel, ChannelStatus("ok"))
