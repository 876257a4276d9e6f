"""The served desk over real Unix sockets: three consoles, presence, identity, refusals, bad peers.

Each test serves a desk on the small workspace at a socket in a short temporary directory
and attaches wire clients (tests/team_wire.py) that speak the protocol frame by frame.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import stat
import struct
import tempfile
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pilot_helpers import eventually
from team_wire import WireClient

from frontdesk.desk.acting import acting_as
from frontdesk.team import protocol
from frontdesk.desk.changes import ChangeKind
from frontdesk.desk.interface import REMOTE_METHODS
from frontdesk.model import Message
from frontdesk.team.peercred import peer_credentials, user_name
from frontdesk.team.protocol import (
    MAX_CALL_FRAME,
    MAX_CLIENT_FRAME,
    PROTOCOL_VERSION,
    Error,
    frame,
    Pong,
    Refused,
    Welcome,
)
from frontdesk.team.server import Admission, DeskServer, ServeError

ME = user_name(os.getuid())
CONFIG = Path("/etc/frontdesk/config.toml")


@pytest.fixture
def socket_dir():
    """A short directory for sockets (a Unix socket's path is at most 107 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="fd-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def serve(desk, socket_dir):
    """Start a DeskServer on the test's desk; returns a factory taking DeskServer options."""
    servers: list[DeskServer] = []

    async def start(**options) -> DeskServer:
        options.setdefault("admission", Admission(ME, frozenset(), CONFIG))
        server = DeskServer(desk, socket_dir / "desk.sock", version="test", **options)
        await server.start()
        servers.append(server)
        return server

    await desk.start()
    desk.presence.leave(desk.agent)  # as serve_until_stopped: online means a console is attached
    yield start
    for server in servers:
        await server.close()
    await desk.stop()


def replies_seen(client: WireClient) -> list[Message]:
    return [m for push in client.pushes for m in push.messages]


# ---- three consoles ------------------------------------------------------------------------


async def test_a_reply_from_one_console_reaches_the_other_two_with_its_records(serve):
    server = await serve()
    a, b, c = [await WireClient.attach(server.path) for _ in range(3)]
    assert all(isinstance(x.first, Welcome) and x.first.agent == ME for x in (a, b, c))
    assert {conv.id for conv in a.first.state.conversations} == {1, 2, 3, 4}

    sent = await a.call("reply", conv_id=1, body="Your refund is on its way")

    assert isinstance(sent, Message) and sent.author == ME
    for other in (b, c):
        await eventually(lambda o=other: any(m.id == sent.id for m in replies_seen(o)))
        push = next(p for p in other.pushes if any(m.id == sent.id for m in p.messages))
        message = next(m for m in push.messages if m.id == sent.id)
        assert message.body == "Your refund is on its way" and message.author == ME
        conv = next(conv for conv in push.conversations if conv.id == 1)
        assert conv.preview == "Your refund is on its way"
        assert push.contact_names[conv.contact_id] == "Mia Tanaka"
    for x in (a, b, c):
        await x.close()


async def test_presence_join_and_leave_fan_out(serve):
    server = await serve()
    watcher = await WireClient.attach(server.path, join=False)
    assert ME not in watcher.first.state.presence.online

    agent = await WireClient.attach(server.path)
    await eventually(lambda: any(p.presence and ME in p.presence.online for p in watcher.pushes))
    assert ChangeKind.PRESENCE in {c.kind for c in watcher.changes()}

    await agent.close()
    await eventually(lambda: watcher.pushes[-1].presence is not None)
    await eventually(lambda: ME not in watcher.pushes[-1].presence.online, what="leave fanned out")
    await watcher.close()


async def test_viewing_and_typing_fan_out_and_clear(serve, desk):
    server = await serve()
    ben = await WireClient.attach(server.path)
    other = await WireClient.attach(server.path, join=False)  # same Unix user: only looking

    def latest_presence():
        return next((p.presence for p in reversed(other.pushes) if p.presence), None)

    await ben.call("set_viewing", conv_id=2)
    await eventually(lambda: latest_presence() and latest_presence().viewing == {ME: 2})
    await ben.call("set_typing", conv_id=2, typing=True)
    await eventually(lambda: latest_presence().typing == {ME: 2})
    assert any(c.kind is ChangeKind.ACTIVITY and c.conversation_id == 2 for c in other.changes())

    await ben.call("set_typing", conv_id=2, typing=False)
    await eventually(lambda: latest_presence().typing == {})
    await ben.close()
    await eventually(lambda: latest_presence().viewing == {}, what="viewing cleared on leave")
    await other.close()


async def test_calls_run_as_the_connecting_unix_user(serve, desk):
    server = await serve()
    client = await WireClient.attach(server.path)
    note = await client.call("note", conv_id=1, body="checked with billing")
    assert note.author == ME
    assert desk.agent == "Aiko", "the desk's own agent is untouched outside the connection"
    await client.close()


# ---- identity ------------------------------------------------------------------------------


async def test_the_kernel_says_who_connects(socket_dir):
    path = socket_dir / "probe.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(str(path))
    accepted, _ = listener.accept()
    cred = peer_credentials(accepted)
    assert (cred.pid, cred.uid, cred.gid) == (os.getpid(), os.getuid(), os.getgid())
    for s in (accepted, client, listener):
        s.close()


async def test_a_listed_unix_user_is_welcomed(serve):
    server = await serve(admission=Admission("desk-owner", frozenset({ME}), CONFIG))
    client = await WireClient.attach(server.path)
    assert isinstance(client.first, Welcome) and client.first.agent == ME
    await client.close()


async def test_an_unlisted_unix_user_is_refused_with_one_line(serve, caplog):
    server = await serve(admission=Admission("desk-owner", frozenset({"ben"}), CONFIG))
    client = await WireClient.attach(server.path)
    assert client.first == Refused(
        reason=f"{ME} is not an agent of this desk: ask its admin to add "
        f"[team.agents.{ME}] to /etc/frontdesk/config.toml"
    )
    await asyncio.wait_for(client.closed.wait(), 5)
    assert any(f"refused {ME}" in r.getMessage() for r in caplog.records)
    assert server.connections == set()


async def test_another_protocol_version_is_refused_naming_both(serve):
    server = await serve()
    client = await WireClient.attach(server.path, protocol=PROTOCOL_VERSION + 1)
    assert isinstance(client.first, Refused)
    assert f"protocol {PROTOCOL_VERSION} (frontdesk test)" in client.first.reason
    assert f"protocol {PROTOCOL_VERSION + 1} (frontdesk test)" in client.first.reason


# ---- bad peers -----------------------------------------------------------------------------


async def healthy_still_served(desk, healthy: WireClient, body: str) -> None:
    """The desk still works and pushes to a well-behaved console."""
    with acting_as("ben"):
        sent = await desk.note(1, body)
    await eventually(lambda: any(m.id == sent.id for m in replies_seen(healthy)))


@pytest.mark.parametrize(
    ("data", "logged"),
    [
        (struct.pack(">I", 9) + b"not json!", "does not decode"),
        (None, "over the {bound}-byte bound"),  # a hello's bound, or an admitted call's
        (struct.pack(">I", 2) + b"[]", "does not decode"),
    ],
    ids=["garbage", "oversized", "not-an-envelope"],
)
@pytest.mark.parametrize("when", ["before-hello", "after-welcome"])
async def test_garbage_and_oversized_frames_close_only_that_connection(
    serve, desk, caplog, data, logged, when
):
    server = await serve()
    healthy = await WireClient.attach(server.path)
    if when == "before-hello":
        bad = await WireClient.connect(server.path)
    else:
        bad = await WireClient.attach(server.path, read=False)
    if data is None:
        bound = MAX_CLIENT_FRAME if when == "before-hello" else MAX_CALL_FRAME
        data, logged = struct.pack(">I", bound + 1), logged.format(bound=bound)
    bad.send_raw(data)
    assert await asyncio.wait_for(bad.reader.read(), 5) == b"", "the desk closed it"
    await eventually(lambda: any(logged in r.getMessage() for r in caplog.records))
    await healthy_still_served(desk, healthy, f"still here after {when}")
    assert len(server.connections) == 1
    await healthy.close()


async def test_a_call_that_does_not_fit_is_answered_with_an_error(serve):
    server = await serve()
    client = await WireClient.attach(server.path)
    client.send(b'{"t":"call","id":7,"method":"stop","args":{}}')
    client.send(b'{"t":"call","id":8,"method":"reply","args":{"conv_id":"x","body":"b"}}')
    await eventually(lambda: {7, 8} <= set(client.replies))
    assert client.replies[7] == Error(
        id=7, kind="refused", message="'stop' is not a method of the desk"
    )
    assert client.replies[8].kind == "refused" and "conv_id" in client.replies[8].message
    missing = await client.call("conversation", conv_id=999)
    assert isinstance(missing, Error) and missing.kind == "desk"
    assert await client.call("labels") is not None, "the connection is still served"
    await client.close()


async def test_a_console_silent_before_or_after_hello_is_closed(serve, caplog):
    server = await serve(hello_seconds=0.2, silent_seconds=0.5)
    mute = await WireClient.connect(server.path)
    assert await asyncio.wait_for(mute.reader.read(), 5) == b""
    quiet = await WireClient.attach(server.path)
    await asyncio.wait_for(quiet.closed.wait(), 5)
    messages = [r.getMessage() for r in caplog.records]
    assert any("no hello within 0.2 s" in m for m in messages)
    assert any("silent for 0.5 s" in m for m in messages)


async def test_ping_is_answered_with_pong(serve):
    server = await serve()
    client = await WireClient.attach(server.path)
    client.send(b'{"t":"ping"}')
    await eventually(lambda: any(isinstance(f, Pong) for f in client.frames))
    await client.close()


async def test_a_console_that_stops_reading_is_dropped_and_stalls_no_one(serve, desk, caplog):
    server = await serve(queue_frames=16)
    healthy = await WireClient.attach(server.path)
    stuck = await WireClient.attach(server.path, read=False)  # never reads again
    big = "x" * 200_000
    for n in range(60):
        await healthy_still_served(desk, healthy, f"{n} {big}")
        if len(server.connections) == 1:
            break
    assert len(server.connections) == 1, "the stuck console was dropped"
    assert any(f"dropped {ME}" in r.getMessage() for r in caplog.records)
    await healthy_still_served(desk, healthy, "after the drop")
    stuck.writer.close()
    await healthy.close()


# ---- the socket file -----------------------------------------------------------------------


async def test_socket_mode_0660_and_a_new_dir_0750(desk, socket_dir):
    await desk.start()
    server = DeskServer(
        desk,
        socket_dir / "run" / "desk.sock",
        admission=Admission(ME, frozenset(), CONFIG),
        version="test",
        group=grp_name(),
    )
    await server.start()
    try:
        assert stat.S_IMODE(os.stat(server.path).st_mode) == 0o660
        assert stat.S_IMODE(os.stat(server.path.parent).st_mode) == 0o750
        assert os.stat(server.path).st_gid == os.getgid()
    finally:
        await server.close()
        await desk.stop()
    assert not server.path.exists(), "the socket goes with the desk"


def grp_name() -> str:
    import grp

    return grp.getgrgid(os.getgid()).gr_name


async def test_a_stale_socket_is_replaced_and_a_live_one_refused(serve, socket_dir):
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(socket_dir / "desk.sock"))
    stale.close()  # the file stays, nobody answers: a desk killed without cleaning up
    server = await serve()
    client = await WireClient.attach(server.path)
    assert isinstance(client.first, Welcome)

    with pytest.raises(
        ServeError, match=rf"a desk already serves {server.path} \(pid {os.getpid()}\)"
    ):
        await serve()
    await client.close()


