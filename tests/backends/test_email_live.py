"""The email backend against real servers: a private Dovecot (IMAP IDLE) and aiosmtpd (SMTP).

Mail is APPENDed to the Dovecot mailbox and must show up as conversations through a real
Desk and Store; replies must reach the SMTP server with threading headers. Skipped only
when the `dovecot` binary is missing (.ci/run installs Debian's dovecot-imapd).
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime

import pytest

import email_servers as servers  # noqa: E402

from frontdesk.backends.email import EmailBackend  # noqa: E402
from frontdesk.backends.email_send import message_id_for  # noqa: E402
from frontdesk.backends.email_sync import read_cursor  # noqa: E402
from frontdesk.backends.email_parse import AUTO_PREFIX, QUOTE_MARKER  # noqa: E402
from frontdesk.desk import Desk  # noqa: E402
from frontdesk.model import ChannelStatus, Direction  # noqa: E402
from frontdesk.store import Store  # noqa: E402

pytestmark = pytest.mark.skipif(
    servers.dovecot_binary() is None,
    reason="dovecot is not installed (apt-get install dovecot-imapd)",
)

CUSTOMER = "mia@customer.test"


@pytest.fixture(scope="module")
def shared_dovecot():
    """One Dovecot for the module (starting and stopping one costs ~1 s); each test gets its own user."""
    server = servers.start_dovecot(users=30)
    server.next_user = 0
    yield server
    servers.cleanup(server)


@pytest.fixture
def dovecot(shared_dovecot):
    """The shared Dovecot as a fresh user with an empty mailbox."""
    shared_dovecot.next_user += 1
    return shared_dovecot.as_user(shared_dovecot.next_user)


@pytest.fixture
def own_dovecot():
    """A Dovecot of the test's own (for tests that stop the server)."""
    server = servers.start_dovecot()
    yield server
    servers.cleanup(server)


@pytest.fixture
def smtp():
    sink = servers.SmtpSink()
    sink.start()
    yield sink
    sink.stop()


def settings(dovecot, smtp=None, **extra):
    out = {
        "imap_host": "127.0.0.1",
        "imap_port": dovecot.port,
        "imap_tls": "none",
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port if smtp else 1,
        "smtp_tls": "none",
        "username": dovecot.user,
        "address": dovecot.user,
        "display_name": "Example Support",
        "sync_days": 14,
        "timeout_seconds": 10,
    }
    out.update(extra)
    return out


def backend(
    dovecot, smtp=None, cursor=None, name="mail", password=servers.PASSWORD, **extra
) -> EmailBackend:
    b = EmailBackend(
        name,
        settings(dovecot, smtp, **extra),
        lambda key: password if key == "password" else None,
        cursor,
    )
    b.backoff_initial, b.backoff_max = 0.2, 1.0
    return b


def mail(
    subject="Where is my order?",
    body="Hello, my order #1234 has not arrived.",
    msgid="<m1@customer.test>",
    sender=f"Mia Tanaka <{CUSTOMER}>",
    date=None,
    **headers,
) -> EmailMessage:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = servers.USER
    m["Subject"] = subject
    m["Date"] = format_datetime(date or datetime.now(timezone.utc))
    if msgid:
        m["Message-ID"] = msgid
    for key, value in headers.items():
        m[key.replace("_", "-")] = value
    m.set_content(body)
    return m


