"""The console's desk in team mode: a client of a served desk over its Unix socket.

`DeskClient` implements the desk interface (`desk.interface.DeskAPI`): reads come from its
replica (the welcome's snapshot kept current by the desk's pushes), commands and the
remaining reads are calls. Each push updates the replica first and is then published on
the client's own broker, so a console's change feed reads the same records the change names.
Losing the desk is published at once (LINK lost); the replica stays for the console to show,
calls fail with a one-line DeskError, and the client reattaches by itself with backoff,
then replaces its replica from the new snapshot and publishes LINK back and a RESET.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from frontdesk import __version__
from frontdesk.backends.base import PermanentError, safe_filename, write_unique
from frontdesk.desk.canned import CannedReply
from frontdesk.desk.changes import Broker, Change, ChangeKind, Subscription
from frontdesk.desk.errors import DeskError
from frontdesk.desk.interface import REMOTE_METHODS, DeskAPI
from frontdesk.desk.views import Filters, Sort, View, ViewTally
from frontdesk.model import Conversation, Message, utcnow
from frontdesk.team.protocol import (
    MAX_CALL_FRAME,
    MAX_SERVER_FRAME,
    PING_SECONDS,
    PROTOCOL_VERSION,
    SILENT_SECONDS,
    CallCodec,
    Changes,
    Error,
    Hello,
    Ping,
    Pong,
    ProtocolError,
    Refused,
    Result,
    Welcome,
    decode_server,
    encode,
    frame,
    read_frame,
)
from frontdesk.team.replica import Replica

log = logging.getLogger("frontdesk.team")

WELCOME_SECONDS = 60.0
"""How long the welcome may take to arrive: it carries the whole snapshot of a large desk."""
RETRY_FIRST_SECONDS = 0.2
RETRY_MOST_SECONDS = 5.0


class DeskNotRunning(Exception):
    """Nothing answers on the desk's socket."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"no desk is running at {path}")
        self.path = path


class AttachRefused(Exception):
    """The desk answered and refused this console; `reason` is its one line for the agent."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Timing:
    """The link's clocks (tests shorten them)."""

    ping: float = PING_SECONDS
    silent: float = SILENT_SECONDS
    welcome: float = WELCOME_SECONDS
    retry_first: float = RETRY_FIRST_SECONDS
    retry_most: float = RETRY_MOST_SECONDS


@dataclass(eq=False)
class _Link:
    """One connection to the desk, with its reader and pinger tasks."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    calls: dict[int, tuple[str, asyncio.Future[Any]]] = field(default_factory=dict)

    def send(self, payload: bytes) -> None:
        self.writer.write(frame(payload, MAX_CALL_FRAME))

    def close(self) -> None:
        current = asyncio.current_task()
        for task in self.tasks:
            if task is not current:
                task.cancel()
        self.writer.close()


_CODEC = CallCodec(DeskAPI, REMOTE_METHODS)


async def _connect(path: Path) -> _Link:
    """Connect and say hello (the desk starts on its welcome while the caller goes on)."""
    try:
        reader, writer = await asyncio.open_unix_connection(str(path))
    except (FileNotFoundError, ConnectionRefusedError):
        raise DeskNotRunning(path) from None
    except PermissionError:
        raise AttachRefused(
            f"you may not open {path}: ask the desk's admin to add you to the socket's group"
        ) from None
    link = _Link(reader, writer)
    try:
        link.send(encode(Hello(protocol=PROTOCOL_VERSION, version=__version__)))
    except BaseException:
        link.close()
        raise
    return link


async def _welcome(link: _Link, path: Path, timing: Timing) -> Welcome:
    """The desk's answer to the hello: its welcome, else AttachRefused with its reason."""
    try:
        async with asyncio.timeout(timing.welcome):
            payload = await read_frame(link.reader, MAX_SERVER_FRAME)
        if payload is None:
            raise DeskNotRunning(path)
        answer = decode_server(payload)
    except BaseException:
        link.close()
        raise
    if isinstance(answer, Refused):
        link.close()
        raise AttachRefused(answer.reason)
    if not isinstance(answer, Welcome):
        link.close()
        raise ProtocolError(f"the desk answered the hello with {type(answer).__name__.lower()}")
    return answer


