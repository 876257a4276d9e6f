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

Content rules (quoted history marker, auto-mail marker, attachments) live in email_parse.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import json
import logging
import os
import re
import socket
import ssl
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

from frontdesk.backends.base import (
    PORT,
    AmbiguousError,
    Backend,
    ConfigError,
    PermanentError,
    Sink,
    TransientError,
    integer,
    number,
    open_unique,
    setting_problem,
)
from frontdesk.backends.email_sync import (
    FETCH_CHUNK,
    FolderState,
    backfill_batches,
    backfill_order,
    bounded_imap4,
    conversation_groups,
    thread_groups,
    fetch_chunks,
    read_cursor,
    search_slices,
    write_cursor,
)
from frontdesk.backends.email_parse import (
    ParsedMail,
    is_reply_subject,
    normalise_subject,
    parse,
    parse_headers,
    reply_subject,
    safe_filename,
)
from frontdesk.backends.imap_parts import Section, decoder, parse_bodystructure, walk_sections
from frontdesk.model import Attachment, ChannelStatus, ContactRef, Delivery, Direction, Inbound, Outgoing, SendResult

log = logging.getLogger(__name__)

TLS_MODES = ("implicit", "starttls", "none")
#: mail fetched whole up to this size; bigger mail is read in part (headers + the first bytes)
DEFAULT_MAX_MESSAGE_MB = 40
PARTIAL_BYTES = 512 * 1024
#: an attachment is fetched in pieces of this size when saved
PART_CHUNK_BYTES = 512 * 1024
BATCH_MESSAGES = 25
BATCH_BYTES = 8 * 1024 * 1024
THREAD_MAP_SIZE = 20_000
#: during a long sync, how often to look for mail that arrived meanwhile (it is read first)
NEW_MAIL_CHECK_SECONDS = 2.0
#: `sync --once` tries a folder again this often when a FETCH broke (enough to set one broken mail aside)
FETCH_ATTEMPTS = 5
SUBJECT_JOIN_WINDOW = timedelta(days=7)
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_UIDNEXT = re.compile(rb"UIDNEXT (\d+)")
_FETCH_START = re.compile(rb"^\d+ FETCH \(")
_LITERAL_END = re.compile(rb"\{\d+\}$")


class _Lost(ConnectionError):
    """The IMAP connection closed under us."""


@dataclass(frozen=True, slots=True)
class EmailSettings:
    imap_host: str
    imap_port: int
    imap_tls: str
    smtp_host: str
    smtp_port: int
    smtp_tls: str
    username: str
    address: str
    display_name: str
    folders: tuple[str, ...]
    sent_folder: str
    sync_days: int
    tls_ca_file: str
    poll_seconds: float
    idle_seconds: float
    timeout: float
    max_message_bytes: int


def _is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def read_settings(name: str, raw: dict[str, Any]) -> EmailSettings:
    """Validated settings with defaults, or a ConfigError naming the key and the fix."""

    def fail(key: str, problem: str) -> ConfigError:
        return ConfigError(f"channel {name!r}: {key} {problem}")

    for key, kind in EmailBackend.settings_schema.items():
        if raw.get(key) is not None and (problem := setting_problem(raw[key], kind)):
            raise fail(key, problem)

    imap_host = str(raw.get("imap_host") or "").strip()
    if not imap_host:
        raise fail("imap_host", 'is not set; add imap_host = "imap.example.com" to the channel')
    imap_tls = str(raw.get("imap_tls", "implicit"))
    smtp_tls = str(raw.get("smtp_tls", "starttls"))
    smtp_host = str(raw.get("smtp_host") or imap_host).strip()
    for key, mode, host in (("imap_tls", imap_tls, imap_host), ("smtp_tls", smtp_tls, smtp_host)):
        if mode not in TLS_MODES:
            raise fail(key, f'must be "implicit", "starttls" or "none" (got {mode!r})')
        if mode == "none" and not _is_loopback(host):
            raise fail(key, f'= "none" sends the password in clear text and is only allowed for a loopback host (not {host!r}); use "implicit" or "starttls"')
    address = str(raw.get("address") or "").strip()
    username = str(raw.get("username") or address).strip()
    address = address or (username if "@" in username else "")
    if not username:
        raise fail("username", 'is not set; add username = "support@example.com"')
    if "@" not in address:
        raise fail("address", 'is not set; add address = "support@example.com" (the From of replies)')
    folders = raw.get("folders", ["INBOX"])
    if isinstance(folders, str):
        folders = [folders]
    if not folders or not all(isinstance(f, str) and f for f in folders):
        raise fail("folders", 'must be a non-empty list of folder names, e.g. folders = ["INBOX"]')
    sync_days = int(raw.get("sync_days", 14))
    if sync_days < 0:
        raise fail("sync_days", "must be 0 or more")
    idle = float(raw.get("idle_seconds", 25 * 60))
    if not 1 <= idle <= 29 * 60:
        raise fail("idle_seconds", "must be between 1 and 1740 (servers drop IDLE after 29 minutes)")
    ca_file = str(raw.get("tls_ca_file") or "")
    if ca_file and not Path(ca_file).expanduser().is_file():
        raise fail("tls_ca_file", f"names a file that does not exist ({ca_file}); point it at a PEM CA bundle or remove it")
    return EmailSettings(
        imap_host=imap_host,
        imap_port=int(raw.get("imap_port") or {"implicit": 993, "starttls": 143, "none": 143}[imap_tls]),
        imap_tls=imap_tls,
        smtp_host=smtp_host,
        smtp_port=int(raw.get("smtp_port") or {"implicit": 465, "starttls": 587, "none": 25}[smtp_tls]),
        smtp_tls=smtp_tls,
        username=username,
        address=address.lower(),
        display_name=str(raw.get("display_name") or ""),
        folders=tuple(dict.fromkeys(folders)),
        sent_folder=str(raw.get("sent_folder", "Sent")),
        sync_days=sync_days,
        tls_ca_file=str(Path(ca_file).expanduser()) if ca_file else "",
        poll_seconds=max(1.0, float(raw.get("poll_seconds", 60))),
        idle_seconds=idle,
        timeout=max(1.0, float(raw.get("timeout_seconds", 30))),
        max_message_bytes=int(float(raw.get("max_message_mb", DEFAULT_MAX_MESSAGE_MB)) * 1024 * 1024),
    )


