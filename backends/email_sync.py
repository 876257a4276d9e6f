"""How the email channel reads a mailbox of any size: the cursor, newest-first planning, bounded IMAP answers.

- The first sync reads the threading headers of the folder (cheap, bounded chunks), groups
  the mails into conversations and reads them newest conversation first, each one's mails
  oldest first (the desk keeps a thread in the order it receives it). Every batch is
  ingested with a cursor saying how far down it got (`FolderState.backfill`), so the
  newest conversations are on screen at once and a restart resumes, not restarts.
- aioimaplib parses a received chunk by recursing once per response line (upstream issue
  https://github.com/bamthomas/aioimaplib/issues/118): an answer of ~1,000 lines arriving
  at once raises RecursionError inside the protocol, which kills the connection. Two
  guards: no command asks for an answer that long (`fetch_chunks`, `search_slices`), and
  the protocol is fed at most `LINES_PER_FEED` lines at a time (`BoundedFeedProtocol`) for
  answers we do not choose the length of (EXPUNGE storms, a server's long untagged noise).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

log = logging.getLogger(__name__)

#: UIDs per FETCH of sizes or headers (one or two response lines each, far below the ~1,000 that recurse too deep)
FETCH_CHUNK = 200
#: UIDs per UID SEARCH range (the answer is one line, bounded to this many numbers)
SEARCH_SLICE = 2_000
#: response lines handed to aioimaplib's parser per call (its recursion depth grows with them)
LINES_PER_FEED = 200
_THREAD_TOKEN = re.compile(rb"[()]|\d+")


# ---- the cursor ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FolderState:
    """How far one folder is read.

    UIDs up to `window` were in the folder at its first sync: of those, the last `sync_days`
    days are read whole conversations at a time, newest conversation first; every
    conversation whose newest mail has a UID at or above `backfill` is read (0: all are).
    Mail above `window` arrived later and is read in UID order, up to `seen`.
    """

    validity: int
    seen: int = 0
    window: int = 0
    backfill: int = 0

    @classmethod
    def fresh(cls, validity: int, uidnext: int) -> FolderState:
        """A folder never read (or whose UIDVALIDITY changed): everything below UIDNEXT is history to read."""
        top = max(0, uidnext - 1)
        return cls(validity, top, top, top + 1 if top else 0)

    @property
    def backfilling(self) -> bool:
        return self.backfill > 0


def read_cursor(cursor: str | None) -> dict[str, FolderState]:
    """folder -> FolderState from the committed cursor (an unreadable one means: start over)."""
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
        return {str(name): _folder_state(value) for name, value in data.get("folders", {}).items()}
    except (ValueError, TypeError, AttributeError, IndexError, KeyError):
        log.warning("email cursor unreadable; re-reading the last days")
        return {}


def _folder_state(value: Any) -> FolderState:
    if isinstance(value, list):  # version 1: [UIDVALIDITY, last UID], all read
        return FolderState(int(value[0]), int(value[1]), int(value[1]), 0)
    return FolderState(
        int(value["validity"]), int(value["seen"]), int(value["window"]), int(value["backfill"])
    )


def write_cursor(folders: dict[str, FolderState]) -> str:
    data = {
        name: {"validity": s.validity, "seen": s.seen, "window": s.window, "backfill": s.backfill}
        for name, s in sorted(folders.items())
    }
    return json.dumps({"v": 2, "folders": data}, separators=(",", ":"))


# ---- planning the first sync ------------------------------------------------------------------


def backfill_order(threads: Iterable[list[int]], below: int) -> list[list[int]]:
    """Conversations still to read (newest UID below `below`), newest first, each its UIDs oldest first."""
    pending = [sorted(uids) for uids in threads if uids and max(uids) < below]
    return sorted(pending, key=lambda uids: uids[-1], reverse=True)


def backfill_batches(
    threads: list[list[int]], cost: Callable[[int], int], max_messages: int, max_bytes: int
) -> Iterator[tuple[list[int], int | None]]:
    """(UIDs, progress) per batch, in `threads` order; progress is the newest UID of the last conversation
    the batch completes (the cursor's `backfill` after it), None when it completes none."""
    batch: list[int] = []
    size = 0
    done: int | None = None
    for uids in threads:
        for uid in uids:
            if batch and (len(batch) >= max_messages or size + cost(uid) > max_bytes):
                yield batch, done
                batch, size, done = [], 0, None
            batch.append(uid)
            size += cost(uid)
        if uids:
            done = uids[-1]
    if batch:
        yield batch, done


def conversation_groups(
    threads: list[list[int]], size: int = FETCH_CHUNK
) -> Iterator[list[list[int]]]:
    """`threads` in order, in groups of whole conversations holding about `size` mails (one bigger
    conversation makes a group of its own)."""
    group: list[list[int]] = []
    count = 0
    for uids in threads:
        if group and count + len(uids) > size:
            yield group
            group, count = [], 0
        group.append(uids)
        count += len(uids)
    if group:
        yield group


def thread_groups(answer: bytes) -> list[list[int]]:
    """The UIDs of each conversation in a THREAD answer (RFC 5256), e.g. b"THREAD (1)(2 (3)(4))" -> [[1], [2, 3, 4]]."""
    groups: list[list[int]] = []
    current: list[int] = []
    depth = 0
    for token in _THREAD_TOKEN.findall(answer):
        if token == b"(":
            depth += 1
        elif token == b")":
            depth = max(0, depth - 1)
            if depth == 0 and current:
                groups.append(current)
                current = []
        elif depth > 0:
            current.append(int(token))
    return groups


# ---- bounded IMAP answers (aioimaplib issue #118) ------------------------------------------


def fetch_chunks(uids: Sequence[int], size: int = FETCH_CHUNK) -> Iterator[list[int]]:
    """`uids` in the given order, cut so that no FETCH answer can reach the depth of aioimaplib #118."""
    for start in range(0, len(uids), size):
        yield list(uids[start : start + size])


def search_slices(low: int, high: int, size: int = SEARCH_SLICE) -> Iterator[tuple[int, int]]:
    """UID ranges covering `low`..`high`, highest first, each at most `size` UIDs wide."""
    while high >= low:
        start = max(low, high - size + 1)
        yield start, high
        high = start - 1


def feed_pieces(data: bytes, lines: int = LINES_PER_FEED) -> Iterator[bytes]:
    """`data` cut after every `lines`-th CRLF (a cut between lines is what TCP may do anyway)."""
    if data.count(b"\n") <= lines:
        yield data
        return
    start = 0
    while start < len(data):
        end = start
        for _ in range(lines):
            found = data.find(b"\r\n", end)
            if found < 0:
                end = len(data)
                break
            end = found + 2
        yield data[start:end]
        start = end


@cache
def bounded_imap4() -> type:
    """aioimaplib.IMAP4 whose connection parses at most LINES_PER_FEED lines at a time (the #118 workaround)."""
    import aioimaplib

    class BoundedFeedProtocol(aioimaplib.IMAP4ClientProtocol):
        bye = (
            ""  # the text of the server's last `* BYE` (aioimaplib drops it): why it is hanging up
        )

        def data_received(self, d: bytes) -> None:
            if (at := d.find(b"* BYE ")) >= 0 and (at == 0 or d[at - 1 : at] == b"\n"):
                self.bye = d[at + 6 : d.find(b"\r\n", at) if b"\r\n" in d[at:] else len(d)][
                    :300
                ].decode("utf-8", "replace")
            # _handle_responses recurses once per line of what it is given (aioimaplib #118)
            for piece in feed_pieces(d):
                super().data_received(piece)

    class BoundedIMAP4(aioimaplib.IMAP4):
        def create_client(self, host, port, loop, conn_lost_cb=None, ssl_context=None) -> None:
            super().create_client(host, port, loop, conn_lost_cb, ssl_context)
            # the connection task has not run yet; it asks `self.protocol` for its protocol when it connects
            self.protocol = BoundedFeedProtocol(self.protocol.loop, conn_lost_cb)

    return BoundedIMAP4
