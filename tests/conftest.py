"""Shared test fixtures: a fixed clock, a scriptable fake channel, a small workspace, a desk on it.

Keep fixtures generic and documented; append new ones below with a docstring each.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from collections.abc import Iterator
from pathlib import Path

import pytest

# helper modules beside the tests (pilot_helpers, email_servers, fakes) import by name
sys.path.insert(0, str(Path(__file__).parent))

from frontdesk.backends.base import Backend
from frontdesk.model import (
    Attachment,
    Contact,
    Conversation,
    Delivery,
    Direction,
    Identity,
    Message,
    SendResult,
    Status,
)

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)
"""The instant every fixed clock in the tests reads."""

HOSTILE_NAME = "[bold]Mallory[/bold]\x1b[2J\u202eevil\x1b]52;c;SGVsbG8=\x07"
HOSTILE_BODY = (
    "[bold]x[/bold] \x1b[2J\x1b]52;c;SGVsbG8=\x07 \u202ereversed\u202c \x1b]0;title\x07done"
)


class FixedClock:
    """A callable clock for Desk/FrontdeskApp: returns `now`, which a test may move."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class FakeChannel(Backend):
    """A channel that never reads and sends instantly (or waits on `gate` when one is set).

    `sent` records every Outgoing; set `gate = asyncio.Event()` to hold sends in flight.
    """

    kind = "whatsapp"
    messaging_window = timedelta(hours=24)

    def __init__(self, name: str = "wa", kind: str = "whatsapp") -> None:
        super().__init__(name)
        self._kind = kind
        self.sent: list = []
        self.gate: asyncio.Event | None = None

    @property
    def channel_kind(self) -> str:
        return self._kind

    async def run(self, sink) -> None:
        await asyncio.Event().wait()

    async def send(self, outgoing):
        self.sent.append(outgoing)
        if self.gate is not None:
            await self.gate.wait()
        return SendResult(f"ext-{outgoing.message_id}", Delivery.SENT)


@dataclass
class Workspace:
    """Contacts, conversations and messages to load into a desk with `load_workspace`."""

    contacts: list[Contact] = field(default_factory=list)
    conversations: list[Conversation] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)


def small_workspace(now: datetime = NOW) -> Workspace:
    """Four conversations on two channels: English, Japanese with emoji, a hostile contact, a resolved one."""
    ago = lambda **kw: now - timedelta(**kw)  # noqa: E731
    contacts = [
        Contact(
            1,
            "Mia Tanaka",
            emails=["mia@example.com"],
            language="en",
            identities=[Identity("wa", "+15550001")],
            attributes={"plan": "pro"},
        ),
        Contact(
            2,
            "山田 花子 🌸",
            phones=["+81 90 1234 5678"],
            language="ja",
            identities=[Identity("mail", "hanako@example.jp")],
            notes="VIP 顧客",
        ),
        Contact(3, HOSTILE_NAME, identities=[Identity("wa", "+15550003")]),
        Contact(4, "Bob Old", identities=[Identity("mail", "bob@example.com")]),
    ]
    conversations = [
        Conversation(
            1,
            "wa",
            1,
            "+15550001",
            preview="Where is my order #1234?",
            unread=2,
            last_activity_at=ago(minutes=3),
            waiting_since=ago(minutes=5),
            message_count=3,
        ),
        Conversation(
            2,
            "mail",
            2,
            "hanako@example.jp",
            subject="注文について",
            preview="注文した商品がまだ届きません 📦",
            assignee="Aiko",
            last_activity_at=ago(hours=2),
            message_count=3,
        ),
        Conversation(
            3,
            "wa",
            3,
            "+15550003",
            preview=HOSTILE_BODY,
            unread=1,
            last_activity_at=ago(days=1),
            message_count=1,
        ),
        Conversation(
            4,
            "mail",
            4,
            "bob@example.com",
            status=Status.RESOLVED,
            preview="Thanks, all good",
            last_activity_at=ago(days=5),
            message_count=1,
        ),
    ]
    messages = [
        Message(
            1,
            1,
            Direction.IN,
            "Hi! I ordered a lamp last week.",
            author="Mia Tanaka",
            created_at=ago(minutes=5),
        ),
        Message(
            2,
            1,
            Direction.IN,
            "Where is my order #1234?",
            author="Mia Tanaka",
            created_at=ago(minutes=3),
            attachments=[Attachment("receipt.pdf", "application/pdf", 48_213)],
        ),
        Message(
            3,
            1,
            Direction.OUT,
            "Checking with the warehouse.",
            private=True,
            author="Ben",
            created_at=ago(minutes=2),
        ),
        Message(
            4,
            2,
            Direction.IN,
            "こんにちは。先週注文した商品がまだ届きません 📦 確認していただけますか？よろしくお願いします🙏",
            author="山田 花子 🌸",
            created_at=ago(hours=3),
        ),
        Message(
            5,
            2,
            Direction.OUT,
            "山田様、ご連絡ありがとうございます。確認いたします 😊",
            author="Aiko",
            delivery=Delivery.READ,
            created_at=ago(hours=2, minutes=30),
        ),
        Message(
            6,
            2,
            Direction.OUT,
            "追跡番号をお送りします。",
            author="Aiko",
            delivery=Delivery.UNCONFIRMED,
            delivery_reason="timeout after sending",
            created_at=ago(hours=2),
        ),
        Message(
            7,
            3,
            Direction.IN,
            HOSTILE_BODY,
            author=HOSTILE_NAME,
            created_at=ago(days=1),
            attachments=[
                Attachment("\x1b[31minvoice[red].exe\u202etxt", "application/x-msdownload", 1234)
            ],
        ),
        Message(8, 4, Direction.IN, "Thanks, all good", author="Bob Old", created_at=ago(days=5)),
    ]
    return Workspace(contacts, conversations, messages)