async def test_an_unknown_group_or_a_long_path_is_one_line(serve, socket_dir, desk):
    with pytest.raises(ServeError, match="no Unix group 'no-such-group-x'"):
        await serve(group="no-such-group-x")
    long = DeskServer(
        desk,
        socket_dir / ("d" * 120) / "desk.sock",
        admission=Admission(ME, frozenset(), CONFIG),
        version="test",
    )
    with pytest.raises(ServeError, match="longer than 107 bytes"):
        await long.start()


async def test_serving_does_not_log_at_warning_when_all_goes_well(serve, caplog):
    caplog.set_level(logging.INFO, logger="frontdesk.team")
    server = await serve()
    client = await WireClient.attach(server.path)
    await client.call("labels")
    await client.close()
    await eventually(lambda: any("detached" in r.getMessage() for r in caplog.records))
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert any(f"serving the desk on {server.path}" in r.getMessage() for r in caplog.records)


async def test_desk_status_looks_without_joining(serve, socket_dir):
    from frontdesk.team.status import desk_status

    assert (await desk_status(socket_dir / "none.sock", "test")).running is False
    server = await serve()
    agent = await WireClient.attach(server.path)
    status = await desk_status(server.path, "test")
    assert (status.running, status.version, status.protocol, status.online) == (
        True,
        "test",
        PROTOCOL_VERSION,
        [ME],
    )
    await agent.close()
    await eventually(lambda: server.connections == set())
    assert (await desk_status(server.path, "test")).online == [], "doctor never shows as online"


