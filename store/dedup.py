"""The dedup index: (channel, external id) -> (conversation, message), in 256 append-only logs."""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path
from typing import Any

from frontdesk.store.storage import (
    FILE_MODE,
    TMP_DIR,
    decode,
    fsync_dir,
    no_gc,
    open_private,
    read_fd,
    write_durable,
)

DEDUP_DIR = "dedup"
DEDUP_SEGMENTS = 256


def xid_key(channel: str, external_id: str) -> str:
    return f"{channel}\x1f{external_id}"


def dedup_segment(key: str) -> int:
    return zlib.crc32(key.encode(errors="surrogatepass")) % DEDUP_SEGMENTS


def dedup_relpath(segment: int) -> str:
    return f"{DEDUP_DIR}/{segment:03d}.log"


class DedupIndex:
    """The Store's dedup lookups and writes, and its rebuild by `repair` (a mixin of `Store`)."""

    def lookup_external(self, channel: str, external_id: str) -> tuple[int, int] | None:
        """(conversation id, message id) of a channel message already stored, else None.

        The first lookup in a segment reads that segment's log (1/256 of the index).
        """
        key = xid_key(channel, external_id)
        return self._xid_segment(dedup_segment(key)).get(key)

    def index_external(self, channel: str, external_id: str, conv_id: int, message_id: int) -> None:
        self._require_batch()
        key = xid_key(channel, external_id)
        segment = dedup_segment(key)
        self._xid_segment(segment)[key] = (conv_id, message_id)
        self._stage(dedup_relpath(segment), "xid", key, [conv_id, message_id])

    def _xid_segment(self, segment: int) -> dict[str, tuple[int, int]]:
        index = self._xids.get(segment)
        if index is None:
            relpath = dedup_relpath(segment)
            with no_gc():
                index = read_xid_log(self.root / relpath, tighten=not self.readonly)
                for changes in (self._overlay, self._pending):
                    for key, value in changes.get(relpath, {}).get("xid", {}).items():
                        index[key] = (value[0], value[1])
            self._xids[segment] = index
        return index

    def _rebuild_dedup(self) -> list[str]:
        """Every dedup entry whose message exists, plus one for every stored message with an
        external id; written whole, log by log (caller has checkpointed)."""
        segments: list[dict[str, tuple[int, int]]] = [
            dict(self._xid_segment(n)) for n in range(DEDUP_SEGMENTS)
        ]
        dropped = added = 0
        for segment in segments:
            for key, (conv_id, message_id) in list(segment.items()):
                if message_id not in self._partition(conv_id):
                    del segment[key]
                    dropped += 1
        for conv in self.conversations():
            for message in self._partition(conv.id).values():
                if message.external_id:
                    key = xid_key(conv.channel, message.external_id)
                    segment = segments[dedup_segment(key)]
                    if key not in segment:
                        segment[key] = (conv.id, message.id)
                        added += 1
        if not dropped and not added:
            return []
        with self._commit_lock.hold(exclusive=True):
            for n, entries in enumerate(segments):
                tmp = self.root / TMP_DIR / "dedup.new"
                write_durable(tmp, xid_lines(entries))
                os.replace(tmp, self.root / dedup_relpath(n))
            fsync_dir(self.root / DEDUP_DIR)
        self._xids = {}
        return [
            f"dedup index: {dropped} entr{'y' if dropped == 1 else 'ies'} for messages that are gone dropped "
            f"(a channel may deliver them again), {added} added for stored messages"
        ]


# ---- the logs on disk: one line per entry, appended by checkpoints ------------------------------


def read_xid_log(path: Path, *, tighten: bool = False) -> dict[str, tuple[int, int]]:
    """Every entry of the log (a later line wins); a torn or damaged line is skipped.

    Lines are JSON arrays `[key, conversation id, message id]`. Every entry the last
    checkpoint did not make durable is also in the journal, so skipping one loses nothing.
    With `tighten`, a log readable by others is made 0600.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return {}
    try:
        info = os.fstat(fd)
        if tighten and info.st_mode & 0o777 != FILE_MODE:
            os.fchmod(fd, FILE_MODE)
        raw = read_fd(fd, info.st_size)
    finally:
        os.close(fd)
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
            rows.append(row)
    return _xid_entries(rows)


def _xid_entries(rows: list[Any]) -> dict[str, tuple[int, int]]:
    """The `[key, conversation id, message id]` rows; valid JSON of another shape is damage too.

    One loop with exact type tests: a new message's first lookup in a segment reads it here.
    """
    entries: dict[str, tuple[int, int]] = {}
    for row in rows:
        if type(row) is list and len(row) == 3:
            key, conv_id, message_id = row
            if type(key) is str and type(conv_id) is int and type(message_id) is int:
                entries[key] = (conv_id, message_id)
    return entries


def append_xid_log(path: Path, entries: dict[str, Any]) -> None:
    """Append `entries` (key -> [conversation id, message id]) after the last whole line; not fsynced."""
    fd = open_private(path, os.O_RDWR)
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
        text = "".join(
            f"[{dumps(key)},{int(value[0])},{int(value[1])}]\n" for key, value in entries.items()
        )
        try:
            return text.encode()
        except UnicodeEncodeError:  # a lone surrogate: see to_json
            continue
    raise AssertionError("unreachable")
