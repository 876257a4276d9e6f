"""The write-ahead journal: every committed batch as one checksummed record, appended with one fsync.

File layout: a header (`MAGIC`, then the generation as 8 bytes little-endian), then records,
each `length (4 bytes LE) · crc32 (4 bytes LE) · payload`, where the payload is the batch's
changes as JSON: `{relpath: {table: {key: record or null}}}` (null deletes). Every record is
a post-image, so applying one twice changes nothing; that is what lets a checkpoint that
was killed half-way be finished by simply replaying the journal again.

A record is committed once it is whole and its checksum matches. A tail that is cut short
or does not match (or still has the placeholder length written before its payload) is a
batch whose fsync never returned: readers stop before it and the writer cuts it off when
it opens the journal. A checkpoint replaces the journal with an
empty one of the next generation, so a reader that remembers (generation, offset) knows
whether to read on from where it stopped or to start over.
"""

from __future__ import annotations

import errno
import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from frontdesk.store.storage import decode, encode, fsync_dir, write_durable

MAGIC = b"frontdesk-journal\n"
_GENERATION = struct.Struct("<Q")
_RECORD = struct.Struct("<II")
HEADER_SIZE = len(MAGIC) + _GENERATION.size
_UNFINISHED = 0xFFFFFFFF  # the length of a record being written: longer than any file, so never whole
_CHUNK = 1 << 20

Changes = dict[str, dict[str, dict[str, Any]]]  # relpath -> table -> key -> record (None: deleted)


class JournalError(Exception):
    """The journal is not one this code can read (not a journal, or damaged before its tail)."""


def merge(into: Changes, changes: Changes) -> None:
    """Fold `changes` into `into`; later values win."""
    for relpath, tables in changes.items():
        mine = into.setdefault(relpath, {})
        for table, rows in tables.items():
            mine.setdefault(table, {}).update(rows)


def apply(data: dict[str, Any], tables: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Apply one file's changes to its parsed content (TinyDB's {table: {id: record}} shape)."""
    for table, rows in tables.items():
        target = data.setdefault(table, {})
        for key, record in rows.items():
            if record is None:
                target.pop(key, None)
            else:
                target[key] = record
    return data


def _header(generation: int) -> bytes:
    return MAGIC + _GENERATION.pack(generation)


def parse(raw: bytes, start: int) -> tuple[list[Changes], int]:
    """The whole records in `raw[start:]` and the offset just after the last one."""
    records: list[Changes] = []
    offset, end = start, len(raw)
    while offset + _RECORD.size <= end:
        length, crc = _RECORD.unpack_from(raw, offset)
        body_start = offset + _RECORD.size
        body_end = body_start + length
        if body_end > end:
            break
        payload = raw[body_start:body_end]
        if zlib.crc32(payload) != crc:
            break
        try:
            records.append(decode(payload))
        except ValueError:
            break
        offset = body_end
    return records, offset


def read(path: Path, generation: int | None = None, offset: int = 0) -> tuple[int, list[Changes], int, bool]:
    """Read the committed records of the journal at `path`.

    With the `generation` and `offset` a previous read returned, only what was appended
    since is read. Returns (generation, records, offset after the last whole record,
    restarted); `restarted` is True when the records are the whole journal rather than
    the continuation (a checkpoint replaced it, or this is the first read). A missing
    journal reads as generation 0 with no records.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return 0, [], 0, generation != 0
    try:
        head = os.pread(fd, HEADER_SIZE, 0)
        if len(head) < HEADER_SIZE or not head.startswith(MAGIC):
            raise JournalError(f"{path} is not a frontdesk journal")
        (found,) = _GENERATION.unpack_from(head, len(MAGIC))
        size = os.fstat(fd).st_size
        restarted = found != generation or offset < HEADER_SIZE or size < offset
        start = HEADER_SIZE if restarted else offset
        raw = _pread_all(fd, start, size - start)
    finally:
        os.close(fd)
    records, end = parse(raw, 0)
    return found, records, start + end, restarted


