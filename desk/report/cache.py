"""Every conversation's thread facts, kept current by `message_count` and saved beside the cache.

Reading 10,000 threads takes seconds; their facts take a few megabytes. A conversation's
facts are read again only when its `message_count` moved (the desk adds one with every
message or event it stores), as the search index does, so a report reads the threads that
changed since the last one. The file is derived: lost, damaged or of another version, it is
rebuilt from the threads.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from pathlib import Path

import msgspec

from frontdesk.desk.report.facts import ThreadFacts, facts_of
from frontdesk.model import Conversation
from frontdesk.store import Store
from frontdesk.store.storage import no_gc

log = logging.getLogger("frontdesk.report")

FILE_NAME = "report-facts.bin"
VERSION = 2
YIELD_EVERY = 200
"""Threads read between two yields to the event loop, so a console keeps drawing."""


class _File(msgspec.Struct, array_like=True):
    version: int
    facts: dict[int, ThreadFacts]


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(_File)


class FactsCache:
    """The facts of each conversation of a store, by id; `path`: where they are saved (None:
    kept in memory only)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.facts: dict[int, ThreadFacts] = _load(path) if path is not None else {}

    async def current(self, store: Store) -> list[tuple[Conversation, ThreadFacts]]:
        """Each conversation with its facts, reading the threads that changed; saves the file
        when any did."""
        found: list[tuple[Conversation, ThreadFacts]] = []
        facts, read = self.facts, 0
        for conv in store.conversations():
            one = facts.get(conv.id)
            if one is None or one.count != conv.message_count:
                one = facts_of(
                    store.messages(conv.id), conv.created_at.timestamp(), conv.message_count
                )
                facts[conv.id] = one
                read += 1
                if read % YIELD_EVERY == 0:
                    await asyncio.sleep(0)
            found.append((conv, one))
        if len(facts) > len(found):
            kept = {conv.id for conv, _ in found}
            self.facts = {i: f for i, f in facts.items() if i in kept}
            read += 1
        if read and self.path is not None:
            _save(self.path, self.facts)
        return found


def _load(path: Path) -> dict[int, ThreadFacts]:
    try:
        with no_gc():  # a few hundred thousand objects, none of them garbage
            data = _decoder.decode(path.read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, msgspec.DecodeError, RecursionError) as exc:
        log.info("reading the threads again: %s is unreadable (%s)", path, exc)
        return {}
    return data.facts if data.version == VERSION else {}


def _save(path: Path, facts: dict[int, ThreadFacts]) -> None:
    """Replace the file whole (a unique temporary name: a served desk and `frontdesk report`
    may save at once); a cache that cannot be written is read again next time."""
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "wb") as out:  # mkstemp makes it 0600
            out.write(_encoder.encode(_File(VERSION, facts)))
        os.replace(tmp, path)
    except OSError as exc:
        log.info("could not save the report's facts in %s: %s", path, exc)
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
