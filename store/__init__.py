"""The local cache: partitioned TinyDB files with atomic batches, dedup, cursors and outbox."""

from frontdesk.store.lock import StoreLocked
from frontdesk.store.records import HookJob, OutboxEntry
from frontdesk.store.store import SCHEMA_VERSION, Store, StoreError

__all__ = ["SCHEMA_VERSION", "HookJob", "OutboxEntry", "Store", "StoreError", "StoreLocked"]
