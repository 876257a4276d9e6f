"""Mail read by UID and ingested: FETCH around broken mails, batches with their cursor, Inbound."""

from __future__ import annotations

import hashlib
import logging

from frontdesk.backends.base import Sink
from frontdesk.backends.email_attachments import attachment_ref
from frontdesk.backends.email_parse import ParsedMail, parse
from frontdesk.backends.email_settings import EmailSettings
from frontdesk.backends.email_sync import FolderState, fetch_chunks, write_cursor
from frontdesk.backends.imap_session import Imap, internaldate
from frontdesk.model import Attachment, ContactRef, Direction, Inbound

log = logging.getLogger("frontdesk.backends.email")  # the channel's records keep one logger

#: how much of a mail over `max_message_mb` is read (headers + the first bytes)
PARTIAL_BYTES = 512 * 1024


class Suspects:
    """Mails of one folder the server fails on (it drops the session or answers NO whenever one is fetched).

    A FETCH that failed is asked again one mail at a time; a mail whose own FETCH fails twice is
    left out and shown as unreadable, so one broken mail cannot stop the mailbox.
    """

    def __init__(self) -> None:
        self.failed: tuple[tuple[int, ...], str] | None = None  # the request that failed last
        self.probing: int | None = None  # the mail fetched alone when the connection broke
        self.strikes: dict[int, int] = {}
        self.bad: dict[int, str] = {}  # UID -> the failure
        self.reason = ""

    def new_attempt(self) -> None:
        if self.probing is not None:
            self.strikes[self.probing] = self.strikes.get(self.probing, 0) + 1
            if self.strikes[self.probing] >= 2:
                self.bad[self.probing] = self.reason
            self.probing = None