async def test_desk_status_reports_a_refusal(serve):
    from frontdesk.team.status import desk_status

    server = await serve(admission=Admission("desk-owner", frozenset(), CONFIG))
    status = await desk_status(server.path, "test")
    assert status.refused.startswith(f"{ME} is not an agent of this desk")


async def test_desk_clients_stay_live_while_a_peer_sends_garbage_and_another_stops_reading(
    serve, desk, caplog
):
    from frontdesk.team.client import DeskClient

    server = await serve(queue_frames=16)
    consoles = [await DeskClient.attach(server.path) for _ in range(2)]
    subscriptions = [console.subscribe() for console in consoles]
    stuck = await WireClient.attach(server.path, read=False)
    garbage = await WireClient.connect(server.path)
    garbage.send_raw(struct.pack(">I", 5) + b"\xff\xfe{[}")
    big = "y" * 200_000
    try:
        for n in range(60):
            with acting_as("ben"):
                note = await desk.note(2, f"{n} {big}")
            for console, sub in zip(consoles, subscriptions):
                await eventually(
                    lambda s=sub, i=note.id: any(c.message_id == i for c in s.pending()),
                    what=f"note {n} at a DeskClient",
                )
            if len(server.connections) == 2:
                break
        await eventually(lambda: len(server.connections) == 2, what="only the stuck peer dropped")
        for console in consoles:
            assert (await console.thread(2))[-1].id == note.id
        assert any("does not decode" in r.getMessage() for r in caplog.records)
    finally:
        for console in consoles:
            await console.stop()
        stuck.writer.close()


