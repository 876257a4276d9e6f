"""Substring search over the cache: contact names and message text, from an in-memory index.

The index holds, per conversation, the case-folded text of its messages, replies and notes
(body and attachment names; inline activity events are left out) joined with NUL, with the
id and start offset of each message beside it. A query is case-folded once and found with
`str.find` in each conversation's text, newest conversation first: at 10,000 conversations
and 200,000 messages (about 9 million characters) a query that matches nothing scans it
all in under 10 ms here.

Building reads every `messages/N.json` file once (about half a second at that size), in a
thread so the console keeps drawing. It is kept current without hooks in the write path:
each entry remembers how many messages its text was made from, and a conversation's
`message_count` grows with every message the desk stores (inbound, reply, note, event),
so a search re-reads exactly the conversations that changed since the last one. Delivery
updates change no searchable text. Contact names are compared on every search (a rename
shows up at once).
"""

from __future__ import annotations

import asyncio
import threading
from array import array
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from frontdesk.model import Message, MessageKind
from frontdesk.store.storage import read_json

if TYPE_CHECKING:
    from frontdesk.store.store import Store

SEPARATOR = "\x00"


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One match: a message of a conversation, or the conversation's contact name (message_id None)."""

    conversation_id: int
    message_id: int | None


class _Entry:
    """The searchable text of one conversation."""

    __slots__ = ("version", "text", "ids", "starts")

    def __init__(self, version: int, ids: list[int], texts: list[str]) -> None:
        self.version = version  # how many messages (of every kind) the text was built from
        self.ids = array("q", ids)
        self.starts = array("q")
        text = SEPARATOR.join(texts).casefold()
        offset = 0
        if len(text) != sum(map(len, texts)) + max(0, len(texts) - 1):
            texts = [t.casefold() for t in texts]  # folding changed a length (ß → ss): fold one by one
            text = SEPARATOR.join(texts)
        for part in texts:
            self.starts.append(offset)
            offset += len(part) + 1
        self.text = text

    def matches(self, needle: str) -> list[int]:
        """Ids of the messages containing `needle`, newest (highest id) first."""
        found: list[int] = []
        text, starts = self.text, self.starts
        at = text.find(needle)
        while at >= 0:
            i = bisect_right(starts, at) - 1
            found.append(self.ids[i])
            if i + 1 >= len(starts):
                break
            at = text.find(needle, starts[i + 1])
        found.sort(reverse=True)
        return found


_ACTIVITY = MessageKind.ACTIVITY.value


def _fold(text: str) -> str:
    return text.casefold().replace(SEPARATOR, " ")


def _entry_from_file(path: Path) -> _Entry:
    data = read_json(path) or {}
    records = data.get("messages") or {}
    items = []
    for key, record in records.items():
        if record.get("kind") != _ACTIVITY:
            names = record.get("attachments")
            body = record.get("body", "")
            if names:
                body = "\n".join([body, *(a[0] for a in names if a and a[0])])
            items.append((int(key), body))
    items.sort()
    return _Entry(len(records), [i for i, _ in items], [t for _, t in items])


def _entry_from_messages(messages: list[Message]) -> _Entry:
    ids, texts = [], []
    for m in messages:
        if m.kind is not MessageKind.ACTIVITY:
            ids.append(m.id)
            texts.append("\n".join([m.body, *(a.name for a in m.attachments if a.name)]) if m.attachments else m.body)
    return _Entry(len(messages), ids, texts)


class SearchIndex:
    """Case-insensitive substring search over one store's contact names and messages."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._entries: dict[int, _Entry] = {}
        self._names: dict[int, tuple[str, str]] = {}  # contact id -> (name, folded name)
        self._built = False
        self._building: asyncio.Future[None] | None = None
        self._lock = threading.Lock()
        self.build_seconds: float | None = None

    @property
    def built(self) -> bool:
        return self._built

    def build(self) -> None:
        """Read every conversation's messages from the committed files (safe in a thread).

        The version of each entry is the number of records in the file it came from, so
        an entry read while the desk writes can only be stale, and is then re-read.
        """
        import time

        started = time.perf_counter()
        folder = self.store.root / "messages"
        entries: dict[int, _Entry] = {}
        if folder.exists():
            for path in folder.iterdir():
                if path.suffix == ".json" and path.stem.isdigit():
                    entries[int(path.stem)] = _entry_from_file(path)
        with self._lock:
            for conv_id, entry in entries.items():
                self._entries.setdefault(conv_id, entry)
            self._built = True
        self.build_seconds = time.perf_counter() - started

    async def ready(self) -> None:
        """Build the index once, off the event loop; concurrent callers share the build."""
        if self._built:
            return
        failed = self._building is not None and self._building.done() and self._building.exception() is not None
        if self._building is None or failed:
            self._building = asyncio.ensure_future(asyncio.to_thread(self.build))
        await asyncio.shield(self._building)

    def search(self, query: str, limit: int = 200) -> list[SearchHit]:
        """Hits for `query`, newest conversation first; within one, the name, then newest messages."""
        needle = _fold(query.strip())
        if not needle or limit <= 0:
            return []
        store = self.store
        hits: list[SearchHit] = []
        conversations = sorted(store.conversations(), key=lambda c: c.last_activity_at, reverse=True)
        for conv in conversations:
            if needle in self._folded_name(conv.contact_id):
                hits.append(SearchHit(conv.id, None))
            entry = self._entry(conv.id, conv.message_count)
            if needle in entry.text:
                hits.extend(SearchHit(conv.id, message_id) for message_id in entry.matches(needle))
            if len(hits) >= limit:
                return hits[:limit]
        return hits

    def _folded_name(self, contact_id: int) -> str:
        contact = self.store.contact(contact_id)
        if contact is None:
            return ""
        known = self._names.get(contact_id)
        if known is None or known[0] is not contact.name:
            known = self._names[contact_id] = (contact.name, _fold(contact.name))
        return known[1]

    def _entry(self, conv_id: int, message_count: int) -> _Entry:
        entry = self._entries.get(conv_id)
        if entry is not None and entry.version == message_count:
            return entry
        entry = _entry_from_messages(self.store.messages(conv_id))
        with self._lock:
            self._entries[conv_id] = entry
        return entry