class MailReading:
    """EmailBackend's reading of mail by UID and its ingest with the cursor (uses its `name`,
    `cursor`, `threads`, `redact`, `_folders`, `_suspects`, `_ingest_lock`, `_down`, `_status`)."""

    def _correspondent(self, mail: ParsedMail, cfg: EmailSettings) -> str:
        if mail.from_addr == cfg.address:
            return next((a for a in mail.to if a != cfg.address), "")
        return mail.reply_to

    async def _fetch(
        self, imap: Imap, folder: str, uids: list[int], items: str, timeout: float | None = None
    ) -> list:
        """imap.fetch, leaving out mails the server keeps failing on (see Suspects)."""
        suspects = self._suspects.setdefault(folder, Suspects())
        uids = [uid for uid in uids if uid not in suspects.bad]
        if not uids:
            return []
        request = (tuple(uids), items)
        try:
            if suspects.failed != request:
                return await imap.fetch(uids, items, timeout)
            out = []
            for uid in uids:  # this request failed last time: find the mail it failed on
                suspects.probing = uid
                out += await imap.fetch([uid], items, timeout)
            suspects.probing = suspects.failed = None
            return out
        except (ConnectionError, TimeoutError) as exc:
            suspects.failed, suspects.reason = request, str(exc) or type(exc).__name__
            raise

    async def _sizes(self, imap: Imap, folder: str, uids: list[int]) -> dict[int, int]:
        """RFC822.SIZE of each mail (0 for one the server fails on: it is shown as unreadable)."""
        sizes = dict.fromkeys(
            (uid for uid in uids if uid in self._suspects.get(folder, Suspects()).bad), 0
        )
        for chunk in fetch_chunks(uids):
            for attrs, _ in await self._fetch(imap, folder, chunk, "(UID RFC822.SIZE)"):
                if "UID" in attrs:
                    sizes[int(attrs["UID"])] = int(attrs.get("RFC822.SIZE", 0))
        return sizes

    @staticmethod
    def _fetch_cost(cfg: EmailSettings, size: int) -> int:
        """Bytes a FETCH of the mail brings (big mail is read in part)."""
        return PARTIAL_BYTES if size > cfg.max_message_bytes else size

    async def _ingest_batch(
        self,
        sink: Sink,
        imap: Imap,
        folder: str,
        state: FolderState,
        uids: list[int],
        sizes: dict[int, int],
    ) -> None:
        """Fetch and ingest the mails `uids` (at most BATCH_MESSAGES), committing `state` with them."""
        cfg = imap.cfg
        validity = state.validity
        whole = [u for u in uids if sizes[u] <= cfg.max_message_bytes]
        big = [u for u in uids if sizes[u] > cfg.max_message_bytes]
        fetched: dict[int, tuple[dict[str, str], bytes | None, bool]] = {}
        slow = cfg.timeout + sum(sizes[u] for u in whole) / 1_000_000  # a second per MB on top
        for attrs, literal in await self._fetch(
            imap, folder, whole, "(UID INTERNALDATE BODY.PEEK[])", timeout=slow
        ):
            if "UID" in attrs:
                fetched[int(attrs["UID"])] = (attrs, literal, False)
        for attrs, literal in await self._fetch(
            imap, folder, big, f"(UID INTERNALDATE BODY.PEEK[]<0.{PARTIAL_BYTES}>)"
        ):
            if "UID" in attrs:
                fetched[int(attrs["UID"])] = (attrs, literal, True)
        events: list[Inbound] = []
        bad = self._suspects.get(folder, Suspects()).bad
        for uid in uids:
            if uid in bad:
                events.append(self._unfetchable(folder, validity, uid, bad[uid]))
            if uid not in fetched:
                continue
            attrs, raw, partial = fetched[uid]
            try:
                events.append(
                    self.inbound_event(
                        cfg, folder, validity, uid, raw or b"", attrs, partial, sizes[uid]
                    )
                )
            except Exception as exc:  # never let one bad mail stop the mailbox
                log.warning("email %s: %s UID %d unreadable: %s", self.name, folder, uid, exc)
                events.append(self._unreadable(folder, validity, uid, raw or b"", exc))
        await self._commit(sink, folder, state, events)

    async def _commit(
        self, sink: Sink, folder: str, state: FolderState, events: list[Inbound]
    ) -> None:
        async with self._ingest_lock:
            folders = {**self._folders, folder: state}
            cursor = write_cursor(folders)
            await sink.ingest(self.name, events, cursor)
            self._folders = folders
            self.cursor = cursor
        if (
            events and folder in self._down
        ):  # mail is coming in again (a long sync after a failure is not "down")
            self._down.discard(folder)
            await self._status(sink, "ok", f"IMAP {folder}: reading again")

    def inbound_event(
        self,
        cfg: EmailSettings,
        folder: str,
        validity: int,
        uid: int,
        raw: bytes,
        attrs: dict[str, str],
        partial: bool,
        size: int,
    ) -> Inbound:
        """One fetched mail (`raw`, cut short when `partial`) as the event the desk ingests."""
        mail = parse(raw, internaldate(attrs.get("INTERNALDATE")))
        body = mail.body
        if partial:
            body += (
                f"\n\n[this mail is {size / 1_048_576:.1f} MB, over the {cfg.max_message_bytes / 1_048_576:.0f} MB "
                "limit: only its beginning was read; open it in a mail client]"
            )
        outgoing = mail.from_addr == cfg.address
        correspondent = self._correspondent(mail, cfg)
        key = self.threads.key_for(mail, correspondent)
        self.threads.learn(mail, key, correspondent)
        if outgoing:
            sender = ContactRef(address=correspondent or cfg.address, email=correspondent)
        else:
            name = (
                mail.from_name
                if mail.reply_to == mail.from_addr or not mail.reply_to
                else (mail.from_name or "")
            )
            sender = ContactRef(
                address=mail.reply_to or f"unknown@{uid}", name=name, email=mail.reply_to
            )
        attachments = [
            Attachment(
                a.name,
                a.mime,
                a.size,
                attachment_ref(folder, validity, uid, a.index, mail.message_id),
            )
            for a in mail.attachments
        ]
        return Inbound(
            external_id=mail.external_id,
            thread_key=key,
            sender=sender,
            body=body,
            attachments=attachments,
            created_at=mail.date,
            subject=mail.subject,
            direction=Direction.OUT if outgoing else Direction.IN,
        )

    def _unfetchable(self, folder: str, validity: int, uid: int, reason: str) -> Inbound:
        external = f"<uid.{validity}.{uid}.{hashlib.sha256(folder.encode()).hexdigest()[:12]}@frontdesk.invalid>"
        return Inbound(
            external_id=external,
            thread_key=external,
            sender=ContactRef(address="unknown@invalid", name="(unreadable mail)"),
            body=f"(the mail server failed every time it was asked for mail UID {uid} in {folder}; open it in a mail "
            f"client. The server said: {self.redact(reason)})",
        )

    def _unreadable(
        self, folder: str, validity: int, uid: int, raw: bytes, exc: Exception
    ) -> Inbound:
        digest = hashlib.sha256(raw).hexdigest()[:40]
        external = f"<sha256.{digest}@frontdesk.invalid>"
        return Inbound(
            external_id=external,
            thread_key=external,
            sender=ContactRef(address="unknown@invalid", name="(unreadable mail)"),
            body=f"(this mail could not be read: {type(exc).__name__}; it is UID {uid} in {folder})",
        )
