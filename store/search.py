"""Substring search over the cache: contacts (name, emails, phones, channel addresses) and
message text, from an in-memory index.

Text and queries are compared folded (`fold`): case, accents, width and kana folded, so
`jose` finds José, `ABC` finds `ＡＢＣ` and `かたかな` finds `カタカナ`. A query that looks
like a phone number also matches the digits of contacts' phones and addresses, so
`+1 312 934 3528` finds `+13129343528`.

`find_folded` and `fold_span` say which characters of the original text a folded match
covers, so a result's snippet can centre on and highlight them (done for the rows shown).

The index holds, per conversation, the folded text of its messages, replies and notes
(body and attachment names; inline activity events are left out) joined with NUL, with the
id and start offset of each message beside it. A query is folded once and found with
`str.find` in each conversation's text, newest conversation first: a plain scan, within
the search target at the bench's sizes (README.md, Performance).

Building reads every `messages/N.json` file once, in a thread so the console keeps drawing. It is kept current without hooks in the write path:
each entry remembers how many messages its text was made from, and a conversation's
`message_count` grows with every message the desk stores (inbound, reply, note, event),
so a search re-reads exactly the conversations that changed since the last one. Delivery
updates change no searchable text. Contact names are compared on every search (a rename
shows up at once); a contact's folded details are made again when the contact, its name
or one of its lists (emails, phones, identities) is a new object.
"""

from __future__ import annotations

import asyncio
import re
import threading
import unicodedata
from array import array
from bisect import bisect_right
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from frontdesk.model import Contact, Message, MessageKind
from frontdesk.store.storage import read_json

if TYPE_CHECKING:
    from frontdesk.store.store import Store

SEPARATOR = "\x00"
PHONE_QUERY = re.compile(r"\+?[\d\s().\-/]+")
PHONE_QUERY_DIGITS = 3
"""A query of digits and phone punctuation with at least this many digits is also compared by digits."""
_NOT_DIGITS = re.compile(r"\D")


def fold(text: str) -> str:
    """`text` as search compares it: compatibility forms decomposed (ＡＢＣ → ABC, ｶ → カ), case
    folded, combining marks dropped (é → e, が → か), katakana as hiragana.

    It maps character by character (`fold(a + b) == fold(a) + fold(b)`), so a query folded the
    same way is found in any text that held it.
    """
    if text.isascii():
        return text.casefold()
    # casefold can make characters that NFKD decomposes (İ → i̇), and NFKD can make capitals (㎒ → MHz)
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return decomposed.translate(_fold_table())


def fold_span(text: str, start: int, end: int) -> tuple[int, int]:
    """The span of `text` that folds to `fold(text)[start:end]` (start < end), widened to whole
    characters (ﬁ folds to fi) and over the marks folded away right after it (e + ◌́).
    """
    if text.isascii():
        return start, end
    first, before = _char_folding_to(text, start, 0, 0)
    return first, _span_end(text, end, first, before)


def find_folded(text: str, needle: str, start: int = 0) -> tuple[int, int] | None:
    """The span of `text` holding the first match of `needle` (folded) at or after `start`, as
    `fold_span` gives it; text is folded a piece at a time, only as far as the match."""
    if not needle:
        return None
    if text.isascii():
        at = text.casefold().find(needle, start)
        return (at, at + len(needle)) if at >= 0 else None
    kept_from, kept, pos = start, "", start  # kept: the fold of text[kept_from:pos]
    while pos < len(text):
        piece = fold(text[pos : pos + _PIECE])
        window = kept + piece
        at = window.find(needle)
        if at >= 0:
            first, before = _char_folding_to(text, at, kept_from, 0)
            return first, _span_end(text, at + len(needle), first, before)
        if len(piece) >= len(needle):  # a match ending further on cannot start before this piece
            kept_from, kept = pos, piece
        else:
            kept = window
        pos += _PIECE
    return None


_PIECE = 4096


def _span_end(text: str, end: int, first: int, before: int) -> int:
    """Just after the character making folded offset `end - 1`, and the marks folded away after it."""
    last, before = _char_folding_to(text, end - 1, first, before)
    after = before + len(fold(text[last]))
    return _char_folding_to(text, after, last + 1, after)[
        0
    ]  # the next character that folds to something


def _char_folding_to(text: str, offset: int, pos: int, folded: int) -> tuple[int, int]:
    """The index of the character whose fold holds folded offset `offset`, and the folded length
    before it; offsets count from `pos`, the text before `pos` folding to `folded` characters.

    `fold` maps character by character, so whole pieces are skipped by their folded length:
    pieces doubling until one holds the offset, then halving onto it (a few folds in C, not
    a Python loop over the characters).
    """
    size, galloping = max(1, offset - folded), True
    while pos < len(text):
        length = len(fold(text[pos : pos + size]))
        if folded + length <= offset:
            pos, folded = pos + size, folded + length
            size *= 2 if galloping else 1
        elif size == 1:
            break
        else:
            size, galloping = (size + 1) // 2, False
    return min(pos, len(text)), folded


