"""Files of the cache: private dirs, durable and atomic writes, the commit lock, and the dedup logs.

Files hold JSON in TinyDB's shape (`{table: {id: record}}`) so any JSON or TinyDB tool can
read them, but the store reads and writes them directly. Batches reach disk through the
write-ahead journal (`journal.py`); the files are brought up to date by checkpoints, which
write new files beside the old ones, make them durable with one sync, and rename them in
place while holding the commit lock exclusively, so a reader (which takes it shared)
never sees a checkpoint half done.

`recover` still finishes a commit manifest (`commit.json`) that a frontdesk of schema 1
left behind when it was killed in the middle of a commit.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import json
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

FILE_MODE = 0o600
DIR_MODE = 0o700
MANIFEST = "commit.json"
COMMIT_LOCK = "commit.lock"
TMP_DIR = "tmp"


def ensure_private_dir(path: Path) -> None:
    """Create `path` (and parents) as 0700 and tighten it if it already exists."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o777 != DIR_MODE:
        os.chmod(path, DIR_MODE)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durable(path: Path, data: bytes) -> None:
    """Write `data` to a new file at `path` (0600 from creation) and fsync it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a reader sees the old or the new file, never a mix."""
    tmp = path.with_name(f".{path.name}.tmp")
    write_durable(tmp, data)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def to_json(data: Any, **options: Any) -> str:
    """`data` as JSON text that is valid UTF-8: characters as they are, except that a lone
    surrogate (legal in a channel's JSON as "\\ud800", not encodable as UTF-8) makes the
    whole text ASCII with escapes, so it round-trips instead of failing the write."""
    text = json.dumps(data, ensure_ascii=False, **options)
    try:
        text.encode()
    except UnicodeEncodeError:
        return json.dumps(data, ensure_ascii=True, **options)
    return text


_DIGITS_AS_ZEROS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_NINETEEN_DIGITS = b"0" * 19


def decode(raw: bytes) -> Any:
    """JSON text as data, as Python's JSON reads it.

    orjson parses the cache about twice as fast (the conversation index is read whole at
    start). It refuses some JSON that Python writes and reads, such as the escaped lone
    surrogate `to_json` writes, and reads an integer past 64 bits as a float: text with
    19 digits in a row, and text orjson refuses, go to the standard library, which also
    gives the error for text that is not JSON.
    """
    if _NINETEEN_DIGITS in raw.translate(_DIGITS_AS_ZEROS):
        return json.loads(raw)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def encode(data: Any) -> bytes:
    """`data` as compact JSON in UTF-8, as `json.dumps` writes it.

    orjson writes it about five times as fast (a checkpoint rewrites every file a batch
    touched); what it refuses (a lone surrogate, an integer past 64 bits) goes to the
    standard library. orjson would write a NaN as null: the records hold no floats
    (tests/test_store.py checks every kind).
    """
    try:
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:
        pass
    try:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:  # a lone surrogate: see to_json
        return json.dumps(data, ensure_ascii=True, separators=(",", ":")).encode()


def write_file(path: Path, data: bytes) -> None:
    """Write `data` to the file at `path` (0600 from creation), not yet durable: see `sync_files`."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # a reused scratch file keeps its mode: make sure of it
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    finally:
        os.close(fd)


@functools.cache
def _libc(name: str) -> Callable[..., int] | None:
    """A function of the C library (Linux's syncfs, renameat2), or None where there is none."""
    try:
        import ctypes

        return getattr(ctypes.CDLL(None, use_errno=True), name)  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_exchange_works = True


def swap_in(new: Path, target: Path) -> None:
    """Atomically make `new`'s file the one at `target`.

    Where the system can (Linux renameat2 RENAME_EXCHANGE) the two files are exchanged,
    so `new` keeps the old file, to be overwritten by the next checkpoint: creating a file
    cost 0.9 ms here, overwriting one 0.04 ms, and a checkpoint writes hundreds. Elsewhere,
    or when `target` does not exist yet, it is a plain `os.replace`.
    """
    global _exchange_works
    if _exchange_works:
        renameat2 = _libc("renameat2")
        if renameat2 is not None:
            if renameat2(_AT_FDCWD, os.fsencode(new), _AT_FDCWD, os.fsencode(target), _RENAME_EXCHANGE) == 0:
                return
            import ctypes

            if ctypes.get_errno() in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
                _exchange_works = False  # a file system or kernel without it
            elif ctypes.get_errno() != errno.ENOENT:
                code = ctypes.get_errno()
                raise OSError(code, os.strerror(code), str(target))
        else:
            _exchange_works = False
    os.replace(new, target)


def sync_files(root: Path, paths: Iterable[Path]) -> None:
    """Make `paths` (files or dirs, all on `root`'s file system) durable.

    On Linux one syncfs(2) does it for all of them at once; writing many files with an
    fsync each cost more than the writes themselves here. Elsewhere, or if syncfs fails,
    each path is fsynced.
    """
    syncfs = _libc("syncfs")
    if syncfs is not None:
        fd = os.open(root, os.O_RDONLY)
        try:
            if syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read_json(path: Path) -> dict[str, Any] | None:
    """The parsed file, or None when it does not exist yet."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    if not raw.strip():
        return None
    return decode(raw)


class CommitLock:
    """The lock that separates a writer's renames from readers (fcntl.flock on `commit.lock`)."""

    def __init__(self, root: Path) -> None:
        self.path = root / COMMIT_LOCK

    @contextmanager
    def hold(self, exclusive: bool) -> Iterator[None]:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)  # closing releases the flock


