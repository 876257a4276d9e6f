"""A tiny real HTTP/1.1 server on 127.0.0.1, run in a thread, that hands each request to an app.

The app returns a `Response`, `DROP` (read the request, close the connection without an
answer), `Hang(seconds)` (read the request, answer nothing for that long, then close),
`Slow(seconds, response)` (answer after a delay), `Trickle(response)` (a byte at a time,
never tripping a per-read timeout) or `Cut(response)` (send the status, the headers and
half the body, then reset the connection): enough to play a channel's API and
its failures over a real socket. `Blackhole` is a port that never accepts a connection
(connect timeouts).
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)
    """When the fake received it (time.monotonic)."""

    def json(self) -> Any:
        return json.loads(self.body) if self.body else {}

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode(), keep_blank_values=True)

    def params(self) -> dict[str, Any]:
        """JSON body, urlencoded form, or multipart fields (files as (filename, bytes))."""
        kind = self.headers.get("content-type", "")
        if kind.startswith("application/json"):
            return self.json()
        if kind.startswith("multipart/form-data"):
            message = BytesParser(policy=HTTP).parsebytes(
                b"Content-Type: " + kind.encode() + b"\r\n\r\n" + self.body
            )
            out: dict[str, Any] = {}
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True)
                out[name] = (
                    (part.get_filename(), payload) if part.get_filename() else payload.decode()
                )
            return out
        if kind.startswith("application/x-www-form-urlencoded"):
            return {k: v if len(v) > 1 else v[0] for k, v in self.form().items()}
        return {k: v[0] for k, v in self.query.items()}


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-serialisable, or bytes
    headers: dict[str, str] = field(default_factory=dict)


DROP = object()


@dataclass
class Hang:
    seconds: float


@dataclass
class Slow:
    seconds: float
    response: Response


@dataclass
class Trickle:
    """Answer `response` one byte every `every` seconds (its body after `pad` spaces of JSON
    whitespace), until done or the server stops: a server that never trips a per-read timeout."""

    response: Response
    every: float = 0.2
    pad: int = 2000


@dataclass
class Cut:
    """Answer `response` but reset the connection (RST) after `keep` of its body was written."""

    response: Response
    keep: float = 0.5


@dataclass
class AfterWork:
    """In a fake's fault script: do the request's normal work (e.g. the message is created),
    then answer `wrap(normal answer)` — a reply lost after the channel acted on the request."""

    wrap: Callable[[Response], Any]


App = Callable[[Request], "Response | object"]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def setup(self) -> None:
        super().setup()
        self.server.fake.connections.add(self.connection)  # type: ignore[attr-defined]

    def finish(self) -> None:
        self.server.fake.connections.discard(self.connection)  # type: ignore[attr-defined]
        super().finish()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = Request(
            self.command,
            parts.path,
            parse_qs(parts.query, keep_blank_values=True),
            {k.lower(): v for k, v in self.headers.items()},
            body,
        )
        server: FakeServer = self.server.fake  # type: ignore[attr-defined]
        server.requests.append(request)
        answer = server.app(request)
        if answer is DROP:
            self.close_connection = True
            return
        if isinstance(answer, Hang):
            server.released.wait(answer.seconds)
            self.close_connection = True
            return
        if isinstance(answer, Slow):
            if server.released.wait(answer.seconds):
                self.close_connection = True
                return
            answer = answer.response
        cut = answer if isinstance(answer, Cut) else None
        if cut is not None:
            answer = cut.response
        trickle = answer if isinstance(answer, Trickle) else None
        if trickle is not None:
            answer = trickle.response
        assert isinstance(answer, Response)
        data = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
        if trickle is not None:
            data = b" " * trickle.pad + data
        self.send_response(answer.status)
        headers = {"Content-Type": "application/json", **answer.headers}
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if cut is not None:
            self.wfile.write(data[: int(len(data) * cut.keep)])
            self.wfile.flush()
            # SO_LINGER 0: close() sends RST instead of FIN, as a crashing proxy would
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        if trickle is not None:
            for i in range(len(data)):
                self.wfile.write(data[i : i + 1])
                self.wfile.flush()
                if server.released.wait(trickle.every):
                    break
            self.close_connection = True
            return
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # socketserver's backlog of 5 drops a loaded box's connects (then a 1 s SYN retry outlives
    # a test backend's 0.5 s connect timeout); real API servers accept far more
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)  # a bug in a fake: show it


class FakeServer:
    """Serve `app` on 127.0.0.1:`port` (0 = any free port) until `stop()`; `restart()` keeps the port."""

    def __init__(self, app: App, port: int = 0) -> None:
        self.app = app
        self.port = port
        self.requests: list[Request] = []
        self.released = threading.Event()
        self.connections: set[Any] = set()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeServer:
        self.released.clear()
        httpd = _Server(("127.0.0.1", self.port), _Handler)
        httpd.fake = self  # type: ignore[attr-defined]
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        """True between start() and stop()."""
        return self._httpd is not None

    def stop(self) -> None:
        self.released.set()
        wake = getattr(self.app, "wake", None)
        if wake:
            wake()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        for conn in list(self.connections):  # an outage cuts open connections too
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.connections.clear()

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Blackhole:
    """A listening port whose accept queue is full and never drained: connecting times out
    (Linux drops the SYN), as with a firewall that swallows packets. `close()` frees the port
    so a FakeServer can take it over (the channel comes back)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self._fillers: list[socket.socket] = []
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            try:
                filler.connect(("127.0.0.1", self.port))
            except BlockingIOError:
                pass
            self._fillers.append(filler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        for sock in [*self._fillers, self.sock]:
            sock.close()
        self._fillers.clear()