# ---- cursor and thread map -------------------------------------------------------------------


class ThreadMap:
    """Which thread a Message-ID belongs to, and recent threads by (subject, correspondent).

    Rebuilt from the mailbox headers at start-up (the mailbox is the memory), bounded in size.
    """

    def __init__(self, limit: int = THREAD_MAP_SIZE) -> None:
        self.limit = limit
        self.by_id: OrderedDict[str, str] = OrderedDict()
        self.refs: OrderedDict[str, list[str]] = OrderedDict()
        self.by_subject: OrderedDict[tuple[str, str], tuple[str, datetime]] = OrderedDict()

    def _put(self, table: OrderedDict, key: Any, value: Any) -> None:
        table[key] = value
        table.move_to_end(key)
        while len(table) > self.limit:
            table.popitem(last=False)

    def key_for(self, mail: ParsedMail, correspondent: str) -> str:
        for known in (mail.message_id, mail.external_id, mail.in_reply_to, *reversed(mail.references)):
            if known and known in self.by_id:
                return self.by_id[known]
        if mail.references:
            return mail.references[0]
        if mail.in_reply_to:
            return mail.in_reply_to
        subject = normalise_subject(mail.subject)
        hit = self.by_subject.get((subject, correspondent)) if subject else None
        if hit is not None and (is_reply_subject(mail.subject) or abs(mail.date - hit[1]) <= SUBJECT_JOIN_WINDOW):
            return hit[0]
        return mail.message_id or mail.external_id

    def learn(self, mail: ParsedMail, thread_key: str, correspondent: str) -> None:
        for mid in (mail.message_id, mail.external_id):
            if mid:
                self._put(self.by_id, mid, thread_key)
        if mail.message_id:
            self._put(self.refs, mail.message_id, [*mail.references, *([mail.in_reply_to] if mail.in_reply_to and mail.in_reply_to not in mail.references else [])])
        subject = normalise_subject(mail.subject)
        if subject and correspondent:
            self._put(self.by_subject, (subject, correspondent), (thread_key, mail.date))

    def learn_sent(self, message_id: str, thread_key: str, references: list[str]) -> None:
        self._put(self.by_id, message_id, thread_key)
        self._put(self.refs, message_id, references)

    def references_for(self, thread_key: str, parent: str | None) -> list[str]:
        """References of a reply to `parent` in thread `thread_key`: root first, parent last."""
        chain = [thread_key]
        if parent:
            chain += self.refs.get(parent, [])
            chain.append(parent)
        chain = [c for c in dict.fromkeys(chain) if c.startswith("<") and c.endswith(">")]
        return chain[:1] + chain[-9:] if len(chain) > 10 else chain


def message_id_for(key: str, channel: str, address: str) -> str:
    """The Message-ID of an outgoing mail: a pure function of its idempotency key."""
    digest = hashlib.sha256(f"{channel}\x00{key}".encode()).hexdigest()[:32]
    domain = address.rsplit("@", 1)[-1] or "frontdesk.invalid"
    return f"<fd.{digest}@{domain}>"


def attachment_ref(folder: str, validity: int, uid: int, index: int, message_id: str) -> str:
    return "imap:" + json.dumps([folder, validity, uid, index, message_id], separators=(",", ":"), ensure_ascii=False)


# ---- the IMAP connection -----------------------------------------------------------------------


def _ssl_context(cfg: EmailSettings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=cfg.tls_ca_file or None)
    return context


def describe_network_error(exc: BaseException, what: str, host: str, port: int, tls: str, timeout: float) -> str:
    """One line saying what went wrong reaching a server, and the fix."""
    key = what.lower()
    if isinstance(exc, socket.gaierror):
        return f"{what} host {host!r} not found (DNS: {exc.strerror or exc}) — check {key}_host"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (f"{what} TLS certificate of {host} not accepted ({exc.verify_message or exc.reason}) — use the host name on the "
                f"server's certificate, or set tls_ca_file to the CA that signed it")
    if isinstance(exc, ssl.SSLError):
        usual = "993" if key == "imap" else "465"
        return (f"{what} TLS handshake with {host}:{port} failed ({exc.reason or exc}) — check {key}_tls "
                f'("implicit" is usual on port {usual}, "starttls" on {"143" if key == "imap" else "587"})')
    if isinstance(exc, ConnectionRefusedError):
        return f"{what} server {host}:{port} refused the connection — check {key}_host and {key}_port"
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        hint = f'; if the port speaks TLS from the start, set {key}_tls = "implicit"' if tls != "implicit" else ""
        return f"{what} server {host}:{port} did not answer within {timeout:.0f}s — check {key}_host, {key}_port and the firewall{hint}"
    if isinstance(exc, OSError):
        return f"{what} server {host}:{port}: {exc.strerror or exc} — check {key}_host and {key}_port"
    return f"{what} server {host}:{port}: {type(exc).__name__}: {exc}"


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


class _Suspects:
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


class AuthFailed(ConfigError):
    """The server refused the username/password."""


class FolderMissing(ConfigError):
    """A configured folder does not exist on the server."""


