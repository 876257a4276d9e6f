"""The cache: JSON files under one private data dir, written in atomic batches through a journal.

Layout of a data dir (every file 0600, every dir 0700):

    writer.lock              the one-writer advisory lock (holds the owner's pid)
    commit.lock              a checkpoint holds it exclusively while renaming, readers shared
    journal                  write-ahead journal: every batch committed since the last checkpoint
    meta.json                schema version, id counters, channel cursors
    outbox.json              replies not yet handed to their channel for good
    hooks.json               escalation hook jobs not yet done (pending, retrying, failed)
    drafts.json              what the agent wrote and has not sent, per conversation and mode
    quarantine.json          channel events that could not be ingested
    conversations/NNNN.json  conversation records, 64 per file (by id)
    contacts/NNNN.json       contact records, 64 per file (by id)
    messages/N.json          one file per conversation: its messages, notes and events
    dedup/NNN.log            (channel, external id) -> (conversation, message): append-only logs,
                             one line per entry, 256 of them by hash of the key
    tmp/                     files of a checkpoint in progress
    quarantine/              copies of damaged files and journals, set aside for a person to look at
    report-facts.bin         reports' facts per conversation (desk/report/cache.py; derived, rebuilt when lost)

A batch is committed by appending one record to the journal and fsyncing it: one write,
whatever the batch touched and however large the cache. The batch is then in memory
(the files as last checkpointed + the journal's records = the cache); a checkpoint, when
the journal passes `CHECKPOINT_BYTES` and when the store is closed, writes the files the
journal touched (each once, however many batches changed it), appends to the dedup logs, makes
all of it durable with one sync, renames the files in place under the commit lock and
starts an empty journal. A kill at any moment leaves the journal whole up to its last
fsynced record, and replaying it over files that a checkpoint may have half renamed gives
the same cache, since every record holds whole records (post-images), never increments.

A read-only store (`export` beside a console) reads the files and the journal under the
shared commit lock, so it sees every committed batch and never part of one.

This facade holds opening, loading the index, batches and writes. The Store class is made of
the parts beside it: reads.py (the read API), upgrades.py (schema migrations), damage.py
(damage reports, quarantine copies, verify and repair), dedup.py (the dedup index), tables.py
(outbox, hook jobs, drafts, quarantined events) and checkpoints.py.
"""

from __future__ import annotations

import asyncio
import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable

from frontdesk.model import Contact, Conversation, Message
from frontdesk.store import checkpoints, journal, records
from frontdesk.store.checkpoints import Checkpoints
from frontdesk.store.damage import DamageChecks
from frontdesk.store.dedup import DEDUP_DIR, DedupIndex
from frontdesk.store.errors import StoreError
from frontdesk.store.journal import Changes, JournalWriter
from frontdesk.store.lock import WriterLock
from frontdesk.store.reads import Reads
from frontdesk.store.storage import (
    BUCKET_SIZE,
    READ_ONLY_ERRORS,
    TMP_DIR,
    CommitLock,
    atomic_write,
    encode,
    ensure_own_dir,
    ensure_private_dir,
    no_gc,
    recover,
)
from frontdesk.store.tables import SideTables, draft_from_record
from frontdesk.store.upgrades import SCHEMA_VERSION, SchemaUpgrades, meta_info

JOURNAL = "journal"

_COUNTERS = ("conversation", "contact", "message")


# what a record that cannot be read raises in its converter (a missing key, a wrong type or value)
BAD_RECORD = (KeyError, TypeError, ValueError, AttributeError, IndexError)


def _counters_whole(counters: Any) -> bool:
    """Every id counter there and a positive whole number: any other value fails each new record."""
    return (
        isinstance(counters, dict)
        and all(name in counters for name in _COUNTERS)
        and all(type(value) is int and value >= 1 for value in counters.values())
    )


