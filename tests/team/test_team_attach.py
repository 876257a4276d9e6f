"""Attaching to a desk socket when nothing, a stale file or a refusing desk is there; the launch rules."""

from __future__ import annotations

import asyncio
import gc
import socket
from pathlib import Path

import pytest

from frontdesk.team.client import AttachRefused, DeskClient, DeskNotRunning
from frontdesk.team.protocol import (
    MAX_CLIENT_FRAME,
    MAX_SERVER_FRAME,
    Hello,
    Refused,
    decode_client,
    encode,
    frame,
    read_frame,
)

REFUSAL = (
    "you are not an agent of this desk: ask its admin to add [team.agents.you] to /etc/fd.toml"
)


async def refusing_desk(path: Path, seen: list) -> asyncio.AbstractServer:
    """A desk that reads the hello and refuses, as a served desk refuses an unlisted user."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(decode_client(await read_frame(reader, MAX_CLIENT_FRAME)))
        writer.write(frame(encode(Refused(reason=REFUSAL)), MAX_SERVER_FRAME))
        await writer.drain()
        writer.close()

    return await asyncio.start_unix_server(answer, str(path))


async def test_nothing_at_the_path_is_desk_not_running(tmp_path):
    with pytest.raises(DeskNotRunning) as raised:
        await DeskClient.attach(tmp_path / "desk.sock")
    assert raised.value.path == tmp_path / "desk.sock"
    assert str(raised.value) == f"no desk is running at {tmp_path / 'desk.sock'}"


async def test_a_stale_socket_file_is_desk_not_running(tmp_path):
    path = tmp_path / "desk.sock"
    left = socket.socket(socket.AF_UNIX)
    left.bind(str(path))  # a desk that died leaves its socket file; nobody listens on it
    left.close()
    with pytest.raises(DeskNotRunning):
        await DeskClient.attach(path)


async def test_a_refusal_carries_the_desks_reason_after_a_versioned_hello(tmp_path):
    seen: list = []
    server = await refusing_desk(tmp_path / "desk.sock", seen)
    async with server:
        with pytest.raises(AttachRefused) as raised:
            await DeskClient.attach(tmp_path / "desk.sock")
    assert raised.value.reason == REFUSAL
    assert isinstance(seen[0], Hello) and seen[0].protocol == 1


# ---- the launch rules (`frontdesk`, `frontdesk demo`) -------------------------------------------


class RecordedApp:
    """Stands in for the console: records which desk it was given instead of taking the terminal."""

    def __init__(self, runs: list, desk) -> None:
        self._runs, self._desk = runs, desk
        self.replica_frozen: bool | None = None

    async def run_async(self) -> None:
        if self._desk.mode == "team":
            held = self._desk.replica.all_conversations()
            # frozen (out of the collector's sight) as the solo console freezes its open cache
            self.replica_frozen = bool(held) and not any(o is held[0] for o in gc.get_objects())
        self._runs.append((self._desk.mode, self._desk))


class Runs(list):
    """(mode, desk) per console started; `apps` the stand-ins they ran in."""

    def __init__(self) -> None:
        super().__init__()
        self.apps: list[RecordedApp] = []


@pytest.fixture
def consoles(monkeypatch, tmp_path) -> list:
    """The desks consoles started on (mode, desk), with no terminal taken; no $XDG_RUNTIME_DIR,
    so the default socket is the data dir's. The collector is left as it was found."""
    from frontdesk import launch
    from frontdesk.runtime import freeze_long_lived

    runs = Runs()
    apps = runs.apps

    def recorded(desk, *args, **kwargs) -> RecordedApp:
        apps.append(RecordedApp(runs, desk))
        return apps[-1]

    monkeypatch.setattr(launch, "make_app", recorded)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("FRONTDESK_CONFIG", str(tmp_path / "none.toml"))
    thresholds = gc.get_threshold()
    yield runs
    if freeze_long_lived in gc.callbacks:
        gc.callbacks.remove(freeze_long_lived)
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def team_config(tmp_path: Path, socket_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[team]\nsocket = "{socket_path}"\n', encoding="utf-8")
    return path


def test_with_team_configured_and_no_desk_the_console_says_what_to_start_and_exits_1(
    tmp_path, capsys, consoles
):
    from frontdesk import cli

    sock = tmp_path / "run" / "desk.sock"
    status = cli.main(
        ["--config", str(team_config(tmp_path, sock)), "--data-dir", str(tmp_path / "d")]
    )
    assert status == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"frontdesk: no desk is running at {sock}: start it with `frontdesk serve` "
        "(or ask whoever runs it)"
    ]
    assert consoles == []


