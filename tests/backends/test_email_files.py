"""Files sent with an email reply: MIME attachments through a real SMTP server on loopback."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

import email_servers as servers  # noqa: E402

from frontdesk.backends.email import EmailBackend  # noqa: E402
from frontdesk.desk import Desk, DeskError  # noqa: E402
from frontdesk.model import ContactRef, Delivery, FileUpload, Inbound  # noqa: E402
from frontdesk.store import Store  # noqa: E402

CUSTOMER = "mia@customer.test"


@pytest.fixture
def smtp():
    sink = servers.SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
async def desk(tmp_path, smtp):
    mail = EmailBackend(
        "mail",
        {
            "imap_host": "127.0.0.1",
            "imap_port": 1,
            "imap_tls": "none",
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
            "smtp_tls": "none",
            "username": servers.USER,
            "address": servers.USER,
            "timeout_seconds": 10,
            "sent_folder": "",  # no IMAP server here to keep a Sent copy
        },
        lambda key: servers.PASSWORD if key == "password" else None,
    )
    with Store.open(tmp_path / "data") as store:
        desk = Desk(store, {"mail": mail}, agent="Aiko")
        first = Inbound(
            "<m1@customer.test>",
            "<m1@customer.test>",
            ContactRef(CUSTOMER, "Mia"),
            "Where is my invoice?",
            subject="Invoice",
            created_at=datetime.now(timezone.utc),
        )
        await desk.ingest("mail", [first])
        yield desk


async def test_files_go_as_mime_attachments_with_their_names_and_types(desk, smtp):
    [conv] = await desk.conversations()
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 8
    files = [
        FileUpload("invoice.pdf", "application/pdf", pdf),
        FileUpload("notes é.txt", "text/plain", "merci ✓\n".encode()),
    ]
    message = await desk.reply(conv.id, "Here it is.", files)
    await desk.flush_outbox()
    assert desk.store.message(conv.id, message.id).delivery is Delivery.SENT
    [received] = smtp.received
    mail = received.message
    assert mail.get_body(("plain",)).get_content().strip() == "Here it is."
    parts = [
        (p.get_filename(), p.get_content_type(), p.get_payload(decode=True))
        for p in mail.iter_attachments()
    ]
    assert parts == [
        ("invoice.pdf", "application/pdf", pdf),
        (
            "notes é.txt",
            "text/plain",
            "merci ✓\n".encode(),
        ),  # the bytes, as the customer saves them
    ]


async def test_more_than_25_MB_of_files_is_refused_before_it_is_queued(desk, smtp):
    [conv] = await desk.conversations()
    assert await desk.file_problem(conv.id, "dump.tar", "application/x-tar", 26_000_000) == (
        "mail: files over 25 MB cannot be sent by email (dump.tar is 26.0 MB)"
    )
    two = [
        FileUpload(f"part{n}.bin", "application/octet-stream", b"\0" * 13_000_000) for n in (1, 2)
    ]
    with pytest.raises(
        DeskError, match="mail: the files come to 26.0 MB; one message carries at most 25 MB"
    ):
        await desk.reply(conv.id, "", two)
    assert desk.store.outbox() == [] and smtp.received == []
