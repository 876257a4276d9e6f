"""DeskClients attached to a served desk over a real Unix socket: live changes, calls, losing the desk.

Each test serves the small workspace's desk (tests/conftest.py) with `team.server.DeskServer`
at a socket in a short temporary directory, in this process, and attaches DeskClients to it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from pilot_helpers import eventually

from frontdesk.desk import ChangeKind, DeskError, View
from frontdesk.desk.acting import acting_as
from frontdesk.team.client import DeskClient, Timing
from frontdesk.team.peercred import user_name
from frontdesk.team.protocol import (
    MAX_CLIENT_FRAME,
    MAX_SERVER_FRAME,
    Welcome,
    encode,
    frame,
    read_frame,
)
from frontdesk.team.server import Admission, DeskServer

ME = user_name(os.getuid())
QUICK = Timing(ping=0.1, silent=1.0, retry_first=0.02, retry_most=0.1)


@pytest.fixture
def socket_path():
    """A socket in a short directory (a Unix socket's path is at most 107 bytes)."""
    folder = Path(tempfile.mkdtemp(prefix="fd-", dir="/tmp"))
    yield folder / "desk.sock"
    shutil.rmtree(folder, ignore_errors=True)


class Served:
    """The test's desk served at `path`; `stop()` and `start()` take it away and bring it back."""

    def __init__(self, desk, path: Path) -> None:
        self.desk, self.path = desk, path
        self.server: DeskServer | None = None

    async def start(self) -> None:
        self.server = DeskServer(
            self.desk, self.path, admission=Admission(ME, frozenset(), Path("/x")), version="t"
        )
        await self.server.start()

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.close()
            self.server = None


@pytest.fixture
async def served(desk, socket_path):
    served = Served(desk, socket_path)
    await served.start()
    clients: list[DeskClient] = []
    served.clients = clients
    yield served
    for client in clients:
        await client.stop()
    await served.stop()


async def attach(served: Served, timing: Timing = QUICK) -> DeskClient:
    client = await DeskClient.attach(served.path, timing)
    served.clients.append(client)
    return client


class Feed:
    """Everything a client's subscription yields, collected in the background."""

    def __init__(self, client: DeskClient) -> None:
        self.changes: list = []
        self._sub = client.subscribe()
        self._task = asyncio.create_task(self._collect())

    async def _collect(self) -> None:
        async for change in self._sub:
            self.changes.append(change)

    def kinds(self) -> list[ChangeKind]:
        return [c.kind for c in self.changes]

    def close(self) -> None:
        self._task.cancel()


async def test_a_reply_from_one_client_reaches_the_other_two_feed_replica_and_thread(served):
    a, b, c = [await attach(served) for _ in range(3)]
    assert a.mode == "team" and a.agent == ME
    conv = (await b.conversations(View.ALL))[0]
    before_b = [m.id for m in await b.thread(conv.id)]
    await c.thread(conv.id)
    feeds = {"b": Feed(b), "c": Feed(c)}
    reply = await a.reply(conv.id, "Your parcel left the depot this morning.")
    for name, client in (("b", b), ("c", c)):
        feed = feeds[name]
        await eventually(
            lambda feed=feed: any(
                ch.kind is ChangeKind.MESSAGE and ch.message_id == reply.id for ch in feed.changes
            ),
            what=f"{name} is told of the reply",
        )
        thread = await client.thread(conv.id)
        assert [m.id for m in thread] == [*before_b, reply.id]
        assert thread[-1].body == "Your parcel left the depot this morning."
        assert (await client.conversation(conv.id)).preview.startswith("Your parcel left")
        assert await client.message(conv.id, reply.id) == thread[-1]
    for feed in feeds.values():
        feed.close()


async def test_reads_come_from_the_replica_as_the_desk_answers_them(served, desk):
    client = await attach(served)
    conv_id = (await desk.conversations(View.UNASSIGNED))[0].id
    await client.assign(conv_id, ME)  # answered once the desk did it; its push may come later
    await eventually(
        lambda: client.replica.conversation(conv_id).assignee == ME, what="the push is in"
    )
    with acting_as(ME):  # the client is its Unix user: "mine" is theirs
        for view in View:
            want = [c.id for c in await desk.conversations(view)]
            assert [c.id for c in await client.conversations(view)] == want
        assert await client.counts() == await desk.counts()
        assert (await client.tally()).counts() == (await desk.tally()).counts()
    assert await client.labels() == await desk.labels()
    assert client.channel_kind("wa") == "whatsapp"
    assert client.online() == desk.online()
    assert {a.user: a.online for a in client.online()}[ME]


async def test_a_desk_error_is_raised_as_desk_error_with_the_desks_words(served):
    client = await attach(served)
    conv = (await client.conversations(View.ALL))[0]
    with pytest.raises(DeskError, match="an empty reply is not sent"):
        await client.reply(conv.id, "   ")
    with pytest.raises(DeskError, match="no conversation #999"):
        await client.conversation(999)


async def test_commands_of_one_client_show_in_anothers_replica(served):
    a, b = await attach(served), await attach(served)
    conv = (await a.conversations(View.UNASSIGNED))[0]
    feed = Feed(b)
    await a.assign(conv.id, ME)
    await eventually(
        lambda: any(ch.kind is ChangeKind.CONVERSATION for ch in feed.changes),
        what="the assignment reaches b",
    )
    assert conv.id in [c.id for c in await b.conversations(View.MINE)]
    assert (await b.counts())[View.MINE] == (await a.counts())[View.MINE]
    feed.close()


async def test_losing_the_desk_says_so_keeps_the_replica_and_reattaching_resets_it(served, desk):
    client = await attach(served)
    feed = Feed(client)
    conv = (await client.conversations(View.UNASSIGNED))[0]
    kept = await client.conversation(conv.id)
    await served.stop()
    await eventually(lambda: ChangeKind.LINK in feed.kinds(), what="LINK lost")
    lost = feed.changes[feed.kinds().index(ChangeKind.LINK)]
    assert lost.failed and lost.detail == "lost"
    assert not client.attached
    assert (await client.conversation(conv.id)) is kept  # the console keeps showing what it had
    with pytest.raises(DeskError, match="^the desk is not reachable: "):
        await client.reply(conv.id, "hello?")
    with acting_as("Ben"):
        await desk.assign(conv.id, "Ben")  # made while this client is away
    await served.start()
    await eventually(lambda: client.attached, what="reattached")
    await eventually(lambda: ChangeKind.RESET in feed.kinds(), what="RESET after back")
    back = feed.changes[
        feed.kinds().index(ChangeKind.LINK, feed.kinds().index(ChangeKind.LINK) + 1)
    ]
    assert not back.failed and back.detail == "back"
    assert feed.kinds().index(ChangeKind.RESET) > feed.changes.index(back)
    fresh = await client.conversation(conv.id)
    assert fresh is not kept and fresh.assignee == "Ben"  # the replica came from the new snapshot
    assert (await client.reply(conv.id, "back again")).body == "back again"
    feed.close()


async def test_a_call_in_flight_when_the_desk_goes_fails_with_one_line(served, desk):
    client = await attach(served)
    conv = (await client.conversations(View.ALL))[0]
    release = asyncio.Event()
    thread = desk.thread

    async def slow_thread(conv_id: int):
        await release.wait()
        return await thread(conv_id)

    desk.thread = slow_thread
    pending = asyncio.create_task(client.thread(conv.id))
    await eventually(lambda: served.server.connections, what="attached")
    await served.stop()
    with pytest.raises(DeskError, match="^the desk is not reachable"):
        await pending
    release.set()


async def test_a_desk_silent_past_the_limit_is_lost(socket_path):
    """A desk that welcomes and then says nothing (a hung process): the client gives up on it."""
    from frontdesk.desk.presence import PresenceState
    from frontdesk.team.protocol import Snapshot

    state = Snapshot([], {}, ["x"], {}, {}, {}, [], [], [], PresenceState(), [])
    gone = asyncio.Event()

    async def hung(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_frame(reader, MAX_CLIENT_FRAME)
        welcome = Welcome(protocol=1, version="t", agent="x", state=state)
        writer.write(frame(encode(welcome), MAX_SERVER_FRAME))
        while await reader.read(1000):  # reads the pings, answers nothing
            pass
        gone.set()

    server = await asyncio.start_unix_server(hung, str(socket_path))
    async with server:
        client = await DeskClient.attach(socket_path, Timing(ping=0.05, silent=0.3))
        feed = Feed(client)
        await eventually(lambda: ChangeKind.LINK in feed.kinds(), what="LINK lost", timeout=5)
        await eventually(gone.is_set, what="the client hung up")
        feed.close()
        await client.stop()


# ---- the real console on a DeskClient ---------------------------------------------------------------


async def test_the_console_attached_paints_the_list_and_shows_anothers_reply_live(served, clock):
    from pilot_helpers import make_app, idle, wait_until

    console_desk = await attach(served)
    other = await attach(served)
    app = make_app(console_desk, clock)
    async with app.run_test(size=(140, 40)) as pilot:
        await idle(pilot)
        listing = app.conversation_list
        assert [c.id for c in listing.conversations] == [1, 2, 3]
        assert "Where is my order #1234?" in "\n".join(app.thread.plain_lines)
        await other.reply(1, "A teammate's answer from another console")
        await wait_until(
            pilot,
            lambda: "A teammate's answer" in "\n".join(app.thread.plain_lines),
            what="the other console's reply in the open thread",
        )
        await other.thread(1)  # the other console has it open: pushes keep it current
        await pilot.press("r", *"Thanks!", "enter")
        await eventually(
            lambda: (other.replica.thread(1) or [])[-1].body == "Thanks!",
            what="this console's reply at the other console",
        )
        assert other.replica.thread(1)[-1].author == ME


async def test_the_console_builds_on_a_client_with_no_clock_given(served):
    """`frontdesk` gives the console no clock: it reads the desk's, which the client must have."""
    from datetime import timezone

    from frontdesk.launch import make_app as launch_app

    app = launch_app(await attach(served))
    assert app.clock().tzinfo is timezone.utc


def test_reattaching_backs_off_from_a_fifth_of_a_second_to_five():
    from itertools import islice

    from frontdesk.team.client import retry_delays

    assert list(islice(retry_delays(Timing()), 8)) == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 5.0]


async def test_pings_keep_a_quiet_desk_attached_past_the_silence_limit(served):
    client = await attach(served, Timing(ping=0.05, silent=0.2))
    feed = Feed(client)
    await eventually(lambda: client.pongs >= 10, what="ten pongs: 0.5 s of a quiet desk")
    assert client.attached and ChangeKind.LINK not in feed.kinds()
    feed.close()


async def test_the_attached_console_keeps_its_list_and_draft_while_the_desk_is_away(served, clock):
    from pilot_helpers import make_app, idle, wait_until

    app = make_app(await attach(served), clock)
    async with app.run_test(size=(140, 40)) as pilot:
        await idle(pilot)

        def header() -> str:
            return str(app.query_one("#header-bar").render())

        await wait_until(pilot, lambda: "team · 1 online" in header(), what="attached header")
        await pilot.press("r", *"half a reply")
        await served.stop()
        await wait_until(pilot, lambda: "desk lost" in header(), what="the header says lost")
        assert [c.id for c in app.conversation_list.conversations] == [1, 2, 3]
        assert app.composer.text == "half a reply"
        await served.start()
        await wait_until(pilot, lambda: "team · 1 online" in header(), what="back on the desk")
        assert [c.id for c in app.conversation_list.conversations] == [1, 2, 3]
        assert app.composer.text == "half a reply"
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: "half a reply" in "\n".join(app.thread.plain_lines),
            what="the reply sent after reattaching",
        )