def _pread_all(fd: int, offset: int, length: int) -> bytes:
    chunks = []
    while length > 0:
        chunk = os.pread(fd, length, offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
        length -= len(chunk)
    return b"".join(chunks)


class JournalWriter:
    """The single writer's handle on the journal: replay at open, append per commit, reset at checkpoint."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.generation = 0
        self.size = 0  # end of the last whole record
        self._fd: int | None = None

    def open(self) -> list[Changes]:
        """Open (creating if needed) and return the committed records; a torn tail is cut off."""
        if not self.path.exists():
            self._create(1)
        generation, records, end, _ = read(self.path)
        fd = os.open(self.path, os.O_RDWR)
        if os.fstat(fd).st_size != end:  # a batch whose fsync never returned
            os.ftruncate(fd, end)
            os.fsync(fd)
        self._fd, self.generation, self.size = fd, generation, end
        return records

    @property
    def is_open(self) -> bool:
        return self._fd is not None

    @property
    def empty(self) -> bool:
        return self.size <= HEADER_SIZE

    def append(self, changes: Changes, *, sync: bool = True) -> int:
        """Write one record and fsync it (without `sync`, the caller runs `sync_later()`);
        on failure the journal is cut back to what it was.

        The payload is encoded and written a file's changes at a time, so a bulk import
        of 200,000 messages never holds its whole record in memory twice; the header,
        written last over a placeholder no reader accepts, carries the length and checksum.
        """
        assert self._fd is not None
        start = self.size
        offset = start + _RECORD.size
        crc = length = 0
        try:
            self._write(_RECORD.pack(_UNFINISHED, 0), start)
            chunk: list[bytes] = [b"{"]
            size = 1
            for n, (relpath, tables) in enumerate(changes.items()):
                piece = (b"," if n else b"") + encode(relpath) + b":" + encode(tables)
                chunk.append(piece)
                size += len(piece)
                if size >= _CHUNK:
                    data = b"".join(chunk)
                    offset += self._write(data, offset)
                    crc, length = zlib.crc32(data, crc), length + len(data)
                    chunk, size = [], 0
            chunk.append(b"}")
            data = b"".join(chunk)
            offset += self._write(data, offset)
            crc, length = zlib.crc32(data, crc), length + len(data)
            if length >= _UNFINISHED:
                raise OSError(errno.EFBIG, "one batch is larger than a journal record can hold")
            self._write(_RECORD.pack(length, crc), start)
            if sync:
                os.fsync(self._fd)
        except BaseException:
            try:
                os.ftruncate(self._fd, start)
            except OSError:
                pass  # the tail fails its checksum or length and is cut off at the next open
            raise
        self.size = offset
        return offset - start

    def sync_later(self) -> Callable[[], None]:
        """An fsync of the journal as written so far, to run in another thread. It holds a
        descriptor of its own: a checkpoint may replace the journal meanwhile (and has then
        made the same records durable in the files)."""
        assert self._fd is not None
        fd = os.dup(self._fd)

        def sync() -> None:
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

        return sync

    def _write(self, data: bytes, offset: int) -> int:
        assert self._fd is not None
        view = memoryview(data)
        while view:
            written = os.pwrite(self._fd, view, offset)
            view = view[written:]
            offset += written
        return len(data)

    def reset(self, tmp_dir: Path) -> None:
        """Replace the journal with an empty one of the next generation (after a checkpoint)."""
        generation = self.generation + 1
        tmp = tmp_dir / "journal.new"
        write_durable(tmp, _header(generation))
        os.replace(tmp, self.path)
        fsync_dir(self.path.parent)
        self.close()
        self._fd = os.open(self.path, os.O_RDWR)
        self.generation, self.size = generation, HEADER_SIZE

    def _create(self, generation: int) -> None:
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        write_durable(tmp, _header(generation))
        os.replace(tmp, self.path)
        fsync_dir(self.path.parent)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

