"""The live feed of a Chatwoot account: a client of its ActionCable websocket (`/cable`, RoomChannel).

`Cable` connects, waits for the welcome, subscribes to RoomChannel with the user's pubsub token
and hands each event of the account to `on_event(event, data)`. `on_link(up, reason)` says when
the feed is subscribed (`True`, after every reconnect: Chatwoot replays nothing, so the caller
refetches what it shows) and when it is lost (`False` with one line for the agent, once per loss).
Chatwoot pings every 3 s; silence for `CableTiming.silent` means the link is gone. Frames are
untrusted: `parse_frame` reads one into a typed frame or None, and never raises.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from yarl import URL

if TYPE_CHECKING:  # aiohttp is imported when the feed starts: a console paints before it
    import aiohttp

log = logging.getLogger("frontdesk.chatwoot")

CHANNEL = "RoomChannel"
MAX_FRAME = 1024 * 1024
"""The largest frame read (a Chatwoot message event carries one message, far below this)."""
MAX_EVENT_NAME = 64
SUBPROTOCOLS = ("actioncable-v1-json", "actioncable-unsupported")
"""What Rails' own ActionCable client offers; the server answers with the first."""

CONVERSATION_EVENTS = frozenset(
    {
        "conversation.created",
        "conversation.status_changed",
        "conversation.updated",
        "conversation.read",
        "assignee.changed",
        "team.changed",
        "conversation.contact_changed",
    }
)
"""Events whose data is the whole conversation (Chatwoot's `push_event_data`)."""
EVENTS = CONVERSATION_EVENTS | {
    "message.created",
    "message.updated",
    "contact.updated",
    "conversation.typing_on",
    "conversation.typing_off",
    "presence.update",
}
"""The events the console follows; the rest (notifications, contacts, calls …) are skipped."""

_DISCONNECT_REASONS = {
    "server_restart": "the Chatwoot server is restarting",
    "unauthorized": "Chatwoot did not accept this sign-in",
    "invalid_request": "Chatwoot found the request invalid",
    "remote": "Chatwoot ended this session",
}


@dataclass(frozen=True, slots=True)
class CableTiming:
    """The feed's clocks (tests shorten them)."""

    silent: float = 10.0  # no frame for this long: the link is lost (Chatwoot pings every 3 s)
    presence: float = 30.0  # how often to tell Chatwoot this agent is still online
    connect: float = 10.0  # the websocket handshake
    retry_first: float = 0.2
    retry_most: float = 5.0
    refused: float = 60.0  # the wait after Chatwoot refused us: trying sooner would be refused too


# ---- frames -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Welcome:
    """The server accepted the connection."""


@dataclass(frozen=True, slots=True)
class Ping:
    """The server's heartbeat."""


@dataclass(frozen=True, slots=True)
class Confirm:
    """A subscription was accepted."""

    identifier: str


@dataclass(frozen=True, slots=True)
class Reject:
    """A subscription was refused (unknown pubsub token, user or account)."""

    identifier: str


@dataclass(frozen=True, slots=True)
class Disconnect:
    """The server closes the connection; `reconnect` False asks the client not to come back soon."""

    reason: str  # a line for the agent, from a known set (never the server's own text)
    reconnect: bool


@dataclass(frozen=True, slots=True)
class Event:
    """An event broadcast on a subscription."""

    identifier: str
    event: str
    data: dict[str, Any]


Frame = Welcome | Ping | Confirm | Reject | Disconnect | Event

_SIMPLE = {"welcome": Welcome(), "ping": Ping()}


def parse_frame(text: str | bytes) -> Frame | None:
    """One frame from the server, or None (with a debug log saying why) when it is unreadable,
    of the wrong shape or of a type this client does not follow. Never raises."""
    try:
        raw = json.loads(text)
    except (ValueError, TypeError, RecursionError):
        log.debug("skipped a frame from Chatwoot: not JSON")
        return None
    if not isinstance(raw, dict):
        log.debug("skipped a frame from Chatwoot: not an object")
        return None
    kind = raw.get("type")
    if kind is None:
        return _event(raw)
    if not isinstance(kind, str):
        log.debug("skipped a frame from Chatwoot: its type is not a string")
        return None
    if kind in _SIMPLE:
        return _SIMPLE[kind]
    if kind == "disconnect":
        reason = raw.get("reason")
        line = _DISCONNECT_REASONS.get(reason) if isinstance(reason, str) else None
        return Disconnect(line or "Chatwoot closed the connection", raw.get("reconnect") is True)
    identifier = raw.get("identifier")
    if kind in ("confirm_subscription", "reject_subscription") and isinstance(identifier, str):
        return Confirm(identifier) if kind == "confirm_subscription" else Reject(identifier)
    log.debug("skipped a frame from Chatwoot of type %r", kind[:MAX_EVENT_NAME])
    return None