# ---- attachments: the agent's console writes the file, as the agent -----------------------


def attach_file(desk, monkeypatch, name: str, data: bytes) -> tuple[int, int]:
    """Give conversation 1's first message an attachment its channel serves as `data`."""
    from frontdesk.model import Attachment

    conv = desk.store.conversation(1)
    message = desk.store.messages(1)[0]
    message.attachments.append(Attachment(name, ref="ref-1"))
    with desk.store.batch():
        desk.store.put_message(message)
    backend = desk.channels[conv.channel]

    async def download(ref, into):
        assert ref == "ref-1"
        into.write(data)
        return len(data)

    monkeypatch.setattr(backend, "download_attachment", download)
    return message.id, len(message.attachments) - 1


async def test_an_attached_agent_saves_an_attachment_into_their_own_folder(
    served, monkeypatch, tmp_path
):
    message_id, index = attach_file(served.desk, monkeypatch, "../../etc/cron.d/x\x1b[2J.sh", b"hi")
    client = await attach(served)
    folder = tmp_path / "mine"
    path = await client.save_attachment(1, message_id, index, folder)
    assert path.parent == folder and path.read_bytes() == b"hi"
    assert "/" not in path.name and "\x1b" not in path.name


async def test_an_attachment_too_big_for_a_frame_is_a_one_line_error(served, monkeypatch, tmp_path):
    from frontdesk.desk.attachments import SHARED_ATTACHMENT_BYTES

    big = b"x" * (SHARED_ATTACHMENT_BYTES + 1)
    message_id, index = attach_file(served.desk, monkeypatch, "scan.pdf", big)
    client = await attach(served)
    with pytest.raises(DeskError, match=r"scan\.pdf is over 32 MiB") as error:
        await client.save_attachment(1, message_id, index, tmp_path / "mine")
    assert "\n" not in str(error.value)
    assert not (tmp_path / "mine").exists()


async def test_a_console_cannot_have_the_desk_write_into_a_folder_it_names(served, tmp_path):
    """save_attachment is not a call the desk answers: it would write as the desk's Unix user."""
    from frontdesk.desk.interface import REMOTE_METHODS

    assert "save_attachment" not in REMOTE_METHODS and "attachment_data" in REMOTE_METHODS
