"""Messenger's sender names: PSIDs queued by the webhook, looked up in the User Profile API by `run`."""

from __future__ import annotations

import asyncio
import logging

from frontdesk.backends.base import BackendError, Sink, TransientError
from frontdesk.backends.httpchannel import clip, scrub
from frontdesk.backends.messenger_errors import TokenRejected
from frontdesk.model import ContactProfile

log = logging.getLogger("frontdesk.backends.messenger")  # the channel's records keep one logger

#: PSIDs whose names are kept; PSIDs queued for a lookup at most
PROFILE_CACHE = 10_000
PROFILE_QUEUE = 10_000


class MessengerProfiles:
    """MessengerBackend's profile names (uses its `_graph`, `name`, `backoff`, and the `names`,
    `lookups` and `_queued` its __init__ sets)."""

    def _want_name(self, psid: str) -> None:
        if psid in self.names or psid in self._queued:
            return
        try:
            self.lookups.put_nowait(psid)
        except asyncio.QueueFull:
            return  # under a flood the names wait for the sender's next message
        self._queued.add(psid)

    async def _look_up_names(self, sink: Sink) -> None:
        while True:
            psid = await self.lookups.get()
            try:
                name = await self.profile_name(psid)
            except (TransientError, TokenRejected) as exc:
                log.info("channel %s: no name for a sender yet (%s)", self.name, scrub(str(exc)))
                self._queued.discard(psid)  # asked again at their next message
                await asyncio.sleep(self.backoff.next())
                continue
            except BackendError as exc:
                log.info("channel %s: no profile for a sender (%s)", self.name, scrub(str(exc)))
                name = ""  # the person does not share it; not asked again in this run
            self.backoff.reset()
            self._queued.discard(psid)
            self.names[psid] = name
            while len(self.names) > PROFILE_CACHE:
                self.names.popitem(last=False)
            if name:
                await sink.ingest(self.name, [ContactProfile(psid, name)])

    async def profile_name(self, psid: str) -> str:
        """The person's name from the User Profile API (first and last name)."""
        data = await self._graph(
            "GET", f"/{psid}", label="profile", params={"fields": "first_name,last_name"}
        )
        parts = [data.get(k) for k in ("first_name", "last_name")]
        return clip(" ".join(p for p in parts if isinstance(p, str) and p.strip()), 128)


__all__ = ["MessengerProfiles"]
