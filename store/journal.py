"""The write-ahead journal: every committed batch as one checksummed record, appended with one fsync.

File layout: a header (`MAGIC`, then the generation as 8 bytes little-endian), then records,
each `RECORD_MAGIC · length (4 bytes LE) · crc32 of the payload (4 bytes LE) · crc32 of
those two fields (4 bytes LE) · payload`, where the payload is the batch's changes as
JSON: `{relpath: {table: {key: record or null}}}` (null deletes). Every record is a
post-image, so applying one twice changes nothing; that is what lets a checkpoint that
was killed half-way be finished by simply replaying the journal again.

A record is committed once it is whole and both checksums match. `RECORD_MAGIC` holds
bytes that UTF-8 JSON never contains, so after a damaged record the next one is found by
searching for it: a bad record with whole records after it is damage (`Damage`), to be
reported and set aside, never cut away. Only a bad tail (nothing whole after it) is a
batch whose fsync never returned: readers stop before it and the writer cuts it off when
it opens the journal. A checkpoint replaces the journal with an empty one of the next
generation, so a reader that remembers (generation, offset) knows whether to read on from
where it stopped or to start over.

Journals of the first format (`LEGACY_MAGIC`: records without a magic, no header checksum)
are read too; the writer rewrites one in this format when it opens it.
"""

from __future__ import annotations

import errno
import os
import struct
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from frontdesk.store.storage import (
    FILE_MODE,
    decode,
    encode,
    ensure_own_dir,
    fsync_dir,
    write_durable,
)

MAGIC = b"frontdesk-journal 2\n"
LEGACY_MAGIC = b"frontdesk-journal\n"
_GENERATION = struct.Struct("<Q")
HEADER_SIZE = len(MAGIC) + _GENERATION.size
LEGACY_HEADER_SIZE = len(LEGACY_MAGIC) + _GENERATION.size
RECORD_MAGIC = b"\xff\xfeJR"  # 0xFF and 0xFE never occur in UTF-8, so never inside a payload
_FIELDS = struct.Struct("<II")  # length, crc32 of the payload
_RECORD = struct.Struct("<4sIII")  # magic, length, payload crc, crc of the two fields before it
_LEGACY_RECORD = struct.Struct("<II")
_UNFINISHED = bytes(_RECORD.size)  # the header of a record being written: never valid
WRITE_CHUNK = 1 << 20
"""A journal record is written in pieces of about this many bytes."""
QUARANTINE_DIR = "quarantine"

Changes = dict[str, dict[str, dict[str, Any]]]  # relpath -> table -> key -> record (None: deleted)


@dataclass
class Damage:
    """What is wrong with a journal: damaged byte ranges with whole records after them, a bad header."""

    ranges: list[tuple[int, int]] = field(default_factory=list)  # [start, end) file offsets
    bad_header: bool = False
    kept: int = 0  # whole records read

    def __bool__(self) -> bool:
        return bool(self.ranges) or self.bad_header

    def describe(self, path: Path) -> str:
        """One line saying what was lost."""
        parts = []
        if self.bad_header:
            parts.append("its header is damaged")
        if self.ranges:
            lost = sum(end - start for start, end in self.ranges)
            where = ", ".join(f"{start}-{end}" for start, end in self.ranges[:3])
            parts.append(
                f"{len(self.ranges)} damaged record(s) ({lost} bytes at {where}{', …' if len(self.ranges) > 3 else ''}): "
                "the batches they held are lost"
            )
        return f"journal {path}: {'; '.join(parts)}; the {self.kept} whole record(s) were kept"


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


def record_bytes(payload: bytes) -> bytes:
    """One whole record holding `payload` (the writer streams big ones instead)."""
    return _record_header(len(payload), zlib.crc32(payload)) + payload


def _record_header(length: int, crc: int) -> bytes:
    return _RECORD.pack(RECORD_MAGIC, length, crc, zlib.crc32(_FIELDS.pack(length, crc)))


def _record_at(raw: bytes | memoryview, offset: int) -> tuple[int, Changes] | None:
    """(offset after it, its changes) if a whole, valid record starts at `offset`, else None."""
    if offset + _RECORD.size > len(raw):
        return None
    magic, length, crc, fields_crc = _RECORD.unpack_from(raw, offset)
    if magic != RECORD_MAGIC or zlib.crc32(_FIELDS.pack(length, crc)) != fields_crc:
        return None
    body_start = offset + _RECORD.size
    body_end = body_start + length
    if body_end > len(raw):
        return None
    payload = raw[body_start:body_end]
    if zlib.crc32(payload) != crc:
        return None
    try:
        changes = decode(bytes(payload))
    except ValueError:
        return None
    return (body_end, changes) if isinstance(changes, dict) else None


