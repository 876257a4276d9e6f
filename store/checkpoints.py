"""Checkpoints: bring the cache's files up to date with the journal, then start an empty journal."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from frontdesk.store import journal
from frontdesk.store.dedup import DEDUP_DIR, append_xid_log
from frontdesk.store.storage import (
    TMP_DIR,
    empty_scratch,
    encode,
    swap_in,
    sync_files,
    write_file,
)

log = logging.getLogger(
    "frontdesk.store.store"
)  # the Store's logger: its checkpoint lines keep their name

CHECKPOINT_BYTES = 4 << 20  # journal size that triggers a checkpoint at the end of a commit


class Checkpoints:
    """The Store's checkpoints (a mixin of `Store`)."""

    def _checkpoint_safely(self) -> None:
        """Checkpoint; a failure (disk full) is logged, the journal keeps everything, we retry later."""
        try:
            self.checkpoint()
        except OSError as exc:
            self._checkpoint_at = self._journal.size + CHECKPOINT_BYTES
            log.warning(
                "could not checkpoint the cache in %s (%s); the journal keeps every change",
                self.root,
                exc,
            )

    def checkpoint(self) -> None:
        """Bring the files up to date with the journal, then start an empty journal.

        New files are written under `tmp/` and made durable with one sync before any of
        them replaces an old one, because the journal holds only the changes, not the rest
        of a file. The swaps (`swap_in`) and the journal reset happen under the exclusive
        commit lock. Killed anywhere before the reset, the journal is still whole and is
        replayed.
        """
        if self.readonly or self._journal.empty:
            return
        root, tmp_dir = self.root, self.root / TMP_DIR
        written: list[Path] = []
        renames: list[tuple[Path, Path]] = []
        appended: list[tuple[Path, int]] = []
        try:
            for n, (relpath, tables) in enumerate(self._overlay.items()):
                if relpath.startswith(DEDUP_DIR + "/"):  # append-only: no rewrite, no rename
                    log_path = root / relpath
                    appended.append(
                        (log_path, log_path.stat().st_size if log_path.exists() else -1)
                    )
                    append_xid_log(log_path, tables.get("xid", {}))
                    written.append(log_path)
                    continue
                target = root / relpath
                tmp = tmp_dir / f"{n}.json"
                renames.append((tmp, target))
                write_file(tmp, encode(journal.apply(self._load_file(relpath), tables)))
                written.append(tmp)
            sync_files(root, written)
        except BaseException:
            for tmp, _ in renames:  # their space is what a full disk needs back
                empty_scratch(tmp)
            for (
                path,
                size,
            ) in appended:  # the journal still has them: the next checkpoint appends them again
                if size < 0:
                    path.unlink(missing_ok=True)
                else:
                    os.truncate(path, size)
            raise
        with self._commit_lock.hold(exclusive=True):
            for tmp, target in renames:
                swap_in(tmp, target)
            sync_files(root, {target.parent for _, target in renames} | {root})
            self._journal.reset(tmp_dir)
        self._overlay = {}
        self._checkpoint_at = CHECKPOINT_BYTES