@cache
def _fold_table() -> dict[int, int | None]:
    """Combining marks dropped, katakana (ァ…ヶ, ヽヾ) mapped to hiragana."""
    import sys

    table: dict[int, int | None] = {
        c: None for c in range(sys.maxunicode + 1) if unicodedata.combining(chr(c))
    }
    table.update({c: c - 0x60 for c in (*range(0x30A1, 0x30F7), 0x30FD, 0x30FE)})
    return table


def phone_digits(query: str) -> str:
    """The digits of a query that looks like a phone number (`+1 (312) 934-3528`), else ""."""
    if not PHONE_QUERY.fullmatch(query):
        return ""
    digits = _NOT_DIGITS.sub("", query)
    return digits if len(digits) >= PHONE_QUERY_DIGITS else ""


def contact_details(contact: Contact) -> list[str]:
    """What a search finds a contact by: name, emails, phones and channel addresses."""
    return [
        contact.name,
        *contact.emails,
        *contact.phones,
        *(i.address for i in contact.identities),
    ]


def matching_detail(contact: Contact, query: str) -> str | None:
    """The first of the contact's details that `query` finds (folded, or by phone digits)."""
    needle, digits = fold(query.strip()), phone_digits(query.strip())
    for detail in contact_details(contact):
        if needle and needle in fold(detail) or digits and digits in _NOT_DIGITS.sub("", detail):
            return detail
    return None


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
        text = SEPARATOR.join(texts)
        if text.isascii():
            text = text.casefold()  # same lengths: the offsets of the parts hold
        else:
            texts = [
                fold(t) for t in texts
            ]  # folding may change lengths (ß → ss, … → ...): one by one
            text = SEPARATOR.join(texts)
        offset = 0
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


def _fold_query(text: str) -> str:
    return fold(text).replace(SEPARATOR, " ")


class _ContactText:
    """A contact's folded details, and the digits of its phones and addresses, each joined with NUL.

    It stays current while the contact object and its name and lists are the same objects
    (the desk replaces them to change a contact: a merge builds a new contact).
    """

    __slots__ = ("contact", "name", "emails", "phones", "identities", "text", "digits")

    def __init__(self, contact: Contact) -> None:
        self.contact, self.name = contact, contact.name
        self.emails, self.phones, self.identities = (
            contact.emails,
            contact.phones,
            contact.identities,
        )
        self.text = SEPARATOR.join(_fold_query(d) for d in contact_details(contact))
        numbers = [*contact.phones, *(i.address for i in contact.identities)]
        self.digits = SEPARATOR.join(_NOT_DIGITS.sub("", n) for n in numbers)


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
            texts.append(
                "\n".join([m.body, *(a.name for a in m.attachments if a.name)])
                if m.attachments
                else m.body
            )
    return _Entry(len(messages), ids, texts)


class SearchIndex:
    """Case-insensitive substring search over one store's contact names and messages."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._entries: dict[int, _Entry] = {}
        self._contacts: dict[int, _ContactText] = {}
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
        failed = (
            self._building is not None
            and self._building.done()
            and self._building.exception() is not None
        )
        if self._building is None or failed:
            self._building = asyncio.ensure_future(asyncio.to_thread(self.build))
        await asyncio.shield(self._building)

    def search(self, query: str, limit: int = 200) -> list[SearchHit]:
        """Hits for `query`, newest conversation first; within one, the contact, then newest messages."""
        needle = _fold_query(query.strip())
        if not needle or limit <= 0:
            return []
        digits = phone_digits(query.strip())
        store, contacts = self.store, self._contacts
        hits: list[SearchHit] = []
        conversations = sorted(
            store.conversations(), key=lambda c: c.last_activity_at, reverse=True
        )
        for conv in conversations:
            contact = store.contact(conv.contact_id)
            known = contacts.get(
                conv.contact_id
            )  # checked inline: this loop runs once per conversation
            if (
                known is None
                or known.contact is not contact
                or known.name is not contact.name
                or known.emails is not contact.emails
                or known.phones is not contact.phones
                or known.identities is not contact.identities
            ):
                known = self._contact_text(conv.contact_id, contact)
            if known is not None and (needle in known.text or digits and digits in known.digits):
                hits.append(SearchHit(conv.id, None))
            entry = self._entry(conv.id, conv.message_count)
            if needle in entry.text:
                hits.extend(SearchHit(conv.id, message_id) for message_id in entry.matches(needle))
            if len(hits) >= limit:
                return hits[:limit]
        return hits

    def _contact_text(self, contact_id: int, contact: Contact | None) -> _ContactText | None:
        if contact is None:
            self._contacts.pop(contact_id, None)
            return None
        known = self._contacts[contact_id] = _ContactText(contact)
        return known

    def _entry(self, conv_id: int, message_count: int) -> _Entry:
        entry = self._entries.get(conv_id)
        if entry is not None and entry.version == message_count:
            return entry
        entry = _entry_from_messages(self.store.messages(conv_id))
        with self._lock:
            self._entries[conv_id] = entry
        return entry