async def test_no_console_can_have_the_desk_write_files_on_a_path_it_names(serve, socket_dir):
    """save_attachment would write where the caller says, as the desk's Unix user: a console may
    only ask for the bytes (attachment_data) and write them itself, as itself."""
    target = socket_dir / "downloads"
    target.mkdir()
    server = await serve()
    client = await WireClient.attach(server.path)
    args = {"conv_id": 1, "message_id": 1, "index": 0, "downloads_dir": str(target)}
    raw = {name: msgspec.Raw(msgspec.json.encode(value)) for name, value in args.items()}
    client.send(protocol.encode(protocol.Call(id=7, method="save_attachment", args=raw)))
    await eventually(lambda: 7 in client.replies, what="the desk's answer")
    answer = client.replies.pop(7)
    assert isinstance(answer, Error) and "save_attachment" in answer.message
    assert list(target.iterdir()) == []
    await client.close()


# ---- any bytes from a console -----------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
PARAMS = ["conv_id", "body", "agent", "status", "until", "typing", "contact_id", "query", "texts"]


@st.composite
def call_frames(draw) -> bytes:
    method = draw(st.sampled_from(sorted(REMOTE_METHODS) + ["stop", ""]))
    args = draw(st.dictionaries(st.sampled_from(PARAMS), JSON, max_size=3))
    call_id = draw(st.integers(-1, 2**40))
    return frame(
        msgspec.json.encode({"t": "call", "id": call_id, "method": method, "args": args}),
        MAX_CLIENT_FRAME,
    )