class Imap:
    """One logged-in aioimaplib connection, with the bits aioimaplib leaves to its user (STARTTLS)."""

    def __init__(self, cfg: EmailSettings, channel: str) -> None:
        self.cfg = cfg
        self.channel = channel
        self.client: Any = None
        self.lost = asyncio.Event()
        self.lost_reason = "the server closed the connection"

    def _on_lost(self, exc: BaseException | None) -> None:
        if exc is not None:
            self.lost_reason = f"the connection broke ({type(exc).__name__}: {exc})"
        self.lost.set()

    async def _call(self, what: str, command: Any) -> Any:
        """Await an aioimaplib command, or raise _Lost with the reason as soon as the connection drops
        (aioimaplib leaves a command waiting forever when the connection dies under it)."""
        task = asyncio.ensure_future(command)
        lost = asyncio.ensure_future(self.lost.wait())
        try:
            await asyncio.wait({task, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            bye = getattr(self.client.protocol, "bye", "") if self.client is not None else ""
            raise _Lost(f"{self.lost_reason} during {what}" + (f": {bye}" if bye else ""))
        return task.result()

    async def start_idle(self) -> Any:
        """Enter IDLE and return aioimaplib's IDLE task; raise _Lost if the connection drops before the
        server acknowledges it (aioimaplib's idle_start would wait for that acknowledgement forever)."""
        client = self.client
        try:
            return await self._call("IDLE", client.idle_start(timeout=self.cfg.idle_seconds))
        except _Lost:
            for task in list(client.tasks):  # the IDLE command and its acknowledgement wait, left pending
                task.cancel()
            raise

    async def connect(self, password: str) -> None:
        cfg = self.cfg
        context = _ssl_context(cfg) if cfg.imap_tls == "implicit" else None
        self.client = bounded_imap4()(
            host=cfg.imap_host, port=cfg.imap_port, timeout=cfg.timeout,
            conn_lost_cb=self._on_lost, ssl_context=context,
        )
        try:
            await self.client.wait_hello_from_server()
            if cfg.imap_tls == "starttls":
                await self._starttls()
        except Exception as exc:
            raise ConnectionError(describe_network_error(exc, "IMAP", cfg.imap_host, cfg.imap_port, cfg.imap_tls, cfg.timeout)) from exc
        response = await self.client.login(cfg.username, password)
        if response.result != "OK":
            text = b" ".join(line for line in response.lines if isinstance(line, bytes)).decode(errors="replace")
            if "UNAVAILABLE" in text or "try again" in text.lower():
                raise ConnectionError(f"IMAP login temporarily refused: {text}")
            raise AuthFailed(
                f"IMAP login refused for {cfg.username!r} ({text.strip() or response.result}) — check username, "
                f"then store the right password with `frontdesk creds set {self.channel} password`"
            )

    async def _starttls(self) -> None:
        import aioimaplib

        protocol = self.client.protocol
        if "STARTTLS" not in protocol.capabilities:
            raise ssl.SSLError(f"the server does not offer STARTTLS on port {self.cfg.imap_port}")
        response = await asyncio.wait_for(
            protocol.execute(aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)), self.cfg.timeout
        )
        if response.result != "OK":
            raise ssl.SSLError(f"STARTTLS refused: {response.lines}")
        loop = asyncio.get_running_loop()
        transport = await asyncio.wait_for(
            loop.start_tls(protocol.transport, protocol, _ssl_context(self.cfg), server_hostname=self.cfg.imap_host),
            self.cfg.timeout,
        )
        protocol.transport = transport
        await asyncio.wait_for(protocol.capability(), self.cfg.timeout)  # capabilities may change after TLS

    def has_idle(self) -> bool:
        return self.client is not None and self.client.has_capability("IDLE")

    async def select(self, folder: str, readonly: bool = False) -> int:
        """Select `folder`; returns its UIDVALIDITY."""
        return (await self.open_folder(folder))[0]

    async def open_folder(self, folder: str) -> tuple[int, int]:
        """Select `folder`; returns its (UIDVALIDITY, UIDNEXT)."""
        # aioimaplib tracks the SELECTED state only for SELECT (not EXAMINE); reads use BODY.PEEK,
        # so selecting read-write leaves the mailbox as it was
        response = await self._call("SELECT", self.client.select(_quote(folder)))
        if response.result != "OK":
            raise FolderMissing(f"folder {folder!r} cannot be opened ({_text(response)}) — fix `folders`/`sent_folder` (see `frontdesk doctor` for the folders that exist)")
        validity = uidnext = 0
        for line in response.lines:
            if isinstance(line, bytes):
                if found := _UIDVALIDITY.search(line):
                    validity = int(found.group(1))
                if found := _UIDNEXT.search(line):
                    uidnext = int(found.group(1))
        if not uidnext:  # a server that leaves UIDNEXT out: the highest UID ("UID *") plus one
            uidnext = max(await self.search("UID", "*"), default=0) + 1
        return validity, uidnext

    async def folders(self) -> list[str]:
        response = await self.client.list('""', '"*"')
        names = []
        for line in response.lines:
            if not isinstance(line, bytes) or not line.startswith(b"("):
                continue
            found = re.match(rb'\((?P<flags>[^)]*)\) (?:"(?:[^"\\]|\\.)*"|NIL) (?P<name>.+)$', line)
            if found:
                name = found.group("name").decode("utf-8", "replace").strip()
                if name.startswith('"') and name.endswith('"'):
                    name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
                names.append(name)
        return names

    async def search(self, *criteria: str) -> list[int]:
        response = await self._call("SEARCH", self.client.uid_search(*criteria, charset=None))
        if response.result != "OK":
            raise ConnectionError(f"IMAP SEARCH failed: {_text(response)}")
        uids: list[int] = []
        for line in response.lines[:-1]:
            if isinstance(line, bytes):
                uids += [int(tok) for tok in line.split() if tok.isdigit()]
        return sorted(set(uids))

    async def fetch(self, uids: Sequence[int], items: str, timeout: float | None = None) -> list[tuple[dict[str, str], bytes | None]]:
        """(attributes, literal) per message, e.g. ({"UID": "3", "RFC822.SIZE": "99"}, raw bytes)."""
        if not uids:
            return []
        if len(uids) > FETCH_CHUNK:  # a longer answer can overflow aioimaplib's parser (issue #118): use fetch_chunks
            raise ValueError(f"one FETCH asks for at most {FETCH_CHUNK} UIDs, not {len(uids)}")
        old = self.client.timeout
        self.client.timeout = timeout or self.cfg.timeout
        try:
            response = await self._call("FETCH", self.client.uid("fetch", _uid_set(uids), items))
        finally:
            self.client.timeout = old
        if response.result != "OK":
            raise ConnectionError(f"IMAP FETCH failed: {_text(response)}")
        out: list[tuple[dict[str, str], bytes | None]] = []
        head, literal = b"", None
        for line in response.lines[:-1]:
            if isinstance(line, (bytearray, memoryview)):
                literal = bytes(line)
            elif isinstance(line, bytes):
                if _FETCH_START.match(line):
                    if head:
                        out.append((_attributes(head), literal))
                    head, literal = line, None
                else:
                    head += b" " + line
        if head:
            out.append((_attributes(head), literal))
        return out

    async def threads(self, *criteria: str) -> list[list[int]] | None:
        """The UIDs of each conversation as the server threads them (UID THREAD REFS, RFC 5256 style),
        or None when the server does not offer REFS threading (no subject merging, unlike REFERENCES)."""
        import aioimaplib

        if not self.client.has_capability("THREAD=REFS"):
            return None
        protocol = self.client.protocol
        command = aioimaplib.Command("THREAD", protocol.new_tag(), "REFS", "UTF-8", *criteria, prefix="UID",
                                     loop=protocol.loop, timeout=self.cfg.timeout)
        response = await self._call("THREAD", protocol.execute(command))
        if response.result != "OK":
            return None
        # the last line is the tagged OK's text, which may hold parentheses and numbers of its own
        return [uids for line in response.lines[:-1] if isinstance(line, bytes) for uids in thread_groups(line)]

    async def append(self, raw: bytes, folder: str) -> bool:
        response = await self.client.append(raw, mailbox=_quote(folder), flags="(\\Seen)", date=datetime.now(timezone.utc))
        if response.result != "OK" and "TRYCREATE" in _text(response).upper():
            await self.client.create(_quote(folder))
            response = await self.client.append(raw, mailbox=_quote(folder), flags="(\\Seen)", date=datetime.now(timezone.utc))
        return response.result == "OK"

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            if client.has_pending_idle():
                client.idle_done()
            if not self.lost.is_set():
                await asyncio.wait_for(client.logout(), 3)
        except Exception:
            pass
        with contextlib.suppress(Exception):
            if client.protocol.transport is not None:
                client.protocol.transport.close()


def _attributes(head: bytes) -> dict[str, str]:
    text = head.decode("utf-8", "replace")
    attrs: dict[str, str] = {}
    for name in ("UID", "RFC822.SIZE"):
        if found := re.search(rf"\b{re.escape(name)} (\d+)", text):
            attrs[name] = found.group(1)
    if found := re.search(r'INTERNALDATE "([^"]+)"', text):
        attrs["INTERNALDATE"] = found.group(1)
    return attrs


def _uid_set(uids: Sequence[int]) -> str:
    """Compact IMAP set: 1:3,7,9:10."""
    ranges: list[str] = []
    ordered = sorted(set(uids))
    start = prev = ordered[0]
    for uid in ordered[1:]:
        if uid == prev + 1:
            prev = uid
            continue
        ranges.append(f"{start}:{prev}" if prev != start else str(start))
        start = prev = uid
    ranges.append(f"{start}:{prev}" if prev != start else str(start))
    return ",".join(ranges)


def _quote(folder: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_./-]+", folder):
        return folder
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(response: Any) -> str:
    return " ".join(l.decode("utf-8", "replace") for l in response.lines if isinstance(l, bytes)).strip()


def _internaldate(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return None


def _imap_since(days: int) -> str:
    when = datetime.now(timezone.utc) - timedelta(days=days)
    return when.strftime("%d-%b-%Y")


def _window(cfg: EmailSettings) -> tuple[str, ...]:
    """SEARCH criteria for the mail a first sync reads: the last `sync_days` days (0: all)."""
    return ("SINCE", _imap_since(cfg.sync_days)) if cfg.sync_days else ()


# ---- the backend -------------------------------------------------------------------------------------


class EmailBackend(Backend):
    """A shared support mailbox: IMAP for reading, SMTP for replies."""

    kind: ClassVar[str] = "email"
    polling: ClassVar[bool] = True  # needs no public URL (IDLE is a push over our own connection)
    supports_attachments: ClassVar[bool] = True
    #: a retried SMTP send carries the same Message-ID, but an SMTP server may still deliver
    #: it twice after an ambiguous failure, so the desk must not re-send on its own
    idempotent_send: ClassVar[bool] = False
    settings_schema: ClassVar[dict[str, Any]] = {
        "imap_host": str,
        "imap_port": PORT,
        "imap_tls": str,
        "smtp_host": str,
        "smtp_port": PORT,
        "smtp_tls": str,
        "username": str,
        "address": str,
        "display_name": str,
        "folders": list[str],
        "sent_folder": str,
        "sync_days": integer(0, 3650, "days"),
        "tls_ca_file": str,
        "poll_seconds": number(1, 86400, "seconds"),
        "idle_seconds": number(1, 29 * 60, "seconds (servers drop IDLE after 29 minutes)"),
        "timeout_seconds": number(1, 600, "seconds"),
        "max_message_mb": number(1, 1024, "MB"),
    }
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
        self._suspects: dict[str, _Suspects] = {}
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
                group.create_task(self._watch_folder(sink, cfg, password, folder), name=f"email:{self.name}:{folder}")

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
                except (ConnectionError, TimeoutError) as exc:  # what was read is committed; say why the rest is not
                    fetch_failed = self._suspects.get(folder, _Suspects()).failed is not None
                    if not fetch_failed or attempt == FETCH_ATTEMPTS:  # else: again, to find the mail it failed on
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

    async def _watch_folder(self, sink: Sink, cfg: EmailSettings, password: str, folder: str) -> None:
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
                log.warning("email %s: IMAP %s: %s; reconnecting in %.1fs", self.name, folder, self.redact(reason), delay)
                again = f"failed {times} times in a row, no mail read in between; " if times > 1 else ""
                await self._status(sink, "down", f"IMAP {folder}: {reason} — {again}reconnecting in {delay:.{0 if delay >= 10 else 1}f}s")
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
            push_task = asyncio.ensure_future(client.wait_server_push(timeout=cfg.idle_seconds + cfg.timeout))
            lost_task = asyncio.ensure_future(imap.lost.wait())
            try:
                done, _ = await asyncio.wait({push_task, lost_task}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                self.idling.discard(folder)
                lost_task.cancel()
                if not push_task.done():
                    push_task.cancel()
            if imap.lost.is_set() and push_task not in done:
                idle.cancel()
                raise _Lost("the server closed the connection")
            push = push_task.result()
            lines = push if isinstance(push, list) else [push]
            if imap.lost.is_set() or any(isinstance(l, bytes) and l.upper().startswith(b"BYE") for l in lines):
                idle.cancel()
                raise _Lost("the server closed the connection")
            if client.has_pending_idle():
                client.idle_done()
            lost_task = asyncio.ensure_future(imap.lost.wait())
            try:
                await asyncio.wait({idle, lost_task}, timeout=cfg.timeout, return_when=asyncio.FIRST_COMPLETED)
            finally:
                lost_task.cancel()
            if not idle.done():
                idle.cancel()
                raise _Lost("the server did not end IDLE")
            # a push (EXISTS …) or our own re-issue timer: look for new mail, then IDLE again
            await self._catch_up(sink, imap, folder)

    async def _poll(self, sink: Sink, imap: Imap, folder: str) -> None:
        while True:
            try:
                await asyncio.wait_for(imap.lost.wait(), imap.cfg.poll_seconds)
            except TimeoutError:
                pass
            if imap.lost.is_set():
                raise _Lost("the server closed the connection")
            await imap.client.noop()
            await self._catch_up(sink, imap, folder)

    async def _learn_sent(self, cfg: EmailSettings, password: str) -> None:
        """Learn the threads of our own recent replies (so a reply to a reply finds its thread)."""
        if not cfg.sent_folder or cfg.sent_folder in self._learned or cfg.sent_folder in cfg.folders:
            return
        try:
            imap = await self._open(cfg, password)
        except ConfigError:
            raise
        except Exception as exc:
            log.info("email %s: could not read %s to learn threads: %s", self.name, cfg.sent_folder, self.redact(str(exc)))
            return
        try:
            _validity, uidnext = await imap.open_folder(cfg.sent_folder)
            await self._learn_headers(imap, cfg.sent_folder, uidnext)
        except Exception as exc:
            log.info("email %s: could not learn threads from %s: %s", self.name, cfg.sent_folder, self.redact(str(exc)))
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
                    key = self.threads.key_for(mail, correspondent) if mail.message_id else f"uid:{uid}"
                    self.threads.learn(mail, key, correspondent)
                    threads.setdefault(key, []).append(uid)
        return list(threads.values())

    def _correspondent(self, mail: ParsedMail, cfg: EmailSettings) -> str:
        if mail.from_addr == cfg.address:
            return next((a for a in mail.to if a != cfg.address), "")
        return mail.reply_to

    async def _catch_up(self, sink: Sink, imap: Imap, folder: str) -> None:
        """Read what is new in `folder` and what is left of its first sync, ingesting each batch with its cursor."""
        self._suspects.setdefault(folder, _Suspects()).new_attempt()
        validity, uidnext = await imap.open_folder(folder)
        state = self._folders.get(folder)
        if state is None or state.validity != validity:
            if state is not None:
                log.warning("email %s: UIDVALIDITY of %s changed (%s -> %s); re-reading the last %d days",
                            self.name, folder, state.validity, validity, imap.cfg.sync_days)
            state = FolderState.fresh(validity, uidnext)
            self._suspects[folder] = _Suspects()
            await self._commit(sink, folder, state, [])  # a restart resumes this plan instead of making a new one
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
        threads += [[uid] for uid in self._suspects[folder].bad if uid <= state.window and uid not in listed]
        checked = time.monotonic()
        for group in conversation_groups(backfill_order(threads, state.backfill)):
            sizes = await self._sizes(imap, folder, [uid for uids in group for uid in uids])
            group = [[uid for uid in uids if uid in sizes] for uids in group]  # expunged meanwhile
            for batch, done in backfill_batches(group, lambda uid: self._fetch_cost(cfg, sizes[uid]), BATCH_MESSAGES, BATCH_BYTES):
                state = self._folders[folder]
                await self._ingest_batch(sink, imap, folder, replace(state, backfill=done or state.backfill), batch, sizes)
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
        if resumed and folder not in self._learned:  # what was read before the restart is not in the thread map
            await self._index(imap, folder, state.window)
        self._learned.add(folder)  # the first sync reads every mail: it learns as it goes
        return threads

    async def _fetch(self, imap: Imap, folder: str, uids: list[int], items: str, timeout: float | None = None) -> list:
        """imap.fetch, leaving out mails the server keeps failing on (see _Suspects)."""
        suspects = self._suspects.setdefault(folder, _Suspects())
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
        sizes = dict.fromkeys((uid for uid in uids if uid in self._suspects.get(folder, _Suspects()).bad), 0)
        for chunk in fetch_chunks(uids):
            for attrs, _ in await self._fetch(imap, folder, chunk, "(UID RFC822.SIZE)"):
                if "UID" in attrs:
                    sizes[int(attrs["UID"])] = int(attrs.get("RFC822.SIZE", 0))
        return sizes

    async def _uidnext(self, imap: Imap, folder: str) -> int:
        validity, uidnext = await imap.open_folder(folder)
        if validity != self._folders[folder].validity:
            raise _Lost(f"the UIDVALIDITY of {folder} changed while it was read")
        return uidnext

    async def _read_new(self, sink: Sink, imap: Imap, folder: str, uidnext: int) -> None:
        """Read the mail above the cursor's `seen` (it arrived after the first sync) in UID order."""
        cfg = imap.cfg
        for low, high in reversed(list(search_slices(self._folders[folder].seen + 1, uidnext - 1))):
            uids = [u for u in await imap.search("UID", f"{low}:{high}") if low <= u <= high]
            for chunk in fetch_chunks(uids):
                sizes = await self._sizes(imap, folder, chunk)
                present = [u for u in chunk if u in sizes]  # expunged meanwhile
                for batch, _ in backfill_batches([present], lambda uid: self._fetch_cost(cfg, sizes[uid]), BATCH_MESSAGES, BATCH_BYTES):
                    await self._ingest_batch(sink, imap, folder, replace(self._folders[folder], seen=max(batch)), batch, sizes)
            if self._folders[folder].seen < high:
                await self._commit(sink, folder, replace(self._folders[folder], seen=high), [])

    @staticmethod
    def _fetch_cost(cfg: EmailSettings, size: int) -> int:
        """Bytes a FETCH of the mail brings (big mail is read in part)."""
        return PARTIAL_BYTES if size > cfg.max_message_bytes else size

    async def _ingest_batch(self, sink: Sink, imap: Imap, folder: str, state: FolderState, uids: list[int],
                            sizes: dict[int, int]) -> None:
        """Fetch and ingest the mails `uids` (at most BATCH_MESSAGES), committing `state` with them."""
        cfg = imap.cfg
        validity = state.validity
        whole = [u for u in uids if sizes[u] <= cfg.max_message_bytes]
        big = [u for u in uids if sizes[u] > cfg.max_message_bytes]
        fetched: dict[int, tuple[dict[str, str], bytes | None, bool]] = {}
        slow = cfg.timeout + sum(sizes[u] for u in whole) / 1_000_000  # a second per MB on top
        for attrs, literal in await self._fetch(imap, folder, whole, "(UID INTERNALDATE BODY.PEEK[])", timeout=slow):
            if "UID" in attrs:
                fetched[int(attrs["UID"])] = (attrs, literal, False)
        for attrs, literal in await self._fetch(imap, folder, big, f"(UID INTERNALDATE BODY.PEEK[]<0.{PARTIAL_BYTES}>)"):
            if "UID" in attrs:
                fetched[int(attrs["UID"])] = (attrs, literal, True)
        events: list[Inbound] = []
        bad = self._suspects.get(folder, _Suspects()).bad
        for uid in uids:
            if uid in bad:
                events.append(self._unfetchable(folder, validity, uid, bad[uid]))
            if uid not in fetched:
                continue
            attrs, raw, partial = fetched[uid]
            try:
                events.append(self._inbound(cfg, folder, validity, uid, raw or b"", attrs, partial, sizes[uid]))
            except Exception as exc:  # never let one bad mail stop the mailbox
                log.warning("email %s: %s UID %d unreadable: %s", self.name, folder, uid, exc)
                events.append(self._unreadable(folder, validity, uid, raw or b"", exc))
        await self._commit(sink, folder, state, events)

    async def _commit(self, sink: Sink, folder: str, state: FolderState, events: list[Inbound]) -> None:
        async with self._ingest_lock:
            folders = {**self._folders, folder: state}
            cursor = write_cursor(folders)
            await sink.ingest(self.name, events, cursor)
            self._folders = folders
            self.cursor = cursor
        if events and folder in self._down:  # mail is coming in again (a long sync after a failure is not "down")
            self._down.discard(folder)
            await self._status(sink, "ok", f"IMAP {folder}: reading again")

    def _inbound(self, cfg: EmailSettings, folder: str, validity: int, uid: int, raw: bytes,
                 attrs: dict[str, str], partial: bool, size: int) -> Inbound:
        mail = parse(raw, _internaldate(attrs.get("INTERNALDATE")))
        body = mail.body
        if partial:
            body += (f"\n\n[this mail is {size / 1_048_576:.1f} MB, over the {cfg.max_message_bytes / 1_048_576:.0f} MB "
                     "limit: only its beginning was read; open it in a mail client]")
        outgoing = mail.from_addr == cfg.address
        correspondent = self._correspondent(mail, cfg)
        key = self.threads.key_for(mail, correspondent)
        self.threads.learn(mail, key, correspondent)
        if outgoing:
            sender = ContactRef(address=correspondent or cfg.address, email=correspondent)
        else:
            name = mail.from_name if mail.reply_to == mail.from_addr or not mail.reply_to else (mail.from_name or "")
            sender = ContactRef(address=mail.reply_to or f"unknown@{uid}", name=name, email=mail.reply_to)
        attachments = [
            Attachment(a.name, a.mime, a.size, attachment_ref(folder, validity, uid, a.index, mail.message_id))
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

    def _unreadable(self, folder: str, validity: int, uid: int, raw: bytes, exc: Exception) -> Inbound:
        digest = hashlib.sha256(raw).hexdigest()[:40]
        external = f"<sha256.{digest}@frontdesk.invalid>"
        return Inbound(
            external_id=external,
            thread_key=external,
            sender=ContactRef(address="unknown@invalid", name="(unreadable mail)"),
            body=f"(this mail could not be read: {type(exc).__name__}; it is UID {uid} in {folder})",
        )

    # ---- attachments ---------------------------------------------------------------------------

    async def save_attachment(self, ref: str, downloads_dir: str | os.PathLike[str], name: str = "") -> Path:
        """Save attachment `ref` into `downloads_dir` under a safe, unused name (the mail's own file
        name, else `name`), streamed; returns the path. A failed download leaves no file."""
        async with self._attachment(ref) as (part, stream):
            path, out = open_unique(Path(downloads_dir), safe_filename(part.filename or name, fallback=f"attachment-{part.section}"))
            try:
                with out:
                    await stream(out)
            except BaseException:
                path.unlink(missing_ok=True)
                raise
            return path

    async def download_attachment(self, ref: str, into: BinaryIO) -> int:
        """Stream attachment `ref` into `into`; returns its size."""
        async with self._attachment(ref) as (_, stream):
            return await stream(into)

    @contextlib.asynccontextmanager
    async def _attachment(self, ref: str) -> AsyncIterator[tuple[Section, Callable[[BinaryIO], Awaitable[int]]]]:
        """The part of attachment `ref` (found with BODYSTRUCTURE) and a function that streams it:
        fetched and decoded a chunk at a time, never the whole mail in memory, within a deadline
        that grows with its size."""
        if not ref.startswith("imap:"):
            raise PermanentError("not an email attachment reference")
        try:
            folder, validity, uid, index, message_id = json.loads(ref[5:])
            uid, index, validity = int(uid), int(index), int(validity)
        except (ValueError, TypeError):
            raise PermanentError("attachment reference is damaged") from None
        cfg = self.cfg
        imap = await self._open(cfg, self.secret("password"))
        try:
            current = await imap.select(folder, readonly=True)
            if current != validity:
                uids = await imap.search("HEADER", "Message-ID", _imap_string(message_id)) if message_id else []
                if not uids:
                    raise PermanentError(f"the mail is no longer in {folder}")
                uid = uids[-1]
            part = await self._attachment_section(imap, uid, index, folder)
            deadline = cfg.timeout + part.size / 1_000_000  # a second per MB on top, as for ingest

            async def stream(into: BinaryIO) -> int:
                try:
                    async with asyncio.timeout(deadline):
                        return await self._stream_section(imap, uid, part, into)
                except TimeoutError:
                    raise TransientError(f"saving the attachment took longer than {deadline:.0f} s") from None

            yield part, stream
        finally:
            await self._close(imap)

    async def _attachment_section(self, imap: Imap, uid: int, index: int, folder: str) -> Section:
        response = await imap.client.uid("fetch", str(uid), "(UID BODYSTRUCTURE)")
        if response.result != "OK":
            raise ConnectionError(f"IMAP FETCH failed: {_text(response)}")
        try:
            parts = walk_sections(parse_bodystructure(response.lines))
        except ValueError:
            raise PermanentError(f"the mail is no longer in {folder}, or the server describes it wrongly") from None
        if not 0 <= index < len(parts) or parts[index].section is None:
            raise PermanentError("the attachment is not in the mail any more")
        return parts[index]

    async def _stream_section(self, imap: Imap, uid: int, part: Section, into: BinaryIO) -> int:
        decode, offset, written = decoder(part.encoding), 0, 0
        while True:
            found = await imap.fetch([uid], f"(UID BODY.PEEK[{part.section}]<{offset}.{PART_CHUNK_BYTES}>)")
            chunk = next((literal for _, literal in found if literal), b"")
            offset += len(chunk)
            data = decode.feed(chunk) if len(chunk) == PART_CHUNK_BYTES else decode.feed(chunk) + decode.flush()
            into.write(data)
            written += len(data)
            if len(chunk) < PART_CHUNK_BYTES:
                return written

    # ---- sending ---------------------------------------------------------------------------------

    def compose(self, outgoing: Outgoing, cfg: EmailSettings | None = None) -> EmailMessage:
        """The reply as it goes on the wire (pure: the same outgoing gives the same mail)."""
        cfg = cfg or self.cfg
        to = (outgoing.to or "").strip()
        if "@" not in to or any(ch in to for ch in "\r\n,;"):
            raise PermanentError(f"not an email address: {to!r}")
        msg = EmailMessage()
        msg["From"] = Address(cfg.display_name, addr_spec=cfg.address) if cfg.display_name else cfg.address
        msg["To"] = to
        msg["Subject"] = reply_subject(outgoing.subject)
        msg["Date"] = format_datetime(datetime.now(timezone.utc))
        msg["Message-ID"] = message_id_for(outgoing.idempotency_key or f"message-{outgoing.message_id}", self.name, cfg.address)
        parent = outgoing.reply_to_external_id if (outgoing.reply_to_external_id or "").startswith("<") else None
        references = self.threads.references_for(outgoing.thread_key, parent)
        if parent or references:
            msg["In-Reply-To"] = parent or references[-1]
        if references:
            msg["References"] = " ".join(references)
        msg["Auto-Submitted"] = "no"
        msg["X-Mailer"] = "frontdesk"
        msg.set_content(outgoing.body)
        for attachment in outgoing.attachments:
            path = Path(attachment.ref).expanduser()
            if not attachment.ref or not path.is_file():
                raise PermanentError(f"attachment {attachment.name!r} is not a file on this machine")
            maintype, _, subtype = (attachment.mime or "application/octet-stream").partition("/")
            msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype or "octet-stream",
                               filename=attachment.name or path.name)
        return msg

    async def send(self, outgoing: Outgoing) -> SendResult:
        try:
            cfg = self.cfg
            password = self.secret("password")
        except ConfigError as exc:
            raise PermanentError(str(exc)) from None
        msg = self.compose(outgoing, cfg)
        raw = msg.as_bytes()
        await self._smtp_send(cfg, password, msg, raw)
        message_id = str(msg["Message-ID"])
        self.threads.learn_sent(message_id, outgoing.thread_key, [*str(msg.get("References", "")).split()])
        if cfg.sent_folder:
            await self._append_sent(cfg, password, raw)
        return SendResult(message_id, Delivery.SENT)

    async def _smtp_send(self, cfg: EmailSettings, password: str, msg: EmailMessage, raw: bytes) -> None:
        import aiosmtplib

        smtp = aiosmtplib.SMTP(
            hostname=cfg.smtp_host, port=cfg.smtp_port, timeout=cfg.timeout,
            use_tls=cfg.smtp_tls == "implicit", start_tls=cfg.smtp_tls == "starttls" if cfg.smtp_tls != "none" else False,
            tls_context=_ssl_context(cfg) if cfg.smtp_tls != "none" else None,
        )
        recipient = str(msg["To"])
        data_started = False
        try:
            await smtp.connect()
            if not smtp.esmtp_extensions:
                await smtp.ehlo()
            if smtp.supports_extension("auth") or cfg.smtp_tls != "none":
                try:
                    await smtp.login(cfg.username, password)
                except aiosmtplib.SMTPAuthenticationError as exc:
                    raise PermanentError(
                        f"SMTP login refused for {cfg.username!r} ({exc.code} {exc.message}) — store the right password with "
                        f"`frontdesk creds set {self.name} password`"
                    ) from None
            await smtp.mail(cfg.address)
            await smtp.rcpt(recipient)
            data_started = True
            await smtp.data(raw)
        except (PermanentError, TransientError):
            raise
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise PermanentError(f"the mail server refused {recipient}: {_smtp_reason(exc)}") from None
        except aiosmtplib.SMTPResponseException as exc:
            reason = f"the mail server answered {exc.code} {exc.message}"
            if 400 <= exc.code < 500:
                raise TransientError(reason) from None
            raise PermanentError(reason) from None
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, TimeoutError, OSError, aiosmtplib.SMTPException) as exc:
            if data_started:
                raise AmbiguousError(f"the SMTP connection broke while sending ({type(exc).__name__}: {exc}); the mail may have gone out") from None
            cause = exc.__cause__ or exc.__context__ if isinstance(exc, aiosmtplib.SMTPConnectError) else exc
            if isinstance(cause, aiosmtplib.SMTPException) and not isinstance(cause, OSError):
                cause = exc
            raise TransientError(describe_network_error(cause if isinstance(cause, BaseException) else exc, "SMTP",
                                                        cfg.smtp_host, cfg.smtp_port, cfg.smtp_tls, cfg.timeout)) from None
        finally:
            with contextlib.suppress(Exception):
                if smtp.is_connected:
                    await asyncio.wait_for(smtp.quit(), 3)
            with contextlib.suppress(Exception):
                smtp.close()

    async def _append_sent(self, cfg: EmailSettings, password: str, raw: bytes) -> None:
        """Keep a copy in the Sent folder; a failure here is logged, the mail itself went out."""
        try:
            imap = await self._open(cfg, password)
            try:
                if not await imap.append(raw, cfg.sent_folder):
                    log.warning("email %s: could not save the reply to %s", self.name, cfg.sent_folder)
            finally:
                await self._close(imap)
        except Exception as exc:
            log.warning("email %s: could not save the reply to %s: %s", self.name, cfg.sent_folder, self.redact(str(exc)))

    # ---- doctor ------------------------------------------------------------------------------

    async def check(self) -> list[str]:
        try:
            cfg = self.cfg
            password = self.secret("password")
        except ConfigError as exc:
            return [str(exc).removeprefix(f"channel {self.name!r}: ")]
        problems: list[str] = []
        problems += await self._check_dns("IMAP", cfg.imap_host, cfg.imap_port)
        if not problems:
            problems += await self._check_imap(cfg, password)
        smtp_dns = await self._check_dns("SMTP", cfg.smtp_host, cfg.smtp_port)
        problems += smtp_dns or await self._check_smtp(cfg, password)
        return problems

    async def _check_dns(self, what: str, host: str, port: int) -> list[str]:
        try:
            await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            return [describe_network_error(exc, what, host, port, "", 0)]
        return []

    async def _check_imap(self, cfg: EmailSettings, password: str) -> list[str]:
        imap = Imap(cfg, self.name)
        try:
            await imap.connect(password)
            existing = await imap.folders()
            problems = []
            wanted = [*cfg.folders, *([cfg.sent_folder] if cfg.sent_folder else [])]
            for folder in wanted:
                if folder not in existing and not (folder.upper() == "INBOX" and "INBOX" in (e.upper() for e in existing)):
                    key = "sent_folder" if folder == cfg.sent_folder and folder not in cfg.folders else "folders"
                    problems.append(f"IMAP folder {folder!r} does not exist — fix {key} (folders on the server: {', '.join(existing[:20]) or 'none'})")
            return problems
        except (ConfigError, ConnectionError) as exc:
            return [str(exc)]
        except Exception as exc:
            return [describe_network_error(exc, "IMAP", cfg.imap_host, cfg.imap_port, cfg.imap_tls, cfg.timeout)]
        finally:
            await imap.close()

    async def _check_smtp(self, cfg: EmailSettings, password: str) -> list[str]:
        import aiosmtplib

        smtp = aiosmtplib.SMTP(
            hostname=cfg.smtp_host, port=cfg.smtp_port, timeout=cfg.timeout,
            use_tls=cfg.smtp_tls == "implicit", start_tls=cfg.smtp_tls == "starttls" if cfg.smtp_tls != "none" else False,
            tls_context=_ssl_context(cfg) if cfg.smtp_tls != "none" else None,
        )
        try:
            await smtp.connect()
            if not smtp.esmtp_extensions:
                await smtp.ehlo()
        except Exception as exc:
            cause = exc.__cause__ or exc.__context__ or exc
            return [describe_network_error(cause if isinstance(cause, OSError) else exc, "SMTP", cfg.smtp_host, cfg.smtp_port, cfg.smtp_tls, cfg.timeout)]
        try:
            if smtp.supports_extension("auth"):
                await smtp.login(cfg.username, password)
            elif cfg.smtp_tls != "none":
                return [f"SMTP server {cfg.smtp_host}:{cfg.smtp_port} offers no login (AUTH) — check smtp_port (587 or 465 for submission)"]
        except aiosmtplib.SMTPAuthenticationError as exc:
            return [f"SMTP login refused for {cfg.username!r} ({exc.code} {exc.message.strip()}) — check username, then "
                    f"`frontdesk creds set {self.name} password`"]
        except Exception as exc:
            return [f"SMTP login failed: {type(exc).__name__}: {exc}"]
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(smtp.quit(), 3)
            smtp.close()
        return []

    async def close(self) -> None:
        for imap in list(self._connections):
            await self._close(imap)


def _smtp_reason(exc: Any) -> str:
    errors = getattr(exc, "recipients", None) or []
    return "; ".join(f"{e.code} {e.message}" for e in errors) or str(exc)


def _imap_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
