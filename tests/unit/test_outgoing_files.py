"""Files sent with a reply: the desk's checks, the copy it keeps, and a retry after a restart."""

import asyncio
import os
import re
import stat
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frontdesk.backends.base import (
    AmbiguousError,
    Backend,
    PermanentError,
    TransientError,
)
from frontdesk.desk import Desk, DeskError
from frontdesk.desk.outgoing_files import (
    REPLY_FILES_BYTES,
    clean_upload,
    probe_file,
    read_upload,
)
from frontdesk.model import ContactRef, Delivery, FileUpload, Inbound, SendResult
from frontdesk.store import Store

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


class FileChannel(Backend):
    """Records what each send would put on the wire: the bytes read at each attachment's ref."""

    kind = "telegram"
    supports_attachments = True

    def __init__(self, name="tg", script=(), limit=None):
        super().__init__(name)
        self.script = list(script)
        self.sent: list[list[tuple[str, str, bytes]]] = []
        self.limit = limit

    async def run(self, sink):
        await asyncio.Event().wait()

    async def send(self, outgoing):
        self.sent.append([(a.name, a.mime, open(a.ref, "rb").read()) for a in outgoing.attachments])
        if self.script:
            raise self.script.pop(0)
        return SendResult(f"ext-{outgoing.message_id}")

    def attachment_problem(self, name, mime, size):
        if self.limit is not None and size > self.limit:
            return f"{self.name}: files over {self.limit} bytes cannot be sent"
        return super().attachment_problem(name, mime, size)


class NoFiles(FileChannel):
    kind = "sms"
    supports_attachments = False


def desk_for(store, backend):
    return Desk(store, {backend.name: backend}, agent="Aiko", clock=lambda: NOW)


async def conversation(desk, channel="tg"):
    await desk.ingest(
        channel, [Inbound("in-1", "77", ContactRef("77", "Mia"), "my label?", created_at=NOW)]
    )
    [conv] = await desk.conversations()
    return conv


async def test_a_reply_with_files_keeps_a_private_copy_and_sends_it(tmp_path):
    with Store.open(tmp_path / "data") as store:
        backend = FileChannel()
        desk = desk_for(store, backend)
        conv = await conversation(desk)
        files = [
            FileUpload("label.pdf", "application/pdf", b"%PDF label"),
            FileUpload("../../etc/passwd", "text/plain\r\nX: y", b"not a path"),
        ]
        message = await desk.reply(conv.id, "", files)
        names = [(a.name, a.mime, a.size) for a in message.attachments]
        assert names == [
            ("label.pdf", "application/pdf", 10),
            ("passwd", "application/octet-stream", 10),
        ]
        folder = tmp_path / "data" / "outgoing" / str(message.id)
        for attachment in message.attachments:
            path = attachment.ref
            assert os.path.dirname(path) == str(folder.resolve())
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE(folder.parent.stat().st_mode) == 0o700
        assert store.message(conv.id, message.id).attachments == message.attachments
        await desk.flush_outbox()
        assert backend.sent == [
            [
                ("label.pdf", "application/pdf", b"%PDF label"),
                ("passwd", "application/octet-stream", b"not a path"),
            ]
        ]
        assert store.message(conv.id, message.id).delivery is Delivery.SENT


async def test_a_retry_after_a_restart_sends_the_same_file(tmp_path):
    root = tmp_path / "data"
    with Store.open(root) as store:
        backend = FileChannel(script=[TransientError("connection refused")])
        desk = desk_for(store, backend)
        conv = await conversation(desk)
        message = await desk.reply(conv.id, "here", [FileUpload("a.txt", "text/plain", b"AAA")])
        await desk.flush_outbox()
        assert store.message(conv.id, message.id).delivery is Delivery.PENDING
    with Store.open(root) as store:
        backend = FileChannel()
        desk = desk_for(store, backend)
        [entry] = store.outbox()
        entry.next_attempt_at = None
        with store.batch():
            store.put_outbox(entry)
        await desk.flush_outbox()
        assert backend.sent == [[("a.txt", "text/plain", b"AAA")]]
        assert store.message(conv.id, message.id).delivery is Delivery.SENT


