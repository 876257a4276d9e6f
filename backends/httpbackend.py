"""What every HTTP channel backend shares: its settings read once, received files, doctor, closing.

`HTTPChannel` goes before `Backend` (or `WebhookBackend`) in a backend's bases: it reads the
settings against `settings_schema` over the class's `defaults`, hands them to the backend's
`configure`, and keeps the problems found (a wrong type, a missing id) to raise as one
ConfigError naming the channel when the backend first needs them. The checks on a reply that
every channel makes the same way (a recipient, a length) are functions beside it.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, BinaryIO, ClassVar

import httpx

from frontdesk.backends.base import (
    AmbiguousError,
    BackendError,
    ConfigError,
    PermanentError,
    Sink,
    TransientError,
)
from frontdesk.backends.httpchannel import (
    Backoff,
    HTTPClient,
    StatusReporter,
    poll_forever,
    read_settings,
)
from frontdesk.model import Outgoing

#: what `fetch_attachment` reads at most when the backend names no limit of its own
DOWNLOAD_LIMIT = 20 * 1024 * 1024


class HTTPChannel:
    """A backend on an HTTP API (uses `name`, `settings` and `settings_schema` from `Backend`;
    the backend sets `http`, `base_url` and, when it polls, `backoff` and `status`)."""

    #: the value of every setting the channel block leaves out
    defaults: ClassVar[Mapping[str, Any]] = {}
    #: the largest received file `fetch_attachment` reads
    download_limit: ClassVar[int] = DOWNLOAD_LIMIT
    http: HTTPClient
    base_url: str
    backoff: Backoff
    status: StatusReporter

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # Backend's (name, settings, secrets, cursor)
        cfg, self._problems = read_settings(self.settings, self.settings_schema, self.defaults)
        self.configure(cfg)

    def configure(self, cfg: dict[str, Any]) -> None:
        """Take the settings read; append to `self._problems` what else is wrong with them."""

    def _check_settings(self) -> None:
        """Raise the settings' problems as one ConfigError that names the channel."""
        if self._problems:
            raise ConfigError(f"channel {self.name!r}: " + "; ".join(self._problems))

    async def _keep_polling(
        self,
        sink: Sink,
        poll_once: Callable[[], Awaitable[float]],
        slow_retry: float,
        logger: logging.Logger,
    ) -> None:
        """`poll_forever` with this channel's name, backoff and status."""
        await poll_forever(
            self.name,
            sink,
            poll_once,
            backoff=self.backoff,
            slow_retry=slow_retry,
            status=self.status,
            logger=logger,
        )

    async def fetch_attachment(self, ref: str, max_bytes: int | None = None) -> bytes:
        """The bytes of a received file, read through the backend's streaming download."""
        buffer = io.BytesIO()
        await self.download_attachment(ref, buffer, max_bytes or self.download_limit)
        return buffer.getvalue()

    async def download_attachment(self, ref: str, into: BinaryIO, max_bytes: int) -> int:
        """Each HTTP backend streams its own files; without that there is nothing to fetch."""
        raise NotImplementedError(f"the {self.kind} backend cannot download attachments")

    def doctor_line(self, exc: BackendError) -> str:
        """A failed doctor call as one line; a network failure names where to look."""
        if isinstance(exc, TransientError):
            return f"{exc} — check the network, a proxy, or base_url ({self.base_url})"
        return str(exc)

    async def close(self) -> None:
        await self.http.aclose()


class BearerAuth(httpx.Auth):
    """`Authorization: Bearer <token>` on every request."""

    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request):  # type: ignore[no-untyped-def]
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


def recipient(outgoing: Outgoing, missing: str) -> str:
    """The chat a reply goes to (its thread key, else its address); `missing` says why not."""
    to = outgoing.thread_key or outgoing.to
    if not to:
        raise PermanentError(missing)
    return to


def part_sent(first: str, exc: BaseException) -> AmbiguousError:
    """A reply in parts whose first went out before a later one failed: never re-sent whole."""
    return AmbiguousError(f"part of the message was sent ({first}) but not all: {exc}")


def check_length(body: str, limit: int, service: str, per: str = "") -> None:
    """Refuse a reply longer than the channel takes (`per`: " in one message" …), with the fix."""
    if len(body) > limit:
        raise PermanentError(
            f"the reply is {len(body):,} characters; {service} accepts at most {limit:,}{per} "
            "— shorten or split it"
        )


__all__ = ["BearerAuth", "HTTPChannel", "check_length", "part_sent", "recipient"]
