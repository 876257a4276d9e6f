"""The local cache: partitioned JSON files and a write-ahead journal; atomic batches, dedup, cursors and outbox."""

from frontdesk.store.lock import StoreLocked
from frontdesk.store.records import HookJob, OutboxEntry
from frontdesk.store.store import SCHEMA_VERSION, Store, StoreError

__all__ = ["SCHEMA_VERSION", "HookJob", "OutboxEntry", "Store", "StoreError", "StoreLocked"]
