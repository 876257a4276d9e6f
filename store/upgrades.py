"""Schema upgrades: refuse a newer cache, migrate an older one, finish a dead schema-1 writer's commit."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Callable

from frontdesk.store.dedup import (
    DEDUP_DIR,
    DEDUP_SEGMENTS,
    dedup_relpath,
    dedup_segment,
    xid_lines,
)
from frontdesk.store.errors import StoreError
from frontdesk.store.storage import (
    MANIFEST,
    TMP_DIR,
    atomic_write,
    encode,
    ensure_own_dir,
    ensure_private_dir,
    fsync_dir,
    read_json,
    recover,
    write_durable,
)

SCHEMA_VERSION = 3


def meta_info(meta: dict[str, Any]) -> dict[str, Any] | None:
    """The `meta` record of meta.json's tables, if it is one."""
    table = meta.get("meta")
    info = table.get("1") if isinstance(table, dict) else None
    return info if isinstance(info, dict) else None


def migrate_xid_buckets(root: Path) -> None:
    """Schema 1 -> 2: the dedup index moves from 4096 JSON hash buckets to 256 append-only logs.

    (Schema 2 also adds the journal; a schema-1 cache has none, so nothing else changes.)
    """
    segments: list[dict[str, Any]] = [{} for _ in range(DEDUP_SEGMENTS)]
    folder = root / "xid"
    if folder.exists():
        for path in sorted(folder.iterdir()):
            if path.suffix == ".json":
                for key, value in (
                    ((read_json(path) or {}).get("xid") or {}).get("1") or {}
                ).items():
                    segments[dedup_segment(key)][key] = value
    ensure_private_dir(root / DEDUP_DIR)
    for segment, entries in enumerate(
        segments
    ):  # each file whole or not at all: a rerun rewrites it
        tmp = root / TMP_DIR / "dedup.new"
        write_durable(tmp, xid_lines(entries))
        os.replace(tmp, root / dedup_relpath(segment))
    fsync_dir(root / DEDUP_DIR)


def journal_format_2(root: Path) -> None:
    """Schema 2 -> 3: journal records gain a magic and a header checksum; the writer rewrites
    the journal when it opens it (`JournalWriter.open`). The schema says so to older frontdesks."""


MIGRATIONS: dict[int, Callable[[Path], None]] = {
    1: migrate_xid_buckets,
    2: journal_format_2,
}  # from-version -> step


class SchemaUpgrades:
    """The Store's schema check and migrations when it opens (a mixin of `Store`)."""

    def _recover_if_abandoned(self) -> None:
        """A reader finding a dead schema-1 writer's half-done commit finishes it (if no writer runs)."""
        if not (self.root / MANIFEST).exists():
            return
        if self._writer.try_acquire():
            try:
                recover(self.root)
            finally:
                self._writer.release()

    def _upgrade_if_old(self) -> None:
        """Refuse a newer schema; run the migrations of an older one (a reader only if no writer runs)."""
        info = meta_info(self._load_file("meta.json")) or {}
        schema = info.get("schema", SCHEMA_VERSION)
        if not isinstance(schema, int):
            schema = SCHEMA_VERSION
        if schema > SCHEMA_VERSION:
            raise StoreError(
                f"the cache in {self.root} was written by a newer frontdesk (schema {schema}, "
                f"this one reads {SCHEMA_VERSION}); upgrade frontdesk or use another --data-dir"
            )
        if schema == SCHEMA_VERSION:
            return
        if self.readonly:
            if not self._writer.try_acquire():
                raise StoreError(
                    f"the cache in {self.root} is in use by an older frontdesk (schema {schema}); "
                    "quit it and start this one to upgrade the cache first"
                )
            try:
                self._migrate(schema, info)
            finally:
                self._writer.release()
        else:
            self._migrate(schema, info)

    def _migrate(self, schema: int, info: dict[str, Any]) -> None:
        ensure_own_dir(self.root / TMP_DIR)
        while schema < SCHEMA_VERSION:
            MIGRATIONS[schema](self.root)
            schema += 1
        data = read_json(self.root / "meta.json") or {}
        data.setdefault("meta", {})["1"] = {**info, "schema": schema}
        atomic_write(self.root / "meta.json", encode(data))
        shutil.rmtree(self.root / "xid", ignore_errors=True)  # schema 1's buckets, now in dedup/