def _next_record(raw: bytes, start: int) -> int | None:
    """The offset of the first whole record at or after `start`."""
    at = raw.find(RECORD_MAGIC, start)
    while at >= 0:
        if _record_at(raw, at) is not None:
            return at
        at = raw.find(RECORD_MAGIC, at + 1)
    return None


def parse(raw: bytes, start: int = 0) -> tuple[list[Changes], int, list[tuple[int, int]]]:
    """The whole records in `raw[start:]`, the offset just after the last one, and the damaged
    ranges skipped on the way (a bad stretch with whole records after it)."""
    records: list[Changes] = []
    damaged: list[tuple[int, int]] = []
    offset = end = start
    while offset < len(raw):
        found = _record_at(raw, offset)
        if found is not None:
            offset, changes = found
            records.append(changes)
            end = offset
            continue
        resume = _next_record(raw, offset + 1)
        if resume is None:
            break  # a bad tail: a batch whose fsync never returned
        damaged.append((offset, resume))
        offset = resume
    return records, end, damaged


def parse_legacy(raw: bytes, start: int) -> tuple[list[Changes], int]:
    """The whole records of a first-format journal in `raw[start:]` (it has no way to find a record after a bad one)."""
    records: list[Changes] = []
    offset, end = start, len(raw)
    while offset + _LEGACY_RECORD.size <= end:
        length, crc = _LEGACY_RECORD.unpack_from(raw, offset)
        body_start = offset + _LEGACY_RECORD.size
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


@dataclass
class Reading:
    """What one read of the journal found."""

    generation: int
    records: list[Changes]
    offset: int  # after the last whole record
    restarted: bool  # the records are the whole journal, not a continuation
    damage: Damage
    legacy: bool = False
    size: int = 0  # of the file


