"""The Chatwoot live feed (`chatwoot.cable.Cable`) against a small ActionCable server on loopback.

`CableServer` speaks the server side of ActionCable as Chatwoot runs it (welcome, pings,
RoomChannel subscriptions, broadcasts, disconnect frames) and each test scripts what it does:
refuse a subscription, fall silent, send garbage. The tests wait on what the Cable reports
through its callbacks, never on the clock.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from hypothesis import given, settings
from hypothesis import strategies as st

from frontdesk.chatwoot import cable as cable_module
from frontdesk.chatwoot.cable import (
    MAX_FRAME,
    Cable,
    CableTiming,
    Confirm,
    Disconnect,
    Event,
    Ping,
    Reject,
    Welcome,
    cable_url,
    origin_of,
    parse_frame,
)

TOKEN = "pubsub-secret-token"
ACCOUNT, USER = 3, 7
QUICK = CableTiming(silent=2.0, presence=30.0, connect=2.0, retry_first=0.01, retry_most=0.05)
WAIT = 5.0


@dataclass
class Connection:
    """One client connection the server accepted: its request and the frames it sent."""

    ws: web.WebSocketResponse
    headers: dict[str, str]
    path: str
    frames: list[dict[str, Any]] = field(default_factory=list)
    identifier: str | None = None
    welcomed: bool = False
    subscribed: asyncio.Event = field(default_factory=asyncio.Event)
    pings: int = 0
    ping_sent: asyncio.Event = field(default_factory=asyncio.Event)

    async def pinged(self, count: int) -> None:
        """Wait until the server has sent `count` pings on this connection."""
        while self.pings < count:
            self.ping_sent.clear()
            await asyncio.wait_for(self.ping_sent.wait(), WAIT)


class CableServer:
    """A loopback ActionCable server. `reject`, `pinging`, `refuse_http` script the next
    connections; `broadcast` sends an event to the subscribed connection."""

    def __init__(self) -> None:
        self.connections: list[Connection] = []
        self.connected: asyncio.Queue[Connection] = asyncio.Queue()
        self.reject = False
        self.welcome = True
        self.confirmations = 1  # confirm_subscription frames sent per subscribe
        self.pinging = True
        self.refuse_http = 0  # how many handshakes to answer 503 before accepting again
        self.http_status = 503
        self.handshakes = 0
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/cable", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        for connection in self.connections:
            await connection.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.handshakes += 1
        if self.refuse_http:
            self.refuse_http -= 1
            return web.Response(status=self.http_status)
        ws = web.WebSocketResponse(protocols=("actioncable-v1-json",), autoping=True)
        await ws.prepare(request)
        connection = Connection(ws, dict(request.headers), request.path)
        self.connections.append(connection)
        if self.welcome:
            connection.welcomed = True
            await ws.send_json({"type": "welcome"})
        pinger = asyncio.create_task(self._ping(connection)) if self.pinging else None
        self.connected.put_nowait(connection)
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    await self._command(connection, json.loads(message.data))
        finally:
            if pinger is not None:
                pinger.cancel()
        return ws

    async def _ping(self, connection: Connection) -> None:
        while not connection.ws.closed:
            await connection.ws.send_json({"type": "ping", "message": int(time.time())})
            connection.pings += 1
            connection.ping_sent.set()
            await asyncio.sleep(0.05)  # the server's heartbeat period, shortened

    async def _command(self, connection: Connection, frame: dict[str, Any]) -> None:
        connection.frames.append(frame)
        if frame.get("command") != "subscribe":
            return
        connection.identifier = frame["identifier"]
        kind = "reject_subscription" if self.reject else "confirm_subscription"
        for _ in range(1 if self.reject else self.confirmations):
            await connection.ws.send_json({"identifier": frame["identifier"], "type": kind})
        if not self.reject:
            connection.subscribed.set()

    async def next_connection(self) -> Connection:
        return await asyncio.wait_for(self.connected.get(), WAIT)

    async def subscribed(self) -> Connection:
        connection = await self.next_connection()
        await asyncio.wait_for(connection.subscribed.wait(), WAIT)
        return connection

    @staticmethod
    async def broadcast(connection: Connection, event: str, data: dict[str, Any]) -> None:
        message = {"event": event, "data": {"account_id": ACCOUNT, **data}}
        await connection.ws.send_json({"identifier": connection.identifier, "message": message})


class Recorder:
    """The Cable's callbacks: each event and each link change, awaitable in order."""

    def __init__(self) -> None:
        self.events: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self.links: asyncio.Queue[tuple[bool, str]] = asyncio.Queue()
        self.all_links: list[tuple[bool, str]] = []

    def on_event(self, event: str, data: dict[str, Any]) -> None:
        self.events.put_nowait((event, data))

    def on_link(self, up: bool, reason: str) -> None:
        self.all_links.append((up, reason))
        self.links.put_nowait((up, reason))

    async def event(self) -> tuple[str, dict[str, Any]]:
        return await asyncio.wait_for(self.events.get(), WAIT)

    async def link(self) -> tuple[bool, str]:
        return await asyncio.wait_for(self.links.get(), WAIT)


