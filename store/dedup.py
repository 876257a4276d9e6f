"""The dedup index: (channel, external id) -> (conversation, message), in 256 append-only logs."""

from __future__ import annotations

import os
import zlib

from frontdesk.store.storage import (
    TMP_DIR,
    fsync_dir,
    no_gc,
    read_xid_log,
    write_durable,
    xid_lines,
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