def apply_renames(root: Path, renames: list[tuple[str, str]]) -> None:
    touched: set[Path] = set()
    for tmp, target in renames:
        src, dst = root / tmp, root / target
        if src.exists():  # already renamed before an interruption
            os.replace(src, dst)
            touched.add(dst.parent)
    for directory in touched:
        fsync_dir(directory)


def recover(root: Path) -> bool:
    """Finish a schema-1 commit a kill interrupted, drop temp files. Caller holds the writer lock.

    The checkpoint's scratch files (`tmp/N.json`) are kept: their content means nothing,
    the next checkpoint overwrites them (see `swap_in`). Returns True when an interrupted
    commit was completed.
    """
    manifest = root / MANIFEST
    finished = False
    lock = CommitLock(root)
    with lock.hold(exclusive=True):
        renames = read_json(manifest) if manifest.exists() else None
        if renames is not None:
            apply_renames(root, [tuple(pair) for pair in renames])
            finished = True
        manifest.unlink(missing_ok=True)
        tmp_dir = root / TMP_DIR
        if tmp_dir.exists():
            for leftover in tmp_dir.iterdir():
                if not (leftover.suffix == ".json" and leftover.stem.isdigit()):
                    leftover.unlink()
    return finished


# ---- dedup logs: (channel, external id) -> (conversation id, message id), append-only ----------


def read_xid_log(path: Path) -> dict[str, tuple[int, int]]:
    """Every entry of the log (a later line wins); a torn or damaged line is skipped.

    Lines are JSON arrays `[key, conversation id, message id]`. Every entry the last
    checkpoint did not make durable is also in the journal, so skipping one loses nothing.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    end = raw.rfind(b"\n")
    if end < 0:
        return {}
    try:  # one parse for the whole file: JSON escapes newlines, so each line is one entry
        rows = decode(b"[" + raw[:end].replace(b"\n", b",") + b"]")
    except ValueError:
        rows = []
        for line in raw[:end].split(b"\n"):
            try:
                row = decode(line)
            except ValueError:
                continue
            if isinstance(row, list) and len(row) == 3:
                rows.append(row)
    return {key: (conv_id, message_id) for key, conv_id, message_id in rows}


def append_xid_log(path: Path, entries: dict[str, Any]) -> None:
    """Append `entries` (key -> [conversation id, message id]) after the last whole line; not fsynced."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        size = os.fstat(fd).st_size
        end = size
        while end > 0:  # cut a torn last line (a checkpoint killed while appending)
            start = max(0, end - 65536)
            chunk = os.pread(fd, end - start, start)
            at = chunk.rfind(b"\n")
            if at >= 0:
                end = start + at + 1
                break
            end = start
        if end != size:
            os.ftruncate(fd, end)
        data = xid_lines(entries)
        view = memoryview(data)
        while view:
            written = os.pwrite(fd, view, end)
            view = view[written:]
            end += written
    finally:
        os.close(fd)


def xid_lines(entries: dict[str, Any]) -> bytes:
    """The log lines of `entries` (key -> [conversation id, message id])."""
    for ascii_only in (False, True):
        dumps = json.JSONEncoder(ensure_ascii=ascii_only).encode
        text = "".join(f"[{dumps(key)},{int(value[0])},{int(value[1])}]\n" for key, value in entries.items())
        try:
            return text.encode()
        except UnicodeEncodeError:  # a lone surrogate: see to_json
            continue
    raise AssertionError("unreachable")