async def test_files_the_channel_or_the_desk_refuse_are_never_queued(tmp_path):
    with Store.open(tmp_path / "data") as store:
        backend = FileChannel(limit=5)
        desk = desk_for(store, backend)
        conv = await conversation(desk)
        with pytest.raises(DeskError, match="tg: files over 5 bytes cannot be sent"):
            await desk.reply(conv.id, "hi", [FileUpload("big.bin", "x/y", b"123456")])
        assert await desk.file_problem(conv.id, "big.bin", "x/y", 6) == (
            "tg: files over 5 bytes cannot be sent"
        )
        assert await desk.file_problem(conv.id, "ok.bin", "x/y", 5) is None
        many = [FileUpload(f"{n}.txt", "text/plain", b"1") for n in range(11)]
        with pytest.raises(DeskError, match="at most 10"):
            await desk.reply(conv.id, "hi", many)
        assert store.outbox() == [] and len(store.messages(conv.id)) == 1
        assert not (tmp_path / "data" / "outgoing").exists() or not any(
            (tmp_path / "data" / "outgoing").iterdir()
        )


async def test_a_channel_without_files_says_so_and_an_empty_reply_needs_a_file(tmp_path):
    with Store.open(tmp_path / "data") as store:
        desk = desk_for(store, NoFiles(name="sms"))
        conv = await conversation(desk, "sms")
        with pytest.raises(DeskError, match="'sms' \\(sms\\) cannot send files"):
            await desk.reply(conv.id, "hi", [FileUpload("a.txt", "text/plain", b"1")])
        with pytest.raises(DeskError, match="empty reply"):
            await desk.reply(conv.id, "  ")


async def test_a_total_over_the_channels_limit_is_refused(tmp_path):
    class Mail(FileChannel):
        attachments_total_limit = 8

    with Store.open(tmp_path / "data") as store:
        desk = desk_for(store, Mail(name="mail"))
        conv = await conversation(desk, "mail")
        files = [FileUpload(f"{n}.txt", "text/plain", b"12345") for n in range(2)]
        with pytest.raises(DeskError, match="mail: the files come to"):
            await desk.reply(conv.id, "hi", files)


def test_reading_a_file_refuses_what_cannot_be_attached_in_one_line(tmp_path):
    good = tmp_path / "photo.JPG"
    good.write_bytes(b"\xff\xd8jpeg")
    upload = read_upload(good)
    assert (upload.name, upload.mime, upload.data) == ("photo.JPG", "image/jpeg", b"\xff\xd8jpeg")
    with pytest.raises(DeskError, match="no such file"):
        read_upload(tmp_path / "missing.pdf")
    with pytest.raises(DeskError, match="is a folder"):
        read_upload(tmp_path)
    big = tmp_path / "big.bin"
    with big.open("wb") as out:
        out.truncate(REPLY_FILES_BYTES + 1)
    with pytest.raises(DeskError, match="big.bin is 32.0 MiB"):
        probe_file(big)
    locked = tmp_path / "locked.txt"
    locked.write_text("secret")
    locked.chmod(0)
    if os.geteuid() != 0:
        with pytest.raises(DeskError, match="cannot read it"):
            read_upload(locked)
    for message in ("no such file", "is a folder"):
        assert "\n" not in message


async def test_a_file_waiting_to_go_is_saved_from_the_desks_copy_and_a_sent_one_says_why_not(
    tmp_path,
):
    with Store.open(tmp_path / "data") as store:
        backend = FileChannel()
        desk = desk_for(store, backend)
        conv = await conversation(desk)
        message = await desk.reply(
            conv.id, "", [FileUpload("label.pdf", "application/pdf", b"PDF")]
        )
        saved = await desk.save_attachment(conv.id, message.id, 0, tmp_path / "downloads")
        assert saved == tmp_path / "downloads" / "label.pdf" and saved.read_bytes() == b"PDF"
        data = await desk.attachment_data(conv.id, message.id, 0)
        assert (data.name, data.data) == ("label.pdf", b"PDF")
        await desk.flush_outbox()
        with pytest.raises(DeskError, match="label.pdf: frontdesk keeps a file it sends only"):
            await desk.attachment_data(conv.id, message.id, 0)


def kept(root) -> set[int]:
    """The message ids with a copy kept under the data dir."""
    folder = root / "outgoing"
    return {int(p.name) for p in folder.iterdir()} if folder.exists() else set()


