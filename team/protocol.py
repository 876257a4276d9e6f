"""The desk's wire protocol: length-prefixed msgspec JSON frames, the envelopes, the call codec.

Each frame is a 4-byte big-endian length and one JSON object tagged by "t". Everything a
peer sends is untrusted: a frame over its bound, bad JSON or an envelope that does not
validate raises `ProtocolError` with one line, never anything else.
"""

from __future__ import annotations

import asyncio
import inspect
import struct
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import msgspec

from frontdesk.desk.changes import Change
from frontdesk.desk.outgoing_files import REPLY_FILES_BYTES
from frontdesk.desk.presence import PresenceState
from frontdesk.model import ChannelStatus, Conversation, Message
from frontdesk.store import HookJob

PROTOCOL_VERSION = 1
MAX_CLIENT_FRAME = 1 << 20
"""A client's hello may be at most 1 MiB (the server refuses more before it admits the console)."""
MAX_CALL_FRAME = REPLY_FILES_BYTES * 4 // 3 + (1 << 20)
"""An admitted console's call may be larger: a reply's files travel in it (base64, up to 32 MiB)."""
MAX_SERVER_FRAME = 64 << 20
"""A server's frame may be at most 64 MiB (a snapshot of a large desk)."""
HELLO_SECONDS = 5.0
PING_SECONDS = 10.0
SILENT_SECONDS = 30.0

_HEADER = struct.Struct(">I")
_REASON_CHARS = 200


class ProtocolError(Exception):
    """A peer broke the protocol: the message is one line for the log."""


# ---- framing -------------------------------------------------------------------------------


async def read_frame(reader: asyncio.StreamReader, limit: int) -> bytes | None:
    """The next frame's payload; None at a clean end of stream between frames."""
    try:
        header = await reader.readexactly(_HEADER.size)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise ProtocolError("the connection closed inside a frame header") from None
    (size,) = _HEADER.unpack(header)
    if size > limit:
        raise ProtocolError(f"a frame of {size} bytes is over the {limit}-byte bound")
    try:
        return await reader.readexactly(size)
    except asyncio.IncompleteReadError as exc:
        raise ProtocolError(
            f"the connection closed {len(exc.partial)} bytes into a {size}-byte frame"
        ) from None


def frame(payload: bytes, limit: int) -> bytes:
    """The payload with its length prefix; a payload over `limit` is refused."""
    if len(payload) > limit:
        raise ProtocolError(f"a frame of {len(payload)} bytes is over the {limit}-byte bound")
    return _HEADER.pack(len(payload)) + payload


async def write_frame(writer: asyncio.StreamWriter, payload: bytes, limit: int) -> None:
    writer.write(frame(payload, limit))
    await writer.drain()


# ---- what a desk looks like on attach --------------------------------------------------------


@dataclass(slots=True)
class ChannelInfo:
    kind: str
    name: str


@dataclass(slots=True)
class Snapshot:
    """Everything a console's replica starts from (the welcome carries it)."""

    conversations: list[Conversation]
    contact_names: dict[int, str]
    agents: list[str]
    agent_names: dict[str, str]
    channels: dict[str, ChannelInfo]
    channel_status: dict[str, ChannelStatus]
    escalation_targets: list[str]
    hooks: list[str]
    hook_jobs: list[HookJob]
    presence: PresenceState
    typing: list[int]  # conversations whose customer is typing


# ---- envelopes -----------------------------------------------------------------------------


class Hello(msgspec.Struct, tag="hello", tag_field="t"):
    protocol: int
    version: str = ""
    join: bool = True  # False: only looking (`frontdesk doctor`), not online in presence


class Welcome(msgspec.Struct, tag="welcome", tag_field="t"):
    protocol: int
    version: str
    agent: str
    state: Snapshot


class Refused(msgspec.Struct, tag="refused", tag_field="t"):
    reason: str


class Call(msgspec.Struct, tag="call", tag_field="t"):
    id: int
    method: str
    args: dict[str, msgspec.Raw] = {}


class Result(msgspec.Struct, tag="result", tag_field="t"):
    id: int
    value: msgspec.Raw = msgspec.Raw(b"null")


ErrorKind = Literal["desk", "refused", "internal"]


class Error(msgspec.Struct, tag="error", tag_field="t"):
    id: int
    kind: ErrorKind
    message: str


class Changes(msgspec.Struct, tag="changes", tag_field="t"):
    changes: list[Change]
    conversations: list[Conversation] = []
    messages: list[Message] = []
    contact_names: dict[int, str] = {}
    presence: PresenceState | None = None
    hook_jobs: list[HookJob] | None = None
    channel_status: dict[str, ChannelStatus] | None = None  # set when a CHANNEL change is in it


class Ping(msgspec.Struct, tag="ping", tag_field="t"):
    pass


