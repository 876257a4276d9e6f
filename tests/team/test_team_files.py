"""A reply's files from an attached console: read by the console, sent as bytes over the real socket
(the DeskClient alone, and the console attached through it)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from pilot_helpers import idle, make_app, wait_until
from textual.widgets import Input

from frontdesk.desk import DeskError
from frontdesk.desk.outgoing_files import read_upload
from frontdesk.model import Delivery, FileUpload
from frontdesk.team.client import DeskClient, Timing
from frontdesk.team.peercred import user_name
from frontdesk.team.protocol import MAX_CLIENT_FRAME
from frontdesk.team.server import Admission, DeskServer
from frontdesk.tui.screens.attach_dialog import AttachDialog

ME = user_name(os.getuid())


@pytest.fixture
def socket_path():
    folder = Path(tempfile.mkdtemp(prefix="fd-", dir="/tmp"))
    yield folder / "desk.sock"
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
async def client(desk, channels, socket_path):
    channels["wa"].supports_attachments = True
    server = DeskServer(
        desk, socket_path, admission=Admission(ME, frozenset(), Path("/x")), version="t"
    )
    await server.start()
    client = await DeskClient.attach(socket_path, Timing(ping=0.1, silent=5.0))
    yield client
    await client.stop()
    await server.close()


async def test_a_file_the_console_reads_travels_as_bytes_and_the_desk_keeps_its_copy(
    client, desk, channels, tmp_path
):
    data = os.urandom(3 << 20)  # over the 1 MiB a hello may be: calls carry files
    path = tmp_path / "agent-only" / "scan.pdf"
    path.parent.mkdir()
    path.write_bytes(data)
    upload = read_upload(path)  # what the console does, as the agent
    assert len(upload.data) > MAX_CLIENT_FRAME
    sent = await client.reply(1, "the scan", [upload])
    [attachment] = sent.attachments
    assert (attachment.name, attachment.mime, attachment.size) == (
        "scan.pdf",
        "application/pdf",
        len(data),
    )
    stored = Path(attachment.ref)
    assert stored.read_bytes() == data and not stored.is_relative_to(tmp_path / "agent-only")
    path.unlink()  # the desk sends its own copy, not the agent's file
    await desk.flush_outbox()
    [outgoing] = channels["wa"].sent
    assert outgoing.attachments[0].ref == attachment.ref  # the channel was handed the copy
    assert (await desk.message(1, sent.id)).delivery is Delivery.SENT
    assert not stored.exists()  # sent for good: the desk's copy is dropped


async def test_the_channels_refusal_comes_back_as_one_line_and_nothing_is_kept(
    client, desk, channels
):
    channels["wa"].attachment_problem = lambda name, mime, size: f"wa: {name} is too large"
    assert (
        await client.file_problem(1, "big.mov", "video/quicktime", 10) == "wa: big.mov is too large"
    )
    with pytest.raises(DeskError, match="wa: big.mov is too large"):
        await client.reply(1, "", [FileUpload("big.mov", "video/quicktime", b"x" * 10)])
    assert desk.store.outbox() == []


async def test_the_attached_console_attaches_and_sends_a_file_through_the_socket(
    client, desk, clock, tmp_path
):
    scan = tmp_path / "scan.png"
    scan.write_bytes(b"\x89PNG" + os.urandom(2 << 20))
    app = make_app(client, clock)
    async with app.run_test(size=(140, 40)) as pilot:
        await idle(pilot)
        await pilot.press("r", *"the scan", "ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, AttachDialog), what="the prompt")
        app.screen.query_one("#attach-path", Input).value = str(scan)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.composer.files_attached == 1, what="attached")
        await pilot.press("enter")
        await wait_until(pilot, lambda: desk.store.outbox(), what="queued on the served desk")
    [entry] = desk.store.outbox()
    [kept] = desk.store.message(entry.conversation_id, entry.message_id).attachments
    assert (kept.name, kept.mime) == ("scan.png", "image/png")
    assert Path(kept.ref).read_bytes() == scan.read_bytes()
