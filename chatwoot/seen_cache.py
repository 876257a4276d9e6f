"""The seen cache: what a Chatwoot console last knew of its account, so it starts at once.

Two files in the account's folder, each behind a checked head (`cache_files.py`), written
atomically (a new file beside the old, fsynced, renamed over it, the folder fsynced), 0600 in
a 0700 folder, never holding a token:

- `seen.msgpack`: the `SeenState`, bounded: the `MAX_CONVERSATIONS` most recently active
  conversations, their contacts and the kept threads (each cut to its `MAX_THREAD_MESSAGES`
  newest). Written by `Saver`, which coalesces the desk's save requests into one write per
  `delay` (encoded in the event loop, where the state changes; written in a thread).
- `outbox.msgpack`: the outbox's entries, small, written by `keep_outbox` each time a reply is
  about to be posted (the outbox awaits it), so a crash after the post never finds the reply
  still pending and posts it again.

`load` reads both; a damaged file or one of another format version is set aside as
`*.damaged` and reported in one line, and the console starts without it (a damaged state file
loses no queued reply: the outbox has its own file).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from frontdesk.chatwoot.cache_files import (
    one_line,
    pack,
    read_private,
    set_aside,
    unpack,
    write_private,
)
from frontdesk.chatwoot.outbox import OutboxEntry
from frontdesk.chatwoot.state import CannedResponse, SeenState, ServerAgent, ServerInbox
from frontdesk.desk.views import View
from frontdesk.model import Contact, Conversation, Message, utcnow
from frontdesk.store.storage import no_gc

log = logging.getLogger("frontdesk.chatwoot.seen_cache")

FILE_NAME = "seen.msgpack"
OUTBOX_FILE_NAME = "outbox.msgpack"
STATE_MAGIC = b"FDCWSEEN"
OUTBOX_MAGIC = b"FDCWOUTB"
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


class _Saved(msgspec.Struct):
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


class _SavedOutbox(msgspec.Struct):
    account: str
    entries: list[OutboxEntry]


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(_Saved)
_outbox_decoder = msgspec.msgpack.Decoder(_SavedOutbox)


class SeenCache:
    """The seen cache and outbox files of one Chatwoot account in `directory`. `account` (the
    server and account id, e.g. "https://chat.example.com#1") is written in both; a file of
    another account is not loaded."""

    def __init__(self, directory: Path, *, account: str = "") -> None:
        self.directory = directory
        self.path = directory / FILE_NAME
        self.outbox_path = directory / OUTBOX_FILE_NAME
        self.account = account
        self.saved_at: datetime | None = None
        """When the state `load()` read was written (for telling the agent how old it is)."""
        self._outbox_lock = asyncio.Lock()

    def load(self) -> tuple[SeenState | None, list[OutboxEntry], list[str]]:
        """(the state saved or None, the outbox entries saved, problems): (None, [], []) when
        nothing was saved; each file that cannot be read is one line saying why and where."""
        problems: list[str] = []
        saved = self._load(self.path, STATE_MAGIC, _decoder, problems, "Chatwoot is read again")
        outbox = self._load(
            self.outbox_path,
            OUTBOX_MAGIC,
            _outbox_decoder,
            problems,
            "replies written before may not have been posted: check their threads",
        )
        state = None
        if saved is not None:
            self.saved_at = saved.saved_at
            state = _state_of(saved)
        return state, outbox.entries if outbox is not None else [], problems

    def save(self, state: SeenState, entries: Iterable[OutboxEntry]) -> None:
        """Write both files now (in this thread)."""
        write_private(self.outbox_path, self.encode_outbox(entries))
        write_private(self.path, self.encode(state))

    def encode(self, state: SeenState) -> bytes:
        """The state file's bytes (run where the state is not changing: the event loop)."""
        return pack(STATE_MAGIC, _encoder.encode(_saved(state, self.account)))

    def write(self, data: bytes) -> None:
        """Replace the state file with `data` (safe to run in a thread)."""
        write_private(self.path, data)

    def encode_outbox(self, entries: Iterable[OutboxEntry]) -> bytes:
        return pack(OUTBOX_MAGIC, _encoder.encode(_SavedOutbox(self.account, list(entries))))

    async def keep_outbox(self, get_entries: Callable[[], Iterable[OutboxEntry]]) -> None:
        """Write the outbox file with the entries as they are once it is this call's turn: calls
        write one at a time, each with what was current when it began, so an older list never
        lands after a newer one. Raises OSError when the file cannot be written."""
        async with self._outbox_lock:
            data = self.encode_outbox(get_entries())
            await asyncio.to_thread(write_private, self.outbox_path, data)

    def _load(
        self, path: Path, magic: bytes, decoder: Any, problems: list[str], then: str
    ) -> Any | None:
        try:
            raw = read_private(path, MAX_FILE_BYTES)
        except FileNotFoundError:
            return None
        except OSError as exc:
            problems.append(f"{path} cannot be read ({exc.strerror}); {then}")
            return None
        if raw is None:
            problems.append(set_aside(path, f"is larger than {MAX_FILE_BYTES:,} bytes", then))
            return None
        payload = unpack(raw, magic)
        if isinstance(payload, str):
            problems.append(set_aside(path, payload, then))
            return None
        try:
            with no_gc():  # tens of thousands of records, none in a cycle: collections only cost
                saved = decoder.decode(payload)
        except (msgspec.DecodeError, RecursionError) as exc:
            problems.append(set_aside(path, f"is damaged ({one_line(exc)})", then))
            return None
        if saved.account != self.account:
            problems.append(f"{path} holds another Chatwoot account; starting without it")
            return None
        return saved


def _saved(state: SeenState, account: str) -> _Saved:
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
        data = self.cache.encode(self._get_state())
        try:
            await asyncio.to_thread(self.cache.write, data)
            await self.cache.keep_outbox(self._get_entries)
        except OSError as exc:
            self._dirty = True
            self.problem = (
                f"{exc.filename or self.cache.path} could not be written ({exc.strerror or exc}); "
                "free space or fix the folder's permissions"
            )
            log.warning("seen cache: %s", self.problem)
            return
        self.writes += 1
        self.problem = ""
