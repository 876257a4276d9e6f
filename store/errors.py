"""The store's error: the cache cannot be opened or written, with what to do."""

from __future__ import annotations

import errno


class StoreError(Exception):
    """The cache cannot be opened or written; the message says why and what to do."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.errno = code  # of the OSError behind it, if any

    @property
    def disk_full(self) -> bool:
        return self.errno in (errno.ENOSPC, errno.EDQUOT)