@pytest.fixture
async def server():
    served = CableServer()
    await served.start()
    yield served
    await served.close()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def cable_for(server, recorder):
    """Start a Cable on the test server with the given timing; stopped after the test."""
    started: list[Cable] = []

    async def start(timing: CableTiming = QUICK) -> Cable:
        cable = Cable(server.url, TOKEN, ACCOUNT, USER, recorder.on_event, recorder.on_link, timing)
        await cable.start()
        started.append(cable)
        return cable

    yield start
    for cable in started:
        await cable.stop()


# ---- connecting -------------------------------------------------------------------------------


async def test_subscribes_to_room_channel_and_reports_the_link_up(server, recorder, cable_for):
    cable = await cable_for()
    connection = await server.subscribed()
    assert await recorder.link() == (True, "")
    assert cable.up and cable.problem == ""
    assert connection.path == "/cable"
    assert connection.headers["Origin"] == server.url
    assert "actioncable-v1-json" in connection.headers["Sec-WebSocket-Protocol"]
    subscribe = connection.frames[0]
    assert subscribe["command"] == "subscribe"
    assert json.loads(subscribe["identifier"]) == {
        "channel": "RoomChannel",
        "pubsub_token": TOKEN,
        "account_id": ACCOUNT,
        "user_id": USER,
    }


def test_the_cable_url_follows_the_server_url():
    assert str(cable_url("https://chat.example.com")) == "wss://chat.example.com/cable"
    assert str(cable_url("http://127.0.0.1:3000/")) == "ws://127.0.0.1:3000/cable"
    assert str(cable_url("https://example.com/support")) == "wss://example.com/support/cable"
    assert origin_of("https://chat.example.com/app/") == "https://chat.example.com"
    with pytest.raises(ValueError, match=r"\[desk\] url"):
        cable_url("ftp://chat.example.com")


async def test_events_arrive_in_order(server, recorder, cable_for):
    await cable_for()
    connection = await server.subscribed()
    for n in range(30):
        await server.broadcast(connection, "message.created", {"id": n})
    got = [await recorder.event() for _ in range(30)]
    assert [data["id"] for _, data in got] == list(range(30))
    assert {event for event, _ in got} == {"message.created"}


async def test_events_of_other_accounts_subscriptions_and_kinds_are_skipped(
    server, recorder, cable_for
):
    await cable_for()
    connection = await server.subscribed()
    ws = connection.ws
    await server.broadcast(connection, "message.created", {"account_id": ACCOUNT + 1, "id": 1})
    await server.broadcast(connection, "notification.created", {"id": 2})
    other = json.dumps({"channel": "RoomChannel", "pubsub_token": "x"})
    await ws.send_json({"identifier": other, "message": {"event": "message.created", "data": {}}})
    await server.broadcast(connection, "conversation.status_changed", {"id": 4})
    assert await recorder.event() == (
        "conversation.status_changed",
        {"account_id": ACCOUNT, "id": 4},
    )
    assert recorder.events.empty()


async def test_a_rejected_subscription_is_reported_and_retried_slowly(server, recorder, cable_for):
    server.reject = True
    slow = CableTiming(silent=2.0, connect=2.0, retry_first=0.01, retry_most=0.01, refused=0.5)
    cable = await cable_for(slow)
    up, reason = await recorder.link()
    assert not up and reason.startswith("Chatwoot refused the live feed")
    assert "[desk] account_id" in reason and TOKEN not in reason
    refused_at = time.monotonic()
    server.reject = False
    await server.next_connection()  # the rejected one
    await server.subscribed()
    assert time.monotonic() - refused_at >= 0.45  # not the quick backoff
    assert await recorder.link() == (True, "")
    assert cable.links_up == 1