async def wait_for(predicate, timeout=10.0, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = await predicate() if asyncio.iscoroutinefunction(predicate) else predicate()
        if result:
            return result
        await asyncio.sleep(step)
    raise AssertionError("condition not met in time")


class Recorder:
    """A Sink in front of the desk that remembers every ChannelStatus."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.statuses: list[ChannelStatus] = []

    async def ingest(self, channel, events, cursor=None):
        self.statuses += [e for e in events if isinstance(e, ChannelStatus)]
        await self.desk.ingest(channel, events, cursor)


class DropAtIdle:
    """A loopback proxy to Dovecot that ends the first session the moment the client sends IDLE, with
    Dovecot's own kick BYE: a kick landing between a catch-up and the server's IDLE acknowledgement."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.dropped = False
        self.port = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()

    async def _session(self, client_reader, client_writer) -> None:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        pumps = [
            asyncio.ensure_future(self._to_server(client_reader, server_writer, client_writer)),
            asyncio.ensure_future(self._to_client(server_reader, client_writer)),
        ]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            for writer in (client_writer, server_writer):
                writer.close()

    async def _to_server(self, reader, writer, client_writer) -> None:
        while line := await reader.readline():
            if not self.dropped and line.rstrip().upper().endswith(b" IDLE"):
                self.dropped = True
                client_writer.write(b"* BYE Disconnected for administrative reasons\r\n")
                await client_writer.drain()
                return
            writer.write(line)
            await writer.drain()

    async def _to_client(self, reader, writer) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()


# ---- tests ---------------------------------------------------------------------------------------


async def test_initial_sync_then_idle_push_reaches_the_desk(dovecot, store, capsys):
    old = datetime.now(timezone.utc) - timedelta(days=30)
    await dovecot.append(mail(subject="Old thread", msgid="<old@customer.test>", date=old))
    await asyncio.to_thread(
        lambda: dovecot.client().append(
            "INBOX", None, old.timestamp(), mail(subject="Old", msgid="<old2@x>").as_bytes()
        )
    )
    await dovecot.append(mail(subject="Recent question", msgid="<recent@customer.test>"))
    b = backend(dovecot)
    desk = Desk(store, {"mail": b}, agent="Aiko")
    await desk.start()
    try:
        convs = await wait_for(desk.conversations)
        assert [c.subject for c in convs] == [
            "Recent question",
            "Old thread",
        ]  # Date header old, INTERNALDATE recent
        await wait_for(lambda: "INBOX" in b.idling)
        latencies = []
        for n in range(3):
            started = time.monotonic()
            await dovecot.append(
                mail(subject=f"Live {n}", msgid=f"<live{n}@customer.test>", body=f"live body {n}")
            )
            appended = time.monotonic()

            async def arrived():
                return any(c.subject == f"Live {n}" for c in await desk.conversations())

            await wait_for(arrived, timeout=5, step=0.005)
            latencies.append(time.monotonic() - appended)
            assert time.monotonic() - started < 5
        convs = await desk.conversations()
        assert len(convs) == 5
        live = next(c for c in convs if c.subject == "Live 2")
        thread = await desk.thread(live.id)
        assert thread[0].body == "live body 2" and thread[0].author == "Mia Tanaka"
        contact = await desk.contact(live.contact_id)
        assert contact.emails == [CUSTOMER]
        cursor = read_cursor(store.cursor("mail"))
        assert cursor["INBOX"].seen == 6 and not cursor["INBOX"].backfilling
        with capsys.disabled():
            print(
                f"\nIDLE push latency (APPEND returned -> conversation in the desk): "
                f"{', '.join(f'{l * 1000:.0f} ms' for l in latencies)}"
            )
        assert max(latencies) < 2.0, latencies
    finally:
        await desk.stop()


async def test_reply_reaches_smtp_with_threading_headers_and_sent_copy(dovecot, smtp, store):
    await dovecot.append(
        mail(
            subject="Broken lamp",
            msgid="<q1@customer.test>",
            References="<earlier@customer.test>",
            In_Reply_To="<earlier@customer.test>",
        )
    )
    b = backend(dovecot, smtp)
    desk = Desk(store, {"mail": b}, agent="Aiko")
    await b.fetch_once(desk)
    [conv] = await desk.conversations()
    assert conv.thread_key == "<earlier@customer.test>"  # the root of the customer's thread
    await desk.note(conv.id, "internal: customer is VIP, do not quote this")
    reply = await desk.reply(conv.id, "Sorry about the lamp — a new one is on its way.")
    await desk.flush_outbox()
    assert len(smtp.received) == 1, "exactly one mail: the reply, never the note"
    got = smtp.received[0]
    m = got.message
    assert got.rcpt_tos == [CUSTOMER]
    assert m["Subject"] == "Re: Broken lamp"
    assert m["In-Reply-To"] == "<q1@customer.test>"
    assert m["References"].split() == ["<earlier@customer.test>", "<q1@customer.test>"]
    assert str(m["From"]) == f"Example Support <{dovecot.user}>"
    thread = await desk.thread(conv.id)
    sent = next(x for x in thread if x.id == reply.id)
    assert sent.delivery.value == "sent" and sent.external_id == m["Message-ID"]
    assert m["Message-ID"].startswith("<fd.") and m["Message-ID"].endswith("@example.test>")
    assert "VIP" not in got.raw.decode(errors="replace")
    assert m.get_content().strip() == "Sorry about the lamp — a new one is on its way."
    copies = await dovecot.messages("Sent")
    assert [c["Message-ID"] for c in copies] == [m["Message-ID"]]

    # the customer answers our reply: it joins the same conversation (References, and In-Reply-To only)
    await dovecot.append(
        mail(
            subject="Re: Broken lamp",
            msgid="<q2@customer.test>",
            In_Reply_To=m["Message-ID"],
            References=f"<earlier@customer.test> <q1@customer.test> {m['Message-ID']}",
            body="Thanks!\n\nOn Monday Example Support wrote:\n> Sorry about the lamp",
        )
    )
    await dovecot.append(
        mail(
            subject="Re: Broken lamp",
            msgid="<q3@customer.test>",
            In_Reply_To=m["Message-ID"],
            body="One more thing.",
        )
    )
    await b.fetch_once(desk)
    [conv] = await desk.conversations()
    bodies = [x.body for x in await desk.thread(conv.id) if x.direction is Direction.IN]
    assert bodies[1].startswith("Thanks!") and QUOTE_MARKER in bodies[1]
    assert bodies[2] == "One more thing."

    # a restarted backend learns our reply's thread from the Sent folder
    fresh = backend(dovecot, smtp, cursor=store.cursor("mail"))
    await dovecot.append(
        mail(
            subject="Re: Broken lamp",
            msgid="<q4@customer.test>",
            In_Reply_To=m["Message-ID"],
            body="Still here.",
        )
    )
    await fresh.fetch_once(desk)
    assert len(await desk.conversations()) == 1


async def test_message_id_is_derived_before_sending_and_stable_across_retries(dovecot, smtp, store):
    await dovecot.append(mail())
    b = backend(dovecot, smtp)
    desk = Desk(store, {"mail": b}, agent="Aiko")
    await b.fetch_once(desk)
    [conv] = await desk.conversations()
    smtp.fail_next = ["451 4.3.0 try again later"]
    await desk.reply(conv.id, "First answer")
    await desk.flush_outbox()
    [entry] = store.outbox()
    assert entry.state == "pending" and "451" in entry.last_error
    entry.next_attempt_at = None
    with store.batch():
        store.put_outbox(entry)
    await desk.flush_outbox()
    assert len(smtp.received) == 1
    assert smtp.received[0].message["Message-ID"] == message_id_for(
        entry.extra["key"], "mail", dovecot.user
    )

    smtp.fail_next = ["550 5.1.1 no such user"]
    reply = await desk.reply(conv.id, "Second answer")
    await desk.flush_outbox()
    failed = next(x for x in await desk.thread(conv.id) if x.id == reply.id)
    assert failed.delivery.value == "failed" and "550" in failed.delivery_reason


async def test_uidvalidity_change_resyncs_without_duplicates(dovecot, store):
    await dovecot.imap(("create", "Support"))
    for n in range(5):
        await dovecot.append(
            mail(subject=f"Question {n}", msgid=f"<s{n}@customer.test>"), folder="Support"
        )
    b = backend(dovecot, folders=["Support"])
    desk = Desk(store, {"mail": b}, agent="Aiko")
    await b.fetch_once(desk)
    before = read_cursor(store.cursor("mail"))["Support"]
    assert before.seen == 5 and len(await desk.conversations()) == 5

    # the folder is recreated (new UIDVALIDITY): two old mails and one new get UIDs 1..3, all <= the old last UID
    await dovecot.imap(("delete", "Support"), ("create", "Support"))
    for n in (3, 4):
        await dovecot.append(
            mail(subject=f"Question {n}", msgid=f"<s{n}@customer.test>"), folder="Support"
        )
    await dovecot.append(mail(subject="Brand new", msgid="<new@customer.test>"), folder="Support")

    restarted = backend(dovecot, cursor=store.cursor("mail"), folders=["Support"])
    await restarted.fetch_once(desk)
    after = read_cursor(store.cursor("mail"))["Support"]
    assert after.validity != before.validity and after.seen == 3 and not after.backfilling
    convs = await desk.conversations()
    assert sorted(c.subject for c in convs) == ["Brand new", *[f"Question {n}" for n in range(5)]]
    assert sum(c.message_count for c in convs) == 6, "no message stored twice"

    # and a plain restart with the same UIDVALIDITY fetches nothing again
    again = backend(dovecot, cursor=store.cursor("mail"), folders=["Support"])
    await again.fetch_once(desk)
    assert sum(c.message_count for c in await desk.conversations()) == 6


async def test_killed_connection_reconnects_with_backoff(own_dovecot, store):
    dovecot = own_dovecot
    b = backend(dovecot, timeout_seconds=2)
    desk = Desk(store, {"mail": b}, agent="Aiko")
    sink = Recorder(desk)
    task = asyncio.create_task(b.run(sink))
    try:
        await wait_for(lambda: "INBOX" in b.idling)
        # 1) the server kicks the session (as on a restart or an admin kick)
        dovecot.doveadm("kick", dovecot.user)
        await wait_for(lambda: b.reconnects >= 1, timeout=10)
        assert any(s.state == "down" and "reconnecting in" in s.detail for s in sink.statuses)
        await wait_for(lambda: "INBOX" in b.idling)
        await dovecot.append(mail(subject="After kick", msgid="<k1@customer.test>"))
        await wait_for(desk.conversations, timeout=5)

        # 2) the server is gone for a while: attempts back off (0.2 s, 0.4 s, 0.8 s …), then it comes back
        # (kick the session first: a stopped Dovecot lets its imap processes linger for ~10 s)
        dovecot.doveadm("kick", dovecot.user)
        dovecot.process.terminate()
        await asyncio.to_thread(dovecot.process.wait, 10)
        await wait_for(lambda: sum(s.state == "down" for s in sink.statuses) >= 4, timeout=10)
        downs = [s.detail for s in sink.statuses if s.state == "down"]
        assert "refused" in downs[-1] or "closed" in downs[-1], downs[-1]
        dovecot.restart()
        await wait_for(lambda: b.reconnects >= 2, timeout=10)
        await dovecot.append(mail(subject="After restart", msgid="<k2@customer.test>"))

        async def both():
            return len(await desk.conversations()) == 2

        await wait_for(both, timeout=5)
        assert sink.statuses[-1].state == "ok"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await b.close()


async def test_connection_dropped_as_idle_starts_reconnects(dovecot, store):
    proxy = DropAtIdle(dovecot.port)
    await proxy.start()
    b = backend(dovecot, imap_port=proxy.port)
    desk = Desk(store, {"mail": b}, agent="Aiko")
    sink = Recorder(desk)
    task = asyncio.create_task(b.run(sink))
    try:
        await wait_for(lambda: proxy.dropped)
        await wait_for(lambda: b.reconnects >= 1 and "INBOX" in b.idling, timeout=10)
        assert any(s.state == "down" and "closed the connection" in s.detail for s in sink.statuses)
        await dovecot.append(mail(subject="After the drop", msgid="<d1@customer.test>"))
        await wait_for(desk.conversations, timeout=5)
        assert sink.statuses[-1].state == "ok"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await b.close()
        await proxy.close()


async def test_japanese_mail_renders_right(dovecot, store):
    from base64 import b64encode

    def word(text, charset, codec):
        return f"=?{charset}?B?{b64encode(text.encode(codec)).decode()}?="

    jis = (
        (
            f"From: {word('山田 花子', 'ISO-2022-JP', 'iso-2022-jp')} <hanako@example.jp>\r\n"
            f"To: {servers.USER}\r\n"
            f"Subject: {word('注文について', 'ISO-2022-JP', 'iso-2022-jp')}\r\n"
            "Message-ID: <jis@example.jp>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=ISO-2022-JP\r\n"
            "Content-Transfer-Encoding: 7bit\r\n\r\n"
        ).encode()
        + "先週注文した商品がまだ届きません。１番の件です。\r\n".encode("iso-2022-jp")
        + b"\r\n"
    )
    sjis = (
        f"From: tanaka@example.jp\r\nTo: {servers.USER}\r\nSubject: {word('返品について', 'Shift_JIS', 'cp932')}"
        + "\r\nMessage-ID: <sjis@example.jp>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=Shift_JIS\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode() + "返品の手続きを教えてください。～①～\r\n".encode("cp932")
    await dovecot.append(jis)
    await dovecot.append(sjis)
    b = backend(dovecot)
    desk = Desk(store, {"mail": b}, agent="Aiko")
    await b.fetch_once(desk)
    convs = {c.subject: c for c in await desk.conversations()}
    assert set(convs) == {"注文について", "返品について"}
    jis_msg = (await desk.thread(convs["注文について"].id))[0]
    assert jis_msg.body == "先週注文した商品がまだ届きません。１番の件です。"
    assert jis_msg.author == "山田 花子"
    sjis_msg = (await desk.thread(convs["返品について"].id))[0]
    assert sjis_msg.body == "返品の手続きを教えてください。～①～"


async def test_big_attachment_and_malformed_mime_do_not_crash_the_desk(dovecot, store, tmp_path):
    big = mail(subject="Logs attached", msgid="<big@customer.test>", body="See the attached dump.")
    payload = bytes(range(256)) * (20 * 1024 * 1024 // 256)
    big.add_attachment(
        payload, maintype="application", subtype="octet-stream", filename="../../etc/passwd"
    )
    await dovecot.append(big)
    malformed = (
        b"From: broken@customer.test\r\nTo: support@example.test\r\nSubject: =?utf-8?B?broken?=\r\n"
        b'Content-Type: multipart/mixed; boundary="XX"\r\nMIME-Version: 1.0\r\n\r\n'
        b"--XX\r\nContent-Type: text/plain; charset=x-no-such-charset\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"!!!not base64 at all\xff\xfe\r\n"
        b'--XX\r\nContent-Type: multipart/alternative; boundary="YY"\r\n\r\n--YY\r\nContent-Type: text/html\r\n\r\n<p>unclosed'
        b'\r\n--XX\r\nContent-Type: application/pdf; name="\x1b[31mevil\xe2\x80\xaetxt.pdf"\r\n'
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n=ZZ=\r\n"
    )
    await dovecot.append(malformed)
    await dovecot.append(b"\x00\x01garbage without headers\r\n\r\n\xff\xfe")
    await dovecot.append(mail(subject="After the bad ones", msgid="<after@customer.test>"))
    b = backend(dovecot)
    desk = Desk(store, {"mail": b}, agent="Aiko")
    started = time.monotonic()
    await b.fetch_once(desk)
    elapsed = time.monotonic() - started
    convs = {c.subject: c for c in await desk.conversations()}
    assert "After the bad ones" in convs and "Logs attached" in convs, list(convs)
    assert len(convs) == 4
    [msg] = await desk.thread(convs["Logs attached"].id)
    assert msg.body == "See the attached dump."
    [att] = msg.attachments
    assert att.name == "../../etc/passwd" and att.size == len(payload)
    saved = await b.save_attachment(att.ref, tmp_path / "downloads")
    assert saved.parent == (tmp_path / "downloads").resolve() and saved.name == "passwd"
    assert saved.read_bytes() == payload
    again = await b.save_attachment(att.ref, tmp_path / "downloads")
    assert again.name == "passwd (1)"
    assert elapsed < 20, elapsed

    # a mailbox with a smaller size limit reads only the beginning of the big mail, and says so
    with Store.open(tmp_path / "other") as other:
        small = backend(dovecot, name="mail2", max_message_mb=5)
        d2 = Desk(other, {"mail2": small})
        await small.fetch_once(d2)
        big_conv = next(c for c in await d2.conversations() if c.subject == "Logs attached")
        [partial] = await d2.thread(big_conv.id)
        assert "only its beginning was read" in partial.body


async def test_auto_replies_and_bounces_are_marked(dovecot, store):
    await dovecot.append(
        mail(subject="Out of office", msgid="<ooo@customer.test>", Auto_Submitted="auto-replied")
    )
    bounce = EmailMessage()
    bounce["From"] = "MAILER-DAEMON@mx.customer.test"
    bounce["To"] = servers.USER
    bounce["Subject"] = "Undelivered Mail Returned to Sender"
    bounce["Message-ID"] = "<bounce@mx.customer.test>"
    bounce.set_content("This is the mail system.")
    await dovecot.append(bounce)
    await dovecot.append(mail(subject="Newsletter", msgid="<news@list.test>", Precedence="bulk"))
    await dovecot.append(mail(subject="A person", msgid="<person@customer.test>"))
    b = backend(dovecot)
    desk = Desk(store, {"mail": b}, agent="Aiko")
    await b.fetch_once(desk)
    first = {}
    for c in await desk.conversations():
        first[c.subject] = (await desk.thread(c.id))[0].body
    assert first["Out of office"].startswith(AUTO_PREFIX + "auto-replied]")
    assert first["Undelivered Mail Returned to Sender"].startswith(AUTO_PREFIX + "bounce]")
    assert first["Newsletter"].startswith(AUTO_PREFIX + "bulk]")
    assert not first["A person"].startswith(AUTO_PREFIX)


async def test_doctor_lines(dovecot, smtp):
    assert await backend(dovecot, smtp, sent_folder="Sent").check() == []
    lines = await backend(dovecot, smtp, folders=["INBOX", "Support"]).check()
    assert (
        lines == [lines[0]]
        and "IMAP folder 'Support' does not exist" in lines[0]
        and "INBOX" in lines[0]
    )
    [line] = (
        await backend(
            dovecot,
            smtp,
            imap_host="no-such-host.invalid",
            imap_tls="implicit",
            smtp_host="127.0.0.1",
        ).check()
    )[:1]
    assert "not found (DNS" in line and "imap_host" in line
    line = (await backend(dovecot, smtp, imap_tls="implicit").check())[0]
    assert "TLS handshake" in line and "imap_tls" in line
    line = (await backend(dovecot, smtp, imap_port=servers.free_port()).check())[0]
    assert "refused the connection" in line
    line = (await backend(dovecot, smtp, smtp_port=servers.free_port()).check())[0]
    assert line.startswith("SMTP server") and "refused" in line
    [line] = await backend(dovecot, smtp, imap_host="imap.example.com").check()
    assert 'imap_tls = "none"' in line and "loopback" in line
    [line] = await EmailBackend("mail", settings(dovecot, smtp)).check()
    assert "frontdesk creds set mail password" in line


def await_(coro):
    return asyncio.run(coro)


def test_doctor_cli_and_tls(tmp_path, monkeypatch, capsys):
    """`frontdesk doctor` on a config with an email channel behind STARTTLS and implicit TLS."""
    from frontdesk import cli

    server = servers.start_dovecot(tls=True)
    sink = servers.SmtpSink()
    sink.start()
    try:
        config = tmp_path / "config.toml"
        config.write_text(
            f"""
[[channels]]
name = "support"
backend = "email"
imap_host = "localhost"
imap_port = {server.port}
imap_tls = "starttls"
tls_ca_file = "{server.cert}"
smtp_host = "127.0.0.1"
smtp_port = {sink.port}
smtp_tls = "none"
username = "{servers.USER}"
address = "{servers.USER}"
folders = ["INBOX"]

[[channels]]
name = "support-tls"
backend = "email"
imap_host = "127.0.0.1"
imap_port = {server.tls_port}
imap_tls = "implicit"
smtp_host = "127.0.0.1"
smtp_port = {sink.port}
smtp_tls = "none"
username = "{servers.USER}"
address = "{servers.USER}"
"""
        )
        monkeypatch.setenv("FRONTDESK_SECRET_SUPPORT_PASSWORD", servers.PASSWORD)
        monkeypatch.setenv("FRONTDESK_SECRET_SUPPORT_TLS_PASSWORD", servers.PASSWORD)
        code = cli.main(["doctor", "--config", str(config), "--data-dir", str(tmp_path / "data")])
        out = capsys.readouterr().out
        assert "ok: channel support (email)" in out
        # the second channel has no tls_ca_file: the self-signed certificate is refused, with the fix
        assert (
            "problem: channel support-tls: IMAP TLS certificate of 127.0.0.1 not accepted" in out
        ), out
        assert "tls_ca_file" in out and code == 1

        # a wrong password (last: Dovecot then slows down logins from this address for a while)
        open_smtp = servers.SmtpSink(auth=False)
        open_smtp.start()
        try:
            [line] = await_(backend(server, open_smtp, password="wrong").check())
        finally:
            open_smtp.stop()
        assert "IMAP login refused" in line and "`frontdesk creds set mail password`" in line
    finally:
        sink.stop()
        servers.cleanup(server)


async def test_starttls_and_implicit_tls_sync(tmp_path):
    server = servers.start_dovecot(tls=True)
    try:
        await server.append(mail(subject="Over TLS"))
        for extra in (
            {"imap_tls": "starttls", "imap_host": "localhost"},
            {"imap_tls": "implicit", "imap_port": server.tls_port, "imap_host": "localhost"},
        ):
            with Store.open(tmp_path / extra["imap_tls"]) as store:
                b = backend(server, tls_ca_file=str(server.cert), **extra)
                desk = Desk(store, {"mail": b})
                await b.fetch_once(desk)
                assert [c.subject for c in await desk.conversations()] == ["Over TLS"]
    finally:
        servers.cleanup(server)


# ---- a mailbox of real size (issue 14: 10,000 mails never synced) ----------------------------------


class Killed(BaseException):
    """Stands for the process dying mid-sync (not an Exception: nothing in the backend may catch it)."""


class Journal:
    """A Sink in front of the desk that records every commit (events + cursor), and can die at commit `die_at`."""

    def __init__(self, desk: Desk, die_at: int | None = None) -> None:
        self.desk = desk
        self.die_at = die_at
        self.commits: list[tuple[list, str | None]] = []
        self.started = time.monotonic()
        self.first_stored: float | None = None

    async def ingest(self, channel, events, cursor=None):
        inbound = [e for e in events if not isinstance(e, ChannelStatus)]
        if (
            inbound
            and self.die_at is not None
            and sum(1 for e, _ in self.commits if e) + 1 == self.die_at
        ):
            raise Killed()
        await self.desk.ingest(channel, events, cursor)
        self.commits.append((inbound, cursor))
        if inbound and self.first_stored is None:
            self.first_stored = time.monotonic() - self.started

    @property
    def read(self) -> list[str]:
        return [e.external_id for events, _ in self.commits for e in events]


@pytest.fixture(scope="module")
def big_dovecot():
    """A Dovecot whose INBOX holds 10,000 plain mails over the last 29 days (written before it starts)."""
    server = servers.start_dovecot(prefill=10_000)
    yield server
    servers.cleanup(server)


@pytest.mark.slow
async def test_first_sync_of_10000_mails_reads_newest_first_in_bounded_fetches(
    big_dovecot, store, capsys, monkeypatch
):
    from frontdesk.backends.imap_session import Imap

    asked: list[int] = []
    fetch = Imap.fetch

    async def counting_fetch(self, uids, items, timeout=None):
        asked.append(len(uids))
        return await fetch(self, uids, items, timeout)

    monkeypatch.setattr(Imap, "fetch", counting_fetch)
    b = backend(big_dovecot, sync_days=30)
    desk = Desk(store, {"mail": b}, agent="Aiko")
    journal = Journal(desk)
    started = time.monotonic()
    await asyncio.wait_for(b.fetch_once(journal), 120)
    elapsed = time.monotonic() - started

    first_events = next(events for events, _ in journal.commits if events)
    assert first_events[0].external_id == big_dovecot.prefilled[-1], (
        "the first commit holds the newest mail"
    )
    assert sorted(journal.read) == sorted(big_dovecot.prefilled), "every mail read exactly once"
    convs = await desk.conversations()
    assert len(convs) == 10_000 and sum(c.message_count for c in convs) == 10_000
    assert max(asked) <= 200, "no FETCH long enough to overflow aioimaplib's parser (issue #118)"
    state = read_cursor(store.cursor("mail"))["INBOX"]
    assert state.seen == 10_000 and not state.backfilling
    with capsys.disabled():
        print(
            f"\nfirst sync of 10,000 mails: {elapsed:.1f} s; first conversation stored after {journal.first_stored:.2f} s"
        )
    assert elapsed < 60, elapsed


@pytest.mark.slow
async def test_a_sync_killed_in_the_middle_resumes_without_loss_or_duplicates(tmp_path):
    server = servers.start_dovecot(prefill=2_000)
    try:
        with Store.open(tmp_path / "data") as store:
            desk = Desk(store, {}, agent="Aiko")
            first = Journal(desk, die_at=7)
            with pytest.raises(Killed):
                await backend(server, sync_days=30).fetch_once(first)
            read_before = first.read
            assert len(read_before) == 6 * 25 and read_before[0] == server.prefilled[-1]
            cursor = store.cursor("mail")
            assert read_cursor(cursor)["INBOX"].backfilling

            # the process restarts from what the store committed
            second = Journal(desk)
            await backend(server, cursor=cursor, sync_days=30).fetch_once(second)
            assert not set(second.read) & set(read_before), (
                "nothing committed before the kill is read again"
            )
            assert second.read[0] == server.prefilled[-1 - len(read_before)], (
                "it goes on where it stopped"
            )
            assert sorted(read_before + second.read) == sorted(server.prefilled)
            convs = await desk.conversations()
            assert len(convs) == 2_000 and sum(c.message_count for c in convs) == 2_000
            assert not read_cursor(store.cursor("mail"))["INBOX"].backfilling
    finally:
        servers.cleanup(server)


@pytest.mark.parametrize("server_threads", [True, False], ids=["THREAD REFS", "own header index"])
async def test_first_sync_keeps_each_conversation_in_order_while_reading_the_newest_first(
    dovecot, store, monkeypatch, server_threads
):
    from frontdesk.backends.imap_session import Imap

    if (
        not server_threads
    ):  # a server without THREAD=REFS (Gmail, Exchange): the backend groups by headers

        async def no_threads(self, *criteria):
            return None

        monkeypatch.setattr(Imap, "threads", no_threads)
    day = timedelta(days=1)
    now = datetime.now(timezone.utc)
    # an old conversation that goes on today, and a conversation of yesterday in between
    await dovecot.append(
        mail(subject="Broken zip", msgid="<z1@customer.test>", body="first", date=now - 5 * day)
    )
    await dovecot.append(
        mail(
            subject="Invoice", msgid="<i1@other.test>", sender="Bo <bo@other.test>", date=now - day
        )
    )
    await dovecot.append(
        mail(
            subject="Re: Broken zip",
            msgid="<z2@customer.test>",
            body="second",
            date=now - 2 * day,
            In_Reply_To="<z1@customer.test>",
            References="<z1@customer.test>",
        )
    )
    await dovecot.append(
        mail(
            subject="Re: Broken zip",
            msgid="<z3@customer.test>",
            body="third",
            date=now,
            In_Reply_To="<z2@customer.test>",
            References="<z1@customer.test> <z2@customer.test>",
        )
    )
    b = backend(dovecot)
    desk = Desk(store, {"mail": b}, agent="Aiko")
    journal = Journal(desk)
    await b.fetch_once(journal)
    assert journal.read == [
        "<z1@customer.test>",
        "<z2@customer.test>",
        "<z3@customer.test>",
        "<i1@other.test>",
    ]
    zip_conv = next(c for c in await desk.conversations() if c.subject == "Broken zip")
    assert [m.body for m in await desk.thread(zip_conv.id)] == ["first", "second", "third"]


async def test_a_mail_the_server_always_fails_on_shows_down_then_is_set_aside(store):
    server = servers.start_dovecot(prefill=30)
    try:
        newest = sorted((server.root / "mail" / "Maildir" / "cur").iterdir())[-1]
        newest.chmod(
            0
        )  # Dovecot cannot read it: every FETCH that touches it ends the session with BYE
        b = backend(server, sync_days=30)
        desk = Desk(store, {"mail": b}, agent="Aiko")
        sink = Recorder(desk)
        task = asyncio.create_task(b.run(sink))
        try:
            await wait_for(lambda: sum(s.state == "down" for s in sink.statuses) >= 2, timeout=20)
            down = [s.detail for s in sink.statuses if s.state == "down"]
            assert "FETCH" in down[-1] and "Internal error" in down[-1], down[-1]
            assert "failed 2 times in a row, no mail read in between" in down[-1], down[-1]

            async def all_there():
                return len(await desk.conversations()) == 30

            await wait_for(all_there, timeout=20)
            await wait_for(lambda: sink.statuses[-1].state == "ok", timeout=10)
            assert [s.state for s in sink.statuses].count("ok") == 1, (
                "ok once the mail comes in again, and not again after"
            )
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await b.close()
        unreadable = [
            c for c in await desk.conversations() if c.preview.startswith("(the mail server failed")
        ]
        assert len(unreadable) == 1 and "UID 30 in INBOX" in unreadable[0].preview
        assert "Internal error" in (await desk.thread(unreadable[0].id))[0].body
    finally:
        servers.cleanup(server)


async def test_a_mailbox_that_keeps_failing_shows_down_with_the_reason(own_dovecot, store):
    b = backend(own_dovecot, timeout_seconds=2)
    desk = Desk(store, {"mail": b}, agent="Aiko")
    sink = Recorder(desk)
    own_dovecot.stop()
    task = asyncio.create_task(b.run(sink))
    try:
        await wait_for(lambda: sum(s.state == "down" for s in sink.statuses) >= 3, timeout=10)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    down = desk.channel_status["mail"]
    assert down.state == "down" and "refused the connection" in down.detail
    assert "failed 3 times in a row" in down.detail, down.detail


async def test_sync_once_sets_aside_a_mail_the_server_always_fails_on(store):
    server = servers.start_dovecot(prefill=30)
    try:
        sorted((server.root / "mail" / "Maildir" / "cur").iterdir())[5].chmod(0)
        b = backend(server, sync_days=30)
        desk = Desk(store, {"mail": b}, agent="Aiko")
        await b.fetch_once(desk)
        convs = await desk.conversations()
        assert len(convs) == 30
        assert [c.preview for c in convs if c.preview.startswith("(the mail server failed")][
            0
        ].count("UID 6 in INBOX") == 1
    finally:
        servers.cleanup(server)


async def test_sync_once_names_the_folder_and_the_reason_when_the_server_fails(own_dovecot, store):
    from frontdesk import errors
    from frontdesk.backends.base import TransientError

    own_dovecot.stop()
    b = backend(own_dovecot, timeout_seconds=2)
    with pytest.raises(TransientError) as failed:
        await b.fetch_once(Desk(store, {"mail": b}))
    assert errors.one_line(failed.value).startswith("IMAP INBOX: IMAP server 127.0.0.1:")
    assert "refused the connection" in errors.one_line(failed.value)