@pytest.fixture
def clock() -> FixedClock:
    """A clock fixed at NOW."""
    return FixedClock()


@pytest.fixture
def workspace() -> Workspace:
    """The small workspace (see `small_workspace`)."""
    return small_workspace()


@pytest.fixture
def channels() -> dict[str, FakeChannel]:
    """Two fake channels: `wa` (whatsapp) and `mail` (email)."""
    return {"wa": FakeChannel("wa", "whatsapp"), "mail": FakeChannel("mail", "email")}


@pytest.fixture
def desk_store(tmp_path):
    """An open Store in a temporary data dir."""
    from frontdesk.store import Store

    with Store.open(tmp_path / "data") as store:
        yield store


@pytest.fixture
def make_desk(desk_store, channels, clock, workspace):
    """Build the one Desk of a test on the small workspace, with Desk options (hooks, targets…)."""
    from frontdesk.desk import Desk

    def make(**options) -> Desk:
        d = Desk(desk_store, channels, agent="Aiko", clock=clock, **{"agents": ["Ben"], **options})
        run_sync(d.load_workspace(workspace.contacts, workspace.conversations, workspace.messages))
        return d

    return make


@pytest.fixture
def desk(make_desk):
    """A Desk (agent Aiko, teammate Ben, fixed clock) loaded with the small workspace; not started."""
    return make_desk()


@pytest.fixture
def console(request, clock):
    """Build the console of a test: the launch factory's App (as `frontdesk` builds it) on the
    test's desk (or the one given) and clock, with no cursor blink and no canned.toml of the
    agent's; keyword options go to the App (keymap, canned, theme, ...)."""
    from pilot_helpers import NO_CANNED_FILE, make_app

    def build(desk=None, **options):
        desk = desk if desk is not None else request.getfixturevalue("desk")
        return make_app(desk, clock, **{"canned": NO_CANNED_FILE, **options})

    return build


def run_sync(coro):
    """Run a coroutine on a private loop (safe from sync fixtures; leaves the current loop alone)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def pytest_addoption(parser):
    """`--trials N`: how many SIGKILLs the crash suite runs (tests/system/test_crash.py; default 20)."""
    parser.addoption(
        "--trials",
        type=int,
        default=20,
        help="crash-suite trials (default 20; 500 for the long run)",
    )


@contextmanager
def mounted_tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A real small file system (tmpfs) at `where`, so a disk fills as it would in the field;
    the test is skipped where this machine cannot mount one."""
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
        capture_output=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)