CHUNKS = st.lists(
    st.one_of(
        st.binary(max_size=40),
        call_frames(),
        st.builds(
            lambda tag, fields: frame(msgspec.json.encode({"t": tag, **fields}), MAX_CLIENT_FRAME),
            st.sampled_from(["hello", "ping", "call", "welcome", "pong", "x"]),
            st.dictionaries(
                st.sampled_from(["protocol", "id", "join", "version"]), JSON, max_size=3
            ),
        ),
    ),
    max_size=6,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(chunks=CHUNKS, hello_first=st.booleans())
def test_any_bytes_from_one_console_leave_the_desk_serving_another(
    desk, socket_dir, caplog, chunks, hello_first
):
    caplog.clear()

    async def run() -> None:
        server = DeskServer(
            desk,
            socket_dir / "fuzz.sock",
            admission=Admission(ME, frozenset(), CONFIG),
            version="test",
            hello_seconds=1,
        )
        await server.start()
        try:
            healthy = await WireClient.attach(server.path)
            if hello_first:
                hostile = await WireClient.attach(server.path, read=False)
            else:
                hostile = await WireClient.connect(server.path)
            for chunk in chunks:
                hostile.send_raw(chunk)
            await hostile.writer.drain()
            assert isinstance(await healthy.call("labels"), list)
            await healthy_still_served(desk, healthy, "after the hostile bytes")
            hostile.writer.close()
            await healthy.close()
        finally:
            await server.close()

    asyncio.run(run())
    failures = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert failures == [], "a call that fits its method's types must not break the desk"


# ---- another Unix user, for real (needs root to become one) ----------------------------------

NOBODY, NOGROUP = 65534, 65534
HELLO = frame(msgspec.json.encode({"t": "hello", "protocol": PROTOCOL_VERSION}), MAX_CLIENT_FRAME)


def hello_as(path: Path, uid: int, gid: int, groups: list[int]) -> str:
    """Say hello to the desk from a forked process that is `uid` with `groups`; what it answered:
    "welcome <agent>", "refused <reason>" or "EACCES" (the socket's modes kept it out)."""
    from frontdesk.team.protocol import decode_server

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: blocking calls only, then _exit (never the parent's loop)
        answer = "crashed"
        try:
            os.setgroups(groups)
            os.setgid(gid)
            os.setuid(uid)
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.settimeout(10)
            try:
                conn.connect(str(path))
            except PermissionError:
                answer = "EACCES"
            else:
                conn.sendall(HELLO)
                (size,) = struct.unpack(">I", conn.recv(4, socket.MSG_WAITALL))
                envelope = decode_server(conn.recv(size, socket.MSG_WAITALL))
                answer = (
                    f"welcome {envelope.agent}"
                    if isinstance(envelope, Welcome)
                    else f"refused {envelope.reason}"
                )
        except BaseException as exc:
            answer = f"crashed {exc!r}"
        finally:
            os.write(write_end, answer.encode()[:4000])
            os._exit(0)
    os.close(write_end)
    try:
        return os.read(read_end, 4096).decode()
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)


@pytest.mark.skipif(os.geteuid() != 0, reason="becoming another Unix user needs root")
async def test_another_unix_user_is_known_by_the_kernel_and_kept_out_by_the_modes(desk, socket_dir):
    os.chmod(socket_dir, 0o711)  # others may pass through to the desk's own 0750 directory
    await desk.start()
    for agents, expected in (
        (
            frozenset(),
            f"refused nobody is not an agent of this desk: ask its admin to add [team.agents.nobody] to {CONFIG}",
        ),
        (frozenset({"nobody"}), "welcome nobody"),
    ):
        server = DeskServer(
            desk,
            socket_dir / "run" / "desk.sock",
            admission=Admission(ME, agents, CONFIG),
            version="test",
            group="nogroup",
        )
        await server.start()
        try:
            in_group = await asyncio.to_thread(hello_as, server.path, NOBODY, NOGROUP, [NOGROUP])
            outside = await asyncio.to_thread(hello_as, server.path, NOBODY, 1, [])
        finally:
            await server.close()
        assert in_group == expected
        assert outside == "EACCES", "not in the socket's group: the 0750 directory keeps them out"
    await desk.stop()


@pytest.mark.parametrize("turns", range(6))
async def test_consoles_connecting_while_the_desk_closes_leave_no_task_to_cancel(
    serve, socket_dir, turns
):
    """A console accepted as the desk closes must not leave a handler for the loop's end to
    cancel: asyncio's stream callback then logs a CancelledError traceback."""
    server = await serve()
    raw = []
    for _ in range(5):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.connect(str(server.path))
        raw.append(sock)
    for _ in range(turns):  # each turn moves the accepts one step on: close at every step
        await asyncio.sleep(0)
    await server.close()
    for _ in range(10):  # let accepts already under way reach the desk's callback
        await asyncio.sleep(0)
    left = [t for t in asyncio.all_tasks() if "DeskServer" in repr(t.get_coro())]
    for sock in raw:
        sock.close()
    assert left == []
