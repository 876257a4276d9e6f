"""The email channel: a shared mailbox read over IMAP (IDLE push, polling fallback), replies over SMTP.

- Reading (aioimaplib): the first run reads the last `sync_days` days of each folder, newest
  conversation first, in batches each committed with its cursor (see email_sync), then
  waits with IDLE (re-issued every `idle_seconds`, below the 29-minute server limit) or, on
  servers without IDLE, polls every `poll_seconds`. Later mail is read incrementally by UID;
  the cursor is handed to `sink.ingest` together with the messages before it. A changed
  UIDVALIDITY re-reads the last `sync_days` days; the desk drops what it already has,
  because the external id is the Message-ID (else a hash of the raw mail). A dropped
  connection is retried with backoff and reported as ChannelStatus, with how many times in
  a row it failed the same way.
- Threading: the thread key is the root Message-ID (first of References, else In-Reply-To,
  else the mail's own Message-ID); a mail whose parent is known joins that parent's thread;
  a mail without threading headers joins a recent thread with the same normalised subject
  and correspondent. The contact is the Reply-To address, else From.
- Sending (aiosmtplib): `Re:` subject, In-Reply-To and References from the thread, a
  Message-ID derived from the outbox's idempotency key (the same key always gives the same
  Message-ID), then a copy APPENDed to `sent_folder`.

Content rules (quoted history marker, auto-mail marker, attachments) live in email_parse (HTML
to text in email_html); the settings in email_settings, the IMAP connection in imap_session, the
thread map in email_threads, reading mail by UID into events in email_read, sending in email_send,
attachment downloads in email_attachments, the doctor's checks in email_check.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

from frontdesk.backends.base import Backend, ConfigError, Sink, TransientError
from frontdesk.backends.email_attachments import AttachmentSaving
from frontdesk.backends.email_check import MailboxCheck
from frontdesk.backends.email_parse import parse_headers
from frontdesk.backends.email_read import MailReading, Suspects
from frontdesk.backends.email_send import EmailSending
from frontdesk.backends.email_settings import SETTINGS_SCHEMA, EmailSettings, read_settings
from frontdesk.backends.email_sync import (
    FolderState,
    backfill_batches,
    backfill_order,
    conversation_groups,
    fetch_chunks,
    read_cursor,
    search_slices,
)
from frontdesk.backends.email_threads import ThreadMap
from frontdesk.backends.imap_session import ConnectionLost, Imap
from frontdesk.model import ChannelStatus

log = logging.getLogger(__name__)

BATCH_MESSAGES = 25
BATCH_BYTES = 8 * 1024 * 1024
#: during a long sync, how often to look for mail that arrived meanwhile (it is read first)
NEW_MAIL_CHECK_SECONDS = 2.0
#: `sync --once` tries a folder again this often when a FETCH broke (enough to set one broken mail aside)
FETCH_ATTEMPTS = 5


class _SameFailure:
    """How many times in a row the same failure came back with no progress (the cursor did not move)."""

    def __init__(self) -> None:
        self.last: tuple[str, str | None] | None = None
        self.times = 0

    def count(self, reason: str, cursor: str | None) -> int:
        key = (re.sub(r"\d+", "#", reason), cursor)  # servers stamp their errors with times and ids
        self.times = self.times + 1 if self.last == key else 1
        self.last = key
        return self.times


def _imap_since(days: int) -> str:
    when = datetime.now(timezone.utc) - timedelta(days=days)
    return when.strftime("%d-%b-%Y")


def _window(cfg: EmailSettings) -> tuple[str, ...]:
    """SEARCH criteria for the mail a first sync reads: the last `sync_days` days (0: all)."""
    return ("SINCE", _imap_since(cfg.sync_days)) if cfg.sync_days else ()


# ---- the backend -------------------------------------------------------------------------------------


class EmailBackend(AttachmentSaving, EmailSending, MailboxCheck, MailReading, Backend):
    """A shared support mailbox: IMAP for reading, SMTP for replies."""

    kind: ClassVar[str] = "email"
    polling: ClassVar[bool] = True  # needs no public URL (IDLE is a push over our own connection)
    supports_attachments: ClassVar[bool] = True
    replies_name_last_inbound: ClassVar[bool] = True  # In-Reply-To keeps the customer's thread
    #: a retried SMTP send carries the same Message-ID, but an SMTP server may still deliver
    #: it twice after an ambiguous failure, so the desk must not re-send on its own
    settings_schema: ClassVar[dict[str, Any]] = SETTINGS_SCHEMA
    secret_names: ClassVar[tuple[str, ...]] = ("password",)

    #: reconnect backoff: first wait and cap, in seconds (tests shorten them)
    backoff_initial: float = 1.0
    backoff_max: float = 60.0

    def __init__(self, name, settings=None, secrets=None, cursor=None) -> None:
        super().__init__(name, settings, secrets, cursor)
        self._folders = read_cursor(cursor)  # committed state: folder -> FolderState
        self.threads = ThreadMap()
        self._learned: set[str] = set()
        self._ingest_lock = asyncio.Lock()
        self._connections: set[Imap] = set()
        self.reconnects = 0  # how many times a dropped connection was re-established (for tests)
        self._suspects: dict[str, Suspects] = {}
        self._down: set[str] = set()  # folders whose last attempt failed, until mail comes in again
        self.idling: set[str] = set()  # folders waiting in IDLE right now

    @property
    def cfg(self) -> EmailSettings:
        return read_settings(self.name, self.settings)

    # ---- reading -------------------------------------------------------------------------------

    async def run(self, sink: Sink) -> None:
        cfg = self.cfg
        password = self.secret("password")
        await self._learn_sent(cfg, password)
        async with asyncio.TaskGroup() as group:
            for folder in cfg.folders:
                group.create_task(
                    self._watch_folder(sink, cfg, password, folder),
                    name=f"email:{self.name}:{folder}",
                )

    async def fetch_once(self, sink: Sink) -> None:
        cfg = self.cfg
        password = self.secret("password")
        await self._learn_sent(cfg, password)
        for folder in cfg.folders:
            for attempt in range(1, FETCH_ATTEMPTS + 1):
                try:
                    imap = await self._open(cfg, password)
                    try:
                        await self._catch_up(sink, imap, folder)
                    finally:
                        await self._close(imap)
                    break
                except (
                    ConnectionError,
                    TimeoutError,
                ) as exc:  # what was read is committed; say why the rest is not
                    fetch_failed = self._suspects.get(folder, Suspects()).failed is not None
                    if (
                        not fetch_failed or attempt == FETCH_ATTEMPTS
                    ):  # else: again, to find the mail it failed on
                        raise TransientError(f"IMAP {folder}: {exc or type(exc).__name__}") from exc

    async def _open(self, cfg: EmailSettings, password: str) -> Imap:
        imap = Imap(cfg, self.name)
        self._connections.add(imap)
        try:
            await imap.connect(password)
        except BaseException:
            await self._close(imap)
            raise
        return imap

    async def _close(self, imap: Imap) -> None:
        self._connections.discard(imap)
        await imap.close()

    async def _status(self, sink: Sink, state: str, detail: str = "") -> None:
        await sink.ingest(self.name, [ChannelStatus(state, self.redact(detail))])

    async def _watch_folder(
        self, sink: Sink, cfg: EmailSettings, password: str, folder: str
    ) -> None:
        """Catch up, then wait for new mail, for as long as the channel runs; reconnect with backoff."""
        delay = self.backoff_initial
        failed = False
        same = _SameFailure()
        while True:
            imap: Imap | None = None
            try:
                imap = await self._open(cfg, password)
                await self._catch_up(sink, imap, folder)
                if failed:
                    self.reconnects += 1
                    if folder in self._down:
                        self._down.discard(folder)
                        await self._status(sink, "ok", f"IMAP {folder}: reconnected")
                failed, delay = False, self.backoff_initial
                if imap.has_idle():
                    await self._idle(sink, imap, folder)
                else:
                    await self._poll(sink, imap, folder)
            except asyncio.CancelledError:
                raise
            except ConfigError:
                raise
            except Exception as exc:
                failed = True
                self._down.add(folder)
                reason = str(exc) or type(exc).__name__
                times = same.count(reason, self.cursor)
                log.warning(
                    "email %s: IMAP %s: %s; reconnecting in %.1fs",
                    self.name,
                    folder,
                    self.redact(reason),
                    delay,
                )
                again = (
                    f"failed {times} times in a row, no mail read in between; " if times > 1 else ""
                )
                await self._status(
                    sink,
                    "down",
                    f"IMAP {folder}: {reason} — {again}reconnecting in {delay:.{0 if delay >= 10 else 1}f}s",
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff_max)
            finally:
                if imap is not None:
                    await self._close(imap)

    async def _idle(self, sink: Sink, imap: Imap, folder: str) -> None:
        client = imap.client
        cfg = imap.cfg
        while True:
            idle = await imap.start_idle()
            self.idling.add(folder)
            push_task = asyncio.ensure_future(
                client.wait_server_push(timeout=cfg.idle_seconds + cfg.timeout)
            )
            lost_task = asyncio.ensure_future(imap.lost.wait())
            try:
                done, _ = await asyncio.wait(
                    {push_task, lost_task}, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                self.idling.discard(folder)
                lost_task.cancel()
                if not push_task.done():
                    push_task.cancel()
            if imap.lost.is_set() and push_task not in done:
                idle.cancel()
                raise ConnectionLost("the server closed the connection")
            push = push_task.result()
            lines = push if isinstance(push, list) else [push]
            if imap.lost.is_set() or any(
                isinstance(l, bytes) and l.upper().startswith(b"BYE") for l in lines
            ):
                idle.cancel()
                raise ConnectionLost("the server closed the connection")
            if client.has_pending_idle():
                client.idle_done()
            lost_task = asyncio.ensure_future(imap.lost.wait())
            try:
                await asyncio.wait(
                    {idle, lost_task}, timeout=cfg.timeout, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                lost_task.cancel()
            if not idle.done():
                idle.cancel()
                raise ConnectionLost("the server did not end IDLE")
            # a push (EXISTS …) or our own re-issue timer: look for new mail, then IDLE again
            await self._catch_up(sink, imap, folder)

    async def _poll(self, sink: Sink, imap: Imap, folder: str) -> None:
        while True:
            try:
                await asyncio.wait_for(imap.lost.wait(), imap.cfg.poll_seconds)
            except TimeoutError:
                pass
            if imap.lost.is_set():
                raise ConnectionLost("the server closed the connection")
            await imap.client.noop()
            await self._catch_up(sink, imap, folder)

    async def _learn_sent(self, cfg: EmailSettings, password: str) -> None:
        """Learn the threads of our own recent replies (so a reply to a reply finds its thread)."""
        if (
            not cfg.sent_folder
            or cfg.sent_folder in self._learned
            or cfg.sent_folder in cfg.folders
        ):
            return
        try:
            imap = await self._open(cfg, password)
        except ConfigError:
            raise
        except Exception as exc:
            log.info(
                "email %s: could not read %s to learn threads: %s",
                self.name,
                cfg.sent_folder,
                self.redact(str(exc)),
            )
            return
        try:
            _validity, uidnext = await imap.open_folder(cfg.sent_folder)
            await self._learn_headers(imap, cfg.sent_folder, uidnext)
        except Exception as exc:
            log.info(
                "email %s: could not learn threads from %s: %s",
                self.name,
                cfg.sent_folder,
                self.redact(str(exc)),
            )
        finally:
            await self._close(imap)

    async def _learn_headers(self, imap: Imap, folder: str, uidnext: int) -> None:
        """Fill the thread map from the headers of the last `sync_days` days of `folder` (selected)."""
        await self._index(imap, folder, uidnext - 1)

    async def _index(self, imap: Imap, folder: str, top: int) -> list[list[int]]:
        """Read the threading headers of the last `sync_days` days of `folder` (selected) up to UID `top`,
        oldest first, into the thread map; returns the UIDs of each conversation."""
        self._learned.add(folder)
        fields = "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID IN-REPLY-TO REFERENCES SUBJECT FROM TO CC REPLY-TO DATE)])"
        threads: dict[str, list[int]] = {}
        for low, high in reversed(list(search_slices(1, top))):
            uids = await imap.search("UID", f"{low}:{high}", *_window(imap.cfg))
            for chunk in fetch_chunks(uids):
                for attrs, literal in await self._fetch(imap, folder, chunk, fields):
                    if "UID" not in attrs:
                        continue
                    uid = int(attrs["UID"])
                    mail = parse_headers(literal or b"")
                    correspondent = self._correspondent(mail, imap.cfg)
                    key = (
                        self.threads.key_for(mail, correspondent)
                        if mail.message_id
                        else f"uid:{uid}"
                    )
                    self.threads.learn(mail, key, correspondent)
                    threads.setdefault(key, []).append(uid)
        return list(threads.values())

    async def _catch_up(self, sink: Sink, imap: Imap, folder: str) -> None:
        """Read what is new in `folder` and what is left of its first sync, ingesting each batch with its cursor."""
        self._suspects.setdefault(folder, Suspects()).new_attempt()
        validity, uidnext = await imap.open_folder(folder)
        state = self._folders.get(folder)
        if state is None or state.validity != validity:
            if state is not None:
                log.warning(
                    "email %s: UIDVALIDITY of %s changed (%s -> %s); re-reading the last %d days",
                    self.name,
                    folder,
                    state.validity,
                    validity,
                    imap.cfg.sync_days,
                )
            state = FolderState.fresh(validity, uidnext)
            self._suspects[folder] = Suspects()
            await self._commit(
                sink, folder, state, []
            )  # a restart resumes this plan instead of making a new one
        if state.backfilling:
            await self._backfill(sink, imap, folder, state)
        else:
            if folder not in self._learned:
                await self._learn_headers(imap, folder, uidnext)
            await self._read_new(sink, imap, folder, uidnext)

    async def _backfill(self, sink: Sink, imap: Imap, folder: str, state: FolderState) -> None:
        """The first sync: whole conversations, newest first, each batch committed with how far it got;
        mail that arrives meanwhile is read between batches."""
        cfg = imap.cfg
        threads = await self._conversations(imap, folder, state)
        listed = {uid for uids in threads for uid in uids}
        threads += [
            [uid] for uid in self._suspects[folder].bad if uid <= state.window and uid not in listed
        ]
        checked = time.monotonic()
        for group in conversation_groups(backfill_order(threads, state.backfill)):
            sizes = await self._sizes(imap, folder, [uid for uids in group for uid in uids])
            group = [[uid for uid in uids if uid in sizes] for uids in group]  # expunged meanwhile
            for batch, done in backfill_batches(
                group, lambda uid: self._fetch_cost(cfg, sizes[uid]), BATCH_MESSAGES, BATCH_BYTES
            ):
                state = self._folders[folder]
                await self._ingest_batch(
                    sink,
                    imap,
                    folder,
                    replace(state, backfill=done or state.backfill),
                    batch,
                    sizes,
                )
                if time.monotonic() - checked >= NEW_MAIL_CHECK_SECONDS:
                    await self._read_new(sink, imap, folder, await self._uidnext(imap, folder))
                    checked = time.monotonic()
        await self._commit(sink, folder, replace(self._folders[folder], backfill=0), [])
        await self._read_new(sink, imap, folder, await self._uidnext(imap, folder))

    async def _conversations(self, imap: Imap, folder: str, state: FolderState) -> list[list[int]]:
        """The UIDs of each conversation of the first sync's mail: threaded by the server when it can
        (one command), else from the headers."""
        if not state.window:
            return []
        resumed = state.backfill <= state.window
        threads = await imap.threads("UID", f"1:{state.window}", *_window(imap.cfg))
        if threads is None:
            return await self._index(imap, folder, state.window)
        if (
            resumed and folder not in self._learned
        ):  # what was read before the restart is not in the thread map
            await self._index(imap, folder, state.window)
        self._learned.add(folder)  # the first sync reads every mail: it learns as it goes
        return threads

    async def _uidnext(self, imap: Imap, folder: str) -> int:
        validity, uidnext = await imap.open_folder(folder)
        if validity != self._folders[folder].validity:
            raise ConnectionLost(f"the UIDVALIDITY of {folder} changed while it was read")
        return uidnext

    async def _read_new(self, sink: Sink, imap: Imap, folder: str, uidnext: int) -> None:
        """Read the mail above the cursor's `seen` (it arrived after the first sync) in UID order."""
        cfg = imap.cfg
        for low, high in reversed(list(search_slices(self._folders[folder].seen + 1, uidnext - 1))):
            uids = [u for u in await imap.search("UID", f"{low}:{high}") if low <= u <= high]
            for chunk in fetch_chunks(uids):
                sizes = await self._sizes(imap, folder, chunk)
                present = [u for u in chunk if u in sizes]  # expunged meanwhile
                for batch, _ in backfill_batches(
                    [present],
                    lambda uid: self._fetch_cost(cfg, sizes[uid]),
                    BATCH_MESSAGES,
                    BATCH_BYTES,
                ):
                    await self._ingest_batch(
                        sink,
                        imap,
                        folder,
                        replace(self._folders[folder], seen=max(batch)),
                        batch,
                        sizes,
                    )
            if self._folders[folder].seen < high:
                await self._commit(sink, folder, replace(self._folders[folder], seen=high), [])

    async def close(self) -> None:
        for imap in list(self._connections):
            await self._close(imap)
