"""`frontdesk serve` as a process: SIGKILL loses nothing acknowledged, SIGTERM exits 0 with a
clean store, a second desk on a live socket is refused, doctor shows the desk's status.

The desk runs `serve --demo` (simulated channels, live customers) in a subprocess, as the
crash suite runs its worker (tests/test_crash.py); consoles are wire clients (tests/team_wire.py).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from pilot_helpers import eventually
from team_wire import WireClient

from frontdesk.model import Message
from frontdesk.store import Store
from frontdesk.store import journal as journal_mod
from frontdesk.team.protocol import Error, Welcome

pytestmark = pytest.mark.slow
SEED = 5


@pytest.fixture
def place():
    """A short directory holding the config, the socket and the data dir."""
    root = Path(tempfile.mkdtemp(prefix="fds-", dir="/tmp"))
    (root / "config.toml").write_text(f'[team]\nsocket = "{root}/run/desk.sock"\n')
    yield root
    shutil.rmtree(root, ignore_errors=True)


class Served:
    """One `frontdesk serve --demo` process."""

    def __init__(self, place: Path) -> None:
        self.place = place
        self.socket = place / "run" / "desk.sock"
        self.data = place / "data" / f"demo-{SEED}"
        self.stderr = place / "serve.err"
        self.proc: subprocess.Popen | None = None

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "FRONTDESK_CONFIG": str(self.place / "config.toml"),
            "FRONTDESK_DATA_DIR": str(self.place / "data"),
        }

    def start(self) -> subprocess.Popen:
        with open(self.stderr, "ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "frontdesk", "serve", "--demo", "--seed", str(SEED)],
                env=self.env(),
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        return self.proc

    async def attach(self) -> WireClient:
        """A console attached once the desk answers (it may still be starting)."""
        attached: list[WireClient] = []

        async def answers() -> bool:
            assert self.proc.poll() is None, self.stderr.read_text()
            try:
                attached.append(await WireClient.attach(self.socket))
            except (FileNotFoundError, ConnectionRefusedError):
                return False
            return True

        await eventually(answers, timeout=60, what="the served desk answering")
        return attached[0]

    def signal(self, signum: int) -> int:
        self.proc.send_signal(signum)
        return self.proc.wait(timeout=60)

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "frontdesk", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture
def served(place):
    served = Served(place)
    yield served
    if served.proc is not None and served.proc.poll() is None:
        served.proc.kill()
        served.proc.wait(timeout=30)


async def acknowledged_reply(client: WireClient) -> Message:
    """A reply the desk acknowledged, in the first conversation whose channel window is open."""
    for conv in client.first.state.conversations:
        answer = await client.call("reply", conv_id=conv.id, body=f"owed reply to {conv.id}")
        if isinstance(answer, Message):
            return answer
    raise AssertionError("no conversation took a reply")


async def test_sigkill_after_an_acknowledged_reply_loses_nothing(served):
    served.start()
    client = await served.attach()
    assert isinstance(client.first, Welcome)
    reply = await acknowledged_reply(client)
    note = await client.call("note", conv_id=reply.conversation_id, body="owed note")
    assert isinstance(note, Message)

    assert served.signal(signal.SIGKILL) == -signal.SIGKILL
    client.writer.close()
    assert served.socket.exists(), "a killed desk leaves its socket behind"

    served.start()  # replaces the stale socket
    again = await served.attach()
    thread = await again.call("thread", conv_id=reply.conversation_id)
    kept = {m.id: m for m in thread}
    assert kept[reply.id].body == "owed reply to %d" % reply.conversation_id
    assert kept[note.id].body == "owed note" and kept[note.id].private
    await again.close()
    assert served.signal(signal.SIGTERM) == 0


async def test_sigterm_exits_0_and_leaves_a_checkpointed_store(served):
    served.start()
    client = await served.attach()
    await acknowledged_reply(client)
    watcher = await WireClient.attach(served.socket, join=False)

    assert served.signal(signal.SIGTERM) == 0
    await asyncio.wait_for(watcher.closed.wait(), 10)
    assert not served.socket.exists(), "the socket goes with the desk"
    journal = served.data / "journal"
    assert journal.stat().st_size == journal_mod.HEADER_SIZE, "checkpointed: nothing to replay"
    with Store.open(served.data) as store:
        assert store.problems == []
    log = (served.data / "logs" / "desk.log").read_text()
    assert f"serving the desk on {served.socket}" in log
    assert "stopped; the cache" in log and "checkpointed" in log
    assert "attached" in log and "detached" in log


async def test_a_second_desk_on_a_live_socket_exits_1_naming_the_pid(served, place):
    served.start()
    client = await served.attach()
    other_data = place / "other"
    second = subprocess.run(
        [sys.executable, "-m", "frontdesk", "serve", "--demo", "--data-dir", str(other_data)],
        env=served.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode == 1
    assert second.stderr.strip().splitlines()[-1] == (
        f"frontdesk: a desk already serves {served.socket} (pid {served.proc.pid})"
    )
    await client.close()
    assert served.signal(signal.SIGTERM) == 0


async def test_doctor_shows_the_running_desk_and_who_is_attached(served):
    down = served.run("doctor")
    assert f"desk:   not running at {served.socket}" in down.stdout
    assert "start it with `frontdesk serve`" in down.stdout

    served.start()
    client = await served.attach()
    up = served.run("doctor")
    me = client.first.agent
    assert (
        f"desk:   running at {served.socket} (frontdesk {client.first.version}, protocol 1); "
        f"attached: {me}"
    ) in up.stdout
    await client.close()
    assert served.signal(signal.SIGTERM) == 0
    assert "attached (looking only)" in (served.data / "logs" / "desk.log").read_text()


async def test_a_call_error_from_the_served_desk_is_one_line(served):
    served.start()
    client = await served.attach()
    answer = await client.call("conversation", conv_id=10**9)
    assert isinstance(answer, Error) and answer.kind == "desk" and "\n" not in answer.message
    await client.close()
    assert served.signal(signal.SIGTERM) == 0


def test_serve_without_channels_or_with_an_unknown_group_is_one_line(place, capsys, monkeypatch):
    from frontdesk import cli

    monkeypatch.setenv("FRONTDESK_CONFIG", str(place / "config.toml"))
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(place / "data"))
    assert cli.main(["serve"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert err == (
        f"frontdesk: no channels in {place / 'config.toml'}; add a [[channels]] block (see README)"
    )

    (place / "config.toml").write_text(
        f'[team]\nsocket = "{place}/run/desk.sock"\ngroup = "no-such-group-x"\n'
    )
    assert cli.main(["serve", "--demo"]) == cli.EXIT_FAILURE
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (
        f"frontdesk: {place / 'config.toml'}: [team] group: there is no Unix group "
        "'no-such-group-x'; create it (groupadd no-such-group-x) or fix the name"
    )


async def test_sigkill_while_consoles_reply_loses_no_acknowledged_reply(served):
    """Three kills at seeded moments while a console keeps replying and noting: every message
    the desk answered for is in the cache after the restarts, with its body."""
    rng = random.Random(SEED)
    acked: dict[int, tuple[int, str]] = {}
    served.start()
    for trial in range(3):
        client = await served.attach()
        target = (await acknowledged_reply(client)).conversation_id

        async def keep_writing(client=client, trial=trial) -> None:
            for n in itertools.count():
                method = "reply" if n % 2 else "note"
                body = f"trial {trial} {method} {n}"
                try:
                    answer = await client.call(method, conv_id=target, body=body)
                except AssertionError:  # the desk is gone: no answer
                    return
                if isinstance(answer, Message):
                    acked[answer.id] = (target, body)

        writing = asyncio.create_task(keep_writing())
        wanted = len(acked) + rng.randint(3, 30)
        await eventually(lambda wanted=wanted: len(acked) >= wanted, timeout=60)
        assert served.signal(signal.SIGKILL) == -signal.SIGKILL
        await asyncio.wait_for(writing, 30)
        client.writer.close()
        served.start()

    client = await served.attach()
    for conv_id in {conv for conv, _ in acked.values()}:
        kept = {m.id: m.body for m in await client.call("thread", conv_id=conv_id)}
        for message_id, (conv, body) in acked.items():
            if conv == conv_id:
                assert kept.get(message_id) == body, f"acknowledged #{message_id} lost"
    await client.close()
    assert served.signal(signal.SIGTERM) == 0
