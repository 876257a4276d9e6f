"""Shared plumbing of the HTTP polling backends: requests with typed errors, backoff, channel status, redaction.

- `HTTPClient.request` maps transport failures to the plugin API's errors: a failure before
  the request was written (connect error, connect/pool timeout) is a `TransientError`; a
  failure after it (read timeout, dropped connection) is an `AmbiguousError` when the
  request was a send (the channel may have acted on it) and a `TransientError` otherwise.
  Responses are read with a size cap, and every error text is redacted of the secrets.
  Every request (and `download`) has an overall deadline over connect, send and the whole
  response; running past it raises a `DeadlineError` (transient, or ambiguous for a send).
- `poll_forever` runs a backend's `poll_once` until cancelled: an outage shows as
  `ChannelStatus("down", …)` and is retried with exponential backoff; a refusal by the
  channel (bad token, another poller) is retried slowly; success reports `ok` again.
- `protect(secret)` keeps a secret out of httpx's request log lines (a Telegram token
  travels in the URL path, which httpx logs at INFO).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, get_args, get_origin
from urllib.parse import urlsplit

import httpx

from frontdesk import __version__
from frontdesk.backends.base import (
    AmbiguousDeadline,
    AmbiguousError,
    BackendError,
    ConfigError,
    PermanentError,
    Sink,
    TransientDeadline,
    TransientError,
    base_kind,
    setting_problem,
)
from frontdesk.credentials import redact
from frontdesk.model import ChannelStatus, Unparsable

log = logging.getLogger(__name__)

#: cap on one response body; a page of 100 Telegram updates is well under 2 MB
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
#: cap on the text of one message taken from a channel (untrusted input)
MAX_BODY_CHARS = 64 * 1024
USER_AGENT = f"frontdesk/{__version__}"
#: what a parser of channel payloads raises on a malformed item (the item is then quarantined);
#: anything else escaping a parser is a bug in it
MALFORMED = (KeyError, TypeError, ValueError, AttributeError, OverflowError)


def clip(value: Any, limit: int = MAX_BODY_CHARS) -> str:
    """`value` as text of at most `limit` characters (a note says when it was cut)."""
    text = value if isinstance(value, str) else ""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… [cut: {len(text) - limit} more characters]"


def valid_setting(value: Any, kind: Any) -> bool:
    """Whether a setting has its schema type (an int counts as a float; a bool is neither)."""
    kind = base_kind(kind)
    if isinstance(value, bool):
        return kind is bool
    if kind is float:
        return isinstance(value, (int, float))
    if get_origin(kind) is list:
        (item,) = get_args(kind) or (object,)
        return isinstance(value, list) and all(isinstance(v, item) for v in value)
    return isinstance(value, kind)


def read_settings(
    settings: Mapping[str, Any], schema: Mapping[str, Any], defaults: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """The settings over their defaults, and a line per setting of the wrong type or out of its
    range (which keeps its default)."""
    merged = {**defaults, **{k: v for k, v in settings.items() if v is not None and k in schema}}
    problems = []
    for key, kind in schema.items():
        if key not in merged:
            continue
        if not valid_setting(merged[key], kind):
            problems.append(
                f"setting {key} has the wrong type; fix it in the channel block (see the README)"
            )
            merged[key] = defaults[key]
        elif problem := setting_problem(merged[key], kind):
            problems.append(f"setting {key} {problem} in the channel block")
            merged[key] = defaults[key]
    return merged, problems


# ---- keeping secrets out of logs ------------------------------------------------------------

_SECRETS: set[str] = set()


class _RedactSecrets(logging.Filter):
    """Rewrites a log record whose text holds a protected secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _SECRETS:
            try:
                text = record.getMessage()
            except Exception:  # a malformed record is not ours to fix
                return True
            cleaned = redact(text, _SECRETS)
            if cleaned != text:
                record.msg, record.args = cleaned, None
        return True


_FILTER = _RedactSecrets()


