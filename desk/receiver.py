"""The webhook receiver: providers' POSTs on /webhooks/<channel>, verified, persisted, then 200.

An aiohttp server run inside the desk's own event loop. Every request is bounded before it
is read (413), verified on the raw bytes by the channel's backend (403), parsed by it (what it
cannot read is quarantined, and still answered 200 so the provider does not resend it for
days), and ingested through the desk (with the other requests arriving meanwhile, in one
batch): the 200 goes out only once the events are durable.
Provider retries of what is already stored are dropped by the store's dedup.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from frontdesk.backends.base import Backend
from frontdesk.backends.webhook import MAX_WEBHOOK_BYTES, WebhookBackend
from frontdesk.model import ChannelEvent, ChannelStatus, Unparsable
from frontdesk.store import StoreError

if TYPE_CHECKING:  # aiohttp is imported when the receiver starts: most runs never need it
    from aiohttp import web

log = logging.getLogger("frontdesk.webhooks")

#: the path prefix every webhook channel is reached under
PREFIX = "/webhooks/"
#: a request body must arrive within this many seconds (a trickling client holds no slot longer)
READ_SECONDS = 30.0
#: how long the rest of a refused (413, 408) body is read and dropped before the connection closes
LINGER_SECONDS = 1.0
#: how much of an unreadable body is kept in quarantine
QUARANTINE_BYTES = 10_000
#: why a webhook channel is down when the config has no [webhooks] section
NO_RECEIVER = (
    "no [webhooks] section in the config, so nothing receives this channel's webhooks; "
    'add [webhooks] with listen = "127.0.0.1:8787" (README, Webhook channels)'
)


class ReceiverError(Exception):
    """The receiver cannot run (its address is taken, not allowed, not valid): one line."""


class WebhookDesk(Protocol):
    """What the receiver needs of the desk: its channels and its ingest (the Sink)."""

    channels: dict[str, Backend]

    async def ingest(
        self, channel: str, events: Sequence[ChannelEvent], cursor: str | None = None
    ) -> None: ...


def webhook_channels(channels: Mapping[str, Backend]) -> list[str]:
    """The names of the channels the receiver serves (those fed by webhook)."""
    return [name for name, b in channels.items() if isinstance(b, WebhookBackend) and b.webhook]


class Coalescer:
    """One channel's requests ingested together: the events of requests that arrive while an
    ingest runs (its fsync, mostly) go to the desk as one batch when it ends, and each request
    learns when its events are durable (or why not)."""

    def __init__(self, desk: WebhookDesk, channel: str) -> None:
        self.desk = desk
        self.channel = channel
        self._waiting: list[tuple[list[ChannelEvent], asyncio.Future[None]]] = []
        self._draining: asyncio.Task[None] | None = None

    async def ingest(self, events: list[ChannelEvent]) -> None:
        """Return once `events` are durable; raise what the desk's ingest raised for them."""
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((events, done))
        if self._draining is None:
            self._draining = asyncio.create_task(self._drain(), name=f"webhooks:{self.channel}")
        # cancelling this wait cancels only `done`: the batch goes on for the others
        await done

    async def _drain(self) -> None:
        group: list[tuple[list[ChannelEvent], asyncio.Future[None]]] = []
        try:
            while self._waiting:
                group, self._waiting = self._waiting, []
                try:
                    await self.desk.ingest(self.channel, [e for events, _ in group for e in events])
                except Exception as exc:
                    for _, done in group:
                        if not done.done():  # not a request that stopped waiting
                            done.set_exception(exc)
                else:
                    for _, done in group:
                        if not done.done():
                            done.set_result(None)
        finally:
            self._draining = None
            # cancelled with the loop: no request may wait for an answer that cannot come
            for _, done in [*group, *self._waiting]:
                if not done.done():
                    done.cancel()
            self._waiting = []


