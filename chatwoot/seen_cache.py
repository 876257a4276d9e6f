"""The seen cache: what a Chatwoot console last knew of its account, in one file, so it starts at once.

`SeenCache.save` writes the `SeenState` (no token of any kind) and the outbox's entries as one
msgpack file, atomically (a new file beside the old, fsynced, renamed over it, the directory
fsynced), 0600 in a 0700 directory. It keeps the `MAX_CONVERSATIONS` most recently active
conversations, their contacts and the kept threads (each cut to its `MAX_THREAD_MESSAGES`
newest). `load` reads it back; a damaged file or one of another format version is set aside
as `*.damaged` and reported in one line, and the console starts without it.

`Saver` coalesces the desk's many save requests into one write per `delay`, encoding in the
event loop (the state is not shared with a thread) and writing in a thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

import msgspec

from frontdesk.chatwoot.outbox import OutboxEntry
from frontdesk.chatwoot.state import CannedResponse, SeenState, ServerAgent, ServerInbox
from frontdesk.desk.views import View
from frontdesk.model import Contact, Conversation, Message, utcnow
from frontdesk.store.storage import FILE_MODE, atomic_write, ensure_private_dir

log = logging.getLogger("frontdesk.chatwoot.seen_cache")

FORMAT_VERSION = 1
"""Bumped when a saved file can no longer be read into today's records."""
FILE_NAME = "seen.msgpack"
MAX_CONVERSATIONS = 20_000
"""Conversations saved: the most recently active (the rest are fetched again when asked for)."""
MAX_THREAD_MESSAGES = 1_000
"""Messages saved per kept thread: the newest (earlier pages are fetched again on scrolling)."""
MAX_FILE_BYTES = 512 * 1024 * 1024
"""A larger file is not read (far past what the bounds above can write)."""


class _Thread(msgspec.Struct):
    conversation_id: int
    older: bool
    messages: list[Message]


class _Header(msgspec.Struct):
    version: int
    account: str = ""


class _Saved(msgspec.Struct):
    version: int
    account: str
    saved_at: datetime
    me: ServerAgent | None
    agents: list[ServerAgent]
    inboxes: list[ServerInbox]
    teams: dict[int, str]
    labels: list[str]
    canned: list[CannedResponse]
    conversations: list[Conversation]
    contacts: list[Contact]
    contact_names: dict[int, str]
    threads: list[_Thread]  # least recently read first, as SeenState keeps them
    server_counts: dict[View, int]
    outbox: list[OutboxEntry]


_encoder = msgspec.msgpack.Encoder()
_header_decoder = msgspec.msgpack.Decoder(_Header)
_decoder = msgspec.msgpack.Decoder(_Saved)


class SeenCache:
    """The seen cache file of one Chatwoot account in `directory`. `account` (the server and
    account id, e.g. "https://chat.example.com#1") is written in the file; a file of another
    account is not loaded."""

    def __init__(self, directory: Path, *, account: str = "") -> None:
        self.directory = directory
        self.path = directory / FILE_NAME
        self.account = account

    def load(self) -> tuple[SeenState | None, list[OutboxEntry], list[str]]:
        """(the state saved, the outbox entries saved, problems): (None, [], []) when nothing
        was saved; a file that cannot be read gives None and one line saying why and where."""
        try:
            raw = self._read()
        except FileNotFoundError:
            return None, [], []
        except OSError as exc:
            return None, [], [f"{self.path}: cannot be read ({exc.strerror}); starting without it"]
        if raw is None:
            return None, [], [self._set_aside(f"is larger than {MAX_FILE_BYTES:,} bytes")]
        try:
            header = _header_decoder.decode(raw)
        except (msgspec.DecodeError, RecursionError) as exc:
            return None, [], [self._set_aside(f"is damaged ({_one_line(exc)})")]
        if header.version != FORMAT_VERSION:
            return None, [], [self._set_aside(f"is of another format ({header.version!r})")]
        if header.account != self.account:
            return None, [], [f"{self.path} holds another Chatwoot account; starting without it"]
        try:
            saved = _decoder.decode(raw)
        except (msgspec.DecodeError, RecursionError) as exc:
            return None, [], [self._set_aside(f"is damaged ({_one_line(exc)})")]
        return _state_of(saved), saved.outbox, []

    def encode(self, state: SeenState, entries: Iterable[OutboxEntry]) -> bytes:
        """The file's bytes for `state` and `entries` (run where the state is not changing)."""
        return _encoder.encode(_saved(state, list(entries), self.account))

    def write(self, data: bytes) -> None:
        """Replace the file with `data` atomically and durably (safe to run in a thread)."""
        ensure_private_dir(self.directory)
        atomic_write(self.path, data)

    def save(self, state: SeenState, entries: Iterable[OutboxEntry]) -> None:
        self.write(self.encode(state, entries))

    def _read(self) -> bytes | None:
        fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            if os.fstat(fd).st_size > MAX_FILE_BYTES:
                return None
            if os.fstat(fd).st_mode & 0o777 != FILE_MODE:
                os.fchmod(fd, FILE_MODE)  # a copy restored from a backup may be readable by others
            with open(fd, "rb", closefd=False) as file:
                return file.read()
        finally:
            os.close(fd)

    def _set_aside(self, what: str) -> str:
        aside = self.path.with_name(self.path.name + ".damaged")
        try:
            os.replace(self.path, aside)
            where = f"set aside as {aside.name}"
        except OSError as exc:
            where = f"could not be set aside ({exc.strerror})"
        line = f"{self.path} {what}: {where}; starting without it (Chatwoot is read again)"
        log.warning("seen cache: %s", line)
        return line


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


