"""The seen cache: what a Chatwoot console last knew of its account, so it starts at once.

Two files in the account's folder, each behind a checked head (`cache_files.py`), written
atomically (a new file beside the old, fsynced, renamed over it, the folder fsynced), 0600 in
a 0700 folder, never holding a token:

- `seen.msgpack`: the `SeenState`, bounded: the `MAX_CONVERSATIONS` most recently active
  conversations, their contacts and the kept threads (each cut to its `MAX_THREAD_MESSAGES`
  newest). Written by `Saver`, which coalesces the desk's save requests into one write per
  `delay`: encoded in the event loop a few hundred records a step, the loop free between steps
  (each record is encoded whole within a step; one changed meanwhile is saved again next
  time), checked and written in a thread.
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
import zlib
from collections import OrderedDict
from collections.abc import Callable, Generator, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from frontdesk.chatwoot.cache_files import (
    head,
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


STEP_RECORDS = 500
"""Conversations or contacts encoded in one step of a save (the loop runs between steps)."""
STEP_MESSAGES = 2_000
"""Thread messages encoded in one step of a save."""


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
        """The state file's bytes, at once (run where the state is not changing: the loop)."""
        steps = _encode_steps(state, self.account)
        while True:
            try:
                next(steps)
            except StopIteration as done:
                return _packed(done.value)

    async def encode_stepwise(self, state: SeenState) -> bytes:
        """The state file's bytes, encoded in the event loop a step at a time, other tasks
        running between steps (a key press waits one step, not the whole encoding)."""
        steps = _encode_steps(state, self.account)
        while True:
            try:
                next(steps)
            except StopIteration as done:
                return await asyncio.to_thread(_packed, done.value)
            await asyncio.sleep(0)

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


def _encode_steps(state: SeenState, account: str) -> Generator[None, None, list[bytes]]:
    """Encode the state as a `_Saved`, yielding between steps; returns the payload's parts (to
    join where the copying holds up no one: `bytes.join` lets go of the GIL for big joins).
    What is listed at the start is saved; each record is read within one step (the loop
    changes records in place between steps, so a record is never half old, half new)."""
    conversations = sorted(state.conversations.values(), key=_activity, reverse=True)[
        :MAX_CONVERSATIONS
    ]
    contact_ids = {c.contact_id for c in conversations}
    kept = {c.id for c in conversations}
    thread_ids = [conv_id for conv_id in state.threads if conv_id in kept]
    yield
    fields: dict[str, Any] = {
        "account": account,
        "saved_at": utcnow(),
        "me": state.me,
        "agents": list(state.agents.values()),
        "inboxes": list(state.inboxes.values()),
        "teams": dict(state.teams),
        "labels": list(state.labels),
        "canned": list(state.canned),
        "contact_names": {i: n for i, n in state.contact_names.items() if i in contact_ids},
        "server_counts": dict(state.server_counts),
    }
    parts = [_map_head(len(_Saved.__struct_fields__))]
    for name in _Saved.__struct_fields__:
        parts.append(_encoder.encode(name))
        if name == "conversations":
            parts.extend((yield from _array_steps(conversations, STEP_RECORDS)))
        elif name == "contacts":
            contacts = [c for c in state.contacts.values() if c.id in contact_ids]
            parts.extend((yield from _array_steps(contacts, STEP_RECORDS)))
        elif name == "threads":
            parts.extend((yield from _thread_steps(state, thread_ids)))
        else:
            parts.append(_encoder.encode(fields[name]))
    return parts


def _activity(conv: Conversation) -> datetime:
    return conv.last_activity_at


def _thread_steps(state: SeenState, thread_ids: list[int]) -> Generator[None, None, list[bytes]]:
    """The kept threads as one msgpack array's parts, about `STEP_MESSAGES` messages a step."""
    encoded = []
    budget = STEP_MESSAGES
    for conv_id in thread_ids:
        messages = state.threads.get(conv_id)
        if messages is None:
            continue  # dropped since (other threads were read): not saved
        older = state.older.get(conv_id, False)
        encoded.append(_encoder.encode(_thread(conv_id, messages, older)))
        budget -= len(messages)
        if budget <= 0:
            budget = STEP_MESSAGES
            yield
    return [_array_head(len(encoded)), *encoded]


def _array_steps(records: list[Any], step: int) -> Generator[None, None, list[bytes]]:
    """`records` as one msgpack array's parts, encoded `step` records at a time."""
    parts = [_array_head(len(records))]
    for start in range(0, len(records), step):
        parts.append(_array_body(_encoder.encode(records[start : start + step])))
        yield
    return parts


def _array_head(count: int) -> bytes:
    if count < 16:
        return bytes([0x90 | count])
    return (
        b"\xdc" + count.to_bytes(2, "big")
        if count < 1 << 16
        else b"\xdd" + count.to_bytes(4, "big")
    )


def _map_head(count: int) -> bytes:
    return bytes([0x80 | count]) if count < 16 else b"\xde" + count.to_bytes(2, "big")


def _packed(parts: list[bytes]) -> bytes:
    """The state file's bytes from the payload's parts (run in a thread: it copies megabytes)."""
    crc = 0
    for part in parts:
        crc = zlib.crc32(part, crc)
    return b"".join([head(STATE_MAGIC, crc), *parts])


def _array_body(encoded: bytes) -> bytes:
    """An encoded msgpack array's elements without its head (fixarray, array 16 or array 32)."""
    first = encoded[0]
    if 0x90 <= first <= 0x9F:
        return encoded[1:]
    return encoded[3:] if first == 0xDC else encoded[5:]


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
        data = await self.cache.encode_stepwise(self._get_state())
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