async def _open(path: Path, timing: Timing) -> tuple[_Link, Welcome]:
    link = await _connect(path)
    return link, await _welcome(link, path, timing)


class Opening:
    """A console's hello on its way: `DeskClient.connect` found a desk, `attached()` takes its welcome."""

    def __init__(self, link: _Link, path: Path, timing: Timing) -> None:
        self._link, self._path, self._timing = link, path, timing

    async def attached(self) -> DeskClient:
        welcome = await _welcome(self._link, self._path, self._timing)
        client = DeskClient(self._path, welcome.agent, self._timing)
        client._take(self._link, welcome)
        return client

    def abandon(self) -> None:
        """Hang up without taking the welcome (the console could not be prepared)."""
        self._link.close()


def retry_delays(timing: Timing) -> Iterator[float]:
    """Seconds to wait before each attempt to reattach: doubling from `retry_first` up to
    `retry_most`, then every `retry_most` for as long as it takes."""
    delay = timing.retry_first
    while True:
        yield delay
        delay = min(delay * 2, timing.retry_most)


def _peer_gone(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no word from it within the time allowed"
    return " ".join(str(exc).split()) or type(exc).__name__


class DeskClient:
    """The desk of a console attached to a served desk (`mode == "team"`)."""

    mode = "team"
    unsupported: Mapping[str, str] = MappingProxyType({})  # a served desk does all a solo one does

    def __init__(self, path: Path, agent: str, timing: Timing = Timing()) -> None:
        self.path = Path(path)
        self._agent = agent
        self._timing = timing
        self._replica = Replica(agent)
        self._broker = Broker()
        self._link: _Link | None = None
        self._ids = itertools.count(1)
        self._lost_reason = ""
        self._reattaching: asyncio.Task[None] | None = None
        self._closed = False
        self._viewing: int | None = None
        self.desk_version = ""
        self.pongs = 0  # answers to this client's pings: the desk is alive even when quiet

    @classmethod
    async def attach(cls, path: Path | str, timing: Timing = Timing()) -> DeskClient:
        """Attach to the desk serving `path`: `DeskNotRunning` when nothing answers there,
        `AttachRefused` with the desk's reason when it will not have this console."""
        return await (await cls.connect(path, timing)).attached()

    @staticmethod
    async def connect(path: Path | str, timing: Timing = Timing()) -> Opening:
        """The first half of `attach`: connect and say hello (`DeskNotRunning` when nothing
        answers). The desk builds its snapshot meanwhile, so a console imports its screen
        before it takes the welcome with `Opening.attached()`."""
        return Opening(await _connect(Path(path)), Path(path), timing)

    # ---- the link ---------------------------------------------------------------------------

    def _take(self, link: _Link, welcome: Welcome) -> None:
        self.desk_version = welcome.version
        self._replica.load(welcome.state)
        self._link = link
        link.tasks.append(asyncio.create_task(self._read(link), name="desk-client:read"))
        link.tasks.append(asyncio.create_task(self._ping(link), name="desk-client:ping"))

    async def _read(self, link: _Link) -> None:
        try:
            while True:
                async with asyncio.timeout(self._timing.silent):
                    payload = await read_frame(link.reader, MAX_SERVER_FRAME)
                if payload is None:
                    raise ConnectionError("the desk closed the connection")
                self._receive(link, decode_server(payload))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the socket, a bad frame or silence: each means the link is gone
            self._lose(link, _peer_gone(exc))

    async def _ping(self, link: _Link) -> None:
        try:
            while True:
                await asyncio.sleep(self._timing.ping)
                link.send(encode(Ping()))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._lose(link, _peer_gone(exc))

    def _receive(self, link: _Link, answer: Any) -> None:
        match answer:
            case Changes():
                self._broker.publish(self._replica.apply(answer))
            case Result():
                method, future = link.calls.pop(answer.id, (None, None))
                if future is not None and not future.done():
                    try:
                        future.set_result(_CODEC.decode_value(method, answer))
                    except ProtocolError as exc:
                        future.set_exception(DeskError(f"the desk's answer did not fit: {exc}"))
            case Error():
                _, future = link.calls.pop(answer.id, (None, None))
                if future is not None and not future.done():
                    text = (
                        answer.message if answer.kind == "desk" else f"the desk: {answer.message}"
                    )
                    future.set_exception(DeskError(text))
            case Pong():
                self.pongs += 1
            case _:
                raise ProtocolError(f"unexpected {type(answer).__name__.lower()} from the desk")

    def _lose(self, link: _Link, reason: str) -> None:
        """The link is gone: say so at once, fail the calls in flight, start reattaching."""
        if self._link is not link:
            return
        self._link = None
        self._lost_reason = reason
        link.close()
        for _, future in link.calls.values():
            if not future.done():
                future.set_exception(self._unreachable())
        link.calls.clear()
        log.warning("lost the desk at %s: %s", self.path, reason)
        self._broker.publish([Change(ChangeKind.LINK, failed=True, detail="lost")])
        if not self._closed:
            self._reattaching = asyncio.create_task(self._reattach(), name="desk-client:reattach")

    async def _reattach(self) -> None:
        for delay in retry_delays(self._timing):
            await asyncio.sleep(delay)
            try:
                link, welcome = await _open(self.path, self._timing)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._lost_reason = _peer_gone(exc)
                continue
            self._take(link, welcome)
            log.info("reattached to the desk at %s", self.path)
            self._broker.publish([Change(ChangeKind.LINK, detail="back"), Change(ChangeKind.RESET)])
            if self._viewing is not None:  # the desk forgot what this console showed
                await self._tell_viewing()
            return

    async def _tell_viewing(self) -> None:
        try:
            await self._call("set_viewing", {"conv_id": self._viewing})
        except DeskError as exc:
            log.info("could not tell the desk what this console shows: %s", exc)

    def _unreachable(self) -> DeskError:
        return DeskError(f"the desk is not reachable: {self._lost_reason}")

    @property
    def attached(self) -> bool:
        return self._link is not None

    @property
    def link_problem(self) -> str:
        return "" if self._link is not None else f"lost the desk: {self._lost_reason}"

    async def _call(self, method: str, args: dict[str, Any]) -> Any:
        link = self._link
        if link is None:
            raise self._unreachable()
        call_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        link.calls[call_id] = (method, future)
        try:
            link.send(_CODEC.encode_call(call_id, method, args))
        except Exception:
            link.calls.pop(call_id, None)
            raise
        return await future

    # ---- lifecycle (the console starts and stops its desk) ----------------------------------

    async def start(self) -> None:
        """Attached already: nothing to start."""

    async def stop(self) -> None:
        """Detach for good: no reattaching, calls in flight fail."""
        self._closed = True
        if self._reattaching is not None:
            self._reattaching.cancel()
            await asyncio.gather(self._reattaching, return_exceptions=True)
        link = self._link
        if link is not None:
            self._lost_reason = "this console detached"
            self._link = None
            link.close()
            for _, future in link.calls.values():
                if not future.done():
                    future.set_exception(self._unreachable())
            await asyncio.gather(*link.tasks, return_exceptions=True)
            try:
                await link.writer.wait_closed()
            except (OSError, ConnectionError):
                pass

    close = stop

    # ---- state read locally -----------------------------------------------------------------

    @property
    def agent(self) -> str:
        return self._agent

    def now(self) -> datetime:
        """This console's clock (the desk's runs on the same machine)."""
        return utcnow()

    @property
    def agents(self) -> list[str]:
        return self._replica.agents

    @property
    def escalation_targets(self) -> list[str]:
        return self._replica.escalation_targets

    @property
    def hooks(self):
        return self._replica.hooks

    @property
    def channel_status(self):
        return self._replica.channel_status

    @property
    def replica(self) -> Replica:
        return self._replica

    def subscribe(self) -> Subscription:
        return self._broker.subscribe()

    def agent_name(self, user: str) -> str:
        return self._replica.agent_name(user)

    def online(self):
        return self._replica.online()

    def activity(self, conv_id: int):
        return self._replica.activity(conv_id)

    def channel_kind(self, channel: str) -> str:
        return self._replica.channel_kind(channel)

    def channel_name(self, channel: str) -> str:
        return self._replica.channel_name(channel)

    def sms_length(self, channel: str, text: str):
        return self._replica.sms_length(channel, text)

    def is_typing(self, conv_id: int) -> bool:
        return self._replica.is_typing(conv_id)

    def contact_name(self, contact_id: int) -> str:
        return self._replica.contact_name(contact_id)

    def hook_jobs(self, conv_id: int | None = None):
        return self._replica.hook_jobs(conv_id)

    async def conversations(
        self,
        view: View = View.ALL,
        *,
        sort: Sort | None = Sort.ACTIVITY,
        filters: Filters = Filters(),
    ) -> list[Conversation]:
        return self._replica.conversations(view, sort=sort, filters=filters)

    async def counts(self, filters: Filters = Filters()) -> dict[View, int]:
        return self._replica.counts(filters)

    async def more(self, view: View = View.ALL, filters: Filters = Filters()) -> bool:
        """The replica holds every conversation of the desk: no page to load."""
        return False

    async def shared_canned(self) -> list[CannedReply]:
        """Canned replies are the agent's own canned.toml here: none shared by a server."""
        return []

    async def tally(self, filters: Filters = Filters()) -> ViewTally:
        return self._replica.tally(filters)

    async def labels(self) -> list[str]:
        return self._replica.labels()

    async def channel_names(self) -> list[str]:
        return self._replica.channel_names()

    async def conversation(self, conv_id: int) -> Conversation:
        conv = self._replica.conversation(conv_id)
        if conv is None:
            raise DeskError(f"no conversation #{conv_id}")
        return conv

    async def contact_conversations(self, contact_id: int) -> list[Conversation]:
        return self._replica.contact_conversations(contact_id)

    async def thread(self, conv_id: int) -> list[Message]:
        """The kept thread when there is one; else read through the socket and kept from then on."""
        kept = self._replica.thread(conv_id)
        if kept is not None:
            return kept
        messages = await self._call("thread", {"conv_id": conv_id})
        return self._replica.keep_thread(conv_id, messages)

    async def message(self, conv_id: int, message_id: int) -> Message | None:
        kept, message = self._replica.message(conv_id, message_id)
        if kept:
            return message
        return await self._call("message", {"conv_id": conv_id, "message_id": message_id})

    async def save_attachment(
        self, conv_id: int, message_id: int, index: int, downloads_dir: str | os.PathLike[str]
    ) -> Path:
        """Fetch the attachment's bytes from the desk and write them here, as this agent: the desk's
        own Unix user never writes into a folder a console names."""
        got = await self.attachment_data(conv_id, message_id, index)
        try:
            return write_unique(Path(downloads_dir), safe_filename(got.name), got.data)
        except PermanentError as exc:
            raise DeskError(str(exc)) from None

    async def set_viewing(self, conv_id: int | None) -> None:
        self._viewing = conv_id
        await self._call("set_viewing", {"conv_id": conv_id})


def _remote(name: str) -> Callable[..., Any]:
    """A method that calls `name` on the served desk with its arguments named as DeskAPI names them."""
    signature = inspect.signature(getattr(DeskAPI, name))

    async def call(self: DeskClient, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        named = {k: v for k, v in bound.arguments.items() if k != "self"}
        return await self._call(name, named)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"`{name}` of the served desk (a call through the socket)."
    return call


for _name in sorted(REMOTE_METHODS):
    if _name not in DeskClient.__dict__:
        setattr(DeskClient, _name, _remote(_name))
