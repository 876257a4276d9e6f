"""The cache: partitioned TinyDB files under one private data dir, written in atomic batches.

Layout of a data dir (every file 0600, every dir 0700):

    writer.lock              the one-writer advisory lock (holds the owner's pid)
    commit.lock              writers hold it exclusively while renaming, readers shared
    meta.json                schema version, id counters, channel cursors
    outbox.json              replies not yet handed to their channel for good
    hooks.json               escalation hook jobs not yet done (pending, retrying, failed)
    conversations/NNNN.json  conversation records, 64 per file (by id)
    contacts/NNNN.json       contact records, 64 per file (by id)
    messages/N.json          one file per conversation: its messages, notes and events
    xid/NNNN.json            (channel, external id) -> message, in 4096 hash buckets

Every write of one message touches a fixed number of small files, so its cost does not
grow with the number of conversations cached.
"""

from __future__ import annotations

import zlib
from collections import OrderedDict, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.table import Document

from frontdesk.model import Contact, Conversation, Message
from frontdesk.store import records
from frontdesk.store.lock import WriterLock
from frontdesk.store.records import HookJob, OutboxEntry
from frontdesk.store.storage import (
    MANIFEST,
    TMP_DIR,
    AtomicJSONStorage,
    CommitLock,
    commit_files,
    ensure_private_dir,
    recover,
)

SCHEMA_VERSION = 1
BUCKET_SIZE = 64
XID_BUCKETS = 4096
OPEN_PARTITIONS = 128
MIGRATIONS: dict[int, Any] = {}  # from-version -> function(store_root) for future schemas

_COUNTERS = ("conversation", "contact", "message")


class StoreError(Exception):
    """The cache cannot be opened or written; the message says why and what to do."""


def _xid_key(channel: str, external_id: str) -> str:
    return f"{channel}\x1f{external_id}"


def _xid_bucket(key: str) -> int:
    return zlib.crc32(key.encode()) % XID_BUCKETS


class _File:
    """One TinyDB file of the cache, loaded on first use."""

    def __init__(self, store: Store, relpath: str) -> None:
        self.relpath = relpath
        self.path = store.root / relpath
        self.db = TinyDB(self.path, store._mark_dirty, storage=AtomicJSONStorage)

    @property
    def storage(self) -> AtomicJSONStorage:
        return self.db.storage  # type: ignore[return-value]

    def records(self, table: str) -> dict[int, dict[str, Any]]:
        return {doc.doc_id: dict(doc) for doc in self.db.table(table).all()}

    def apply(self, table: str, changes: dict[int, dict[str, Any] | None]) -> None:
        """Upsert and delete documents by id with two TinyDB operations, not one per doc."""
        t = self.db.table(table)
        existing = {int(k) for k in ((self.storage.read() or {}).get(table) or {})}
        stale = [doc_id for doc_id in changes if doc_id in existing]
        if stale:
            t.remove(doc_ids=stale)
        fresh = [Document(r, doc_id=i) for i, r in changes.items() if r is not None]
        if fresh:
            t.insert_multiple(fresh)


