"""Real mail servers for the email tests: a throwaway Dovecot (IMAP) and an aiosmtpd SMTP sink.

Not a test module (no `test_` prefix): test files put this folder on sys.path and import it.
Dovecot runs in the foreground (`dovecot -F -c conf`) on a loopback high port with a
config, a passwd-file user and a maildir under a fresh temporary folder, and is stopped
(SIGTERM, then SIGKILL) when the test ends.
"""

from __future__ import annotations

import asyncio
import imaplib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

USER = "support@example.test"
PASSWORD = "s3cret-pass"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot",) if os.path.exists(p)), None
    )


def _mail_owner() -> tuple[int, int]:
    """uid/gid the mail processes run as: the `dovecot` user when we are root (Dovecot refuses uid 0)."""
    if os.geteuid() != 0:
        return os.getuid(), os.getgid()
    import pwd

    for name in ("dovecot", "nobody"):
        try:
            entry = pwd.getpwnam(name)
            return entry.pw_uid, entry.pw_gid
        except KeyError:
            continue
    raise RuntimeError("no unprivileged user to run Dovecot's mail processes as")


@dataclass
class Dovecot:
    """A running Dovecot; `port` speaks plain IMAP (+STARTTLS when `tls`), `tls_port` implicit TLS."""

    root: Path
    port: int
    tls_port: int | None
    process: subprocess.Popen
    conf: Path
    cert: Path | None = None
    user: str = USER
    password: str = PASSWORD
    log: Path = field(default_factory=Path)
    prefilled: list[str] = field(default_factory=list)

    # ---- test-side IMAP (stdlib imaplib, in a thread, independent of the code under test) ---

    def client(self) -> imaplib.IMAP4:
        """A new IMAP session on this server, logged in as its user."""
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        client.login(self.user, self.password)
        return client

    def append_sync(self, raw: bytes, folder: str = "INBOX") -> None:
        client = self.client()
        try:
            typ, data = client.append(_quote(folder), None, None, raw)
            assert typ == "OK", (typ, data)
        finally:
            client.logout()

    async def append(self, raw: bytes | EmailMessage, folder: str = "INBOX") -> None:
        if isinstance(raw, EmailMessage):
            raw = raw.as_bytes(policy=policy.SMTP)
        await asyncio.to_thread(self.append_sync, raw, folder)

    def imap_sync(self, *commands: tuple[str, ...]) -> list:
        """Run imaplib calls like ("create", "Support") in one session; returns their results."""
        client = self.client()
        try:
            return [getattr(client, name)(*args) for name, *args in commands]
        finally:
            client.logout()

    async def imap(self, *commands: tuple[str, ...]) -> list:
        return await asyncio.to_thread(self.imap_sync, *commands)

    def messages_sync(self, folder: str) -> list:
        client = self.client()
        try:
            typ, _ = client.select(_quote(folder), readonly=True)
            if typ != "OK":
                return []
            _, data = client.uid("SEARCH", None, "ALL")
            out = []
            for uid in data[0].split():
                _, fetched = client.uid("FETCH", uid, "(BODY.PEEK[])")
                out.append(message_from_bytes(fetched[0][1], policy=policy.default))
            return out
        finally:
            client.logout()

    async def messages(self, folder: str) -> list:
        return await asyncio.to_thread(self.messages_sync, folder)

    def doveadm(self, *args: str) -> str:
        doveadm = shutil.which("doveadm") or "/usr/bin/doveadm"
        done = subprocess.run(
            [doveadm, "-c", str(self.conf), *args], capture_output=True, text=True, timeout=20
        )
        if done.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def as_user(self, n: int) -> "Dovecot":
        """The same server, seen as test user number `n` (0 is USER)."""
        from dataclasses import replace

        return replace(self, user=USER if n == 0 else f"user{n}@example.test")

    def restart(self) -> None:
        """Start the server again with the same config and ports (after `stop`)."""
        self.process = subprocess.Popen(
            [dovecot_binary(), "-F", "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def _quote(folder: str) -> str:
    return folder if folder.isalnum() else '"' + folder.replace('"', '\\"') + '"'


def make_cert(root: Path) -> Path | None:
    """A self-signed certificate for 127.0.0.1/localhost (PEM with key), or None without openssl."""
    openssl = shutil.which("openssl")
    if not openssl:
        return None
    key, crt = root / "key.pem", root / "cert.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(crt),
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return crt


def write_maildir(
    home: Path, count: int, days: float = 29, now: float | None = None, size: int = 700
) -> list[str]:
    """Write `count` plain mails straight into `home`/Maildir (before Dovecot starts: ~1 s for 10,000).

    Mail n (0 = oldest) is from customer n % 500 with Message-ID <bulk-n@customer.test>,
    dated evenly over the last `days` days; its file's mtime is that date, which Dovecot
    takes as INTERNALDATE. File names sort by date, the order Dovecot gives UIDs in.
    Returns the Message-IDs, oldest first (UID n + 1 is mail n).
    """
    now = time.time() if now is None else now
    uid, gid = _mail_owner()
    maildir = home / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
        os.chown(maildir / sub, uid, gid)
    os.chown(maildir, uid, gid)
    step = days * 86400 / max(count, 1)
    filler = (
        "Lorem ipsum dolor sit amet, my order has not arrived and I would like to know why. " * 20
    )
    ids = []
    for n in range(count):
        when = now - days * 86400 + (n + 1) * step - 60
        msgid = f"<bulk-{n}@customer.test>"
        head = (
            f"From: Customer {n % 500} <customer{n % 500}@customer.test>\r\nTo: {USER}\r\n"
            f"Subject: Order question {n}\r\nDate: {format_datetime(datetime.fromtimestamp(when, timezone.utc))}\r\n"
            f"Message-ID: {msgid}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        )
        body = f"Mail number {n}. " + filler
        raw = (head + body[: max(0, size - len(head) - 2)] + "\r\n").encode()
        path = maildir / "cur" / f"{int(when):010d}.M{n:08d}P1.fdtest,S={len(raw)}:2,"
        path.write_bytes(raw)
        os.utime(path, (when, when))
        os.chown(path, uid, gid)
        ids.append(msgid)
    return ids


def start_dovecot(
    tls: bool = False, users: int = 1, prefill: int = 0, prefill_days: float = 29
) -> Dovecot:
    """Start a private Dovecot; raises RuntimeError with its log when it does not come up.

    It knows USER and, with `users` > 1, also user1@… userN-1@… (same password), so tests
    can share one server and still each have an empty mailbox (`server.as_user(n)`).
    `prefill` mails are written into USER's Maildir first (see `write_maildir`); their
    Message-IDs are in `server.prefilled`.
    """
    binary = dovecot_binary()
    if binary is None:
        raise RuntimeError("dovecot is not installed")
    root = Path(tempfile.mkdtemp(prefix="fd-dovecot-"))
    os.chmod(root, 0o755)
    uid, gid = _mail_owner()
    mail = root / "mail"
    mail.mkdir()
    os.chown(mail, uid, gid)
    (root / "run").mkdir()
    port, tls_port = free_port(), (free_port() if tls else None)
    cert = make_cert(root) if tls else None
    if tls and cert is None:
        raise RuntimeError("openssl is not installed")
    lines = []
    for n in range(users):
        home = mail if n == 0 else mail / f"user{n}"
        home.mkdir(exist_ok=True)
        os.chown(home, uid, gid)
        lines.append(
            f"{USER if n == 0 else f'user{n}@example.test'}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{home}::"
        )
    (root / "passwd").write_text("\n".join(lines) + "\n")
    os.chmod(root / "passwd", 0o644)
    me = __import__("pwd").getpwuid(os.geteuid()).pw_name
    internal = "dovecot" if os.geteuid() == 0 else me
    login = "dovenull" if os.geteuid() == 0 else me
    ssl_lines = (
        f"ssl = yes\nssl_cert = <{cert}\nssl_key = <{root / 'key.pem'}\n" if tls else "ssl = no\n"
    )
    tls_listener = (
        f"  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {tls_port}\n    ssl = yes\n  }}\n"
        if tls
        else "  inet_listener imaps {\n    port = 0\n  }\n"
    )
    conf = root / "dovecot.conf"
    conf.write_text(
        f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root / "run"}
state_dir = {root / "state"}
instance_name = fd-test-{port}
log_path = {root / "dovecot.log"}
info_log_path = {root / "dovecot.log"}
default_internal_user = {internal}
default_internal_group = {internal}
default_login_user = {login}
first_valid_uid = 0
disable_plaintext_auth = no
auth_failure_delay = 0
login_trusted_networks = 127.0.0.0/8
auth_mechanisms = plain login
{ssl_lines}
mail_location = maildir:~/Maildir
mail_uid = {uid}
mail_gid = {gid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root / "passwd"}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root / "passwd"}
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = create
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
{tls_listener}}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
protocol imap {{
  imap_idle_notify_interval = 2 mins
}}
"""
    )
    (root / "state").mkdir()
    prefilled = write_maildir(mail, prefill, prefill_days) if prefill else []
    process = subprocess.Popen(
        [binary, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    server = Dovecot(
        root, port, tls_port, process, conf, cert, log=root / "dovecot.log", prefilled=prefilled
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise RuntimeError(f"dovecot exited: {err} {_tail(server.log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(100).startswith(b"* OK"):
                    return server
        except OSError:
            time.sleep(0.05)  # polling: dovecot is not listening yet
    server.stop()
    raise RuntimeError(f"dovecot did not answer on port {port}: {_tail(server.log)}")


def _tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-2000:]
    except OSError:
        return ""


def cleanup(server: Dovecot) -> None:
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)


# ---- SMTP: aiosmtpd ---------------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self):
        return message_from_bytes(self.raw, policy=policy.default)


class SmtpSink:
    """An aiosmtpd server on loopback that keeps every message; optional AUTH with the test user."""

    def __init__(self, auth: bool = True) -> None:
        from aiosmtpd.controller import Controller

        self.received: list[Received] = []
        self.arrived = asyncio.Event() if False else None  # set per loop by the test when needed
        self.port = free_port()
        self.fail_next: list[
            str
        ] = []  # SMTP replies to give instead of accepting, e.g. "451 try later"
        handler = _Handler(self)
        kwargs = {}
        if auth:
            import warnings

            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
            import logging

            logging.getLogger("mail.log").setLevel(logging.ERROR)
            kwargs = dict(
                authenticator=_authenticator,
                auth_require_tls=False,
                auth_required=True,
            )
        self.controller = Controller(handler, hostname="127.0.0.1", port=self.port, **kwargs)

    def start(self) -> None:
        self.controller.start()

    def as_user(self, n: int) -> "Dovecot":
        """The same server, seen as test user number `n` (0 is USER)."""
        from dataclasses import replace

        return replace(self, user=USER if n == 0 else f"user{n}@example.test")

    def restart(self) -> None:
        """Start the server again with the same config and ports (after `stop`)."""
        self.process = subprocess.Popen(
            [dovecot_binary(), "-F", "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        self.controller.stop()


def _authenticator(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode().endswith("example.test")
        and auth_data.password.decode() == PASSWORD
    )
    return AuthResult(success=ok)


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):
        if self.sink.fail_next:
            return self.sink.fail_next.pop(0)
        self.sink.received.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.original_content or envelope.content,
            )
        )
        return "250 OK"
