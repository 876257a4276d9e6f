"""Files customers send on WhatsApp: a media id resolved to a short-lived URL, then downloaded."""

from __future__ import annotations

import re
from typing import BinaryIO
from urllib.parse import urlsplit

from frontdesk.backends.base import PermanentError
from frontdesk.backends.httpchannel import HTTPClient

MB = 1024 * 1024
DOWNLOAD_LIMIT = 100 * MB


class WhatsAppMedia:
    """WhatsAppBackend's received files (uses its `_graph`, `_path`, `_auth`, `http`, `base_url`,
    `request_timeout` and `_media_hosts`, one client per media host)."""

    async def download_attachment(
        self, ref: str, into: BinaryIO, max_bytes: int = DOWNLOAD_LIMIT
    ) -> int:
        """A received file: GET /{media id} gives a short-lived URL, fetched with the token."""
        if not ref or not re.fullmatch(r"[0-9A-Za-z_.-]{1,256}", ref):
            raise PermanentError("not a WhatsApp media id")
        info = await self._graph("GET", self._path(ref), label="media")
        url = info.get("url")
        parts = urlsplit(url) if isinstance(url, str) else None
        ours = urlsplit(self.base_url)
        if (
            parts is None
            or not parts.netloc
            or (
                parts.scheme != "https"
                and (parts.scheme, parts.netloc) != (ours.scheme, ours.netloc)
            )
        ):
            raise PermanentError("WhatsApp did not give a usable address for this file")
        origin = f"{parts.scheme}://{parts.netloc}"
        client = self._media_hosts.get(origin)
        if client is None:
            client = HTTPClient(
                origin, "WhatsApp media", connect_timeout=self.http.connect_timeout, auth=self._auth
            )
            self._media_hosts[origin] = client
        return await client.download(
            parts.path + (f"?{parts.query}" if parts.query else ""),
            timeout=self.request_timeout,
            max_bytes=max_bytes,
            into=into,
        )


__all__ = ["DOWNLOAD_LIMIT", "WhatsAppMedia"]