def protect(secret: str | None) -> None:
    """Redact `secret` from the log lines of httpx, httpcore and the backends from now on."""
    if not secret:
        return
    _SECRETS.add(secret)
    for name in ("httpx", "httpcore", "frontdesk.backends"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def scrub(text: str) -> str:
    """`text` with every protected secret replaced by `***`."""
    return redact(text, _SECRETS)


# ---- HTTP -----------------------------------------------------------------------------------


@dataclass(slots=True)
class Reply:
    """A response: status, headers and the body parsed as JSON (None when it is not JSON)."""

    status: int
    headers: httpx.Headers
    data: Any
    text: str  # the start of the body, for error messages

    def retry_after(self) -> float | None:
        """The Retry-After header in seconds, when it is a number."""
        try:
            value = float(self.headers.get("retry-after", ""))
        except ValueError:
            return None
        return value if value >= 0 else None


class HTTPClient:
    """An httpx.AsyncClient for one channel, created on first use."""

    def __init__(
        self,
        base_url: str,
        service: str,
        *,
        connect_timeout: float = 10.0,
        auth: Callable[[], httpx.Auth | None] | None = None,
        max_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.service = service
        self.connect_timeout = connect_timeout
        self.max_bytes = max_bytes
        self._auth = auth or (lambda: None)
        self._client: httpx.AsyncClient | None = None
        parts = urlsplit(self.base_url)
        self.host = parts.netloc or self.base_url

    def _get_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                headers={"User-Agent": USER_AGENT}, follow_redirects=False
            )
        return self._client

    async def request(
        self,
        method: str,
        path: str,
        *,
        timeout: float,
        sending: bool = False,
        follow_redirects: bool = False,
        deadline: float | None = None,
        label: str = "",
        **kwargs: Any,
    ) -> Reply:
        """Do one request to `base_url + path`; raise TransientError/AmbiguousError/ConfigError on failure.

        `sending`: the request creates something on the channel (a message), so a failure
        after it was written is ambiguous, never silently retried. `deadline` (default:
        `timeout`) bounds the whole exchange — connect, send and the entire response — since
        httpx's timeouts apply per read and a server trickling a byte at a time never hits them.
        `label` names the request in errors ("getUpdates").
        """
        chunks: list[bytes] = []

        async def keep(response: httpx.Response) -> None:
            await self._read(response, sink=chunks.append)

        response = await self._exchange(
            method,
            path,
            timeout=timeout,
            deadline=deadline,
            sending=sending,
            follow_redirects=follow_redirects,
            label=label,
            consume=keep,
            **kwargs,
        )
        body = b"".join(chunks)
        try:
            data = json.loads(body) if body else None
        except ValueError:
            data = None
        text = body[:300].decode("utf-8", "replace")
        return Reply(response.status_code, response.headers, data, scrub(text))

    async def _exchange(
        self,
        method: str,
        path: str,
        *,
        timeout: float,
        deadline: float | None,
        sending: bool,
        follow_redirects: bool,
        label: str,
        consume: Callable[[httpx.Response], Awaitable[None]],
        **kwargs: Any,
    ) -> httpx.Response:
        """One request whose response `consume` reads, within `deadline`; failures typed as in `request`."""
        url = self.base_url + path
        deadline = timeout if deadline is None else deadline
        timeouts = httpx.Timeout(
            timeout, connect=min(self.connect_timeout, timeout) if timeout else self.connect_timeout
        )
        written = False

        async def trace(event: str, info: Any) -> None:
            nonlocal written
            if event.endswith("send_request_headers.started"):
                written = True  # from here on the channel may act on the request

        extensions = {**kwargs.pop("extensions", {}), "trace": trace}
        try:
            async with asyncio.timeout(deadline):
                async with self._get_client().stream(
                    method,
                    url,
                    timeout=timeouts,
                    auth=self._auth() or httpx.USE_CLIENT_DEFAULT,
                    follow_redirects=follow_redirects,
                    extensions=extensions,
                    **kwargs,
                ) as response:
                    await consume(response)
        except TimeoutError:
            what = scrub(
                f"{self.service} {label or self._label(method, path)} took longer than {deadline:g} s"
            )
            if not written:
                raise TransientDeadline(
                    f"cannot reach {self.service} at {self.host}: {what}"
                ) from None
            if sending:
                raise AmbiguousDeadline(f"{what}; the message may have been sent") from None
            raise TransientDeadline(what) from None
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise TransientError(self._describe("cannot reach", exc)) from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise ConfigError(
                scrub(
                    f"{self.service}: base_url {self.base_url!r} is not usable ({exc}); fix base_url in the channel block"
                )
            ) from None
        except (
            httpx.TimeoutException,
            httpx.NetworkError,
            httpx.RemoteProtocolError,
            httpx.DecodingError,
        ) as exc:
            if sending:
                raise AmbiguousError(
                    self._describe("no answer after sending to", exc)
                    + "; the message may have been sent"
                ) from None
            raise TransientError(self._describe("lost the connection to", exc)) from None
        except httpx.HTTPError as exc:
            error = AmbiguousError if sending else TransientError
            raise error(self._describe("request to", exc)) from None
        return response

    @staticmethod
    def _label(method: str, path: str) -> str:
        return f"{method} {path.rstrip('/').rsplit('/', 1)[-1] or '/'}"

    async def _read(
        self,
        response: httpx.Response,
        max_bytes: int | None = None,
        sink: Callable[[bytes], object] | None = None,
    ) -> int:
        """Hand the body to `sink` chunk by chunk, up to `max_bytes`; returns its size."""
        limit = max_bytes or self.max_bytes
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise httpx.DecodingError(
                    f"response larger than {limit} bytes", request=response.request
                )
            if sink is not None:
                sink(chunk)
        return size

    async def download(self, path: str, *, timeout: float, max_bytes: int, into: BinaryIO) -> int:
        """GET a file under base_url (following redirects, e.g. to a media CDN) into `into`, chunk by
        chunk, with its own size cap; returns its size. The deadline grows with the cap (a second per MB)."""

        async def save(response: httpx.Response) -> None:
            if response.status_code != 200:
                raise PermanentError(
                    f"{self.service}: the file could not be downloaded (HTTP {response.status_code})"
                )
            nonlocal size
            size = await self._read(response, max_bytes, sink=into.write)

        size = 0
        await self._exchange(
            "GET",
            path,
            timeout=timeout,
            deadline=timeout + max_bytes / 1_000_000,
            sending=False,
            follow_redirects=True,
            label="file download",
            consume=save,
        )
        return size

    def _describe(self, what: str, exc: BaseException) -> str:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return scrub(f"{what} {self.service} at {self.host} ({reason})")

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()


# ---- polling ----------------------------------------------------------------------------------


class PollRefused(BackendError):
    """The channel answered but refuses to serve the poll (bad token, another poller …).

    Retried slowly, not in a tight loop; `str()` tells the agent what to do.
    """


class Backoff:
    """Exponential delays: initial, 2×initial, … capped at `maximum`."""

    def __init__(self, initial: float, maximum: float) -> None:
        self.initial = max(0.0, initial)
        self.maximum = max(self.initial, maximum)
        self.failures = 0

    def next(self) -> float:
        delay = min(self.maximum, self.initial * 2**self.failures)
        self.failures += 1
        return delay

    def reset(self) -> None:
        self.failures = 0


class StatusReporter:
    """Hands a ChannelStatus to the sink only when it changes (the desk starts a channel as `ok`)."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.last = ChannelStatus("ok")

    async def report(self, sink: Sink, state: str, detail: str = "") -> None:
        status = ChannelStatus(state, scrub(detail))
        if status != self.last:
            self.last = status
            await sink.ingest(self.channel, [status])

    @property
    def down(self) -> bool:
        return self.last.state != "ok"


async def poll_forever(
    channel: str,
    sink: Sink,
    poll_once: Callable[[], Awaitable[float]],
    *,
    backoff: Backoff,
    slow_retry: float,
    status: StatusReporter,
    logger: logging.Logger = log,
) -> None:
    """Call `poll_once` until cancelled; it returns the pause before the next poll.

    TransientError: the channel shows `down` and the poll is retried with backoff (a
    Retry-After from the channel is honoured). PollRefused or PermanentError: `down` with
    the channel's reason, retried after `slow_retry` seconds. ConfigError (a missing
    secret or setting) propagates: the desk shows it and stops the channel.
    """
    while True:
        try:
            pause = await poll_once()
        except asyncio.CancelledError:
            raise
        except ConfigError:
            raise
        except TransientError as exc:
            if exc.retry_after is not None:
                delay = exc.retry_after
                logger.info("channel %s: %s; waiting %.0fs", channel, scrub(str(exc)), delay)
                if delay >= 30:
                    await status.report(sink, "down", f"{exc} — waiting {delay:.0f}s as asked")
            else:
                delay = backoff.next()
                logger.warning("channel %s: %s; retrying in %.1fs", channel, scrub(str(exc)), delay)
                await status.report(sink, "down", f"{exc} — retrying in {delay:.0f}s")
            await asyncio.sleep(delay)
            continue
        except (PollRefused, PermanentError) as exc:
            logger.warning(
                "channel %s: %s; retrying in %.0fs", channel, scrub(str(exc)), slow_retry
            )
            await status.report(sink, "down", f"{exc} — retrying in {slow_retry:.0f}s")
            await asyncio.sleep(slow_retry)
            continue
        backoff.reset()
        if status.down:
            await status.report(sink, "ok")
        if pause > 0:
            await asyncio.sleep(pause)


# ---- bad input --------------------------------------------------------------------------------


def unparsable(
    channel: str, item: Any, exc: BaseException, logger: logging.Logger = log, what: str = "item"
) -> Unparsable:
    """Log one line about a bad item and wrap it for quarantine (payload cut at 10,000 characters)."""
    reason = scrub(f"{type(exc).__name__}: {exc}")[:500]
    try:
        payload = json.dumps(item, ensure_ascii=False, default=repr)
    except Exception:
        payload = repr(item)
    logger.warning(
        "channel %s: skipped a malformed %s (%s); it is quarantined", channel, what, reason
    )
    return Unparsable(reason, scrub(payload)[:10_000])
