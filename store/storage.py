"""Files of the cache: private dirs, durable and atomic writes, JSON encoding, the commit lock.

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
import gc
import json
import os
import re
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
BUCKET_SIZE = 64  # records per conversations/ and contacts/ file


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while many objects are built (no cycles among them)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def ensure_private_dir(path: Path) -> None:
    """Create `path` (and parents) as 0700 and tighten it if it already exists."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o777 != DIR_MODE:
        os.chmod(path, DIR_MODE)


def ensure_own_dir(path: Path) -> None:
    """`ensure_private_dir` for a folder only the store uses (tmp/, quarantine/): a symlink
    there (planted, or a backup's) is replaced, so nothing is written where it points."""
    if path.is_symlink():
        path.unlink()
    ensure_private_dir(path)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_own(path: Path, flags: int) -> int:
    """Open a file of the store's own for writing, never through a symlink: a link found
    there (planted, or a restored backup's) is replaced by a new file."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW, FILE_MODE)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
    os.unlink(path)
    return os.open(path, flags | os.O_NOFOLLOW, FILE_MODE)


def write_durable(path: Path, data: bytes) -> None:
    """Write `data` to a new file at `path` (0600 from creation) and fsync it."""
    fd = open_own(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
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
    fd = open_own(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
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
    costs far more than overwriting one, and a checkpoint writes hundreds. Elsewhere,
    or when `target` does not exist yet, it is a plain `os.replace`.
    """
    global _exchange_works
    if _exchange_works:
        renameat2 = _libc("renameat2")
        if renameat2 is not None:
            if (
                renameat2(
                    _AT_FDCWD, os.fsencode(new), _AT_FDCWD, os.fsencode(target), _RENAME_EXCHANGE
                )
                == 0
            ):
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

    On Linux one syncfs(2) does it for all of them at once, since an fsync per file costs
    more than writing the files. Elsewhere, or if syncfs fails,
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


READ_ONLY_ERRORS = (errno.EROFS, errno.EACCES, errno.EPERM)


def open_private(path: Path, flags: int) -> int:
    """Open (creating if needed) a file of the cache and make sure it is 0600 (a restored backup may be 0644)."""
    fd = os.open(path, flags | os.O_CREAT, FILE_MODE)
    try:
        if os.fstat(fd).st_mode & 0o777 != FILE_MODE:
            os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_tables(path: Path, *, tighten: bool = False) -> tuple[dict[str, Any] | None, str | None]:
    """A cache file's tables and what is wrong with it, if anything: (None, None) when it does not exist.

    What can be read is read: a file that is not valid JSON is salvaged record by record
    (`salvage`), one that is empty reads as no tables; either way the second value says
    what is wrong in a few words. With `tighten`, a file readable by others is made 0600.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None, None
    try:
        info = os.fstat(fd)
        if tighten and info.st_mode & 0o777 != FILE_MODE:
            try:
                os.fchmod(fd, FILE_MODE)
            except OSError:
                pass  # not ours to change (a read-only data dir): reading is still fine
        raw = read_fd(fd, info.st_size)
    finally:
        os.close(fd)
    if not raw.strip():
        return {}, f"is empty ({len(raw)} bytes)"
    try:
        data = decode(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        data = salvage(raw)
        return (
            data,
            f"is not valid JSON ({str(exc).splitlines()[0][:80]}); {sum(map(len, data.values()))} record(s) could be read",
        )
    if not isinstance(data, dict) or not all(isinstance(rows, dict) for rows in data.values()):
        kept = (
            {name: rows for name, rows in data.items() if isinstance(rows, dict)}
            if isinstance(data, dict)
            else {}
        )
        return kept, "is not in the cache's shape ({table: {id: record}})"
    return data, None


def read_fd(fd: int, size: int) -> bytes:
    """The whole of an open file from its start (`size`: its length when last looked at)."""
    chunks, offset = [], 0
    while True:
        chunk = os.pread(fd, max(size - offset, 65536), offset)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        offset += len(chunk)


_TABLE = re.compile(r'"([A-Za-z_][A-Za-z0-9_]*)"\s*:\s*\{\s*(?="[^"]*"\s*:|\})')
_ENTRY = re.compile(r'"(\d+)"\s*:\s*')


def salvage(raw: bytes) -> dict[str, dict[str, Any]]:
    """The records that can still be read from a damaged file in TinyDB's layout, table by table.

    Each `"id": value` is parsed on its own, so one damaged record (a flipped byte, a cut)
    costs that record only; the caller validates what comes back as it validates any record.
    """
    text = raw.decode("utf-8", errors="replace")
    decoder = json.JSONDecoder()
    tables: dict[str, dict[str, Any]] = {}
    table_starts = [(m.start(), m.group(1)) for m in _TABLE.finditer(text)]
    position = 0
    for match in _ENTRY.finditer(text):
        if match.start() < position:
            continue  # inside a record already read
        try:
            value, end = decoder.raw_decode(text, match.end())
        except ValueError:
            continue
        table = next(
            (name for start, name in reversed(table_starts) if start < match.start()), None
        )
        if table is not None:
            tables.setdefault(table, {})[match.group(1)] = value
            position = end
    return tables


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
        try:
            fd: int | None = open_private(self.path, os.O_RDWR)
        except OSError as exc:
            if exclusive or exc.errno not in READ_ONLY_ERRORS:
                raise
            fd = self._open_read_only()
        if fd is None:  # a read-only data dir without the lock file: no writer can be changing it
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def _open_read_only(self) -> int | None:
        """A reader in a data dir it cannot write: flock works on a descriptor opened for reading."""
        try:
            return os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None


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

    The checkpoint's scratch files (`tmp/N.json`) are kept for the next checkpoint to
    overwrite (see `swap_in`); when the disk is short of space they are emptied, since a
    checkpoint that failed on a full disk (or was killed) leaves them full and their space
    is what the disk needs back. Returns True when an interrupted commit was completed.
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
            short = short_of_space(root)
            for entry in os.scandir(tmp_dir):
                if entry.is_symlink() or not (
                    entry.name.endswith(".json") and entry.name[:-5].isdigit()
                ):
                    os.unlink(entry.path)
                elif short:
                    empty_scratch(Path(entry.path))
                elif entry.stat().st_mode & 0o777 != FILE_MODE:  # a restored backup's
                    os.chmod(entry.path, FILE_MODE)
    return finished


LOW_SPACE_BYTES = 64 << 20


def short_of_space(root: Path) -> bool:
    """Whether the file system of `root` has less than 64 MB or 5% of its size free (emptying
    the scratch files at every start would slow every start for space nobody needs)."""
    info = os.statvfs(root)
    free = info.f_bavail * info.f_frsize
    return free < LOW_SPACE_BYTES or free < info.f_blocks * info.f_frsize // 20


def empty_scratch(path: Path) -> None:
    """Give a scratch file's space back, keeping the file (overwriting one is cheaper than creating it)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW)
    except FileNotFoundError:
        return
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        os.unlink(path)  # a link is not ours to empty: its target lies outside the data dir
        return
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
