"""Saving a large attachment (`d`): streamed to disk in bounded memory, listed with its real size.

A 50 MB attachment in a mail over `max_message_mb` (read in part at ingest) used to peak at
645 MB of memory when saved, and stayed listed with the size of the part read (510 KB).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tracemalloc
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import email_servers as servers  # noqa: E402
from fakes import telegram as tg  # noqa: E402
from fakes.server import FakeServer  # noqa: E402

from frontdesk.backends.email import EmailBackend  # noqa: E402
from frontdesk.backends.imap_parts import decoder, parse_bodystructure, walk_sections  # noqa: E402
from frontdesk.backends.telegram import TelegramBackend  # noqa: E402
from frontdesk.desk import Desk  # noqa: E402
from frontdesk.store import Store  # noqa: E402

pytestmark = pytest.mark.slow
SIZE = 50 * 1024 * 1024
TG_SIZE = 19 * 1024 * 1024  # under the cloud Bot API's 20 MB download limit
#: the most memory a save may take at its peak, whatever the file's size
PEAK_LIMIT = 8 * 1024 * 1024


def payload(size: int = SIZE) -> bytes:
    return hashlib.sha256(b"seed").digest() * (size // 32)


async def saved_with_peak(
    desk: Desk, conv_id: int, message_id: int, folder: Path
) -> tuple[Path, int]:
    tracemalloc.start()
    try:
        path = await desk.save_attachment(conv_id, message_id, 0, folder)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return path, peak


def same_file(path: Path, data: bytes) -> bool:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return path.stat().st_size == len(data) and digest.digest() == hashlib.sha256(data).digest()


@pytest.mark.skipif(
    servers.dovecot_binary() is None,
    reason="dovecot is not installed (apt-get install dovecot-imapd)",
)
async def test_a_50_mb_mail_attachment_is_saved_in_bounded_memory_with_its_real_size(tmp_path):
    dovecot = servers.start_dovecot()
    try:
        data = payload()
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = (
            "Mia <mia@customer.test>",
            servers.USER,
            "The dump",
        )
        mail["Message-ID"] = "<dump@customer.test>"
        mail.set_content("The dump is attached.")
        mail.add_attachment(
            data, maintype="application", subtype="octet-stream", filename="dump.bin"
        )
        await dovecot.append(mail)
        del mail
        backend = EmailBackend(
            "mail",
            {
                "imap_host": "127.0.0.1",
                "imap_port": dovecot.port,
                "imap_tls": "none",
                "smtp_host": "127.0.0.1",
                "smtp_port": 1,
                "smtp_tls": "none",
                "username": dovecot.user,
                "timeout_seconds": 10,
            },
            lambda key: dovecot.password if key == "password" else None,
        )
        with Store.open(tmp_path / "data") as store:
            desk = Desk(store, {"mail": backend}, agent="Aiko")
            await backend.fetch_once(desk)  # over max_message_mb (40): only the beginning is read
            [conv] = await desk.conversations()
            [message] = await desk.thread(conv.id)
            assert "only its beginning was read" in message.body
            path, peak = await saved_with_peak(desk, conv.id, message.id, tmp_path / "downloads")
            [listed] = (await desk.thread(conv.id))[0].attachments
            await backend.close()
    finally:
        servers.cleanup(dovecot)
    assert path.name == "dump.bin" and same_file(path, data)
    assert peak < PEAK_LIMIT, f"peak {peak / 1e6:.1f} MB while saving"
    assert listed.size == SIZE  # the real size once saved, not the part read at ingest


async def test_a_telegram_file_is_streamed_to_disk_and_listed_with_its_real_size(tmp_path):
    fake = tg.FakeTelegram()
    data = payload(TG_SIZE)
    fake.files["documents/BIG.bin"] = data
    fake.message(
        77,
        None,
        document={
            "file_id": "BIG",
            "file_unique_id": "uBIG",
            "file_name": "big.bin",
            "mime_type": "application/octet-stream",
            "file_size": 1234,
        },
    )
    with FakeServer(fake) as server, Store.open(tmp_path / "data") as store:
        backend = TelegramBackend("tg", {"base_url": server.url}, secrets=lambda k: tg.TOKEN)
        desk = Desk(store, {"tg": backend}, agent="Aiko")
        await backend.fetch_once(desk)
        [conv] = await desk.conversations()
        [message] = await desk.thread(conv.id)
        path, peak = await saved_with_peak(desk, conv.id, message.id, tmp_path / "downloads")
        [listed] = (await desk.thread(conv.id))[0].attachments
        await backend.close()
    assert path.name == "big.bin" and same_file(path, data)
    assert peak < PEAK_LIMIT, f"peak {peak / 1e6:.1f} MB while saving"
    assert listed.size == TG_SIZE  # the channel said 1234


# ---- the pieces: untrusted BODYSTRUCTURE, decoding across chunk boundaries ---------------------------


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:])]


@settings(max_examples=150, deadline=None)
@given(
    st.binary(max_size=3000),
    st.lists(st.integers(min_value=0), max_size=8),
    st.sampled_from(["base64", "quoted-printable", "8bit"]),
)
def test_a_part_decoded_chunk_by_chunk_equals_the_email_packages_decoding(data, cuts, encoding):
    part = EmailMessage()
    part.set_content(
        data,
        maintype="application",
        subtype="octet-stream",
        cte=encoding if encoding != "8bit" else "base64",
    )
    encoded = part.get_payload().encode("ascii") if encoding != "8bit" else data
    decode = decoder(encoding)
    out = b"".join(decode.feed(chunk) for chunk in chunked(encoded, cuts)) + decode.flush()
    assert out == data


def nested_mail() -> EmailMessage:
    """Parts in every kind of place: nested multiparts, forwarded mails (multipart and not), each encoding."""

    def leaf(data: bytes, cte: str = "base64", name: str = "f.bin") -> EmailMessage:
        part = EmailMessage()
        part.set_content(
            data, maintype="application", subtype="octet-stream", cte=cte, filename=name
        )
        return part

    forwarded = EmailMessage()
    forwarded["Subject"] = "fwd"
    forwarded.set_content("inside the forwarded mail")
    forwarded.add_attachment(
        b"\x01forwarded leaf" * 50,
        maintype="application",
        subtype="octet-stream",
        filename="in.bin",
    )
    plain_forward = EmailMessage()
    plain_forward["Subject"] = "plain fwd"
    plain_forward.set_content("only text, é")
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "mia@customer.test", servers.USER, "nested"
    mail.set_content("the text")
    mail.add_alternative("<p>the text</p>", subtype="html")
    mail.make_mixed()
    mail.attach(leaf(bytes(range(256)) * 9, "base64", "a.bin"))
    mail.attach(leaf("naïve = text\n".encode() * 300, "quoted-printable", "b.txt"))
    for inner in (forwarded, plain_forward):
        holder = EmailMessage()
        holder.set_content(inner)
        mail.attach(holder)
    return mail


@pytest.mark.skipif(
    servers.dovecot_binary() is None,
    reason="dovecot is not installed (apt-get install dovecot-imapd)",
)
async def test_every_part_of_a_nested_mail_is_saved_as_the_email_package_decodes_it(tmp_path):
    """The sections found from the server's BODYSTRUCTURE follow the walk() order of ingest's indexes."""
    from email import message_from_bytes, policy

    dovecot = servers.start_dovecot()
    mail = nested_mail()
    raw = mail.as_bytes(policy=policy.SMTP)
    try:
        await dovecot.append(raw)
        backend = EmailBackend(
            "mail",
            {
                "imap_host": "127.0.0.1",
                "imap_port": dovecot.port,
                "imap_tls": "none",
                "smtp_host": "127.0.0.1",
                "smtp_port": 1,
                "smtp_tls": "none",
                "username": dovecot.user,
            },
            lambda key: dovecot.password,
        )
        with Store.open(tmp_path / "data") as store:
            desk = Desk(store, {"mail": backend}, agent="Aiko")
            await backend.fetch_once(desk)
            [conv] = await desk.conversations()
            listed = (await desk.thread(conv.id))[0].attachments
        folder, validity, uid, _, message_id = json.loads(listed[0].ref[5:])
        walked = list(message_from_bytes(raw, policy=policy.default).walk())
        saved = {}
        for index, part in enumerate(walked):
            if part.get_content_maintype() == "multipart":
                continue
            ref = "imap:" + json.dumps([folder, validity, uid, index, message_id])
            out = io.BytesIO()
            await backend.download_attachment(ref, out)
            saved[index] = out.getvalue()
        await backend.close()
    finally:
        servers.cleanup(dovecot)
    leaves = [
        i for i, p in enumerate(walked) if p.get_content_maintype() not in ("multipart", "message")
    ]
    assert len(leaves) == 7
    for index in leaves:
        assert saved[index].replace(b"\r\n", b"\n") == walked[index].get_payload(
            decode=True
        ).replace(b"\r\n", b"\n"), index
    forwards = [i for i, p in enumerate(walked) if p.get_content_type() == "message/rfc822"]
    assert [b"Subject: fwd" in saved[i] for i in forwards] == [
        True,
        False,
    ]  # the whole forwarded mail, as .eml


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=60),
            st.sampled_from([b"(", b")", b'"a', b"NIL", b"{3}", b"BODYSTRUCTURE", b" "]),
        ),
        max_size=12,
    ).map(b"".join),
    st.lists(st.binary(max_size=10).map(bytearray), max_size=2),
)
def test_a_hostile_bodystructure_answer_raises_only_value_error(line, literals):
    try:
        parts = walk_sections(
            parse_bodystructure([b"1 FETCH (UID 1 BODYSTRUCTURE " + line, *literals, b")"])
        )
    except ValueError:
        return
    assert all(p.section is None or re.fullmatch(r"\d+(\.\d+)*", p.section) for p in parts)
