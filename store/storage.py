"""TinyDB storage that writes atomically, plus the multi-file commit that keeps partitions consistent.

A single file is replaced atomically (temp file, fsync, `os.replace`). A batch that touches
several partitions is committed with a manifest: every new file is written and fsynced
under `tmp/` first, then the manifest listing the renames is written, then the renames
run, then the manifest is removed — all while holding the commit lock exclusively, so a
reader (which takes it shared) sees either the whole batch or none of it. A writer that
dies in the middle leaves the manifest behind and the next open finishes the renames.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tinydb.storages import Storage

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


def encode(data: Any) -> bytes:
    try:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:  # a lone surrogate: see to_json
        return json.dumps(data, ensure_ascii=True, separators=(",", ":")).encode()


class AtomicJSONStorage(Storage):
    """A TinyDB storage whose writes stay in memory until the store commits them.

    TinyDB writes the whole database on every operation; buffering those writes and
    committing once per batch is what makes a batch of inserts cost one file write.
    """

    def __init__(self, path: Path, on_dirty: Callable[[AtomicJSONStorage], None]) -> None:
        self.path = path
        self._on_dirty = on_dirty
        self._data: dict[str, dict[str, Any]] | None = None
        self._loaded = False

    def read(self) -> dict[str, dict[str, Any]] | None:
        if not self._loaded:
            self._data = read_json(self.path)
            self._loaded = True
        return self._data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        self._data = data
        self._loaded = True
        self._on_dirty(self)

    def serialized(self) -> bytes:
        return encode(self._data or {})


def read_json(path: Path) -> dict[str, Any] | None:
    """The parsed file, or None when it does not exist yet."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    if not raw.strip():
        return None
    return json.loads(raw)


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


def commit_files(root: Path, files: dict[Path, bytes], lock: CommitLock) -> None:
    """Make every file in `files` take its new content at once (see module docstring)."""
    if not files:
        return
    tmp_dir = root / TMP_DIR
    renames: list[tuple[str, str]] = []
    for n, (target, data) in enumerate(files.items()):
        tmp = tmp_dir / f"{n}.json"
        write_durable(tmp, data)
        renames.append((str(tmp.relative_to(root)), str(target.relative_to(root))))
    fsync_dir(tmp_dir)
    with lock.hold(exclusive=True):
        atomic_write(root / MANIFEST, encode(renames))
        apply_renames(root, renames)
        (root / MANIFEST).unlink()


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
    """Finish an interrupted commit, drop uncommitted temp files. Caller holds the writer lock.

    Returns True when an interrupted commit was completed.
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
                leftover.unlink()
    return finished
