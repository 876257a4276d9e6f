"""Messenger's poll mode: the Page's Conversations API read since the cursor, paced per Page."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timezone
from typing import Any

from frontdesk.backends.base import Sink
from frontdesk.backends.httpchannel import MALFORMED, unparsable
from frontdesk.backends.messenger_parse import parse_graph_message, parse_time
from frontdesk.model import ChannelEvent

log = logging.getLogger("frontdesk.backends.messenger")  # the channel's records keep one logger


class Pacer:
    """Spaces calls at least 1/`per_second` apart (Meta's limit per Page), across tasks."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            now = time.monotonic()
            if self._next > now:
                await asyncio.sleep(self._next - now)
            self._next = max(now, self._next) + self.interval


class MessengerPolling:
    """MessengerBackend's poll mode (uses its `_graph`, `name`, `cursor`, `page_id`, `page_size`,
    `history` and `ledger`)."""

    async def fetch_once(self, sink: Sink) -> None:
        """Poll mode: read what changed since the cursor (`sync --once`)."""
        if not self.polling:
            raise NotImplementedError(
                f'channel {self.name!r} receives by webhook; set mode = "poll" to fetch once'
            )
        await self._poll(sink)

    async def _poll(self, sink: Sink) -> None:
        """Ingest the messages of every conversation updated since the cursor, oldest first,
        committing each conversation's updated_time as the cursor with its messages."""
        since = self._since()
        for updated, conv_id in await self._changed_conversations(since):
            events = await self._messages_since(conv_id, since)
            cursor = updated.isoformat()
            await sink.ingest(self.name, events, cursor=cursor)
            self.cursor = cursor

    def _since(self) -> datetime:
        try:
            if self.cursor:
                return datetime.fromisoformat(self.cursor)
        except ValueError:
            log.warning("channel %s: ignoring an unreadable cursor", self.name)
        return datetime.now(timezone.utc) - self.history

    async def _changed_conversations(self, since: datetime) -> list[tuple[datetime, str]]:
        found: list[tuple[datetime, str]] = []
        params: dict[str, Any] = {
            "platform": "messenger",
            "fields": "id,updated_time",
            "limit": self.page_size,
        }
        for _ in range(400):  # newest first; stop at the first one not changed since
            data = await self._graph(
                "GET", f"/{self.page_id}/conversations", label="conversations", params=params
            )
            items = data.get("data") if isinstance(data.get("data"), list) else []
            for item in items:
                try:
                    updated, conv_id = parse_time(item["updated_time"]), str(item["id"])
                except (*MALFORMED, TypeError):
                    continue
                if updated < since:
                    return sorted(found)
                found.append((updated, conv_id))
            after = _next_cursor(data)
            if not items or after is None:
                break
            params = {**params, "after": after}
        return sorted(found)

    async def _messages_since(self, conv_id: str, since: datetime) -> list[ChannelEvent]:
        events: list[ChannelEvent] = []
        params: dict[str, Any] = {
            "fields": "id,created_time,from,to,message,attachments",
            "limit": self.page_size,
        }
        for _ in range(400):
            data = await self._graph("GET", f"/{conv_id}/messages", label="messages", params=params)
            items = data.get("data") if isinstance(data.get("data"), list) else []
            older = False
            for item in items:
                try:
                    message = parse_graph_message(item, self.page_id)
                except MALFORMED as exc:
                    events.append(unparsable(self.name, item, exc, log, what="Messenger message"))
                    continue
                if message.created_at < since:
                    older = True
                    break
                if not self.ledger.is_ours(message.external_id):  # sent by this run: stored
                    events.append(message)
            after = _next_cursor(data)
            if older or not items or after is None:
                break
            params = {**params, "after": after}
        events.reverse()  # oldest first, as they were written
        return events


def _next_cursor(data: dict[str, Any]) -> str | None:
    paging = data.get("paging")
    if not isinstance(paging, dict) or not paging.get("next"):
        return None
    cursors = paging.get("cursors")
    after = cursors.get("after") if isinstance(cursors, dict) else None
    return after if isinstance(after, str) and after else None


__all__ = ["MessengerPolling", "Pacer"]