class Store:
    """The single writer's view of the cache (or a read-only one, see `open`)."""

    def __init__(self, root: Path, readonly: bool) -> None:
        self.root = root
        self.readonly = readonly
        self._commit_lock = CommitLock(root)
        self._writer = WriterLock(root)
        self._dirty: dict[str, AtomicJSONStorage] = {}
        self._pending: dict[tuple[str, str], dict[int, dict[str, Any] | None]] = defaultdict(dict)
        self._batch_depth = 0
        self._files: dict[str, _File] = {}
        self._partitions: OrderedDict[int, dict[int, Message]] = OrderedDict()
        self._xids: dict[int, dict[str, list[int]]] = {}
        self.recovered = False

    # ---- opening ---------------------------------------------------------------------

    @classmethod
    def open(cls, root: str | Path, *, readonly: bool = False) -> Store:
        """Open (creating if needed) the cache in `root`.

        A writer takes the data dir's lock (StoreLocked names the owner's pid if taken)
        and finishes any commit a crash interrupted. `readonly=True` takes no lock: it
        is for commands such as `export` that may run beside a console.
        """
        root = Path(root).expanduser()
        if readonly and not (root / "meta.json").exists():
            raise StoreError(f"no frontdesk cache in {root} (nothing has been synced there yet)")
        ensure_private_dir(root)
        store = cls(root, readonly)
        if readonly:
            store._recover_if_abandoned()
        else:
            store._writer.acquire()
            for sub in ("conversations", "contacts", "messages", "xid", TMP_DIR):
                ensure_private_dir(root / sub)
            store.recovered = recover(root)
        try:
            with store._commit_lock.hold(exclusive=False):
                store._load_index()
        except Exception:
            store.close()
            raise
        return store

    def close(self) -> None:
        self._writer.release()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _recover_if_abandoned(self) -> None:
        """A reader finding a dead writer's half-done commit finishes it (if no writer runs)."""
        if not (self.root / MANIFEST).exists():
            return
        if self._writer.try_acquire():
            try:
                recover(self.root)
            finally:
                self._writer.release()

    def _file(self, relpath: str) -> _File:
        f = self._files.get(relpath)
        if f is None:
            f = self._files[relpath] = _File(self, relpath)
        return f

    def _load_index(self) -> None:
        meta = self._file("meta.json")
        info = meta.records("meta").get(1)
        if info is None:
            info = {"schema": SCHEMA_VERSION, "next": {name: 1 for name in _COUNTERS}}
        schema = info.get("schema", SCHEMA_VERSION)
        if schema > SCHEMA_VERSION:
            raise StoreError(
                f"the cache in {self.root} was written by a newer frontdesk (schema {schema}, "
                f"this one reads {SCHEMA_VERSION}); upgrade frontdesk or use another --data-dir"
            )
        if schema < SCHEMA_VERSION:
            self._migrate(schema)
        self._meta = info
        self._cursors: dict[str, str] = dict(meta.records("cursors").get(1, {}))
        self._outbox = {
            i: records.outbox_from_record(i, r) for i, r in self._file("outbox.json").records("outbox").items()
        }
        self._hooks = {
            i: records.hook_job_from_record(i, r) for i, r in self._file("hooks.json").records("hooks").items()
        }
        self._conversations: dict[int, Conversation] = {}
        self._contacts: dict[int, Contact] = {}
        for relpath in self._bucket_files("conversations"):
            for i, r in self._file(relpath).records("conversations").items():
                self._conversations[i] = records.conversation_from_record(i, r)
        for relpath in self._bucket_files("contacts"):
            for i, r in self._file(relpath).records("contacts").items():
                self._contacts[i] = records.contact_from_record(i, r)
        self._threads = {(c.channel, c.thread_key): c.id for c in self._conversations.values()}
        self._identities = {
            (ident.channel, ident.address): c.id
            for c in self._contacts.values()
            if c.merged_into is None
            for ident in c.identities
        }

    def _migrate(self, schema: int) -> None:
        while schema < SCHEMA_VERSION:
            MIGRATIONS[schema](self.root)
            schema += 1

    def _bucket_files(self, folder: str) -> list[str]:
        directory = self.root / folder
        if not directory.exists():
            return []
        return sorted(f"{folder}/{p.name}" for p in directory.iterdir() if p.suffix == ".json")

    # ---- reading -----------------------------------------------------------------------

    def conversations(self) -> list[Conversation]:
        return list(self._conversations.values())

    def conversation(self, conv_id: int) -> Conversation | None:
        return self._conversations.get(conv_id)

    def contacts(self) -> list[Contact]:
        return list(self._contacts.values())

    def contact(self, contact_id: int) -> Contact | None:
        return self._contacts.get(contact_id)

    def find_conversation(self, channel: str, thread_key: str) -> Conversation | None:
        conv_id = self._threads.get((channel, thread_key))
        return self._conversations.get(conv_id) if conv_id is not None else None

    def find_contact(self, channel: str, address: str) -> Contact | None:
        contact_id = self._identities.get((channel, address))
        return self._contacts.get(contact_id) if contact_id is not None else None

    def messages(self, conv_id: int) -> list[Message]:
        return sorted(self._partition(conv_id).values(), key=lambda m: m.id)

    def message(self, conv_id: int, message_id: int) -> Message | None:
        return self._partition(conv_id).get(message_id)

    def lookup_external(self, channel: str, external_id: str) -> tuple[int, int] | None:
        """(conversation id, message id) of a channel message already stored, else None."""
        key = _xid_key(channel, external_id)
        found = self._xid(_xid_bucket(key)).get(key)
        return (found[0], found[1]) if found else None

    def cursor(self, channel: str) -> str | None:
        return self._cursors.get(channel)

    def outbox(self) -> list[OutboxEntry]:
        return sorted(self._outbox.values(), key=lambda e: e.message_id)

    def outbox_entry(self, message_id: int) -> OutboxEntry | None:
        return self._outbox.get(message_id)

    def hook_jobs(self) -> list[HookJob]:
        return sorted(self._hooks.values(), key=lambda j: j.id)

    def snapshot(self, conv_id: int) -> tuple[Conversation, Contact | None, list[Message]] | None:
        """One conversation with its contact and messages, all from the same commit.

        A read-only store re-reads the files under the shared commit lock, so a console
        writing beside it never shows a half-applied batch.
        """
        if self.readonly:
            with self._commit_lock.hold(exclusive=False):
                self._refresh_for(conv_id)
                return self._snapshot_from_memory(conv_id)
        return self._snapshot_from_memory(conv_id)

    def _snapshot_from_memory(self, conv_id: int) -> tuple[Conversation, Contact | None, list[Message]] | None:
        conv = self._conversations.get(conv_id)
        if conv is None:
            return None
        return conv, self._contacts.get(conv.contact_id), self.messages(conv_id)

    def _refresh_for(self, conv_id: int) -> None:
        for relpath in (f"conversations/{conv_id // BUCKET_SIZE:04d}.json", f"messages/{conv_id}.json"):
            self._files.pop(relpath, None)
        self._partitions.pop(conv_id, None)
        bucket = self._file(f"conversations/{conv_id // BUCKET_SIZE:04d}.json").records("conversations")
        record = bucket.get(conv_id)
        if record is None:
            return
        conv = self._conversations[conv_id] = records.conversation_from_record(conv_id, record)
        contact_file = f"contacts/{conv.contact_id // BUCKET_SIZE:04d}.json"
        self._files.pop(contact_file, None)
        contact = self._file(contact_file).records("contacts").get(conv.contact_id)
        if contact is not None:
            self._contacts[conv.contact_id] = records.contact_from_record(conv.contact_id, contact)

    def _partition(self, conv_id: int) -> dict[int, Message]:
        part = self._partitions.get(conv_id)
        if part is not None:
            self._partitions.move_to_end(conv_id)
            return part
        relpath = f"messages/{conv_id}.json"
        part = {i: records.message_from_record(i, r) for i, r in self._file(relpath).records("messages").items()}
        self._partitions[conv_id] = part
        self._evict()
        return part

    def _evict(self) -> None:
        while len(self._partitions) > OPEN_PARTITIONS:
            conv_id = next(iter(self._partitions))
            relpath = f"messages/{conv_id}.json"
            if relpath in self._dirty:  # never drop what the current batch still has to write
                self._partitions.move_to_end(conv_id)
                return
            del self._partitions[conv_id]
            self._files.pop(relpath, None)

    def _xid(self, bucket: int) -> dict[str, list[int]]:
        index = self._xids.get(bucket)
        if index is None:
            index = self._xids[bucket] = dict(self._file(f"xid/{bucket:04d}.json").records("xid").get(1, {}))
        return index

    # ---- writing -------------------------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[Store]:
        """Group writes; they reach disk together when the outermost batch ends.

        If the block raises or the commit fails, the in-memory view is reloaded from
        disk, so the store never shows what was not persisted.
        """
        if self.readonly:
            raise StoreError("this cache was opened read-only")
        self._batch_depth += 1
        try:
            yield self
            if self._batch_depth == 1:
                self._commit()
        except BaseException:
            if self._batch_depth == 1:
                self._discard()
            raise
        finally:
            self._batch_depth -= 1

    def _require_batch(self) -> None:
        if self._batch_depth == 0:
            raise StoreError("store writes must happen inside `with store.batch():`")

    def _mark_dirty(self, storage: AtomicJSONStorage) -> None:
        self._dirty[str(storage.path.relative_to(self.root))] = storage

    def new_id(self, counter: str) -> int:
        self._require_batch()
        value = self._meta["next"].get(counter, 1)
        self._meta["next"][counter] = value + 1
        self._pending[("meta.json", "meta")][1] = self._meta
        return value

    def _reserve_id(self, counter: str, used: int) -> None:
        """Keep counters ahead of ids given from outside (bulk import)."""
        if self._meta["next"][counter] <= used:
            self._meta["next"][counter] = used + 1
            self._pending[("meta.json", "meta")][1] = self._meta

    def put_conversation(self, conv: Conversation) -> None:
        self._require_batch()
        self._reserve_id("conversation", conv.id)
        self._conversations[conv.id] = conv
        self._threads[(conv.channel, conv.thread_key)] = conv.id
        relpath = f"conversations/{conv.id // BUCKET_SIZE:04d}.json"
        self._pending[(relpath, "conversations")][conv.id] = records.conversation_to_record(conv)

    def put_contact(self, contact: Contact) -> None:
        self._require_batch()
        self._reserve_id("contact", contact.id)
        self._contacts[contact.id] = contact
        for ident in contact.identities:
            if contact.merged_into is None:
                self._identities[(ident.channel, ident.address)] = contact.id
        relpath = f"contacts/{contact.id // BUCKET_SIZE:04d}.json"
        self._pending[(relpath, "contacts")][contact.id] = records.contact_to_record(contact)

    def put_message(self, message: Message, channel: str | None = None) -> None:
        """Store a message; with `channel` and an external id it is indexed for dedup."""
        self._require_batch()
        self._reserve_id("message", message.id)
        self._partition(message.conversation_id)[message.id] = message
        relpath = f"messages/{message.conversation_id}.json"
        self._pending[(relpath, "messages")][message.id] = records.message_to_record(message)
        if channel and message.external_id:
            self.index_external(channel, message.external_id, message.conversation_id, message.id)

    def index_external(self, channel: str, external_id: str, conv_id: int, message_id: int) -> None:
        self._require_batch()
        key = _xid_key(channel, external_id)
        bucket = _xid_bucket(key)
        index = self._xid(bucket)
        index[key] = [conv_id, message_id]
        self._pending[(f"xid/{bucket:04d}.json", "xid")][1] = index

    def set_cursor(self, channel: str, value: str) -> None:
        self._require_batch()
        self._cursors[channel] = value
        self._pending[("meta.json", "cursors")][1] = self._cursors

    def put_outbox(self, entry: OutboxEntry) -> None:
        self._require_batch()
        self._outbox[entry.message_id] = entry
        self._pending[("outbox.json", "outbox")][entry.message_id] = records.outbox_to_record(entry)

    def delete_outbox(self, message_id: int) -> None:
        self._require_batch()
        if self._outbox.pop(message_id, None) is not None:
            self._pending[("outbox.json", "outbox")][message_id] = None

    def put_hook_job(self, job: HookJob) -> None:
        self._require_batch()
        self._hooks[job.id] = job
        self._pending[("hooks.json", "hooks")][job.id] = records.hook_job_to_record(job)

    def delete_hook_job(self, job_id: int) -> None:
        self._require_batch()
        if self._hooks.pop(job_id, None) is not None:
            self._pending[("hooks.json", "hooks")][job_id] = None

    def quarantine(self, channel: str, payload: str, reason: str) -> None:
        """Keep an event that could not be ingested, for a person to look at."""
        self._require_batch()
        doc_id = self.new_id("quarantine")
        record = {"channel": channel, "payload": payload, "reason": reason}
        self._pending[("quarantine.json", "quarantine")][doc_id] = record

    def quarantined(self) -> list[dict[str, Any]]:
        return list(self._file("quarantine.json").records("quarantine").values())

    def _commit(self) -> None:
        if not self._pending:
            return
        try:
            for (relpath, table), changes in self._pending.items():
                self._file(relpath).apply(table, changes)
            files = {storage.path: storage.serialized() for storage in self._dirty.values()}
            commit_files(self.root, files, self._commit_lock)
        except OSError as exc:
            self._discard()
            raise StoreError(f"could not write the cache in {self.root}: {exc.strerror or exc}") from exc
        self._pending.clear()
        self._dirty.clear()
        self._evict()

    def _discard(self) -> None:
        """Forget everything not yet committed by reloading the index from disk."""
        self._pending.clear()
        self._dirty.clear()
        self._files.clear()
        self._partitions.clear()
        self._xids.clear()
        with self._commit_lock.hold(exclusive=False):
            self._load_index()
