"""The local cache: partitioned JSON files and a write-ahead journal; atomic batches, dedup, cursors and outbox."""

from frontdesk.store.errors import StoreError
from frontdesk.store.lock import StoreLocked
from frontdesk.store.records import HookJob, OutboxEntry
from frontdesk.store.store import Store
from frontdesk.store.upgrades import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "HookJob", "OutboxEntry", "Store", "StoreError", "StoreLocked"]
