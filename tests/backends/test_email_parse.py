"""Email content rules without a server: charsets, HTML, quoted history, loop flags, file names, threading, replies."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from frontdesk.backends.base import ConfigError, PermanentError
from frontdesk.backends.base import safe_filename, write_unique
from frontdesk.backends.email import EmailBackend
from frontdesk.backends.email_send import message_id_for
from frontdesk.backends.email_settings import read_settings
from frontdesk.backends.email_threads import ThreadMap
from frontdesk.backends.email_html import html_to_text
from frontdesk.backends.email_parse import (
    AUTO_PREFIX,
    QUOTE_MARKER,
    decode_text,
    normalise_subject,
    parse,
    reply_subject,
    split_quoted,
)
from frontdesk.model import Outgoing

BASE = {"imap_host": "imap.example.com", "username": "support@example.com"}


def raw(headers: str, body: bytes = b"hello\r\n") -> bytes:
    return headers.replace("\n", "\r\n").encode() + b"\r\n" + body


def test_shift_jis_with_windows_extensions_and_iso_2022_jp():
    assert decode_text("①～㈱".encode("cp932"), "Shift_JIS") == "①～㈱"
    assert decode_text("こんにちは".encode("iso-2022-jp"), "ISO-2022-JP") == "こんにちは"
    assert decode_text("こんにちは".encode("iso-2022-jp"), None) == "こんにちは"  # unlabelled JIS
    assert decode_text(b"caf\xe9", "x-no-such-charset") == "caf\ufffd" or decode_text(
        b"caf\xe9", "x-no-such-charset"
    ).startswith("caf")


def test_html_only_mail_becomes_readable_text():
    html = (
        "<html><head><style>p{color:red}</style><script>alert(1)</script></head><body>"
        "<p>Hello&nbsp;there,</p><p>Your order:<br>#1234</p><ul><li>Lamp</li><li>Bulb</li></ul>"
        '<p>Track it <a href="https://track.example/1234">here</a>.</p></body></html>'
    )
    text = html_to_text(html)
    assert "alert" not in text and "color" not in text and "<" not in text.replace("<https", "")
    assert "Hello there," in text and "#1234" in text and "- Lamp\n- Bulb" in text
    assert "https://track.example/1234" in text
    mail = parse(raw("From: a@b.test\nContent-Type: text/html; charset=utf-8\n", html.encode()))
    assert mail.body.startswith("Hello there,")


def test_plain_text_is_preferred_over_html():
    body = (
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain version\r\n"
        b"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>html version</p>\r\n--b--\r\n"
    )
    mail = parse(
        raw(
            'From: a@b.test\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary="b"\n',
            body,
        )
    )
    assert mail.body == "plain version"


def test_quoted_history_is_kept_and_marked():
    body = b"Thanks, that worked!\r\n\r\nOn Mon, 2 Nov 2026 at 10:00, Support <s@x.test> wrote:\r\n> Try turning it off.\r\n> And on again.\r\n"
    mail = parse(raw("From: a@b.test\nContent-Type: text/plain; charset=utf-8\n", body))
    new, quoted = split_quoted(mail.body)
    assert new.strip() == "Thanks, that worked!"
    assert quoted.startswith("On Mon, 2 Nov 2026") and "> And on again." in quoted
    assert mail.body.count(QUOTE_MARKER) == 1
    outlook = "Sure.\n\nFrom: Support <s@x.test>\nSent: Monday\nTo: me\nSubject: hi\n\nold text"
    mail = parse(raw("From: a@b.test\nContent-Type: text/plain; charset=utf-8\n", outlook.encode()))
    assert split_quoted(mail.body) == (
        "Sure.\n",
        "From: Support <s@x.test>\nSent: Monday\nTo: me\nSubject: hi\n\nold text",
    )
    jp = "承知しました。\n\n2026年11月2日(月) 10:00 Support <s@x.test>:\n> 再起動してください"
    assert (
        QUOTE_MARKER
        in parse(raw("From: a@b.test\nContent-Type: text/plain; charset=utf-8\n", jp.encode())).body
    )
    assert (
        QUOTE_MARKER not in parse(raw("From: a@b.test\n", b"> only a quote\r\n")).body
    )  # nothing new before it


@pytest.mark.parametrize(
    "headers, kind",
    [
        ("Auto-Submitted: auto-replied", "auto-replied"),
        ("Auto-Submitted: no", ""),
        ("Precedence: bulk", "bulk"),
        ("Precedence: junk", "bulk"),
        ("Precedence: list", "bulk"),
        ("List-Id: <news.example.test>", "bulk"),
        ("X-Autoreply: yes", "auto-replied"),
        ("Return-Path: <>", "bounce"),
        ("Content-Type: multipart/report; report-type=delivery-status; boundary=x", "bounce"),
    ],
)
def test_machine_mail_is_marked(headers, kind):
    mail = parse(raw(f"From: a@b.test\nSubject: x\n{headers}\n"))
    assert mail.auto == kind
    assert mail.body.startswith(f"{AUTO_PREFIX}{kind}]") == bool(kind)
    assert parse(raw("From: MAILER-DAEMON@mx.test\n")).auto == "bounce"


def test_malformed_mail_never_raises():
    for blob in (
        b"",
        b"\x00\xff" * 100,
        b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n--\r\n",
        b"Subject: =?utf-8?B?!!!?=\r\nFrom: <<<@>>>\r\nDate: yesterday\r\n\r\nbody",
        b'Content-Type: text/plain; charset="\xff"\r\n\r\nx',
    ):
        mail = parse(blob)
        assert mail.external_id.startswith("<")
    no_id = parse(b"From: a@b.test\r\n\r\nsame")
    assert (
        no_id.external_id == parse(b"From: a@b.test\r\n\r\nsame").external_id
    )  # a hash of the raw mail


def test_attachments_are_listed_with_name_type_and_size():
    body = (
        b"--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        b'--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="=?utf-8?B?6KuL5rGC5pu4LnBkZg==?="\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n"
    )
    mail = parse(raw('From: a@b.test\nContent-Type: multipart/mixed; boundary="b"\n', body))
    assert mail.body == "see attached"
    [att] = mail.attachments
    assert (att.name, att.mime, att.size) == ("請求書.pdf", "application/pdf", 9)


@pytest.mark.parametrize(
    "name, safe",
    [
        ("../../etc/passwd", "passwd"),
        ("/etc/shadow", "shadow"),
        ("C:\\Windows\\system32\\evil.dll", "evil.dll"),
        ("..", "attachment"),
        ("CON.txt", "_CON.txt"),
        ("nul", "_nul"),
        (".bashrc", "bashrc"),
        ("in\x1b[31mvoice\u202etxt.exe", "in[31mvoicetxt.exe"),
        ("a" * 300 + ".pdf", "a" * 146 + ".pdf"),
        # bounded in bytes, not characters: 150 emoji were 600 bytes, over the 255 a file system takes
        ("😀" * 200, "😀" * 37),
        # a 300-character "extension" left an empty stem: a hidden file of 301 characters
        ("a." + "b" * 300, "a." + "b" * 148),
        ("con .txt", "_con.txt"),
        ("COM¹.log", "_COM¹.log"),
    ],
)
def test_attachment_names_are_sanitised(name, safe):
    assert safe_filename(name) == safe


def test_write_unique_never_overwrites_or_follows_links(tmp_path):
    first = write_unique(tmp_path, "a.txt", b"1")
    second = write_unique(tmp_path, "a.txt", b"2")
    assert (first.name, second.name) == ("a.txt", "a (1).txt")
    (tmp_path / "link.txt").symlink_to(tmp_path / "target")
    third = write_unique(tmp_path, "link.txt", b"3")
    assert third.name == "link (1).txt" and not (tmp_path / "target").exists()


def test_subjects():
    assert normalise_subject("Re: AW: Fwd:  Order   #12") == "order #12"
    assert normalise_subject("RE: [Ticket 7] order") == "order"
    assert reply_subject("Re: Re: order") == "Re: order"
    assert reply_subject("注文について") == "Re: 注文について"
    assert reply_subject("") == "Re: your message"


def _mail(**kw):
    defaults = dict(
        subject="Order", from_addr="c@x.test", date=datetime(2026, 11, 1, tzinfo=timezone.utc)
    )
    defaults.update(kw)
    body = "".join(
        f"{k.replace('_', '-')}: {v}\r\n"
        for k, v in kw.items()
        if k in ("Message_ID", "In_Reply_To", "References")
    )
    mail = parse(
        f"From: {defaults['from_addr']}\r\nSubject: {defaults['subject']}\r\nDate: Sun, 1 Nov 2026 00:00:00 +0000\r\n{body}\r\nx".encode()
    )
    return mail


def test_thread_keys():
    threads = ThreadMap()
    root = _mail(Message_ID="<a@x>")
    key = threads.key_for(root, "c@x.test")
    assert key == "<a@x>"
    threads.learn(root, key, "c@x.test")
    # a reply naming the root in References, or only its parent in In-Reply-To, joins
    assert threads.key_for(_mail(Message_ID="<b@x>", References="<a@x>"), "c@x.test") == "<a@x>"
    threads.learn_sent("<ours@x>", "<a@x>", ["<a@x>"])
    assert threads.key_for(_mail(Message_ID="<c@x>", In_Reply_To="<ours@x>"), "c@x.test") == "<a@x>"
    # no threading headers: the same normalised subject from the same person joins a recent thread
    assert threads.key_for(_mail(Message_ID="<d@x>", subject="Re: order"), "c@x.test") == "<a@x>"
    assert (
        threads.key_for(_mail(Message_ID="<e@x>", subject="Re: order"), "other@x.test") == "<e@x>"
    )
    assert (
        threads.key_for(_mail(Message_ID="<f@x>", subject="Something else"), "c@x.test") == "<f@x>"
    )
    # an unknown thread: its root is the first of References
    assert (
        threads.key_for(_mail(Message_ID="<g@x>", References="<r0@y> <r1@y>"), "z@x.test")
        == "<r0@y>"
    )
    assert threads.references_for("<a@x>", "<c@x>") == ["<a@x>", "<c@x>"]


def test_settings_are_validated():
    cfg = read_settings("mail", BASE)
    assert (cfg.imap_port, cfg.smtp_port, cfg.smtp_host, cfg.address, cfg.folders) == (
        993,
        587,
        "imap.example.com",
        "support@example.com",
        ("INBOX",),
    )
    with pytest.raises(ConfigError, match="loopback"):
        read_settings("mail", {**BASE, "imap_tls": "none"})
    with pytest.raises(ConfigError, match="imap_tls must be"):
        read_settings("mail", {**BASE, "imap_tls": "ssl"})
    with pytest.raises(ConfigError, match="imap_host is not set"):
        read_settings("mail", {"username": "x@y"})
    assert (
        read_settings(
            "mail", {**BASE, "imap_host": "127.0.0.1", "imap_tls": "none", "smtp_tls": "none"}
        ).imap_port
        == 143
    )
    assert (
        EmailBackend.secret_names == ("password",)
        and "password" not in EmailBackend.settings_schema
    )


def test_reply_headers_and_deterministic_message_id():
    backend = EmailBackend("mail", {**BASE, "display_name": "Support"})
    out = Outgoing(
        1,
        1,
        "<root@c.test>",
        "mia@c.test",
        "Hello",
        subject="Order",
        idempotency_key="k1",
        reply_to_external_id="<last@c.test>",
    )
    first, again = backend.compose(out), backend.compose(out)
    assert (
        first["Message-ID"]
        == again["Message-ID"]
        == message_id_for("k1", "mail", "support@example.com")
    )
    assert first["Subject"] == "Re: Order" and first["In-Reply-To"] == "<last@c.test>"
    assert first["References"] == "<root@c.test> <last@c.test>"
    assert str(first["From"]) == "Support <support@example.com>"
    assert (
        backend.compose(Outgoing(1, 1, "k", "m@c.test", "x", idempotency_key="k2"))["Message-ID"]
        != first["Message-ID"]
    )
    with pytest.raises(PermanentError):
        backend.compose(Outgoing(1, 1, "k", "not an address\r\nBcc: x@y", "x"))


def test_an_automatic_reply_says_so_so_other_robots_do_not_answer_it():
    backend = EmailBackend("mail", BASE)
    person = backend.compose(Outgoing(1, 1, "k", "m@c.test", "Hello"))
    robot = backend.compose(Outgoing(2, 1, "k", "m@c.test", "We are closed", automated=True))
    assert person["Auto-Submitted"] == "no"
    assert robot["Auto-Submitted"] == "auto-replied"
    assert parse(robot.as_bytes()).auto == "auto-replied"  # frontdesk itself would not answer it
