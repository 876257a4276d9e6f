"""The advisory lock that lets exactly one process write a data dir."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from frontdesk.store.storage import open_private

LOCK_NAME = "writer.lock"


class StoreLocked(Exception):
    """Another process owns the data dir; the message names its pid."""


class WriterLock:
    def __init__(self, root: Path) -> None:
        self.path = root / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = open_private(self.path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StoreLocked(
                f"{self.path.parent} is in use by another frontdesk (pid {pid}); quit that one "
                "first, or use a read-only command such as `frontdesk export`"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def try_acquire(self) -> bool:
        try:
            self.acquire()
        except StoreLocked:
            return False
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