def _saved(state: SeenState, entries: list[OutboxEntry], account: str) -> _Saved:
    conversations = sorted(
        state.conversations.values(), key=lambda c: c.last_activity_at, reverse=True
    )[:MAX_CONVERSATIONS]
    kept = {c.id for c in conversations}
    contact_ids = {c.contact_id for c in conversations}
    threads = [
        _thread(conv_id, messages, state.older.get(conv_id, False))
        for conv_id, messages in state.threads.items()
        if conv_id in kept
    ]
    return _Saved(
        version=FORMAT_VERSION,
        account=account,
        saved_at=utcnow(),
        me=state.me,
        agents=list(state.agents.values()),
        inboxes=list(state.inboxes.values()),
        teams=dict(state.teams),
        labels=list(state.labels),
        canned=list(state.canned),
        conversations=conversations,
        contacts=[c for c in state.contacts.values() if c.id in contact_ids],
        contact_names={i: n for i, n in state.contact_names.items() if i in contact_ids},
        threads=threads,
        server_counts=dict(state.server_counts),
        outbox=entries,
    )


def _thread(conv_id: int, messages: dict[int, Message], older: bool) -> _Thread:
    if len(messages) <= MAX_THREAD_MESSAGES:
        return _Thread(conv_id, older, list(messages.values()))
    # the newest server messages, and every local one not yet sent (the outbox holds it)
    server = sorted((m for m in messages.values() if m.id > 0), key=lambda m: m.id)
    local = [m for m in messages.values() if m.id < 0]
    return _Thread(conv_id, True, server[-MAX_THREAD_MESSAGES:] + local)


def _state_of(saved: _Saved) -> SeenState:
    return SeenState(
        me=saved.me,
        agents={a.id: a for a in saved.agents},
        inboxes={i.id: i for i in saved.inboxes},
        teams=saved.teams,
        labels=saved.labels,
        canned=saved.canned,
        conversations={c.id: c for c in saved.conversations},
        contacts={c.id: c for c in saved.contacts},
        contact_names=saved.contact_names,
        threads=OrderedDict(
            (t.conversation_id, {m.id: m for m in t.messages}) for t in saved.threads
        ),
        older={t.conversation_id: t.older for t in saved.threads},
        server_counts=saved.server_counts,
    )


class Saver:
    """Coalesces save requests: at most one write per `delay` seconds, and a last one at
    `close()`. A write that fails (disk full, folder gone) is logged and kept in `problem`;
    the next request tries again."""

    def __init__(
        self,
        cache: SeenCache,
        get_state: Callable[[], SeenState],
        get_entries: Callable[[], Iterable[OutboxEntry]],
        delay: float = 2.0,
    ) -> None:
        self.cache = cache
        self._get_state = get_state
        self._get_entries = get_entries
        self.delay = delay
        self.writes = 0
        self.problem = ""
        self._dirty = False
        self._task: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()

    def request(self) -> None:
        """Something worth saving changed: it is written within `delay` seconds."""
        if self._closing.is_set():
            return
        self._dirty = True
        if self._task is None:
            self._task = asyncio.create_task(self._later(), name="chatwoot-seen-cache")

    async def close(self) -> None:
        """Write what is not written yet, now; later requests are ignored."""
        self._closing.set()  # ends the wait of a write to come: it is made at once
        if self._task is not None:
            await self._task
        elif self._dirty:
            await self._write()

    async def _later(self) -> None:
        try:
            while self._dirty:
                try:
                    async with asyncio.timeout(self.delay):
                        await self._closing.wait()
                except TimeoutError:
                    pass
                await self._write()
                if self._closing.is_set():
                    break
        finally:
            self._task = None

    async def _write(self) -> None:
        self._dirty = False
        data = self.cache.encode(self._get_state(), self._get_entries())
        try:
            await asyncio.to_thread(self.cache.write, data)
        except OSError as exc:
            self._dirty = True
            self.problem = (
                f"{self.cache.path} could not be written ({exc.strerror or exc}); "
                "free space or fix the folder's permissions"
            )
            log.warning("seen cache: %s", self.problem)
            return
        self.writes += 1
        self.problem = ""
