"""Secrets never reach the cache, the export, the logs or the channel status; files stay private."""

import json
import logging
import subprocess
import sys

from frontdesk.backends.base import Backend, PermanentError
from frontdesk.desk import Desk
from frontdesk.model import ContactRef, Inbound
from frontdesk.store import Store
from pilot_helpers import eventually

TOKEN = "tok-5ecret-7f3a9c"


class LeakyBackend(Backend):
    """A careless channel that puts its token into every error, as an API URL would."""

    kind = "telegram"
    secret_names = ("token",)

    async def run(self, sink):
        await sink.ingest(
            self.name, [Inbound("1", "42", ContactRef("42", "Mia"), "hi")], cursor="1"
        )
        raise ConnectionError(
            f"GET https://api.example/bot{self.secret('token')}/getUpdates failed"
        )

    async def send(self, outgoing):
        raise PermanentError(f"401 for https://api.example/bot{self.secret('token')}/sendMessage")


def all_bytes(root) -> bytes:
    return b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())


async def test_secret_does_not_leak_anywhere(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    root = tmp_path / "data"
    with Store.open(root) as store:
        backend = LeakyBackend("bot", secrets={"token": TOKEN}.get)
        desk = Desk(store, {"bot": backend}, agent="Aiko")
        await desk.start()
        await eventually(
            lambda: desk.channel_status.get("bot") and desk.channel_status["bot"].state == "down",
            what="the bot channel down",
        )
        [conv] = await desk.conversations()
        reply = await desk.reply(conv.id, "hello")
        await desk.flush_outbox()
        await desk.stop()
        failed = store.message(conv.id, reply.id)
        assert failed.delivery.value == "failed" and "***" in failed.delivery_reason
        assert "***" in desk.channel_status["bot"].detail
        assert TOKEN not in desk.channel_status["bot"].detail
    assert TOKEN.encode() not in all_bytes(root)
    assert TOKEN not in caplog.text
    export = subprocess.run(
        [sys.executable, "-m", "frontdesk", "export", "--data-dir", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert TOKEN not in export.stdout + export.stderr
    assert json.loads(export.stdout.splitlines()[0])["messages"]


def test_cache_is_private_from_the_first_file(tmp_path):
    root = tmp_path / "fresh"
    with Store.open(root):
        pass
    assert root.stat().st_mode & 0o777 == 0o700
    assert all(
        p.stat().st_mode & 0o777 == (0o700 if p.is_dir() else 0o600) for p in root.rglob("*")
    )
