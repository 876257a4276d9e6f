"""Files on LINE: pictures served to LINE by an unguessable token, and received files downloaded."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from frontdesk.backends.base import PermanentError
from frontdesk.backends.httpchannel import HTTPClient
from frontdesk.model import Outgoing

DOWNLOAD_LIMIT = 200 * 1024 * 1024  # the largest file a customer can send on LINE, with room

#: pictures LINE shows from a URL (JPEG or PNG, at most 10 MB); it takes no other file by URL
#: without extra data (a video needs a preview picture, audio its duration)
PICTURE_TYPES = ("image/jpeg", "image/png")
PICTURE_LIMIT = 10 * 1024 * 1024
#: a request holds at most five message objects: the text and four pictures
MAX_PICTURES = 4
#: files served to LINE by token, newest kept
MAX_SERVED = 10_000

FILES_PROBLEM = (
    "LINE sends files only from a public HTTPS URL; set [webhooks] public_url (the desk's "
    "receiver then serves the picture to LINE), or share the file by a link in the text"
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
        """LINE takes JPEG or PNG pictures up to 10 MB by URL, served by the desk's receiver."""
        if not self.public_url.startswith("https://"):
            return FILES_PROBLEM
        if mime not in PICTURE_TYPES:
            return (
                f"{name}: LINE takes only JPEG or PNG pictures from frontdesk; share other files "
                f"by a link in the text"
            )
        if size > PICTURE_LIMIT:
            return (
                f"{name} is {size / 1_048_576:.1f} MB; LINE takes pictures up to 10 MB — shrink it"
            )
        return None

    def served_file(self, token: str) -> Path | None:
        """A picture `send` offered LINE under this token (it fetches it when shown)."""
        return self._served.get(token)

    def _picture(self, path: Path) -> dict[str, Any]:
        """The image message for a stored file, served under a token nobody can guess."""
        key = (self._secrets("channel_secret") or self.name).encode()
        # the same file gets the same URL, so a retried push (409) points at a served file
        digest = hmac.new(key, f"file\0{path}".encode(), hashlib.sha256).digest()
        token = base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")
        self._served.pop(token, None)
        self._served[token] = path
        while len(self._served) > MAX_SERVED:
            self._served.popitem(last=False)
        url = f"{self.public_url}/files/{token}"
        return {"type": "image", "originalContentUrl": url, "previewImageUrl": url}

    def _pictures(self, outgoing: Outgoing) -> list[dict[str, Any]]:
        if len(outgoing.attachments) > MAX_PICTURES:
            raise PermanentError(
                f"LINE takes at most {MAX_PICTURES} pictures with one reply; send the rest in another"
            )
        pictures = []
        for attachment in outgoing.attachments:
            path = Path(attachment.ref) if attachment.ref else None
            if path is None or not path.is_absolute() or not path.is_file():
                raise PermanentError(f"{attachment.name}: the file to send is gone from the desk")
            problem = self.attachment_problem(attachment.name, attachment.mime, path.stat().st_size)
            if problem:
                raise PermanentError(problem)
            pictures.append(self._picture(path))
        return pictures


__all__ = ["DOWNLOAD_LIMIT", "FILES_PROBLEM", "LineFiles"]
