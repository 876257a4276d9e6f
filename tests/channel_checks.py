"""What a channel backend test reads back (messages stored, a channel's state, doctor's output),
a patient wait, and the untrusted JSON its parser is fed (not a test module: tests/conftest.py
puts tests/ on sys.path, so every layer imports it by name)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import partial

from hypothesis import strategies as st
from pilot_helpers import eventually as wait_for_condition
from status_log import record_statuses

from frontdesk import config
from frontdesk.desk import Desk
from frontdesk.model import Delivery, Direction, MessageKind

# the fakes on loopback answer slowly on a busy box: a longer limit than the default
eventually = partial(wait_for_condition, timeout=8.0)

#: any JSON value, nested a few levels: what a hostile or broken provider may put anywhere
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=30,
)


class RecordingDesk(Desk):
    """A Desk that remembers every channel status it was told, in order."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.shown = record_statuses(self)

    @property
    def statuses(self) -> list[tuple[str, str]]:
        return [(status.state, status.detail) for _, status in self.shown]


@asynccontextmanager
async def running(desk) -> AsyncIterator:
    """The desk started (its channels running) for the block, and stopped after it, whatever happens."""
    await desk.start()
    try:
        yield desk
    finally:
        await desk.stop()


def messages_of(store, direction: Direction | None = None) -> list:
    """The stored messages (not the thread's activity lines), conversation by conversation."""
    return [
        m
        for c in store.conversations()
        for m in store.messages(c.id)
        if m.kind is not MessageKind.ACTIVITY and (direction is None or m.direction is direction)
    ]


def frontdesk_doctor(
    tmp_path, channel: str, backend: str, settings: str, secrets: Mapping[str, str | None]
) -> subprocess.CompletedProcess:
    """`frontdesk doctor` in its own process on a config with one channel (`settings`: its TOML
    lines), each secret given in the environment as FRONTDESK_SECRET_<CHANNEL>_<KEY>."""
    config = tmp_path / "config.toml"
    config.write_text(f'[[channels]]\nname = "{channel}"\nbackend = "{backend}"\n{settings}')
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env.update(
        FRONTDESK_CONFIG=str(config),
        FRONTDESK_DATA_DIR=str(tmp_path / "data"),
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    prefix = f"FRONTDESK_SECRET_{channel.upper().replace('-', '_')}_"
    env.update({prefix + key.upper(): value for key, value in secrets.items() if value})
    return subprocess.run(
        [sys.executable, "-m", "frontdesk", "doctor"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def assert_doctor_ok(done: subprocess.CompletedProcess, channel_line: str) -> None:
    """`frontdesk doctor` passed and said so for the channel ("ok: channel wa (whatsapp)")."""
    assert done.returncode == 0, done.stdout + done.stderr
    assert channel_line in done.stdout


def assert_doctor_found(
    done: subprocess.CompletedProcess, *lines: str, hidden: str | None = None
) -> None:
    """`frontdesk doctor` failed without a traceback, printed each of `lines` (the problem and its
    fix), and never the secret `hidden`."""
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Traceback" not in output
    for line in lines:
        assert line in done.stdout, done.stdout
    assert hidden is None or hidden not in output


async def assert_reply_unconfirmed(desk, store, conversation_id: int, body: str) -> None:
    """A reply whose send timed out after it was written ends unconfirmed with the reason, and
    leaves the outbox: flushing again never re-sends it."""
    message = await desk.reply(conversation_id, body)
    await desk.flush_outbox()
    stored = store.message(conversation_id, message.id)
    assert stored.delivery is Delivery.UNCONFIRMED, stored
    assert "may have been sent" in stored.delivery_reason
    await desk.flush_outbox()
    assert store.outbox() == []


def config_refusal(tmp_path, channel_block: str, schema: Mapping) -> str:
    """What the config loader says about a config holding this one channel block (`name = …`,
    `backend = …`, settings), checked against the backend's settings schema."""
    path = tmp_path / "config.toml"
    path.write_text("[[channels]]\n" + channel_block)
    try:
        config.load_config(path, backend_schemas=lambda backend: schema)
    except config.ConfigError as exc:
        return str(exc)
    raise AssertionError(f"the config loader accepted {channel_block!r}")


def state(desk, channel: str) -> str | None:
    """The state the desk shows for `channel` ("ok", "down" …), None before any."""
    status = desk.channel_status.get(channel)
    return status.state if status else None