def test_a_refused_console_prints_the_desks_reason_and_exits_1(tmp_path, capsys, consoles):
    from frontdesk import cli

    sock = tmp_path / "desk.sock"
    config = team_config(tmp_path, sock)

    async def run() -> int:
        server = await refusing_desk(sock, [])
        async with server:
            return await asyncio.to_thread(
                cli.main, ["--config", str(config), "--data-dir", str(tmp_path / "d")]
            )

    assert asyncio.run(run()) == 1
    assert capsys.readouterr().err.strip().splitlines() == [f"frontdesk: {REFUSAL}"]
    assert consoles == []


def test_the_demo_runs_its_own_desk_when_none_is_served(tmp_path, consoles):
    from frontdesk import cli

    assert cli.main(["demo", "--quiet", "--data-dir", str(tmp_path / "d")]) == 0
    assert [mode for mode, _ in consoles] == ["solo"]


def test_without_team_a_console_with_no_desk_to_attach_runs_solo(tmp_path, capsys, consoles):
    from frontdesk import cli

    status = cli.main(["--data-dir", str(tmp_path / "d")])
    # solo, and this config names no channels: the solo console's own one-line error
    assert status == 2
    assert "no channels in" in capsys.readouterr().err


@pytest.fixture
def short_dir():
    """A short data dir: the sockets inside stay within a Unix socket path's 107 bytes."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="fd-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def run_served(store_root: Path, socket_path: Path, argv: list[str]) -> int:
    """`frontdesk argv` in a thread while a desk on `store_root` is served at `socket_path`."""
    import os

    from conftest import small_workspace

    from frontdesk import cli
    from frontdesk.desk import Desk
    from frontdesk.store import Store
    from frontdesk.team.peercred import user_name
    from frontdesk.team.server import Admission, DeskServer

    async def run() -> int:
        with Store.open(store_root) as store:
            me = user_name(os.getuid())
            desk = Desk(store)
            if not store.conversations():
                ws = small_workspace()
                await desk.load_workspace(ws.contacts, ws.conversations, ws.messages)
            server = DeskServer(
                desk,
                socket_path,
                admission=Admission(me, frozenset(), Path("/x")),
                version="t",
            )
            await server.start()
            try:
                return await asyncio.to_thread(cli.main, argv)
            finally:
                await server.close()

    return asyncio.run(run())


def test_a_console_attaches_when_the_desk_answers_and_solo_runs_its_own(
    short_dir, consoles, capsys
):
    data = short_dir / "d"
    assert run_served(short_dir / "served", data / "desk.sock", ["--data-dir", str(data)]) == 0
    assert [mode for mode, _ in consoles] == ["team"]
    assert not consoles[0][1].attached  # detached when the console ended
    assert consoles.apps[0].replica_frozen
    solo = ["--solo", "--data-dir", str(data)]
    # solo runs its own desk, which this config gives no channels: its own one-line error
    assert run_served(short_dir / "served", data / "desk.sock", solo) == 2
    assert "no channels in" in capsys.readouterr().err
    assert len(consoles) == 1


def test_the_demo_attaches_to_a_served_demo_unless_solo(short_dir, consoles):
    data = short_dir / "d"
    served_at = data / "demo-1" / "desk.sock"
    demo = ["demo", "--quiet", "--data-dir", str(data)]
    assert run_served(short_dir / "served", served_at, demo) == 0
    assert run_served(short_dir / "served", served_at, [*demo, "--solo"]) == 0
    assert run_served(short_dir / "served", served_at, ["--solo", *demo]) == 0
    assert [mode for mode, _ in consoles] == ["team", "solo", "solo"]


def test_solo_when_asked_even_with_team_configured(tmp_path, capsys, consoles):
    from frontdesk import cli

    config = team_config(tmp_path, tmp_path / "run" / "desk.sock")
    status = cli.main(["--solo", "--config", str(config), "--data-dir", str(tmp_path / "d")])
    err = capsys.readouterr().err
    assert status == 2 and "no channels in" in err  # the solo console's own error, not the desk's
    assert "no desk is running" not in err
