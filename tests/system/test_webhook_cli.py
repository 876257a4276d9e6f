"""The receiver in real `frontdesk` processes: `sync` and `serve` with `[webhooks]` receive a
signed POST from a webhook channel installed as a plugin (an entry point, as a third party
would ship it) and store it for `export`; a taken port is one line on stderr, no traceback."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from pilot_helpers import eventually

SECRET = "plugin-app-secret"

PLUGIN = '''
"""A webhook channel signed like Meta's, shipped as a plugin for the CLI tests."""
import json
from frontdesk.backends.webhook import WebhookBackend, meta_signature_ok
from frontdesk.model import ContactRef, Inbound, Unparsable


class SignedChannel(WebhookBackend):
    kind = "whatsapp"
    secret_names = ("app_secret",)

    def signature_ok(self, headers, body):
        return meta_signature_ok(self.secret("app_secret"), headers.get("x-hub-signature-256"), body)

    def parse_webhook(self, body):
        try:
            return [Inbound(m["id"], m["from"], ContactRef(m["from"]), m["text"])
                    for m in json.loads(body)["messages"]]
        except Exception as exc:
            return [Unparsable(type(exc).__name__, body.decode(errors="replace"))]

    async def send(self, outgoing):
        raise NotImplementedError
'''


@pytest.fixture
def place(tmp_path: Path) -> Path:
    """A config with a `signed` webhook channel, its plugin on PYTHONPATH, a data dir."""
    plugins = tmp_path / "plugins"
    info = plugins / "frontdesk_test_signed-0.dist-info"
    info.mkdir(parents=True)
    (plugins / "frontdesk_test_signed.py").write_text(PLUGIN)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: frontdesk-test-signed\nVersion: 0\n"
    )
    (info / "entry_points.txt").write_text(
        "[frontdesk.backends]\nsigned = frontdesk_test_signed:SignedChannel\n"
    )
    return tmp_path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def configure(place: Path, port: int) -> dict[str, str]:
    (place / "config.toml").write_text(
        textwrap.dedent(
            f"""
            [agent]
            name = "Aiko"

            [[channels]]
            name = "wa-sales"
            backend = "signed"

            [webhooks]
            listen = "127.0.0.1:{port}"
            public_url = "https://desk.example.com"
            """
        )
    )
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(place / "plugins"), os.environ.get("PYTHONPATH", "")]),
        "FRONTDESK_CONFIG": str(place / "config.toml"),
        "FRONTDESK_DATA_DIR": str(place / "data"),
        "FRONTDESK_SECRET_WA_SALES_APP_SECRET": SECRET,
    }


def signed(body: bytes) -> dict[str, str]:
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


def frontdesk(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "frontdesk", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("command", ["sync", "serve"])
async def test_the_desk_process_receives_a_signed_webhook_and_stores_it(place, command):
    port = free_port()
    env = configure(place, port)
    doctor = frontdesk(env, "doctor")
    assert "enter https://desk.example.com/webhooks/wa-sales in the provider's console" in (
        doctor.stdout
    )
    err = place / f"{command}.err"
    with open(err, "wb") as stderr:
        sync = subprocess.Popen(
            [sys.executable, "-m", "frontdesk", command],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        body = json.dumps(
            {"messages": [{"id": "wamid.cli", "from": "+8190", "text": "hello via sync"}]}
        ).encode()
        target = f"http://127.0.0.1:{port}/webhooks/wa-sales"
        answers: list[int] = []
        async with httpx.AsyncClient() as http:

            async def answered() -> bool:
                assert sync.poll() is None, err.read_text()
                try:
                    response = await http.post(
                        target, content=body, headers=signed(body), timeout=30
                    )
                except httpx.ConnectError:
                    return False  # still starting
                answers.append(response.status_code)
                return True

            await eventually(answered, timeout=60, what="the receiver answering")
            forged = await http.post(target, content=body, headers={"X-Hub-Signature-256": "x"})
        assert answers == [200] and forged.status_code == 403
    finally:
        sync.send_signal(signal.SIGINT)
        sync.wait(timeout=60)
    lines = frontdesk(env, "export").stdout.splitlines()
    [conversation] = [json.loads(line) for line in lines]
    assert conversation["conversation"]["channel"] == "wa-sales"
    assert [m["body"] for m in conversation["messages"]] == ["hello via sync"]
    assert "Traceback" not in err.read_text()


def test_a_taken_port_is_one_line_on_stderr(place):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = configure(place, port)
        sync = subprocess.Popen(
            [sys.executable, "-m", "frontdesk", "sync"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            line = sync.stderr.readline()  # the desk says it once it tried to listen
        finally:
            sync.send_signal(signal.SIGINT)
            rest = sync.communicate(timeout=60)[1]
    assert line == (
        f"frontdesk: the webhook receiver cannot listen on 127.0.0.1:{port}: Address already "
        "in use; stop what uses that port or set another [webhooks] listen in the config "
        "(channels wa-sales are down)\n"
    )
    assert "Traceback" not in rest
