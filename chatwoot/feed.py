"""The live side of `ChatwootDesk`: the account's websocket feed applied to what the console holds.

The feed is `chatwoot.cable`, its events are applied by `chatwoot.live`; this part starts it,
publishes what changed and reads again what the console shows when the feed comes back.

Mixed into `ChatwootDesk`, which provides `_api`, `_state`, `_outbox`, `_timing`, `_publish`,
`_counts_later`, `_resync` and the link's problem lines.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from frontdesk.chatwoot.cable import CONVERSATION_EVENTS, Cable
from frontdesk.chatwoot.errors import ChatwootError, TokenRefused, Unreachable
from frontdesk.chatwoot.listing import note_can_reply
from frontdesk.chatwoot.live import Live
from frontdesk.chatwoot.mapping import Unreadable, conversation_from, optional_id
from frontdesk.desk.changes import Change, ChangeKind
from frontdesk.desk.presence import Activity

log = logging.getLogger("frontdesk.chatwoot")

MISSING_MOST = 50
"""Conversations fetched in a `MISSING_WINDOW` because an event named one the console did not
hold (a feed flooding strangers' ids costs that many reads; the lists bring the rest)."""
MISSING_WINDOW = 60.0


class Feed:
    """Starts the feed once the server answered, applies its events, refetches after a gap."""

    _cable: Cable | None = None
    _live: Live | None = None
    _live_problem: str = ""
    _fetching: asyncio.Task[None] | None = None
    _checking: asyncio.Task[None] | None = None
    _cable_key: tuple[str, int] | None = None  # (pubsub token, user id) the cable subscribed with

    def _make_live(self) -> None:
        self._live = Live(self._state, on_echo=self._on_echo, on_missing=self._on_missing)
        self._missing: set[int] = set()
        self._missing_since = float("-inf")  # when the current window of fetches began
        self._missing_taken = 0  # conversations taken for fetching in that window

    async def _start_feed(self) -> None:
        """Subscribe to the account's feed: once (the cable reconnects by itself), and again when
        the profile's pubsub token changed (the old one is refused for good)."""
        me = self._state.me
        if me is None or not self._state.pubsub_token:
            return
        key = (self._state.pubsub_token, me.id)
        if self._cable is not None:
            if key == self._cable_key:
                return
            await self._cable.stop()
        self._cable_key = key
        self._cable = Cable(
            self._api.url,
            self._state.pubsub_token,
            self._api.account_id,
            me.id,
            on_event=self._on_event,
            on_link=self._on_feed_link,
            timing=self._timing.cable,
        )
        await self._cable.start()

    async def _stop_feed(self) -> None:
        if self._cable is not None:
            await self._cable.stop()
        for task in (self._fetching, self._checking):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    def _on_event(self, event: str, data: dict[str, Any]) -> None:
        changes = self._live.apply(event, data)
        self._follow_window(event, data)
        if changes:
            self._publish(*changes)
        touched = [c.conversation_id for c in changes if c.kind is ChangeKind.CONVERSATION]
        if touched and touched[0] is not None:
            self._counts_later(touched[0])

    def _follow_window(self, event: str, data: dict[str, Any]) -> None:
        """`can_reply` as events tell it: a conversation's own, or open again when the customer
        writes (a customer's message opens every channel's window)."""
        if event in CONVERSATION_EVENTS:
            note_can_reply(self._can_reply, data)
        elif event == "message.created" and data.get("message_type") in (0, "incoming"):
            conv_id = optional_id(data.get("conversation_id"))
            if conv_id is not None and conv_id in self._can_reply:
                self._can_reply[conv_id] = True

    def _on_echo(self, echo_id: str, data: dict[str, Any]) -> None:
        """The server created a message this console sent: the outbox never sends it again."""
        self._outbox.confirm(echo_id, data)

    def _on_missing(self, conv_id: int) -> None:
        """A message came in a conversation the console does not hold: fetch it to list it,
        while this window's fetches last (past them, it is listed when its page is read)."""
        now = time.monotonic()
        if now - self._missing_since >= MISSING_WINDOW:
            self._missing_since, self._missing_taken = now, 0
        if conv_id in self._missing or self._missing_taken >= MISSING_MOST:
            return
        if self._missing_taken == MISSING_MOST - 1:
            log.info(
                "live events named %d conversations not held within %g s: more are listed "
                "when a page of their list is read",
                MISSING_MOST,
                MISSING_WINDOW,
            )
        self._missing_taken += 1
        self._missing.add(conv_id)
        if self._fetching is None or self._fetching.done():
            self._fetching = asyncio.create_task(self._fetch_missing(), name="chatwoot:missing")

    async def _fetch_missing(self) -> None:
        while self._missing:
            conv_id = self._missing.pop()
            try:
                answer = await self._api.conversation(conv_id)
                conv = self._state.put_conversation(conversation_from(answer, self._state))
                note_can_reply(self._can_reply, answer)
            except (ChatwootError, Unreadable) as exc:
                log.info("conversation #%d of a live event not read: %s", conv_id, exc)
                continue
            self._publish(Change(ChangeKind.CONVERSATION, conversation_id=conv.id))

    def _on_feed_link(self, up: bool, reason: str) -> None:
        if not up:
            self._live_problem = f"live updates paused ({reason}); reconnecting"
            self._publish(*self._live.lost(), Change(ChangeKind.LINK, failed=True, detail=reason))
            if self._checking is None or self._checking.done():
                self._checking = asyncio.create_task(self._check_server(), name="chatwoot:check")
            return
        had_gap = bool(self._live_problem)
        self._live_problem = ""
        if had_gap:  # no replay: what the console shows is read again, then it reloads
            self._resync()

    async def _check_server(self) -> None:
        """The feed is lost: is the server? One profile read says: unreachable starts the REST
        reconnect; a new pubsub token (the old one now refused) subscribes again with it."""
        try:
            profile = await self._api.profile()
        except Unreachable:
            self._lost()
            return
        except TokenRefused as exc:
            self._say_lost(str(exc))
            return
        except ChatwootError as exc:
            log.info("Chatwoot's profile not read after the feed was lost: %s", exc)
            return
        token = profile.get("pubsub_token") if isinstance(profile, dict) else None
        if isinstance(token, str) and token and token != self._state.pubsub_token:
            self._state.pubsub_token = token
            await self._start_feed()

    # ---- what only the feed knows -------------------------------------------------------------

    def is_typing(self, conv_id: int) -> bool:
        return self._live is not None and self._live.is_typing(conv_id)

    def activity(self, conv_id: int) -> list[Activity]:
        """Other agents typing in `conv_id` (Chatwoot does not tell who views it)."""
        return self._live.activity(conv_id) if self._live is not None else []
