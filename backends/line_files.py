"""Files on LINE: what the agent sends, served to LINE by an unguessable token, and received files."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from frontdesk.backends.base import PermanentError
from frontdesk.backends.httpchannel import HTTPClient
from frontdesk.backends.line_media import (
    audio_problem,
    file_message,
    kind_of,
    mp4_duration_ms,
    size_problem,
)
from frontdesk.model import Outgoing

DOWNLOAD_LIMIT = 200 * 1024 * 1024  # the largest file a customer can send on LINE, with room

#: a request holds at most five message objects: the text and four files
MAX_FILES = 4
#: files served to LINE by token, newest kept
MAX_SERVED = 10_000

FILES_PROBLEM = (
    "LINE sends files only from a public HTTPS URL; set [webhooks] public_url (the desk's "
    "receiver then serves the file to LINE), or share the file by a link in the text"
)


class LineFiles:
    """LineBackend's files (uses its `public_url`, `name`, `_secrets`, `request_timeout`,
    `data_http` and `_served`, the files offered to LINE)."""

    async def download_attachment(
        self, ref: str, into: BinaryIO, max_bytes: int = DOWNLOAD_LIMIT
    ) -> int:
        """Stream a received file into `into`: by message id from LINE's content host, or from
        the other provider's HTTPS URL (without LINE's token) when LINE keeps no copy."""
        if ref.startswith("https://"):
            parts = urlsplit(ref)
            origin = HTTPClient(f"https://{parts.netloc}", "the content provider")
            try:
                path = parts.path + (f"?{parts.query}" if parts.query else "")
                return await origin.download(
                    path, timeout=self.request_timeout, max_bytes=max_bytes, into=into
                )
            finally:
                await origin.aclose()
        if not ref.isdigit():
            raise PermanentError("not a LINE message id")
        return await self.data_http.download(
            f"/v2/bot/message/{ref}/content",
            timeout=self.request_timeout,
            max_bytes=max_bytes,
            into=into,
        )

    def attachment_problem(self, name: str, mime: str, size: int) -> str | None:
        """LINE takes pictures, MP4 videos and M4A audio by URL, served by the desk's receiver."""
        if not self.public_url.startswith("https://"):
            return FILES_PROBLEM
        return size_problem(name, mime, size)

    def content_problem(self, name: str, mime: str, data: bytes) -> str | None:
        """An audio file must say its length (LINE's audio message requires it)."""
        kind = kind_of(mime)
        if kind is None or kind.message != "audio":
            return None
        return audio_problem(name, mp4_duration_ms(data))

    def served_file(self, token: str) -> Path | None:
        """A file `send` offered LINE under this token (it fetches it when shown)."""
        return self._served.get(token)

    def _serve(self, path: Path) -> str:
        """The URL LINE fetches a stored file from, under a token nobody can guess."""
        key = (self._secrets("channel_secret") or self.name).encode()
        # the same file gets the same URL, so a retried push (409) points at a served file
        digest = hmac.new(key, f"file\0{path}".encode(), hashlib.sha256).digest()
        token = base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")
        self._served.pop(token, None)
        self._served[token] = path
        while len(self._served) > MAX_SERVED:
            self._served.popitem(last=False)
        return f"{self.public_url}/files/{token}"

    def _files(self, outgoing: Outgoing) -> list[dict[str, Any]]:
        if len(outgoing.attachments) > MAX_FILES:
            raise PermanentError(
                f"LINE takes at most {MAX_FILES} files with one reply; send the rest in another"
            )
        for attachment in outgoing.attachments:
            path = Path(attachment.ref) if attachment.ref else None
            if path is None or not path.is_absolute() or not path.is_file():
                raise PermanentError(f"{attachment.name}: the file to send is gone from the desk")
            problem = self.attachment_problem(attachment.name, attachment.mime, path.stat().st_size)
            if problem:
                raise PermanentError(problem)
        return [file_message(a, self._serve) for a in outgoing.attachments]


__all__ = ["DOWNLOAD_LIMIT", "FILES_PROBLEM", "LineFiles"]
