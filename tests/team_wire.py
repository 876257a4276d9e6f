"""A tiny client of the desk's wire protocol for tests (not a test module): raw frames in, envelopes out.

It reads every frame the desk sends in a background task and keeps them, so a test waits on
what arrived (`pilot_helpers.eventually`) instead of sleeping.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

from frontdesk.desk.changes import Change
from frontdesk.desk.interface import REMOTE_METHODS, DeskAPI
from frontdesk.team.protocol import (
    MAX_CLIENT_FRAME,
    MAX_SERVER_FRAME,
    PROTOCOL_VERSION,
    CallCodec,
    Changes,
    Error,
    Hello,
    ProtocolError,
    Result,
    decode_server,
    encode,
    frame,
    read_frame,
)

CODEC = CallCodec(DeskAPI, REMOTE_METHODS)


class WireClient:
    """One connection to a served desk; `first` is its answer to the hello (Welcome or Refused)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.first: Any = None
        self.frames: list[Any] = []
        self.replies: dict[int, Result | Error] = {}
        self.closed = asyncio.Event()
        self._answers: dict[int, asyncio.Future[None]] = {}  # call id -> set when it is answered
        self._ids = itertools.count(1)
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def connect(cls, path: Path) -> WireClient:
        reader, writer = await asyncio.open_unix_connection(str(path))
        return cls(reader, writer)

    @classmethod
    async def attach(
        cls, path: Path, *, protocol: int = PROTOCOL_VERSION, join: bool = True, read: bool = True
    ) -> WireClient:
        """Connect, say hello and read the answer; with `read`, keep reading in the background."""
        client = await cls.connect(path)
        client.send(encode(Hello(protocol=protocol, version="test", join=join)))
        payload = await asyncio.wait_for(read_frame(client.reader, MAX_SERVER_FRAME), 10)
        client.first = decode_server(payload) if payload is not None else None
        if read:
            client._task = asyncio.create_task(client._read_forever())
        return client

    def send(self, payload: bytes) -> None:
        self.send_raw(frame(payload, MAX_CLIENT_FRAME))

    def send_raw(self, data: bytes) -> None:
        self.writer.write(data)

    async def _read_forever(self) -> None:
        try:
            while (payload := await read_frame(self.reader, MAX_SERVER_FRAME)) is not None:
                envelope = decode_server(payload)
                self.frames.append(envelope)
                if isinstance(envelope, Result | Error):
                    self.replies[envelope.id] = envelope
                    self._answered(envelope.id)
        except (ProtocolError, ConnectionError):
            pass
        finally:
            self.closed.set()
            for call_id in list(self._answers):
                self._answered(call_id)

    def _answered(self, call_id: int) -> None:
        waiting = self._answers.pop(call_id, None)
        if waiting is not None and not waiting.done():
            waiting.set_result(None)

    async def call(self, method: str, **args: Any) -> Any:
        """The method's value, or the Error envelope the desk answered."""
        call_id = next(self._ids)
        answered = self._answers[call_id] = asyncio.get_running_loop().create_future()
        self.send(CODEC.encode_call(call_id, method, args))
        if not self.closed.is_set():
            try:
                await asyncio.wait_for(
                    answered, 10
                )  # the reader says: answered, or the link closed
            except TimeoutError:
                pass
        if call_id not in self.replies:
            raise AssertionError(f"no answer to {method}")
        reply = self.replies.pop(call_id)
        return CODEC.decode_value(method, reply) if isinstance(reply, Result) else reply

    @property
    def pushes(self) -> list[Changes]:
        return [f for f in self.frames if isinstance(f, Changes)]

    def changes(self) -> list[Change]:
        return [change for push in self.pushes for change in push.changes]

    async def close(self) -> None:
        self.writer.close()
        if self._task is not None:
            await asyncio.wait_for(self.closed.wait(), 10)