def _event(raw: dict[str, Any]) -> Event | None:
    identifier, message = raw.get("identifier"), raw.get("message")
    if not isinstance(identifier, str) or not isinstance(message, dict):
        log.debug("skipped a frame from Chatwoot: no identifier or message")
        return None
    event, data = message.get("event"), message.get("data")
    if not isinstance(event, str) or len(event) > MAX_EVENT_NAME or not isinstance(data, dict):
        log.debug("skipped a frame from Chatwoot: no event name or data")
        return None
    return Event(identifier, event, data)


# ---- the connection ---------------------------------------------------------------------------


def cable_url(url: str) -> URL:
    """Chatwoot's websocket for the server at `url`: http(s)://host[/prefix] -> ws(s)://host[/prefix]/cable."""
    base = URL(url)
    schemes = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}
    if base.scheme not in schemes or not base.host:
        raise ValueError(f"the Chatwoot url {url!r} is not an http(s) address: set [desk] url")
    return (
        base.with_scheme(schemes[base.scheme])
        .with_query(None)
        .with_fragment(None)
        .joinpath("cable")
    )


def origin_of(url: str) -> str:
    """The Origin header Chatwoot checks: the server's own scheme, host and port."""
    base = URL(url)
    scheme = {"ws": "http", "wss": "https"}.get(base.scheme, base.scheme)
    return str(base.with_scheme(scheme).origin())


def retry_delays(timing: CableTiming) -> Iterator[float]:
    """Seconds to wait before each reconnect: doubling from `retry_first` up to `retry_most`."""
    delay = timing.retry_first
    while True:
        yield delay
        delay = min(delay * 2, timing.retry_most)


