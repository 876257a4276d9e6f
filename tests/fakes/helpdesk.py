"""A tiny helpdesk on 127.0.0.1 for escalation hook tests: records each POST, answers from a script."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HelpdeskServer:
    """A tiny helpdesk on 127.0.0.1: records each POST and answers from a script (default: a ticket)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.script: list[tuple[int, bytes, float]] = []
        self.release = threading.Event()
        self.release.set()
        self.closed = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "json": json.loads(body)}
                )
                server.release.wait(10)
                status, answer, delay, trickle = (
                    server.script.pop(0)
                    if server.script
                    else (
                        201,
                        json.dumps(
                            {
                                "id": f"HD-{len(server.requests)}",
                                "url": f"https://helpdesk.example/t/{len(server.requests)}",
                            }
                        ).encode(),
                        0.0,
                        0.0,
                    )
                )
                if delay:
                    threading.Event().wait(delay)
                if trickle:
                    answer = b" " * 2000 + answer  # JSON whitespace, a byte every `trickle` seconds
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    if not trickle:
                        self.wfile.write(answer)
                    for i in range(len(answer) if trickle else 0):
                        self.wfile.write(answer[i : i + 1])
                        self.wfile.flush()
                        if server.closed.wait(trickle):
                            break
                except OSError:
                    pass  # the client gave up (timeout test)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api/tickets"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def answer(
        self, status: int, body: object = b"", delay: float = 0.0, trickle: float = 0.0
    ) -> None:
        """Script the next answer: after `delay` seconds, or sent a byte every `trickle` seconds."""
        self.script.append(
            (status, body if isinstance(body, bytes) else json.dumps(body).encode(), delay, trickle)
        )

    def close(self) -> None:
        self.closed.set()
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
