"""The served desk: the desk API on a Unix socket, one handler task per attached console.

Who a console is comes from the kernel (SO_PEERCRED → Unix user → `[team.agents]`); every
call it makes runs with `ACTING_AGENT` set to that user. The desk's changes go out as one
push per burst, encoded once, into a bounded queue per console with its own writer task,
so a slow or stuck console is dropped (it reattaches with a fresh snapshot) and never
holds up the desk or the others. Garbage, oversized frames and silent peers are closed
and logged; the desk stays up.
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import logging
import os
import signal
import socket
import stat
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from frontdesk.desk import Desk
from frontdesk.desk.acting import ACTING_AGENT
from frontdesk.desk.changes import Change, ChangeKind
from frontdesk.desk.errors import DeskError
from frontdesk.desk.interface import REMOTE_METHODS, SUPERVISOR_METHODS, DeskAPI
from frontdesk.store import StoreError
from frontdesk.team.connection import QUEUE_BYTES, QUEUE_FRAMES, Connection
from frontdesk.team.peercred import PeerCred, peer_credentials, user_name
from frontdesk.team.protocol import (
    HELLO_SECONDS,
    MAX_CALL_FRAME,
    MAX_CLIENT_FRAME,
    MAX_SERVER_FRAME,
    PROTOCOL_VERSION,
    SILENT_SECONDS,
    Call,
    CallCodec,
    CallError,
    Changes,
    ChannelInfo,
    Error,
    ErrorKind,
    Hello,
    Ping,
    Pong,
    ProtocolError,
    Refused,
    Snapshot,
    Welcome,
    decode_client,
    encode,
    frame,
    read_frame,
)

log = logging.getLogger("frontdesk.team")

DRAIN_SECONDS = 10.0
"""On SIGTERM, replies being sent get this long to finish before the desk stops."""
CLOSE_SECONDS = 5.0
"""On close, a console's call in progress gets this long to finish."""
SOCKET_MODE, DIR_MODE = 0o660, 0o750
_MESSAGE_CHARS = 300
_SUN_PATH_BYTES = 107  # sockaddr_un's path, less its closing NUL


class ServeError(Exception):
    """The desk cannot serve (socket in use, bad group, path too long): one line for the admin."""


@dataclass(frozen=True, slots=True)
class Admission:
    """Who may attach: the desk's owner, the `[team.agents]` users, or (a demo without [team])
    anyone who can reach the socket."""

    owner: str
    agents: frozenset[str]
    config_path: Path
    open_door: bool = False
    supervisors: frozenset[str] = frozenset()

    def refusal(self, user: str) -> str | None:
        """None if `user` may attach, else the one line they are told."""
        if self.open_door or user == self.owner or user in self.agents:
            return None
        return (
            f"{user} is not an agent of this desk: ask its admin to add "
            f"[team.agents.{user}] to {self.config_path}"
        )

    def supervision_refusal(self, user: str) -> str | None:
        """None if `user` may make supervisors' calls (reports), else the line they are told."""
        if self.open_door or user == self.owner or user in self.supervisors:
            return None
        return (
            f'reports are for supervisors: ask the admin to set role = "supervisor" '
            f"in [team.agents.{user}] of {self.config_path}"
        )


def _one_line(text: str) -> str:
    return " ".join(text.split())[:_MESSAGE_CHARS]