async def test_a_refused_handshake_is_reported_once_while_it_lasts(server, recorder, cable_for):
    server.refuse_http = 5
    await cable_for()
    up, reason = await recorder.link()
    assert not up and "HTTP 503" in reason
    await server.subscribed()
    assert await recorder.link() == (True, "")
    assert server.handshakes == 6
    assert recorder.all_links == [(False, reason), (True, "")]


async def test_a_server_that_never_welcomes_is_given_up_on(server, recorder, cable_for):
    server.welcome = False  # it pings, so only the subscription's deadline can tell
    cable = await cable_for(CableTiming(silent=2.0, connect=0.3, retry_first=0.01))
    up, reason = await recorder.link()
    assert not up
    assert reason == "Chatwoot's live feed did not confirm the subscription within 0.3 s"
    server.welcome = True
    connection = await server.next_connection()
    while not connection.welcomed:  # those opened before the server turned friendly
        connection = await server.next_connection()
    await asyncio.wait_for(connection.subscribed.wait(), WAIT)
    assert await recorder.link() == (True, "")
    assert cable.links_up == 1


async def test_a_repeated_confirmation_is_one_link_up(server, recorder, cable_for):
    server.confirmations = 3
    cable = await cable_for()
    connection = await server.subscribed()
    await server.broadcast(connection, "message.created", {"id": 1})
    assert await recorder.event()  # every confirmation was read before it
    assert recorder.all_links == [(True, "")] and cable.links_up == 1


# ---- losing the link --------------------------------------------------------------------------


async def test_silence_means_lost_then_it_reconnects(server, recorder, cable_for):
    server.pinging = False
    cable = await cable_for(CableTiming(silent=0.3, connect=2.0, retry_first=0.01))
    await server.subscribed()
    assert await recorder.link() == (True, "")
    server.pinging = True
    up, reason = await recorder.link()
    assert not up and reason == "no word from Chatwoot's live feed for 0.3 s"
    assert cable.problem == reason
    await server.subscribed()
    assert await recorder.link() == (True, "")
    assert cable.links_up == 2


async def test_pings_keep_a_quiet_link_up(server, recorder, cable_for):
    cable = await cable_for(CableTiming(silent=0.3, connect=2.0))
    connection = await server.subscribed()
    assert await recorder.link() == (True, "")
    await connection.pinged(20)  # a second of pings, each within the silence allowed
    await server.broadcast(connection, "message.created", {"id": 1})
    assert await recorder.event()
    assert recorder.links.empty() and cable.up


async def test_a_server_restart_reconnects_at_once(server, recorder, cable_for):
    await cable_for()
    connection = await server.subscribed()
    assert await recorder.link() == (True, "")
    await connection.ws.send_json(
        {"type": "disconnect", "reason": "server_restart", "reconnect": True}
    )
    await connection.ws.close()
    assert await recorder.link() == (False, "the Chatwoot server is restarting")
    await server.subscribed()
    assert await recorder.link() == (True, "")


async def test_a_disconnect_without_reconnect_waits_before_trying_again(
    server, recorder, cable_for
):
    await cable_for(CableTiming(silent=2.0, connect=2.0, retry_first=0.01, refused=0.5))
    connection = await server.subscribed()
    assert await recorder.link() == (True, "")
    await connection.ws.send_json({"type": "disconnect", "reason": "remote", "reconnect": False})
    assert await recorder.link() == (False, "Chatwoot ended this session")
    told_at = time.monotonic()
    await server.subscribed()
    assert time.monotonic() - told_at >= 0.45
    assert await recorder.link() == (True, "")


async def test_the_server_closing_is_a_loss_reported_once(server, recorder, cable_for):
    await cable_for()
    connection = await server.subscribed()
    assert await recorder.link() == (True, "")
    server.refuse_http = 3
    await connection.ws.close()
    up, reason = await recorder.link()
    assert not up and reason == "Chatwoot closed the live feed"
    await server.subscribed()
    assert await recorder.link() == (True, "")
    assert [up for up, _ in recorder.all_links] == [True, False, True]


async def test_an_unexpected_failure_costs_one_connection_not_the_feed(
    server, recorder, cable_for, monkeypatch
):
    await cable_for()
    connection = await server.subscribed()
    assert await recorder.link() == (True, "")
    real = cable_module.parse_frame

    def broken_once(text):
        monkeypatch.setattr(cable_module, "parse_frame", real)
        raise RuntimeError("a bug")

    monkeypatch.setattr(cable_module, "parse_frame", broken_once)
    await server.broadcast(connection, "message.created", {"id": 1})
    assert await recorder.link() == (False, "lost Chatwoot's live feed: a bug")
    connection = await server.subscribed()
    assert await recorder.link() == (True, "")
    await server.broadcast(connection, "message.created", {"id": 2})
    assert (await recorder.event())[1]["id"] == 2


