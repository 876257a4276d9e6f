"""The fake Chatwoot's `/cable`: ActionCable's JSON protocol (welcome, pings, subscribe with
an identifier, confirm or reject, actions) for RoomChannel, and the broadcasts to it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from frontdesk.bench.chatwoot_fake.account import Account
from frontdesk.bench.chatwoot_fake.records import Event, int_or_none

PROTOCOLS = ("actioncable-v1-json", "actioncable-unsupported")


@dataclass(eq=False)
class Socket:
    """One /cable connection and the identifiers it subscribed with (identifier -> user id)."""

    ws: web.WebSocketResponse
    request: web.Request
    subscriptions: dict[str, int] = field(default_factory=dict)


class Cable:
    """Every open /cable socket of the account, and what is sent to them."""

    def __init__(
        self, account: Account, ping_seconds: float, log: Callable[[str], None] | None
    ) -> None:
        self.account = account
        self.ping_seconds = ping_seconds
        self.sockets: set[Socket] = set()
        self.received: list[dict[str, Any]] = []
        self.events: list[Event] = []
        self.refuse = False
        self._log = log
        self._changed = asyncio.Event()

    @property
    def subscribers(self) -> int:
        return sum(len(sock.subscriptions) for sock in self.sockets)

    async def wait(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        """Wait until `done()` holds, checked at each socket or subscription change."""

        async def watch() -> None:
            while not done():
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(watch(), timeout)
        except TimeoutError:
            raise TimeoutError(f"waited {timeout}s for {what}") from None

    async def serve(self, request: web.Request) -> web.StreamResponse:
        """GET /cable: the websocket, welcomed, pinged, read until it closes."""
        if self.refuse:
            return web.Response(status=503, text="cable refused by the test\n")
        ws = web.WebSocketResponse(protocols=PROTOCOLS, autoping=True)
        await ws.prepare(request)
        sock = Socket(ws, request)
        self.sockets.add(sock)
        self._changed.set()
        pinger = asyncio.ensure_future(self._ping(sock))
        try:
            await self._send(sock, {"type": "welcome"})
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    await self._command(sock, frame.data)
        finally:
            pinger.cancel()
            self.sockets.discard(sock)
            self._changed.set()
        return ws

    async def drop(self) -> None:
        """Cut every socket without a closing handshake, as a lost link does."""
        for sock in list(self.sockets):
            transport = sock.request.transport
            if transport is not None:
                transport.abort()
            else:
                await sock.ws.close()

    async def close(self) -> None:
        """Tell every client the server restarts (reconnect) and close its socket."""
        for sock in list(self.sockets):
            bye = {"type": "disconnect", "reason": "server_restart", "reconnect": True}
            await self._send(sock, bye)
            await sock.ws.close()

    async def _ping(self, sock: Socket) -> None:
        while not sock.ws.closed:
            await asyncio.sleep(self.ping_seconds)
            await self._send(sock, {"type": "ping", "message": self.account.now()})

    async def _command(self, sock: Socket, text: str) -> None:
        try:
            command = json.loads(text)
            identifier = command["identifier"]
            params = json.loads(identifier)
        except (ValueError, KeyError, TypeError):
            return  # ActionCable logs and ignores a frame it cannot read
        if not isinstance(command, dict) or not isinstance(params, dict):
            return
        self.received.append(command)
        if self._log:
            self._log(f"CABLE {command.get('command')} {text}")
        kind = command.get("command")
        if kind == "subscribe":
            await self._subscribe(sock, identifier, params)
        elif kind == "unsubscribe":
            sock.subscriptions.pop(identifier, None)
            self._changed.set()
        elif kind == "message" and identifier in sock.subscriptions:
            await self._perform(sock.subscriptions[identifier], command.get("data"))

    async def _subscribe(self, sock: Socket, identifier: str, params: dict[str, Any]) -> None:
        """RoomChannel#subscribed: the pubsub_token must be the user's, in this account."""
        agent = self.account.agents.get(int_or_none(params.get("user_id")) or 0)
        ok = (
            params.get("channel") == "RoomChannel"
            and agent is not None
            and params.get("pubsub_token") == agent.pubsub_token
            and int_or_none(params.get("account_id")) == self.account.id
        )
        if identifier in sock.subscriptions:
            return  # ActionCable logs "Already subscribed" and answers nothing
        if not ok:
            await self._send(sock, {"identifier": identifier, "type": "reject_subscription"})
            return
        sock.subscriptions[identifier] = agent.id
        await self._send(sock, {"identifier": identifier, "type": "confirm_subscription"})
        self._changed.set()
        await self.broadcast([("presence.update", self.presence())], only=agent.id)

    async def _perform(self, agent_id: int, data: Any) -> None:
        """RoomChannel's one action: update_presence, answered on the user's own stream."""
        try:
            action = json.loads(data).get("action")
        except (ValueError, TypeError, AttributeError):
            return
        if action == "update_presence":
            await self.broadcast([("presence.update", self.presence())], only=agent_id)

    def presence(self) -> dict[str, Any]:
        """OnlineStatusTracker: the agents present (subscribed) or not offline, by id."""
        present = {agent for sock in self.sockets for agent in sock.subscriptions.values()}
        users = {
            str(a.id): a.availability_status
            for a in self.account.agents.values()
            if a.id in present or a.availability_status != "offline"
        }
        return {"account_id": self.account.id, "users": users, "contacts": {}}

    async def broadcast(
        self, events: list[Event], exclude: int | None = None, only: int | None = None
    ) -> None:
        """Send each event to every subscription (every agent sees the account's inboxes), or
        `only` that agent's (presence goes to the asker's stream), never to agent `exclude`
        (Chatwoot does not echo an agent's own typing)."""
        for name, data in events:
            self.events.append((name, data))
            if "account_id" not in data:
                data = {**data, "account_id": self.account.id}
            for sock in list(self.sockets):
                for identifier, agent_id in list(sock.subscriptions.items()):
                    if agent_id != exclude and only in (None, agent_id):
                        message = {"event": name, "data": data}
                        await self._send(sock, {"identifier": identifier, "message": message})

    @staticmethod
    async def _send(sock: Socket, frame: dict[str, Any]) -> None:
        if sock.ws.closed:
            return
        try:
            await sock.ws.send_str(json.dumps(frame))
        except (ConnectionError, RuntimeError):
            pass  # the socket went away between the check and the send
