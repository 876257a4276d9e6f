"""One logged-in IMAP connection: aioimaplib plus STARTTLS, lost links and short FETCHes (#118)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from frontdesk.backends.base import ConfigError
from frontdesk.backends.email_net import describe_network_error, ssl_context
from frontdesk.backends.email_settings import EmailSettings
from frontdesk.backends.email_sync import FETCH_CHUNK, bounded_imap4, thread_groups

_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_UIDNEXT = re.compile(rb"UIDNEXT (\d+)")
_FETCH_START = re.compile(rb"^\d+ FETCH \(")
_LITERAL_END = re.compile(rb"\{\d+\}$")


class ConnectionLost(ConnectionError):
    """The IMAP connection closed under us."""


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
        """Await an aioimaplib command, or raise ConnectionLost with the reason as soon as the connection drops
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
            raise ConnectionLost(f"{self.lost_reason} during {what}" + (f": {bye}" if bye else ""))
        return task.result()

    async def start_idle(self) -> Any:
        """Enter IDLE and return aioimaplib's IDLE task; raise ConnectionLost if the connection drops before
        the server acknowledges it (aioimaplib's idle_start would wait for that acknowledgement forever)."""
        client = self.client
        try:
            return await self._call("IDLE", client.idle_start(timeout=self.cfg.idle_seconds))
        except ConnectionLost:
            for task in list(
                client.tasks
            ):  # the IDLE command and its acknowledgement wait, left pending
                task.cancel()
            raise

    async def connect(self, password: str) -> None:
        cfg = self.cfg
        context = ssl_context(cfg) if cfg.imap_tls == "implicit" else None
        self.client = bounded_imap4()(
            host=cfg.imap_host,
            port=cfg.imap_port,
            timeout=cfg.timeout,
            conn_lost_cb=self._on_lost,
            ssl_context=context,
        )
        try:
            await self.client.wait_hello_from_server()
            if cfg.imap_tls == "starttls":
                await self._starttls()
        except Exception as exc:
            raise ConnectionError(
                describe_network_error(
                    exc, "IMAP", cfg.imap_host, cfg.imap_port, cfg.imap_tls, cfg.timeout
                )
            ) from exc
        response = await self.client.login(cfg.username, password)
        if response.result != "OK":
            text = b" ".join(line for line in response.lines if isinstance(line, bytes)).decode(
                errors="replace"
            )
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
            protocol.execute(
                aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
            ),
            self.cfg.timeout,
        )
        if response.result != "OK":
            raise ssl.SSLError(f"STARTTLS refused: {response.lines}")
        loop = asyncio.get_running_loop()
        transport = await asyncio.wait_for(
            loop.start_tls(
                protocol.transport,
                protocol,
                ssl_context(self.cfg),
                server_hostname=self.cfg.imap_host,
            ),
            self.cfg.timeout,
        )
        protocol.transport = transport
        await asyncio.wait_for(
            protocol.capability(), self.cfg.timeout
        )  # capabilities may change after TLS

    def has_idle(self) -> bool:
        return self.client is not None and self.client.has_capability("IDLE")

    async def select(self, folder: str, readonly: bool = False) -> int:
        """Select `folder`; returns its UIDVALIDITY."""
        return (await self.open_folder(folder))[0]

    async def open_folder(self, folder: str) -> tuple[int, int]:
        """Select `folder`; returns its (UIDVALIDITY, UIDNEXT)."""
        # aioimaplib tracks the SELECTED state only for SELECT (not EXAMINE); reads use BODY.PEEK,
        # so selecting read-write leaves the mailbox as it was
        response = await self._call("SELECT", self.client.select(quote_folder(folder)))
        if response.result != "OK":
            raise FolderMissing(
                f"folder {folder!r} cannot be opened ({response_text(response)}) — fix `folders`/`sent_folder` (see `frontdesk doctor` for the folders that exist)"
            )
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
            raise ConnectionError(f"IMAP SEARCH failed: {response_text(response)}")
        uids: list[int] = []
        for line in response.lines[:-1]:
            if isinstance(line, bytes):
                uids += [int(tok) for tok in line.split() if tok.isdigit()]
        return sorted(set(uids))

    async def fetch(
        self, uids: Sequence[int], items: str, timeout: float | None = None
    ) -> list[tuple[dict[str, str], bytes | None]]:
        """(attributes, literal) per message, e.g. ({"UID": "3", "RFC822.SIZE": "99"}, raw bytes)."""
        if not uids:
            return []
        if (
            len(uids) > FETCH_CHUNK
        ):  # a longer answer can overflow aioimaplib's parser (issue #118): use fetch_chunks
            raise ValueError(f"one FETCH asks for at most {FETCH_CHUNK} UIDs, not {len(uids)}")
        old = self.client.timeout
        self.client.timeout = timeout or self.cfg.timeout
        try:
            response = await self._call("FETCH", self.client.uid("fetch", _uid_set(uids), items))
        finally:
            self.client.timeout = old
        if response.result != "OK":
            raise ConnectionError(f"IMAP FETCH failed: {response_text(response)}")
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
        command = aioimaplib.Command(
            "THREAD",
            protocol.new_tag(),
            "REFS",
            "UTF-8",
            *criteria,
            prefix="UID",
            loop=protocol.loop,
            timeout=self.cfg.timeout,
        )
        response = await self._call("THREAD", protocol.execute(command))
        if response.result != "OK":
            return None
        # the last line is the tagged OK's text, which may hold parentheses and numbers of its own
        return [
            uids
            for line in response.lines[:-1]
            if isinstance(line, bytes)
            for uids in thread_groups(line)
        ]

    async def append(self, raw: bytes, folder: str) -> bool:
        response = await self.client.append(
            raw, mailbox=quote_folder(folder), flags="(\\Seen)", date=datetime.now(timezone.utc)
        )
        if response.result != "OK" and "TRYCREATE" in response_text(response).upper():
            await self.client.create(quote_folder(folder))
            response = await self.client.append(
                raw, mailbox=quote_folder(folder), flags="(\\Seen)", date=datetime.now(timezone.utc)
            )
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


def quote_folder(folder: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_./-]+", folder):
        return folder
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def response_text(response: Any) -> str:
    return " ".join(
        l.decode("utf-8", "replace") for l in response.lines if isinstance(l, bytes)
    ).strip()


def internaldate(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return None


def imap_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