def read(path: Path, generation: int | None = None, offset: int = 0) -> Reading:
    """Read the committed records of the journal at `path`.

    With the `generation` and `offset` a previous read returned, only what was appended
    since is read. `restarted` is True when the records are the whole journal rather than
    the continuation (a checkpoint replaced it, or this is the first read). A missing
    journal reads as generation 0 with no records. A damaged header is reported in the
    damage and the records are found by their magic.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return Reading(0, [], 0, generation != 0, Damage())
    try:
        size = os.fstat(fd).st_size
        head = os.pread(fd, HEADER_SIZE, 0)
        if head.startswith(MAGIC) and len(head) == HEADER_SIZE:
            (found,) = _GENERATION.unpack_from(head, len(MAGIC))
            restarted = found != generation or offset < HEADER_SIZE or size < offset
            start = HEADER_SIZE if restarted else offset
            raw = _pread_all(fd, start, size - start)
            records, end, damaged = parse(raw)
            damage = Damage([(start + a, start + b) for a, b in damaged], kept=len(records))
            return Reading(found, records, start + end, restarted, damage, size=size)
        if head.startswith(LEGACY_MAGIC) and len(head) >= LEGACY_HEADER_SIZE:
            (found,) = _GENERATION.unpack_from(head, len(LEGACY_MAGIC))
            restarted = found != generation or offset < LEGACY_HEADER_SIZE or size < offset
            start = LEGACY_HEADER_SIZE if restarted else offset
            records, end = parse_legacy(_pread_all(fd, start, size - start), 0)
            return Reading(
                found,
                records,
                start + end,
                restarted,
                Damage(kept=len(records)),
                legacy=True,
                size=size,
            )
        raw = _pread_all(fd, 0, size)  # a damaged header: find the records by their magic
    finally:
        os.close(fd)
    first = _next_record(raw, 0)
    records, end, damaged = (
        parse(raw, first) if first is not None else ([], min(size, HEADER_SIZE), [])
    )
    damage = Damage(damaged, bad_header=True, kept=len(records))
    # a generation no reader has seen: it starts over, the writer rewrites the journal
    return Reading(_unknown_generation(), records, end, True, damage, size=size)


def _unknown_generation() -> int:
    return (1 << 62) | time.time_ns() >> 2


def quarantine_copy(path: Path, data_dir: Path, name: str, *, by_content: bool = False) -> Path:
    """Copy the file at `path` into `data_dir`/quarantine as `name`-<time> (0600) and return where.

    With `by_content` the copy is named by the content's CRC-32 instead, and not made again
    if it exists: a damaged file left as it is would otherwise be copied at every start.
    """
    folder = data_dir / QUARANTINE_DIR
    ensure_own_dir(folder)
    data = path.read_bytes()
    if by_content:
        target = folder / f"{name}-{zlib.crc32(data):08x}"
        if not target.exists():
            write_durable(target, data)
        return target
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    target = folder / f"{name}-{stamp}"
    n = 1
    while target.exists():
        n += 1
        target = folder / f"{name}-{stamp}-{n}"
    write_durable(target, data)
    return target


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
        self.problem: str | None = None  # damage found by `open`, in one line

    def open(self, data_dir: Path | None = None) -> list[Changes]:
        """Open (creating if needed) and return the committed records.

        A bad tail is cut off. Damage before whole records is never cut away: the journal is
        copied into `data_dir`/quarantine, rewritten with every whole record, and `problem`
        says in one line what was lost and where the copy is. A first-format journal is
        rewritten in this format.
        """
        if not self.path.exists():
            self._create(1)
        reading = read(self.path)
        tail = self._whole_bad_tail(reading)
        copied = True
        if reading.damage or tail:
            what = reading.damage.describe(self.path) if reading.damage else f"journal {self.path}"
            if tail:
                what += f"; its last record ({tail} bytes) fails its checksum (cut by a power loss, or damaged): it is lost"
            try:
                where = f"a copy of the journal is in {quarantine_copy(self.path, data_dir or self.path.parent, 'journal')}"
            except (
                OSError
            ) as exc:  # a full disk: keep the damaged journal as it is rather than lose it
                copied, where = (
                    False,
                    f"no copy could be set aside ({exc.strerror}), so the journal is kept as it is",
                )
            self.problem = f"{what}; {where}"
        if reading.legacy or (reading.damage and copied):
            self._rewrite(reading.records, max(reading.generation, 0) + 1)
            return reading.records
        fd = os.open(self.path, os.O_RDWR)
        os.fchmod(fd, FILE_MODE)  # a restored backup may have left it readable by others
        if reading.size != reading.offset:  # a batch whose fsync never returned
            os.ftruncate(fd, reading.offset)
            os.fsync(fd)
        self._fd, self.generation, self.size = fd, reading.generation, reading.offset
        return reading.records

    def _whole_bad_tail(self, reading: Reading) -> int:
        """The size of a bad tail that is a whole record by its header (only its payload fails), else 0.

        A kill cannot leave one (the header is written after the payload); a power loss or damage can.
        """
        if reading.legacy or reading.size - reading.offset < _RECORD.size:
            return 0
        with self.path.open("rb") as f:
            f.seek(reading.offset)
            head = f.read(_RECORD.size)
        magic, length, crc, fields_crc = _RECORD.unpack(head)
        whole = magic == RECORD_MAGIC and zlib.crc32(_FIELDS.pack(length, crc)) == fields_crc
        return (
            reading.size - reading.offset
            if whole and reading.offset + _RECORD.size + length <= reading.size
            else 0
        )

    def _rewrite(self, records: list[Changes], generation: int) -> None:
        """Replace the journal with one of `generation` holding `records`, in this format."""
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        write_durable(
            tmp,
            _header(generation) + b"".join(record_bytes(encode(changes)) for changes in records),
        )
        os.replace(tmp, self.path)
        fsync_dir(self.path.parent)
        self._fd = os.open(self.path, os.O_RDWR)
        self.generation, self.size = generation, os.fstat(self._fd).st_size

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
            self._write(_UNFINISHED, start)
            chunk: list[bytes] = [b"{"]
            size = 1
            for n, (relpath, tables) in enumerate(changes.items()):
                piece = (b"," if n else b"") + encode(relpath) + b":" + encode(tables)
                chunk.append(piece)
                size += len(piece)
                if size >= WRITE_CHUNK:
                    data = b"".join(chunk)
                    offset += self._write(data, offset)
                    crc, length = zlib.crc32(data, crc), length + len(data)
                    chunk, size = [], 0
            chunk.append(b"}")
            data = b"".join(chunk)
            offset += self._write(data, offset)
            crc, length = zlib.crc32(data, crc), length + len(data)
            if length > 0xFFFFFFFF:
                raise OSError(errno.EFBIG, "one batch is larger than a journal record can hold")
            self._write(_record_header(length, crc), start)
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
