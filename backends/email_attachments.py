"""Saving an email attachment: find its part (BODYSTRUCTURE), stream it a chunk at a time."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import BinaryIO

from frontdesk.backends.base import PermanentError, TransientError, open_unique, safe_filename
from frontdesk.backends.imap_parts import Section, decoder, parse_bodystructure, walk_sections
from frontdesk.backends.imap_session import Imap, imap_string, response_text

#: an attachment is fetched in pieces of this size when saved
PART_CHUNK_BYTES = 512 * 1024


def attachment_ref(folder: str, validity: int, uid: int, index: int, message_id: str) -> str:
    return "imap:" + json.dumps(
        [folder, validity, uid, index, message_id], separators=(",", ":"), ensure_ascii=False
    )


class AttachmentSaving:
    """EmailBackend's attachment downloads (uses its `cfg`, `secret`, `_open` and `_close`)."""

    async def save_attachment(
        self, ref: str, downloads_dir: str | os.PathLike[str], name: str = ""
    ) -> Path:
        """Save attachment `ref` into `downloads_dir` under a safe, unused name (the mail's own file
        name, else `name`), streamed; returns the path. A failed download leaves no file."""
        async with self._attachment(ref) as (part, stream):
            path, out = open_unique(
                Path(downloads_dir),
                safe_filename(part.filename or name, fallback=f"attachment-{part.section}"),
            )
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
    async def _attachment(
        self, ref: str
    ) -> AsyncIterator[tuple[Section, Callable[[BinaryIO], Awaitable[int]]]]:
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
                uids = (
                    await imap.search("HEADER", "Message-ID", imap_string(message_id))
                    if message_id
                    else []
                )
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
                    raise TransientError(
                        f"saving the attachment took longer than {deadline:.0f} s"
                    ) from None

            yield part, stream
        finally:
            await self._close(imap)

    async def _attachment_section(self, imap: Imap, uid: int, index: int, folder: str) -> Section:
        response = await imap.client.uid("fetch", str(uid), "(UID BODYSTRUCTURE)")
        if response.result != "OK":
            raise ConnectionError(f"IMAP FETCH failed: {response_text(response)}")
        try:
            parts = walk_sections(parse_bodystructure(response.lines))
        except ValueError:
            raise PermanentError(
                f"the mail is no longer in {folder}, or the server describes it wrongly"
            ) from None
        if not 0 <= index < len(parts) or parts[index].section is None:
            raise PermanentError("the attachment is not in the mail any more")
        return parts[index]

    async def _stream_section(self, imap: Imap, uid: int, part: Section, into: BinaryIO) -> int:
        decode, offset, written = decoder(part.encoding), 0, 0
        while True:
            found = await imap.fetch(
                [uid], f"(UID BODY.PEEK[{part.section}]<{offset}.{PART_CHUNK_BYTES}>)"
            )
            chunk = next((literal for _, literal in found if literal), b"")
            offset += len(chunk)
            data = (
                decode.feed(chunk)
                if len(chunk) == PART_CHUNK_BYTES
                else decode.feed(chunk) + decode.flush()
            )
            into.write(data)
            written += len(data)
            if len(chunk) < PART_CHUNK_BYTES:
                return written