class Pong(msgspec.Struct, tag="pong", tag_field="t"):
    pass


ClientFrame = Hello | Call | Ping
ServerFrame = Welcome | Refused | Result | Error | Changes | Pong


def _encode_extra(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    raise NotImplementedError(f"{type(value).__name__} has no wire form")


def _decode_extra(kind: type, value: Any) -> Any:
    if kind is Path and isinstance(value, str):
        return Path(value)
    raise TypeError(f"expected {getattr(kind, '__name__', kind)}")


_encoder = msgspec.json.Encoder(enc_hook=_encode_extra)
_client_decoder = msgspec.json.Decoder(ClientFrame)
_server_decoder = msgspec.json.Decoder(ServerFrame)


def encode(envelope: msgspec.Struct) -> bytes:
    return _encoder.encode(envelope)


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:_REASON_CHARS]


def decode_client(payload: bytes) -> ClientFrame:
    """A client's frame as an envelope, or ProtocolError naming what is wrong."""
    try:
        return _client_decoder.decode(payload)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise ProtocolError(f"a client frame does not decode: {_one_line(exc)}") from None


def decode_server(payload: bytes) -> ServerFrame:
    """The desk's frame as an envelope, or ProtocolError naming what is wrong."""
    try:
        return _server_decoder.decode(payload)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise ProtocolError(f"a desk frame does not decode: {_one_line(exc)}") from None


# ---- calls ---------------------------------------------------------------------------------


class CallError(Exception):
    """A call that names no remote method or whose arguments do not fit it (one line)."""


@dataclass(frozen=True, slots=True)
class _Signature:
    params: Mapping[str, msgspec.json.Decoder]
    required: frozenset[str]
    returns: msgspec.json.Decoder


class CallCodec:
    """Arguments and return values of the remote methods, typed by the interface's annotations.

    `api` is the class whose methods' annotations say the types (DeskAPI); only `methods`
    are callable. Both sides use one codec: the client encodes arguments and decodes values,
    the server decodes arguments and encodes values.
    """

    def __init__(self, api: type, methods: Iterable[str]) -> None:
        self._signatures = {name: _signature(getattr(api, name)) for name in sorted(methods)}

    @property
    def methods(self) -> frozenset[str]:
        return frozenset(self._signatures)

    def _lookup(self, method: str) -> _Signature:
        signature = self._signatures.get(method)
        if signature is None:
            raise CallError(f"{method[:80]!r} is not a method of the desk")
        return signature

    def encode_call(self, call_id: int, method: str, args: Mapping[str, Any]) -> bytes:
        signature = self._lookup(method)
        unknown = set(args) - set(signature.params)
        if unknown:
            raise CallError(f"{method} takes no argument {sorted(unknown)[0]!r}")
        raw = {name: msgspec.Raw(_encoder.encode(value)) for name, value in args.items()}
        return encode(Call(id=call_id, method=method, args=raw))

    def decode_args(self, call: Call) -> dict[str, Any]:
        """The call's arguments as the method's types; CallError if they do not fit."""
        signature = self._lookup(call.method)
        missing = signature.required - set(call.args)
        if missing:
            raise CallError(f"{call.method} needs the argument {sorted(missing)[0]!r}")
        decoded: dict[str, Any] = {}
        for name, raw in call.args.items():
            decoder = signature.params.get(name)
            if decoder is None:
                raise CallError(f"{call.method} takes no argument {name[:80]!r}")
            try:
                decoded[name] = decoder.decode(raw)
            except (msgspec.DecodeError, RecursionError) as exc:
                raise CallError(f"{call.method}'s {name}: {_one_line(exc)}") from None
        return decoded

    def encode_result(self, call_id: int, value: Any) -> bytes:
        return encode(Result(id=call_id, value=msgspec.Raw(_encoder.encode(value))))

    def decode_value(self, method: str, result: Result) -> Any:
        """A result's value as the method's return type; ProtocolError if it does not fit."""
        try:
            return self._lookup(method).returns.decode(result.value)
        except (msgspec.DecodeError, RecursionError) as exc:
            raise ProtocolError(f"the desk's answer to {method}: {_one_line(exc)}") from None


def _signature(method: Any) -> _Signature:
    hints = typing.get_type_hints(method)
    params: dict[str, msgspec.json.Decoder] = {}
    required: set[str] = set()
    for name, param in inspect.signature(method).parameters.items():
        if name == "self":
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            raise TypeError(f"{method.__qualname__}: remote methods take named arguments only")
        params[name] = msgspec.json.Decoder(hints[name], dec_hook=_decode_extra)
        if param.default is param.empty:
            required.add(name)
    returns = msgspec.json.Decoder(hints.get("return", Any), dec_hook=_decode_extra)
    return _Signature(params, frozenset(required), returns)