async def test_stop_ends_the_feed_without_a_link_change(server, recorder, cable_for):
    cable = await cable_for()
    connection = await server.subscribed()
    assert await recorder.link() == (True, "")
    await cable.stop()
    assert await asyncio.wait_for(connection.ws.receive(), WAIT)
    assert connection.ws.closed
    assert recorder.links.empty()


# ---- presence ---------------------------------------------------------------------------------


async def test_presence_is_sent_while_subscribed(server, recorder, cable_for):
    await cable_for(CableTiming(silent=2.0, presence=0.05, connect=2.0))
    connection = await server.subscribed()

    def presence() -> list[dict[str, Any]]:
        return [frame for frame in connection.frames if frame.get("command") == "message"]

    deadline = asyncio.get_running_loop().time() + WAIT
    while len(presence()) < 3:
        assert asyncio.get_running_loop().time() < deadline, "no presence sent"
        await server.broadcast(connection, "presence.update", {"users": {}})
        await recorder.event()  # a round trip: the cable has read and may have written
    for frame in presence():
        assert frame["identifier"] == connection.identifier
        assert json.loads(frame["data"]) == {"action": "update_presence"}


# ---- hostile frames ---------------------------------------------------------------------------


GARBAGE = [
    "not json",
    "[" * 100_000,
    "[]",
    '"text"',
    '{"type": 5}',
    '{"type": "confirm_subscription"}',
    '{"identifier": 1, "message": {}}',
    '{"identifier": "x", "message": "text"}',
    '{"identifier": "x", "message": {"event": "message.created", "data": []}}',
    '{"identifier": "x", "message": {"event": 7, "data": {}}}',
    '{"type": "strange"}',
    "1" * 10_000,
]


async def test_garbage_frames_are_skipped_and_the_link_stays(server, recorder, cable_for):
    cable = await cable_for()
    connection = await server.subscribed()
    assert await recorder.link() == (True, "")
    for text in GARBAGE:
        await connection.ws.send_str(text)
    await connection.ws.send_bytes(b"\x00\xff")
    mine = {"event": "message.created", "data": {"account_id": True, "id": 0}}
    await connection.ws.send_json({"identifier": connection.identifier, "message": mine})
    await server.broadcast(connection, "message.created", {"id": 1})
    assert await recorder.event() == ("message.created", {"account_id": ACCOUNT, "id": 1})
    assert recorder.events.empty() and recorder.links.empty() and cable.up


async def test_an_oversized_frame_drops_the_link_which_comes_back(server, recorder, cable_for):
    await cable_for()
    connection = await server.subscribed()
    assert await recorder.link() == (True, "")
    await connection.ws.send_str("x" * (MAX_FRAME + 1))
    up, reason = await recorder.link()
    assert not up and "over 1024 KiB" in reason
    await server.subscribed()
    assert await recorder.link() == (True, "")


def test_the_frames_chatwoot_sends_are_read():
    assert parse_frame('{"type":"welcome"}') == Welcome()
    assert parse_frame('{"type":"ping","message":1765000000}') == Ping()
    assert parse_frame('{"identifier":"i","type":"confirm_subscription"}') == Confirm("i")
    assert parse_frame('{"identifier":"i","type":"reject_subscription"}') == Reject("i")
    assert parse_frame('{"type":"disconnect","reason":"unauthorized","reconnect":false}') == (
        Disconnect("Chatwoot did not accept this sign-in", False)
    )
    hostile = '{"type":"disconnect","reason":"\\u001b[2Jevil","reconnect":"yes"}'
    assert parse_frame(hostile) == Disconnect("Chatwoot closed the connection", False)
    event = '{"identifier":"i","message":{"event":"message.created","data":{"id":1}}}'
    assert parse_frame(event) == Event("i", "message.created", {"id": 1})


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["type", "identifier", "message", "event", "data", "reason", "reconnect"]
            )
            | st.text(max_size=8),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200) | st.binary(max_size=200))
def test_parse_frame_never_raises_on_any_text(text):
    parse_frame(text)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_parse_frame_never_raises_on_any_json(value):
    frame = parse_frame(json.dumps(value))
    assert frame is None or isinstance(
        frame, Welcome | Ping | Confirm | Reject | Disconnect | Event
    )
    if isinstance(frame, Event):
        assert isinstance(frame.data, dict) and isinstance(frame.event, str)