class _Lost(Exception):
    """The connection ended; `reason` is the agent's line, `refused` asks for the slow retry."""

    def __init__(self, reason: str, refused: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.refused = reason, refused


def _one_line(exc: BaseException | None) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


@dataclass(slots=True)
class _Clocks:
    """One connection's progress and deadlines (loop time, seconds)."""

    heard: float  # the last frame
    subscribe_by: float  # the welcome and the confirmation must have come by then
    presence_due: float = float("inf")  # the next update_presence (once subscribed)
    welcomed: bool = False
    subscribed: bool = False

    @classmethod
    def opened(cls, now: float, timing: CableTiming) -> _Clocks:
        return cls(heard=now, subscribe_by=now + timing.connect)

    def subscribed_at(self, now: float, timing: CableTiming) -> None:
        self.subscribed, self.subscribe_by = True, float("inf")
        self.presence_due = now + timing.presence

    def check(self, now: float, timing: CableTiming) -> None:
        if now >= self.heard + timing.silent:
            raise _Lost(f"no word from Chatwoot's live feed for {timing.silent:g} s")
        if now >= self.subscribe_by:
            raise _Lost(
                f"Chatwoot's live feed did not confirm the subscription within {timing.connect:g} s"
            )

    def next_due(self, timing: CableTiming) -> float:
        return min(self.heard + timing.silent, self.subscribe_by, self.presence_due)


class Cable:
    """The RoomChannel subscription of one Chatwoot user on one account, kept up until `stop()`."""

    def __init__(
        self,
        url: str,
        pubsub_token: str,
        account_id: int,
        user_id: int,
        on_event: Callable[[str, dict[str, Any]], None],
        on_link: Callable[[bool, str], None],
        timing: CableTiming = CableTiming(),
    ) -> None:
        self.url = cable_url(url)
        self._origin = origin_of(url)
        self.account_id = account_id
        self._on_event, self._on_link, self._timing = on_event, on_link, timing
        # compact, as Rails' client writes it: the server echoes this exact string back; it holds
        # the pubsub token, so it stays private and is never logged
        self._identifier = json.dumps(
            {
                "channel": CHANNEL,
                "pubsub_token": pubsub_token,
                "account_id": account_id,
                "user_id": user_id,
            },
            separators=(",", ":"),
        )
        self._subscribe_frame = json.dumps({"command": "subscribe", "identifier": self._identifier})
        self._presence_frame = json.dumps(
            {
                "command": "message",
                "identifier": self._identifier,
                "data": json.dumps({"action": "update_presence"}),
            }
        )
        self._task: asyncio.Task[None] | None = None
        self._reported: bool | None = None  # the last state told to on_link (None: nothing yet)
        self.links_up = 0
        """How many times the feed was subscribed (each one after the first is a reconnect)."""
        self.problem = "connecting to Chatwoot's live feed"
        """Why the feed is down now: the latest reason, which on_link does not repeat."""

    @property
    def up(self) -> bool:
        return self._reported is True

    async def start(self) -> None:
        """Start connecting in the background; on_link says when the feed is up."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="chatwoot-cable")

    async def stop(self) -> None:
        """Close the feed for good (on_link is not called for this)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        import aiohttp

        # proxies from the environment, as the REST client (httpx) takes them
        async with aiohttp.ClientSession(trust_env=True) as session:
            delays = retry_delays(self._timing)
            while True:
                before = self.links_up
                lost = await self._connect(session)
                if self.links_up != before:  # the backoff starts over after a link that worked
                    delays = retry_delays(self._timing)
                self._lose(lost.reason)
                await asyncio.sleep(self._timing.refused if lost.refused else next(delays))

    async def _connect(self, session: aiohttp.ClientSession) -> _Lost:
        """One connection, from the handshake until it is lost (the loss is returned)."""
        import aiohttp

        try:
            async with asyncio.timeout(self._timing.connect):
                ws = await session.ws_connect(
                    self.url,
                    protocols=SUBPROTOCOLS,
                    origin=self._origin,
                    max_msg_size=MAX_FRAME,
                )
        except aiohttp.WSServerHandshakeError as exc:
            refused = 400 <= exc.status < 500 and exc.status != 429
            where = f"Chatwoot's live feed at {self.url} answered HTTP {exc.status}"
            return _Lost(f"{where}: check [desk] url" if refused else where, refused)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            return _Lost(f"cannot reach Chatwoot's live feed at {self.url}: {_one_line(exc)}")
        try:
            async with ws:
                await self._listen(ws)
        except _Lost as lost:
            return lost
        except (aiohttp.ClientError, OSError) as exc:
            return _Lost(f"lost Chatwoot's live feed: {_one_line(exc)}")
        except Exception as exc:  # the feed outlives anything one connection does: reconnect
            log.exception("Chatwoot's live feed failed")
            return _Lost(f"lost Chatwoot's live feed: {_one_line(exc)}")
        return _Lost("Chatwoot closed the live feed")  # _listen only ends by raising

    async def _listen(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Read frames until the link is lost (raising `_Lost`), keeping the link's clocks."""
        loop = asyncio.get_running_loop()
        clocks = _Clocks.opened(loop.time(), self._timing)
        while True:
            now = loop.time()
            clocks.check(now, self._timing)
            if now >= clocks.presence_due:
                await ws.send_str(self._presence_frame)
                clocks.presence_due = now + self._timing.presence
            try:  # a receive timeout of 0 would mean none at all
                message = await ws.receive(timeout=max(clocks.next_due(self._timing) - now, 1e-3))
            except TimeoutError:
                continue
            clocks.heard = loop.time()
            await self._on_frame(ws, clocks, self._frame(ws, message))

    async def _on_frame(
        self, ws: aiohttp.ClientWebSocketResponse, clocks: _Clocks, frame: Frame | None
    ) -> None:
        """Subscribe on the welcome, rise on the confirmation, deliver events once subscribed."""
        match frame:
            case Welcome() if not clocks.welcomed:
                clocks.welcomed = True
                await ws.send_str(self._subscribe_frame)
            case Confirm(identifier) if identifier == self._identifier and not clocks.subscribed:
                clocks.subscribed_at(clocks.heard, self._timing)
                self._rise()
            case Reject(identifier) if identifier == self._identifier:
                raise _Lost(
                    f"Chatwoot refused the live feed: account {self.account_id} does not know"
                    " this user's pubsub token (check [desk] account_id and the access token)",
                    refused=True,
                )
            case Disconnect(reason, reconnect):
                raise _Lost(reason, refused=not reconnect)
            case Event() if clocks.subscribed:
                self._deliver(frame)

    def _frame(
        self, ws: aiohttp.ClientWebSocketResponse, message: aiohttp.WSMessage
    ) -> Frame | None:
        import aiohttp

        if message.type is aiohttp.WSMsgType.TEXT:
            return parse_frame(message.data)
        if message.type is aiohttp.WSMsgType.BINARY:
            log.debug("skipped a binary frame from Chatwoot")
            return None
        if message.type is aiohttp.WSMsgType.ERROR:
            error = ws.exception() or message.data
            if getattr(error, "code", None) == aiohttp.WSCloseCode.MESSAGE_TOO_BIG:
                raise _Lost(f"Chatwoot's live feed sent a frame over {MAX_FRAME // 1024} KiB")
            raise _Lost(f"lost Chatwoot's live feed: {_one_line(error)}")
        raise _Lost("Chatwoot closed the live feed")

    def _deliver(self, frame: Event) -> None:
        if frame.identifier != self._identifier:
            log.debug("skipped an event of another subscription")
            return
        if frame.event not in EVENTS:
            log.debug("skipped the %r event, which the console does not follow", frame.event)
            return
        account = frame.data.get("account_id", self.account_id)
        if type(account) is not int or account != self.account_id:
            log.debug("skipped an event of another account")  # one user, several accounts
            return
        try:
            self._on_event(frame.event, frame.data)
        except Exception:  # one event the caller could not apply must not cut the feed
            log.exception("the %s event from Chatwoot could not be applied", frame.event)

    def _rise(self) -> None:
        self.links_up += 1
        self._reported, self.problem = True, ""
        log.info("subscribed to Chatwoot's live feed at %s", self.url)
        self._tell(True, "")

    def _lose(self, reason: str) -> None:
        self.problem = reason
        if self._reported is False:
            return
        self._reported = False
        log.warning("%s", reason)
        self._tell(False, reason)

    def _tell(self, up: bool, reason: str) -> None:
        try:
            self._on_link(up, reason)
        except Exception:
            log.exception("the live feed's link change could not be applied")
