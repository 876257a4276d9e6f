"""Email: the first sync of a big mailbox from a private Dovecot on loopback, headless and on screen."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from frontdesk.bench.report import Report
from frontdesk.bench.startup import start_console


def mail_servers() -> Any | None:
    """tests/email_servers.py of the source checkout (the Dovecot harness), or None when it is not there."""
    import importlib.util

    path = Path(__file__).parent.parent / "tests" / "email_servers.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location("frontdesk_bench_email_servers", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _email_settings(port: int, user: str) -> dict[str, Any]:
    return {
        "imap_host": "127.0.0.1",
        "imap_port": port,
        "imap_tls": "none",
        "smtp_tls": "none",
        "username": user,
        "sync_days": 30,
        "sent_folder": "",
    }


def email_console_child(root: str, port: str, user: str, password: str) -> None:
    """What the parent spawns for the email figure: the console with one email channel on an empty cache."""
    from frontdesk.backends.email import EmailBackend
    from frontdesk.desk import Desk
    from frontdesk.launch import make_app, resolve_keymap, run_session
    from frontdesk.store import Store

    with Store.open(root) as store:
        channel = EmailBackend(
            "mail",
            _email_settings(int(port), user),
            lambda key: password if key == "password" else None,
        )
        desk = Desk(store, {"mail": channel}, agent="Aiko")
        run_session(
            desk, make_app(desk, keymap=resolve_keymap("default", None), cursor_blink=False)
        )


class _FirstStored:
    """A Sink in front of the desk that notes when the first message is stored."""

    def __init__(self, desk: Any) -> None:
        self.desk = desk
        self.started = time.monotonic()
        self.first: float | None = None

    async def ingest(self, channel: str, events: list[Any], cursor: str | None = None) -> None:
        await self.desk.ingest(channel, events, cursor)
        if events and self.first is None:
            self.first = time.monotonic() - self.started


async def _first_sync(root: Path, port: int, user: str, password: str) -> tuple[float, float, int]:
    """Seconds for `sync --once`'s work on an empty cache, seconds until its first message was stored, conversations."""
    from frontdesk.backends.email import EmailBackend
    from frontdesk.desk import Desk
    from frontdesk.store import Store

    with Store.open(root) as store:
        channel = EmailBackend(
            "mail", _email_settings(port, user), lambda key: password if key == "password" else None
        )
        desk = Desk(store, {"mail": channel}, agent="Aiko")
        sink = _FirstStored(desk)
        await channel.fetch_once(sink)
        elapsed = time.monotonic() - sink.started
        await channel.close()
        return elapsed, sink.first or elapsed, len(store.conversations())


def measure_email(work: Path, mails: int, report: Report) -> None:
    """The first sync of `mails` plain mails (29 days) from a loopback Dovecot: headless, then in the console."""
    servers = mail_servers()
    if servers is None or servers.dovecot_binary() is None:
        report.notes.append(
            "email figures skipped: "
            + (
                "the dovecot binary is not installed (apt-get install dovecot-imapd)"
                if servers
                else "tests/email_servers.py is not here (run from a source checkout)"
            )
        )
        return
    started = time.monotonic()
    server = servers.start_dovecot(prefill=mails)
    try:
        report.add(
            "email.mailbox",
            f"write {mails:,} mails into the Maildir + start Dovecot",
            time.monotonic() - started,
            "s",
        )
        elapsed, first, stored = asyncio.run(
            _first_sync(work / "email-sync", server.port, server.user, server.password)
        )
        report.add(
            "email.first_stored",
            "email first sync: first conversation stored",
            first,
            "s",
            "≤ 2 s",
            first <= 2,
        )
        report.add(
            "email.first_sync",
            f"email first sync of {mails:,} mails (sync --once)",
            elapsed,
            "s",
            "≤ 20 s",
            elapsed <= 20,
        )
        if stored != mails:
            report.notes.append(f"email first sync stored {stored:,} conversations of {mails:,}")
        newest = f"Order question {mails - 1}"
        run = start_console(
            work / "email-console",
            newest,
            child="frontdesk.bench.mail:email_console_child",
            child_args=(str(server.port), server.user, server.password),
        )
        report.add(
            "email.first_on_screen",
            "email first start: newest conversation on screen",
            run.seconds,
            "s",
            "≤ 2 s",
            run.seconds <= 2,
        )
    finally:
        servers.cleanup(server)