def _int_keys(table: Any) -> list[int]:
    return [int(key) for key in table if key.isdigit()] if isinstance(table, dict) else []


class Store(Reads, SchemaUpgrades, DamageChecks, DedupIndex, SideTables, Checkpoints):
    """The single writer's view of the cache (or a read-only one, see `open`)."""

    def __init__(self, root: Path, readonly: bool) -> None:
        self.root = root
        self.readonly = readonly
        self._commit_lock = CommitLock(root)
        self._writer = WriterLock(root)
        self._journal = JournalWriter(root / JOURNAL)
        self._journal_at = (0, 0)  # a reader's (generation, offset) of what it has read
        self._overlay: Changes = {}  # every change since the last checkpoint (the journal)
        self._pending: Changes = {}  # the current batch
        self._meta_dirty = False
        self._cursors_dirty = False
        self._batch_depth = 0
        self._durable = True  # whether the current batch's commit fsyncs (see `batch`)
        self._committed = 0  # batches committed so far
        self._synced = 0  # of those, how many an fsync has covered (see `sync`)
        self._syncing: asyncio.Future[None] | None = None  # the fsync running now, shared
        self._partitions: OrderedDict[int, dict[int, Message]] = OrderedDict()
        self._xids: dict[int, dict[str, tuple[int, int]]] = {}  # dedup segments read so far
        self._checkpoint_at = checkpoints.CHECKPOINT_BYTES  # on the module: the crash test tunes it
        self.recovered = False
        self.problems: list[str] = []  # damage found so far, one line each (also logged)
        self._damaged: dict[
            str, set[str]
        ] = {}  # relpath -> keys of its damaged records ("" : the file)
        self._set_aside: dict[str, Path] = {}  # relpath -> its copy in quarantine/

    # ---- opening ---------------------------------------------------------------------

    @classmethod
    def open(cls, root: str | Path, *, readonly: bool = False) -> Store:
        """Open (creating if needed) the cache in `root`.

        A writer takes the data dir's lock (StoreLocked names the owner's pid if taken)
        and replays the journal a kill left behind. `readonly=True` takes no lock: it is
        for commands such as `export` that may run beside a console.
        """
        root = Path(root).expanduser()
        if readonly and not (root / "meta.json").exists() and not (root / JOURNAL).exists():
            raise StoreError(f"no frontdesk cache in {root} (nothing has been synced there yet)")
        try:
            return cls._open(root, readonly)
        except OSError as exc:
            if exc.errno not in READ_ONLY_ERRORS:
                raise
            name = Path(exc.filename or root).name
            if readonly:
                raise StoreError(
                    f"cannot read the data dir {root}: {name}: {exc.strerror}", exc.errno
                ) from None
            raise StoreError(
                f"read-only data dir {root}: cannot write {name} ({exc.strerror}); make it writable or use "
                "another --data-dir (`frontdesk export` can still read it)",
                exc.errno,
            ) from None

    @classmethod
    def _open(cls, root: Path, readonly: bool) -> Store:
        try:
            ensure_private_dir(root)
        except OSError as exc:
            if not readonly or exc.errno not in READ_ONLY_ERRORS:
                raise
        store = cls(root, readonly)
        try:
            if readonly:
                store._recover_if_abandoned()
                store._upgrade_if_old()
            else:
                store._writer.acquire()
                for sub in ("conversations", "contacts", "messages", DEDUP_DIR):
                    ensure_private_dir(root / sub)
                ensure_own_dir(root / TMP_DIR)
                store.recovered = recover(root)
                if not (root / "meta.json").exists():  # a new cache: say its schema from the start
                    info = {"schema": SCHEMA_VERSION, "next": {name: 1 for name in _COUNTERS}}
                    atomic_write(root / "meta.json", encode({"meta": {"1": info}}))
                store._upgrade_if_old()
                for batch in store._journal.open(root):
                    journal.merge(store._overlay, batch)
                if store._journal.problem:
                    store._problem(store._journal.problem)
                store.recovered = store.recovered or bool(store._overlay)
            with store._commit_lock.hold(exclusive=False):
                if readonly:
                    store._read_journal()
                store._load_index()
                store._check_partitions()
            if store._meta_dirty and not readonly:  # counters rebuilt after damage: keep them
                with store.batch():
                    pass
        except Exception:
            store.let_go()
            raise
        return store

    def close(self) -> None:
        """Checkpoint what the journal holds (so the next start replays nothing) and let go."""
        try:
            if not self.readonly and self._journal.is_open and self._batch_depth == 0:
                self._checkpoint_safely()
        finally:
            self.let_go()

    def let_go(self) -> None:
        """Close the journal and give up the writer's lock without a checkpoint, as a killed
        process would: the next open replays the journal."""
        self._journal.close()
        self._writer.release()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read_journal(self) -> None:
        """A reader catches up with the journal (caller holds the commit lock shared)."""
        path = self.root / JOURNAL
        reading = journal.read(path, *self._journal_at)
        if (
            reading.damage
        ):  # or a record the writer was finishing as this read: read the whole journal again
            reading = journal.read(path)
            if reading.damage:
                self._problem(
                    f"{reading.damage.describe(path)}; start frontdesk (not read-only) to set a copy aside"
                )
        generation, batches, offset, restarted = (
            reading.generation,
            reading.records,
            reading.offset,
            reading.restarted,
        )
        if restarted:
            self._overlay = {}
            self._xids = {}
        for batch in batches:
            journal.merge(self._overlay, batch)
            for relpath, tables in batch.items():
                if relpath.startswith(DEDUP_DIR + "/"):
                    index = self._xids.get(int(relpath[len(DEDUP_DIR) + 1 : -len(".log")]))
                    if index is not None:
                        index.update(
                            (key, (value[0], value[1]))
                            for key, value in tables.get("xid", {}).items()
                        )
        self._journal_at = (generation, offset)

    def _read(self, relpath: str) -> dict[str, Any]:
        """A file's tables as committed: the file, the journal's changes, then the open batch's."""
        data = self._load_file(relpath)
        for changes in (self._overlay, self._pending):
            tables = changes.get(relpath)
            if tables:
                journal.apply(data, tables)
        return data

    def _load_index(self) -> None:
        meta = self._read("meta.json")
        info = meta_info(meta)
        counters_lost = info is None or not _counters_whole(info.get("next"))
        if counters_lost:
            info = {
                "schema": SCHEMA_VERSION,
                **(info or {}),
                "next": {name: 1 for name in _COUNTERS},
            }
        self._meta = info
        cursors = (meta.get("cursors") or {}).get("1")
        self._cursors: dict[str, str] = (
            {k: v for k, v in cursors.items() if isinstance(v, str)}
            if isinstance(cursors, dict)
            else {}
        )
        self._outbox = self._records("outbox.json", "outbox", records.outbox_from_record)
        self._hooks = self._records("hooks.json", "hooks", records.hook_job_from_record)
        self._drafts = self._records("drafts.json", "drafts", draft_from_record)
        conversation_from_record = records.conversation_from_record
        self._conversations: dict[int, Conversation] = {}
        with (
            no_gc()
        ):  # 10,000 new objects: the collector would run over them many times for nothing
            for relpath in self._bucket_files("conversations"):
                self._conversations.update(
                    self._records(relpath, "conversations", conversation_from_record)
                )
        self._threads = {(c.channel, c.thread_key): c.id for c in self._conversations.values()}
        if counters_lost and (self._conversations or (self.root / "meta.json").exists()):
            self._recount_ids()
        # contacts are read a bucket at a time when first asked for (the list shows a screenful),
        # all of them when a lookup by identity or the whole list needs them
        self._contacts: dict[int, Contact] = {}
        self._contact_buckets: set[int] = set()  # buckets read into _contacts
        self._identities: dict[tuple[str, str], int] | None = None
        #: called with every conversation written, before it is staged (the desk's SLA clock)
        self.on_put_conversation: Callable[[Conversation], None] | None = None

    def _recount_ids(self) -> None:
        """meta.json lost its id counters: start them past every id in the files, so no new
        record overwrites an old one (reads every message file: only after such damage)."""
        self._contacts, self._contact_buckets = {}, set()
        highest = {
            "conversation": max(self._conversations, default=0),
            "contact": max(self._all_contacts(), default=0),
            "message": max(
                (max(self._partition(i), default=0) for i in self._conversations), default=0
            ),
            "hook": max(self._hooks, default=0),
            "quarantine": max(
                _int_keys(self._read("quarantine.json").get("quarantine")), default=0
            ),
        }
        self._meta["next"] = {name: value + 1 for name, value in highest.items()}
        self._meta_dirty = not self.readonly
        self._problem(
            f"{self.root / 'meta.json'} had lost its id counters; they were set past the ids in the files"
        )

    def _records(
        self,
        relpath: str,
        table: str,
        convert: Callable[[int, Any], Any],
        rows: dict[str, Any] | None = None,
    ) -> dict[int, Any]:
        """The records of one table of a file, each validated by its converter: a damaged one is
        left out and reported, the rest are read."""
        if rows is None:
            rows = self._read(relpath).get(table) or {}
        try:
            return {int(k): convert(int(k), r) for k, r in rows.items()}
        except BAD_RECORD:
            pass  # some record is damaged: convert them one by one to find it
        good: dict[int, Any] = {}
        bad: dict[str, str] = {}
        for k, r in rows.items():
            try:
                good[int(k)] = convert(int(k), r)
            except BAD_RECORD as exc:
                bad[k] = f"{type(exc).__name__}: {exc}"[:100]
        self._damaged_records(relpath, table, bad)
        return good

    def _bucket_files(self, folder: str) -> list[str]:
        """The bucket files of `folder`, on disk or only in the journal so far, in id order."""
        names = {p for p in self._overlay if p.startswith(folder + "/")}
        try:
            names.update(
                f"{folder}/{entry.name}"
                for entry in os.scandir(self.root / folder)
                if entry.name.endswith(".json")
            )
        except FileNotFoundError:
            pass
        return sorted(names)

    # ---- writing -------------------------------------------------------------------------

    @contextmanager
    def batch(self, *, durable: bool = True) -> Iterator[Store]:
        """Group writes; they reach disk together when the outermost batch ends.

        If the block raises or the commit fails, the in-memory view is reloaded from
        disk, so the store never shows what was not persisted.

        With `durable=False` (on the outermost batch) the commit writes its journal record
        but does not wait for the disk: the caller awaits `sync()` before it tells anyone
        that the batch is kept (a channel's acknowledgement), and the console goes on
        drawing meanwhile, however long the disk takes.
        """
        if self.readonly:
            raise StoreError("this cache was opened read-only")
        self._batch_depth += 1
        if self._batch_depth == 1:
            self._durable = durable
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

    async def sync(self) -> None:
        """Make every batch committed so far durable: one fsync of the journal, in a worker
        thread, so the event loop (and the screen) keeps running while the disk works.

        Concurrent callers share fsyncs (group commit): while one runs, a caller whose batch
        it may not cover waits for it, and then every such caller shares the next one.
        """
        committed = self._committed
        while self._synced < committed and self._journal.is_open:
            if self._syncing is None:
                self._syncing = asyncio.ensure_future(self._sync_now())
            await asyncio.shield(self._syncing)

    async def _sync_now(self) -> None:
        committed = self._committed
        try:
            await asyncio.to_thread(self._journal.sync_later())
        except OSError as exc:
            raise StoreError(
                f"could not write the cache in {self.root}: {exc.strerror or exc}", exc.errno
            ) from exc
        finally:
            self._syncing = None
        self._synced = max(self._synced, committed)

    def _require_batch(self) -> None:
        if self._batch_depth == 0:
            raise StoreError("store writes must happen inside `with store.batch():`")

    def _stage(
        self, relpath: str, table: str, key: int | str, record: dict[str, Any] | list[int] | None
    ) -> None:
        self._pending.setdefault(relpath, {}).setdefault(table, {})[str(key)] = record

    def new_id(self, counter: str) -> int:
        self._require_batch()
        value = self._meta["next"].get(counter, 1)
        self._meta["next"][counter] = value + 1
        self._meta_dirty = True
        return value

    def _reserve_id(self, counter: str, used: int) -> None:
        """Keep counters ahead of ids given from outside (bulk import)."""
        if self._meta["next"][counter] <= used:
            self._meta["next"][counter] = used + 1
            self._meta_dirty = True

    def put_conversation(self, conv: Conversation) -> None:
        self._require_batch()
        self._reserve_id("conversation", conv.id)
        if self.on_put_conversation is not None:
            self.on_put_conversation(conv)
        self._conversations[conv.id] = conv
        self._threads[(conv.channel, conv.thread_key)] = conv.id
        relpath = f"conversations/{conv.id // BUCKET_SIZE:04d}.json"
        self._stage(relpath, "conversations", conv.id, records.conversation_to_record(conv))

    def put_contact(self, contact: Contact) -> None:
        self._require_batch()
        self._reserve_id("contact", contact.id)
        self._contacts[contact.id] = contact
        if self._identities is not None:
            for ident in contact.identities:
                if contact.merged_into is None:
                    self._identities[(ident.channel, ident.address)] = contact.id
        relpath = f"contacts/{contact.id // BUCKET_SIZE:04d}.json"
        self._stage(relpath, "contacts", contact.id, records.contact_to_record(contact))

    def put_message(self, message: Message, channel: str | None = None) -> None:
        """Store a message; with `channel` and an external id it is indexed for dedup."""
        self._require_batch()
        self._reserve_id("message", message.id)
        # a partition not in memory is not read to be written: reading it later applies this batch
        part = self._partitions.get(message.conversation_id)
        if part is not None:
            part[message.id] = message
            self._partitions.move_to_end(message.conversation_id)
        relpath = f"messages/{message.conversation_id}.json"
        self._stage(relpath, "messages", message.id, records.message_to_record(message))
        if channel and message.external_id:
            self.index_external(channel, message.external_id, message.conversation_id, message.id)

    def set_cursor(self, channel: str, value: str) -> None:
        self._require_batch()
        self._cursors[channel] = value
        self._cursors_dirty = True

    def _commit(self) -> None:
        if self._meta_dirty:  # copies: the live dicts keep changing in later batches
            self._stage("meta.json", "meta", 1, {**self._meta, "next": dict(self._meta["next"])})
        if self._cursors_dirty:
            self._stage("meta.json", "cursors", 1, dict(self._cursors))
        if not self._pending:
            return
        try:
            self._journal.append(self._pending, sync=self._durable)
        except OSError as exc:
            self._discard()
            raise StoreError(
                f"could not write the cache in {self.root}: {exc.strerror or exc}", exc.errno
            ) from exc
        journal.merge(self._overlay, self._pending)
        self._pending = {}
        self._meta_dirty = self._cursors_dirty = False
        self._committed += 1
        if self._durable:  # its fsync covers the records before it too
            self._synced = self._committed
        if self._journal.size >= self._checkpoint_at:
            self._checkpoint_safely()

    def _discard(self) -> None:
        """Forget everything not yet committed by reloading the index from the files and the journal."""
        self._pending = {}
        self._meta_dirty = self._cursors_dirty = False
        self._partitions.clear()
        self._xids = {}
        with self._commit_lock.hold(exclusive=False):
            self._load_index()
