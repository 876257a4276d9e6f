"""The Chatwoot console's own files: a checked head, bounded private reads, atomic writes, damage set aside.

Each file is a head (8 bytes naming what it holds, the format version, the CRC-32 of the rest)
and a msgpack payload, so any damage is found before a record is read.
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from pathlib import Path

from frontdesk.store.storage import FILE_MODE, atomic_write, ensure_private_dir

log = logging.getLogger("frontdesk.chatwoot.seen_cache")

FORMAT_VERSION = 1
"""Bumped when a saved file can no longer be read into today's records."""
_HEAD = struct.Struct(">8sHI")  # what the file holds, FORMAT_VERSION, CRC-32 of the payload


def pack(magic: bytes, payload: bytes) -> bytes:
    return head(magic, zlib.crc32(payload)) + payload


def head(magic: bytes, crc: int) -> bytes:
    """The head of a file of `magic` whose payload's CRC-32 is `crc`."""
    return _HEAD.pack(magic, FORMAT_VERSION, crc)


def unpack(raw: bytes, magic: bytes) -> memoryview | str:
    """The payload behind a sound head, or what is wrong with the file (for the problem line)."""
    if len(raw) < _HEAD.size or not raw.startswith(magic):
        return "is damaged (not a file of this kind)"
    _, version, crc = _HEAD.unpack_from(raw)
    if version != FORMAT_VERSION:
        return f"is of another format ({version})"
    payload = memoryview(raw)[_HEAD.size :]
    if zlib.crc32(payload) != crc:
        return "is damaged (checksum mismatch)"
    return payload


def read_private(path: Path, max_bytes: int) -> bytes | None:
    """The file's bytes (None: larger than `max_bytes`), never through a symlink; a file others
    may read (a copy restored from a backup) is made 0600."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        status = os.fstat(fd)
        if status.st_size > max_bytes:
            return None
        if status.st_mode & 0o777 != FILE_MODE:
            os.fchmod(fd, FILE_MODE)
        with open(fd, "rb", closefd=False) as file:
            return file.read()
    finally:
        os.close(fd)


def write_private(path: Path, data: bytes) -> None:
    """Replace the file atomically and durably, 0600 in a 0700 folder (safe in a thread)."""
    ensure_private_dir(path.parent)
    atomic_write(path, data)


def set_aside(path: Path, what: str, then: str) -> str:
    """Move a file that cannot be read to `<name>.damaged` (the last one kept); the problem
    line: the file, `what` is wrong, where it went, `then` what happens next."""
    aside = path.with_name(path.name + ".damaged")
    try:
        os.replace(path, aside)
        where = f"set aside as {aside.name}"
    except OSError as exc:
        where = f"could not be set aside ({exc.strerror})"
    line = f"{path} {what}: {where}; {then}"
    log.warning("seen cache: %s", line)
    return line


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]