class WebhookReceiver:
    """The HTTP side of the webhook channels, started and stopped with the desk."""

    def __init__(
        self,
        desk: WebhookDesk,
        host: str = "127.0.0.1",
        port: int = 8787,
        *,
        max_bytes: int = MAX_WEBHOOK_BYTES,
        read_seconds: float = READ_SECONDS,
    ) -> None:
        self.desk = desk
        self.read_seconds = read_seconds
        self.host = host
        self.port = port
        self.max_bytes = max_bytes
        self._runner: web.AppRunner | None = None
        self._coalescers: dict[str, Coalescer] = {}

    @property
    def address(self) -> str:
        """host:port as bound (the real port when 0 asked for any free one)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    async def start(self) -> None:
        """Listen on host:port; ReceiverError (one line, with the fix) when that cannot be."""
        from aiohttp import web

        app = web.Application(client_max_size=self.max_bytes)
        app.router.add_route("POST", PREFIX + "{channel}", self._post)
        app.router.add_route("GET", PREFIX + "{channel}", self._get)
        app.router.add_route("GET", PREFIX + "{channel}/files/{token}", self._file)
        # a refused body is drained for a moment at most, so its client reads the answer
        runner = web.AppRunner(
            app, access_log=None, handle_signals=False, lingering_time=LINGER_SECONDS
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, backlog=1024)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise ReceiverError(
                f"the webhook receiver cannot listen on {self.address}: {reason}; stop what "
                "uses that port or set another [webhooks] listen in the config"
            ) from None
        self._runner = runner
        for sock in runner.addresses:
            if isinstance(sock, tuple) and len(sock) >= 2:
                self.port = int(sock[1])
                break
        log.info("webhook receiver listening on %s", self.address)

    async def stop(self) -> None:
        """Stop listening; requests in flight are finished first (aiohttp's shutdown)."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    def _backend(self, request: web.Request) -> WebhookBackend | None:
        backend = self.desk.channels.get(request.match_info["channel"])
        return backend if isinstance(backend, WebhookBackend) and backend.webhook else None

    async def _get(self, request: web.Request) -> web.Response:
        """Meta's subscription check: the challenge for the right verify token, else 403."""
        backend = self._backend(request)
        if backend is None:
            return _answer(404, "no webhook channel by that name")
        try:
            answer = backend.subscription_answer(dict(request.query))
        except Exception:
            log.exception("channel %s: subscription check failed", backend.name)
            answer = None
        if answer is None:
            return _answer(403, "verification refused")
        return _answer(200, answer, newline=False)

    async def _file(self, request: web.Request) -> web.StreamResponse:
        """A file the channel serves to its provider (LINE fetches pictures by URL), else 404."""
        from aiohttp.web import FileResponse

        backend = self._backend(request)
        try:
            path = backend.served_file(request.match_info["token"]) if backend else None
        except Exception:
            log.exception("channel %s: served_file failed", request.match_info["channel"])
            path = None
        if path is None or not path.is_file():
            return _answer(404, "no such file")
        return FileResponse(path, headers={"Cache-Control": "private, max-age=86400"})

    async def _post(self, request: web.Request) -> web.Response:
        from aiohttp.web import HTTPRequestEntityTooLarge

        backend = self._backend(request)
        if backend is None:
            return _answer(404, "no webhook channel by that name")
        name = request.match_info["channel"]
        if request.content_length is not None and request.content_length > self.max_bytes:
            return self._too_large()
        try:
            body = await self._read(request)
        except HTTPRequestEntityTooLarge:
            return self._too_large()
        except TimeoutError:
            return self._closing(408, f"body not received within {self.read_seconds:g} s")
        if not self._signed(backend, request, body):
            return _answer(403, "signature missing or wrong")
        events = self._parse(name, backend, body)
        try:
            await self._coalescer(name).ingest(events)
        except StoreError as exc:
            log.warning("channel %s: a webhook could not be stored: %s", name, exc)
            return _answer(503, "not stored; send again later")
        except Exception:
            # not stored, so the provider must send it again: 503 says so, a 500 would not
            log.exception("channel %s: a webhook could not be ingested", name)
            return _answer(503, "not stored; send again later")
        return _answer(200, "ok")

    async def _read(self, request: web.Request) -> bytes:
        """The whole body, within the read deadline if it has not all arrived yet."""
        if request.content.is_eof():  # it came with the headers: nothing to wait for
            return await request.read()
        async with asyncio.timeout(self.read_seconds):
            return await request.read()

    def _coalescer(self, name: str) -> Coalescer:
        if name not in self._coalescers:
            self._coalescers[name] = Coalescer(self.desk, name)
        return self._coalescers[name]

    def _too_large(self) -> web.Response:
        return self._closing(413, f"body over {self.max_bytes} bytes")

    @staticmethod
    def _closing(status: int, text: str) -> web.Response:
        response = _answer(status, text)
        response.force_close()  # the rest of the body is never read
        return response

    @staticmethod
    def _signed(backend: WebhookBackend, request: web.Request, body: bytes) -> bool:
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            return bool(backend.signature_ok(headers, body))
        except Exception:
            log.exception("channel %s: signature check failed", backend.name)
            return False

    @staticmethod
    def _parse(name: str, backend: WebhookBackend, body: bytes) -> list[ChannelEvent]:
        try:
            return list(backend.parse_webhook(body))
        except Exception as exc:
            # a backend must not raise here; if it does, the body is kept, not lost
            reason = backend.redact(f"parse_webhook raised {type(exc).__name__}: {exc}")
            log.warning("channel %s: %s", name, reason)
            payload = body[:QUARANTINE_BYTES].decode("utf-8", "replace")
            return [Unparsable(reason, payload)]


def _answer(status: int, text: str, *, newline: bool = True) -> web.Response:
    from aiohttp.web import Response

    return Response(status=status, text=text + "\n" if newline else text)


class WebhookReceiving:
    """The part of the Desk that runs the receiver for its webhook channels (with the desk's
    `ingest` and `_set_channel_status`)."""

    channels: dict[str, Backend]
    #: (host, port) of `[webhooks] listen`; None: the config has no [webhooks]
    webhook_listen: tuple[str, int] | None
    receiver: WebhookReceiver | None

    async def _start_receiver(self) -> set[str]:
        """Start the receiver when a webhook channel needs one. Returns the webhook channels
        that cannot receive (no [webhooks], or its port taken), each shown down with the fix."""
        names = webhook_channels(self.channels)
        if not names:
            return set()
        if self.webhook_listen is None:
            reason = NO_RECEIVER
        else:
            receiver = WebhookReceiver(self, *self.webhook_listen)  # type: ignore[arg-type]
            try:
                await receiver.start()
            except ReceiverError as exc:
                reason = str(exc)
            else:
                self.receiver = receiver
                return set()
        log.warning("%s (channels %s are down)", reason, ", ".join(names))
        for name in names:
            self._set_channel_status(name, ChannelStatus("down", reason))  # type: ignore[attr-defined]
        return set(names)

    async def _stop_receiver(self) -> None:
        if self.receiver is not None:
            receiver, self.receiver = self.receiver, None
            await receiver.stop()