async def test_a_sent_reply_drops_its_copy_and_a_failed_one_keeps_it_for_a_retry(tmp_path):
    root = tmp_path / "data"
    with Store.open(root) as store:
        backend = FileChannel(script=[PermanentError("the file was refused")])
        desk = desk_for(store, backend)
        conv = await conversation(desk)
        failed = await desk.reply(conv.id, "", [FileUpload("a.txt", "text/plain", b"AAA")])
        await desk.flush_outbox()
        assert store.message(conv.id, failed.id).delivery is Delivery.FAILED
        assert kept(root) == {failed.id}
        sent = await desk.reply(conv.id, "", [FileUpload("b.txt", "text/plain", b"BBB")])
        await desk.flush_outbox()
        assert store.message(conv.id, sent.id).delivery is Delivery.SENT
        assert kept(root) == {failed.id}
        await desk.retry(conv.id, failed.id)  # the agent decides to send it again
        await desk.flush_outbox()
        assert backend.sent[-1] == [("a.txt", "text/plain", b"AAA")]
        assert store.message(conv.id, failed.id).delivery is Delivery.SENT
        assert kept(root) == set()


async def test_the_desk_start_prunes_copies_of_sent_and_gone_replies_and_keeps_the_rest(tmp_path):
    root = tmp_path / "data"
    with Store.open(root) as store:
        backend = FileChannel(script=[PermanentError("refused"), AmbiguousError("timed out")])
        desk = desk_for(store, backend)
        conv = await conversation(desk)
        ids = {}
        for name in ("failed", "unconfirmed", "sent", "pending"):
            reply = await desk.reply(conv.id, name, [FileUpload(f"{name}.txt", "text/plain", b"x")])
            ids[name] = reply.id
            if name != "pending":
                await desk.flush_outbox()
        # a crash after "sent" was committed but before its copy went
        sent = store.message(conv.id, ids["sent"])
        os.makedirs(os.path.dirname(sent.attachments[0].ref), mode=0o700, exist_ok=True)
        with open(sent.attachments[0].ref, "wb") as out:
            out.write(b"x")
        # a copy whose reply never got stored, and one from before the desk marked its copies
        (root / "outgoing" / "999").mkdir()
        (root / "outgoing" / "999" / "lost.txt").write_bytes(b"x")
        for marker in (root / "outgoing").glob("*/.conversation"):
            if marker.parent.name == str(ids["failed"]):
                marker.unlink()
        assert [store.message(conv.id, i).delivery for i in ids.values()] == [
            Delivery.FAILED,
            Delivery.UNCONFIRMED,
            Delivery.SENT,
            Delivery.PENDING,
        ]
        assert kept(root) == {*ids.values(), 999}
    with Store.open(root) as store:
        desk = desk_for(store, FileChannel(script=[TransientError("down")]))
        await desk.start()
        try:
            assert kept(root) == {ids["failed"], ids["unconfirmed"], ids["pending"]}
            assert (root / "outgoing" / str(ids["failed"]) / ".conversation").exists()
        finally:
            await desk.stop()


class FetchedByUrl(FileChannel):
    """A channel that fetches sent files from the desk after the send (LINE's pictures)."""

    sent_files_fetched_for = timedelta(days=30)


async def test_a_channel_that_fetches_sent_files_later_keeps_them_for_its_span(tmp_path):
    root = tmp_path / "data"
    with Store.open(root) as store:
        desk = desk_for(store, FetchedByUrl())
        conv = await conversation(desk)
        reply = await desk.reply(conv.id, "", [FileUpload("p.png", "image/png", b"PNG")])
        await desk.flush_outbox()
        assert store.message(conv.id, reply.id).delivery is Delivery.SENT
        assert kept(root) == {reply.id}
    for days, left in ((29, {reply.id}), (31, set())):
        with Store.open(root) as store:
            later = NOW + timedelta(days=days)
            desk = Desk(store, {"tg": FetchedByUrl()}, agent="Aiko", clock=lambda: later)
            await desk.start()
            await desk.stop()
            assert kept(root) == left


@given(name=st.text(max_size=400), mime=st.text(max_size=200))
def test_any_name_and_type_a_console_sends_become_one_safe_file_name_and_a_plain_type(name, mime):
    cleaned = clean_upload(FileUpload(name, mime, b"x"))
    assert cleaned.name and "/" not in cleaned.name and cleaned.name not in (".", "..")
    assert len(cleaned.name.encode()) <= 150 and cleaned.name.isprintable()
    assert re.fullmatch(r"[\w.+-]+/[\w.+-]+", cleaned.mime, re.ASCII) and "\n" not in cleaned.mime