class DeskServer:
    """Serves `desk` on the Unix socket at `path` until `close()`."""

    def __init__(
        self,
        desk: Desk,
        path: Path,
        *,
        admission: Admission,
        version: str,
        group: str | None = None,
        group_key: str = "[team] group",
        queue_frames: int = QUEUE_FRAMES,
        queue_bytes: int = QUEUE_BYTES,
        hello_seconds: float = HELLO_SECONDS,
        silent_seconds: float = SILENT_SECONDS,
    ) -> None:
        self.desk = desk
        self.path = Path(path)
        self.admission = admission
        self.version = version
        self.group = group
        self._group_key = group_key
        self._queue_frames = queue_frames
        self._queue_bytes = queue_bytes
        self._hello_seconds = hello_seconds
        self._silent_seconds = silent_seconds
        self.codec = CallCodec(DeskAPI, REMOTE_METHODS)
        self.connections: set[Connection] = set()
        self._handlers: dict[asyncio.Task[Any], asyncio.StreamWriter] = {}
        self._server: asyncio.Server | None = None
        self._fan_out: asyncio.Task[None] | None = None
        self._inode: int | None = None
        self._closing = False

    # ---- the socket --------------------------------------------------------------------------

    async def start(self) -> None:
        """Claim the socket (a stale file is replaced, a live desk refused) and listen."""
        if len(os.fsencode(self.path)) > _SUN_PATH_BYTES:
            raise ServeError(
                f"the socket path {self.path} is longer than {_SUN_PATH_BYTES} bytes; "
                "set a shorter [team] socket"
            )
        gid = self._group_id()
        self._claim()
        self._make_dir(gid)
        subscription = self.desk.subscribe()
        old_umask = os.umask(0o777 & ~SOCKET_MODE)  # the socket is born 0660, never wider
        try:
            self._server = await asyncio.start_unix_server(self._accept, path=str(self.path))
        except OSError as exc:
            subscription.close()
            raise ServeError(
                f"cannot listen on {self.path}: {exc.strerror or exc}; check [team] socket"
            ) from None
        finally:
            os.umask(old_umask)
        os.chmod(self.path, SOCKET_MODE)
        if gid is not None:
            os.chown(self.path, -1, gid)
        self._inode = os.stat(self.path).st_ino
        self._fan_out = asyncio.create_task(self._push_forever(subscription), name="desk-fan-out")
        log.info(
            "serving the desk on %s (protocol %d, frontdesk %s, pid %d)",
            self.path,
            PROTOCOL_VERSION,
            self.version,
            os.getpid(),
        )
        if self.admission.open_door:
            log.info("demo without [team]: any local user who can reach the socket may attach")

    def _group_id(self) -> int | None:
        if self.group is None:
            return None
        try:
            return grp.getgrnam(self.group).gr_gid
        except KeyError:
            raise ServeError(
                f"{self._group_key}: there is no Unix group {self.group!r}; "
                f"create it (groupadd {self.group}) or fix the name"
            ) from None

    def _claim(self) -> None:
        try:
            mode = os.lstat(self.path).st_mode
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(mode):
            raise ServeError(
                f"{self.path} exists and is not a socket; remove it or set another [team] socket"
            )
        pid = _answering_pid(self.path)
        if pid is not None:
            raise ServeError(f"a desk already serves {self.path} (pid {pid})")
        log.info("replacing the stale socket %s (nobody answers on it)", self.path)
        self.path.unlink(missing_ok=True)

    def _make_dir(self, gid: int | None) -> None:
        folder = self.path.parent
        if folder.exists():
            return  # an existing directory keeps its mode: it may be the 0700 data dir
        folder.mkdir(mode=DIR_MODE, parents=True)
        os.chmod(folder, DIR_MODE)
        if gid is not None:
            os.chown(folder, -1, gid)

    async def close(self) -> None:
        """Stop accepting, cut every console, and take the socket file away."""
        self._closing = True
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn.close()
        for writer in self._handlers.values():
            writer.transport.abort()  # consoles still in their handshake too
        if self._fan_out is not None:
            self._fan_out.cancel()
        tasks = [*self._handlers, *([self._fan_out] if self._fan_out else [])]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=CLOSE_SECONDS)
            for task in late:  # a handler inside a long desk call
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        with contextlib.suppress(OSError):
            if self._inode is not None and os.stat(self.path).st_ino == self._inode:
                self.path.unlink()

    # ---- one console ---------------------------------------------------------------------------

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Handle a new console in a task of ours, so closing knows it from the start."""
        if self._closing:  # accepted as the desk closes: cut it rather than leave a task behind
            writer.transport.abort()
            return
        task = asyncio.create_task(self._run_console(reader, writer), name="desk-console")
        self._handlers[task] = writer

    async def _run_console(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            await self._handle(reader, writer)
        finally:
            self._handlers.pop(asyncio.current_task(), None)  # type: ignore[arg-type]
            writer.transport.abort()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        cred = peer_credentials(writer.get_extra_info("socket"))
        user = user_name(cred.uid)
        ACTING_AGENT.set(user)  # this task's context: every call below is authored by `user`
        who = f"{user} (pid {cred.pid})"
        conn: Connection | None = None
        try:
            conn = await self._handshake(reader, writer, cred, user)
            if conn is not None:
                await self._serve_calls(reader, conn)
        except ProtocolError as exc:
            log.warning("closed %s: %s", who, exc)
        except (ConnectionError, OSError) as exc:
            log.info("lost %s: %s", who, exc.__class__.__name__)
        finally:
            if conn is not None:
                self._detach(conn)

    async def _handshake(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        cred: PeerCred,
        user: str,
    ) -> Connection | None:
        try:
            async with asyncio.timeout(self._hello_seconds):
                payload = await read_frame(reader, MAX_CLIENT_FRAME)
        except TimeoutError:
            raise ProtocolError(f"no hello within {self._hello_seconds:g} s") from None
        if payload is None:
            return None
        hello = decode_client(payload)
        if not isinstance(hello, Hello):
            raise ProtocolError(f"the first frame is a {type(hello).__name__.lower()}, not a hello")
        if hello.protocol != PROTOCOL_VERSION:
            await self._refuse(writer, user, cred, self._version_refusal(hello))
            return None
        reason = self.admission.refusal(user)
        if reason is not None:
            await self._refuse(writer, user, cred, reason)
            return None
        conn = Connection(
            writer, cred, user, max_frames=self._queue_frames, max_bytes=self._queue_bytes
        )
        # join, snapshot, welcome and registering happen without an await between them, so
        # the console misses no change and sees the snapshot first
        if hello.join:
            self.desk.presence.join(user)
            conn.joined = True
        welcome = Welcome(
            protocol=PROTOCOL_VERSION, version=self.version, agent=user, state=self.snapshot()
        )
        conn.send(frame(encode(welcome), MAX_SERVER_FRAME))
        self.connections.add(conn)
        conn.start()
        log.info("%s attached%s", conn, "" if hello.join else " (looking only)")
        return conn

    def _version_refusal(self, hello: Hello) -> str:
        theirs = f"protocol {hello.protocol}" + (
            f" (frontdesk {_one_line(hello.version)[:40]})" if hello.version else ""
        )
        return (
            f"this desk speaks protocol {PROTOCOL_VERSION} (frontdesk {self.version}) and your "
            f"console speaks {theirs}: run the same frontdesk version as the desk"
        )

    async def _refuse(
        self, writer: asyncio.StreamWriter, user: str, cred: PeerCred, reason: str
    ) -> None:
        log.warning("refused %s (pid %d): %s", user, cred.pid, reason)
        writer.write(frame(encode(Refused(reason=reason)), MAX_SERVER_FRAME))
        with contextlib.suppress(TimeoutError, ConnectionError, OSError):
            async with asyncio.timeout(self._hello_seconds):
                await writer.drain()

    async def _serve_calls(self, reader: asyncio.StreamReader, conn: Connection) -> None:
        while not conn.closed:
            try:
                async with asyncio.timeout(self._silent_seconds):
                    payload = await read_frame(reader, MAX_CALL_FRAME)
            except TimeoutError:
                raise ProtocolError(f"silent for {self._silent_seconds:g} s") from None
            if payload is None:
                return
            envelope = decode_client(payload)
            if isinstance(envelope, Ping):
                conn.send(frame(encode(Pong()), MAX_SERVER_FRAME))
            elif isinstance(envelope, Call):
                conn.send(await self._answer(conn, envelope))
            else:
                raise ProtocolError("a second hello")

    async def _answer(self, conn: Connection, call: Call) -> bytes:
        """The framed result or error for one call; nothing a call does stops the desk."""
        try:
            if call.method in SUPERVISOR_METHODS:
                refusal = self.admission.supervision_refusal(conn.user)
                if refusal is not None:
                    return _error(call.id, "refused", refusal)
            args = self.codec.decode_args(call)
            value = await getattr(self.desk, call.method)(**args)
            return frame(self.codec.encode_result(call.id, value), MAX_SERVER_FRAME)
        except CallError as exc:
            log.warning("refused a call of %s: %s", conn, exc)
            return _error(call.id, "refused", str(exc))
        except (DeskError, StoreError) as exc:
            return _error(call.id, "desk", str(exc))
        except Exception:
            log.exception("%s's call of %s failed", conn, _one_line(call.method)[:80])
            return _error(call.id, "internal", f"the desk failed on {call.method}; see its log")

    def _detach(self, conn: Connection) -> None:
        self.connections.discard(conn)
        conn.close()
        if conn.joined:
            conn.joined = False
            self.desk.presence.leave(conn.user)
        log.info("%s detached", conn)

    # ---- what consoles receive -----------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        desk = self.desk
        conversations = desk.store.conversations()
        names = sorted({*desk.channels, *(c.channel for c in conversations)})
        return Snapshot(
            conversations=conversations,
            contact_names=self._contact_names(conversations),
            agents=desk.agents,
            agent_names={user: desk.agent_name(user) for user in desk.agents},
            channels={n: ChannelInfo(desk.channel_kind(n), desk.channel_name(n)) for n in names},
            channel_status=dict(desk.channel_status),
            escalation_targets=list(desk.escalation_targets),
            hooks=list(desk.hooks),
            hook_jobs=desk.hook_jobs(),
            presence=desk.presence.state(),
            typing=[c.id for c in conversations if desk.is_typing(c.id)],
        )

    def _contact_names(self, conversations: Iterable[Any]) -> dict[int, str]:
        return {c.contact_id: self.desk.contact_name(c.contact_id) for c in conversations}

    def push(self, burst: list[Change]) -> Changes:
        """The push for one burst: the changes and the current record of all they name."""
        desk, store = self.desk, self.desk.store
        kinds = {c.kind for c in burst}
        reset = ChangeKind.RESET in kinds
        if reset:
            conversations = store.conversations()
        else:
            ids = sorted({c.conversation_id for c in burst if c.conversation_id is not None})
            conversations = [conv for i in ids if (conv := store.conversation(i)) is not None]
        messages = [
            message
            for c in burst
            if c.kind is ChangeKind.MESSAGE and c.conversation_id is not None
            if c.message_id is not None
            if (message := store.message(c.conversation_id, c.message_id)) is not None
        ]
        presence_kinds = {ChangeKind.PRESENCE, ChangeKind.ACTIVITY}
        return Changes(
            changes=burst,
            conversations=conversations,
            messages=messages,
            contact_names=self._contact_names(conversations),
            presence=desk.presence.state() if reset or kinds & presence_kinds else None,
            hook_jobs=desk.hook_jobs() if reset or ChangeKind.HOOK in kinds else None,
            channel_status=(
                dict(desk.channel_status) if reset or ChangeKind.CHANNEL in kinds else None
            ),
        )

    async def _push_forever(self, subscription: Any) -> None:
        try:
            async for change in subscription:
                burst = [change, *subscription.pending()]
                try:
                    data = frame(encode(self.push(burst)), MAX_SERVER_FRAME)
                except Exception:
                    log.exception("could not build the push for %d changes", len(burst))
                    data = frame(
                        encode(Changes(changes=[Change(ChangeKind.RESET)])), MAX_SERVER_FRAME
                    )
                for conn in list(self.connections):
                    conn.send(data)
        finally:
            subscription.close()


def _error(call_id: int, kind: ErrorKind, message: str) -> bytes:
    return frame(encode(Error(id=call_id, kind=kind, message=_one_line(message))), MAX_SERVER_FRAME)


def _answering_pid(path: Path) -> int | None:
    """The pid of the process serving `path`, None if nobody answers (a stale socket)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError):
        return None
    except OSError as exc:
        raise ServeError(f"cannot check {path}: {exc.strerror or exc}") from None
    else:
        return peer_credentials(probe).pid
    finally:
        probe.close()


async def serve_until_stopped(
    desk: Desk, server: DeskServer, prepare: Callable[[], Awaitable[None]] | None = None
) -> None:
    """Run the desk and its socket until SIGTERM or SIGINT, then stop accepting, cut the consoles,
    let replies being sent finish and stop the desk (the caller closes the store: a checkpoint)."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    signals = (signal.SIGTERM, signal.SIGINT)
    for signum in signals:
        loop.add_signal_handler(signum, stopping.set)
    try:
        if prepare is not None:
            await prepare()
        await server.start()
        await desk.start()
        # served, "online" means a console is attached, not that the desk runs
        desk.presence.leave(desk.agent)
        await stopping.wait()
        log.info("stopping: no new consoles, %d attached cut", len(server.connections))
    finally:
        await server.close()
        if not await desk.drain_sends(DRAIN_SECONDS):
            log.warning(
                "replies still sending after %g s are left to the next start", DRAIN_SECONDS
            )
        await desk.stop()
        for signum in signals:
            loop.remove_signal_handler(signum)
