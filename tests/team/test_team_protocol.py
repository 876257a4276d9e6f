"""The team desk's wire protocol: framing bounds, envelopes, the call codec, hostile bytes.

Whatever a peer sends, the protocol answers with a value or a one-line `ProtocolError`
(`CallError` for a call that does not fit its method), never another exception.
"""

from __future__ import annotations

import asyncio
import inspect
import struct
from datetime import datetime, timezone

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.desk.changes import Change, ChangeKind
from frontdesk.desk.desk import Desk
from frontdesk.desk.interface import REMOTE_METHODS, DeskAPI
from frontdesk.desk.presence import PresenceState
from frontdesk.model import (
    ChannelStatus,
    Conversation,
    Direction,
    Message,
    Priority,
    Status,
)
from frontdesk.team import protocol
from frontdesk.team.protocol import (
    MAX_CLIENT_FRAME,
    PROTOCOL_VERSION,
    Call,
    CallCodec,
    CallError,
    Changes,
    ChannelInfo,
    Error,
    Hello,
    Ping,
    Pong,
    ProtocolError,
    Refused,
    Result,
    Snapshot,
    Welcome,
)

WHEN = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)
DESK_METHODS = ["reply", "note", "assign", "set_status", "snooze", "label", "thread", "counts"]


def reader_of(data: bytes, *, eof: bool = True) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    if eof:
        reader.feed_eof()
    return reader


def conversation(conv_id: int = 7) -> Conversation:
    return Conversation(
        id=conv_id,
        channel="wa",
        contact_id=3,
        thread_key="t-7",
        status=Status.PENDING,
        priority=Priority.HIGH,
        assignee="ben",
        labels=["billing"],
        created_at=WHEN,
        last_activity_at=WHEN,
        snoozed_until=WHEN,
    )


def message() -> Message:
    return Message(
        id=11, conversation_id=7, direction=Direction.OUT, body="hi", author="aiko", created_at=WHEN
    )


# ---- framing -------------------------------------------------------------------------------


async def test_frames_round_trip_and_end_cleanly_between_frames():
    data = protocol.frame(b'{"t":"ping"}', MAX_CLIENT_FRAME) + protocol.frame(b"{}", 10)
    reader = reader_of(data)
    assert await protocol.read_frame(reader, MAX_CLIENT_FRAME) == b'{"t":"ping"}'
    assert await protocol.read_frame(reader, MAX_CLIENT_FRAME) == b"{}"
    assert await protocol.read_frame(reader, MAX_CLIENT_FRAME) is None


async def test_a_length_prefix_over_the_bound_is_refused_before_its_body_arrives():
    reader = reader_of(struct.pack(">I", MAX_CLIENT_FRAME + 1), eof=False)
    with pytest.raises(ProtocolError, match=f"over the {MAX_CLIENT_FRAME}-byte bound"):
        await asyncio.wait_for(protocol.read_frame(reader, MAX_CLIENT_FRAME), 1)


async def test_a_frame_of_exactly_the_bound_is_read():
    payload = b" " * 1000
    reader = reader_of(protocol.frame(payload, 1000))
    assert await protocol.read_frame(reader, 1000) == payload


def test_writing_a_frame_over_the_bound_is_refused():
    with pytest.raises(ProtocolError, match="over the 4-byte bound"):
        protocol.frame(b"12345", 4)


@pytest.mark.parametrize(
    ("data", "says"),
    [(b"\x00\x00", "inside a frame header"), (b"\x00\x00\x00\x09abc", "3 bytes into a 9-byte")],
)
async def test_a_connection_closed_inside_a_frame_is_a_protocol_error(data, says):
    with pytest.raises(ProtocolError, match=says):
        await protocol.read_frame(reader_of(data), MAX_CLIENT_FRAME)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_any_byte_stream_reads_as_frames_or_one_protocol_error(data):
    async def read_all() -> list[bytes]:
        reader = reader_of(data)
        frames: list[bytes] = []
        while (payload := await protocol.read_frame(reader, 512)) is not None:
            frames.append(payload)
        return frames

    try:
        frames = asyncio.run(read_all())
    except ProtocolError as exc:
        assert "\n" not in str(exc)
    else:
        assert all(len(f) <= 512 for f in frames)


# ---- envelopes -----------------------------------------------------------------------------


def snapshot() -> Snapshot:
    return Snapshot(
        conversations=[conversation()],
        contact_names={3: "Aiko Tanaka"},
        agents=["aiko", "ben"],
        agent_names={"aiko": "Aiko"},
        channels={"wa": ChannelInfo(kind="whatsapp", name="WhatsApp")},
        channel_status={"wa": ChannelStatus("ok")},
        escalation_targets=["tier2"],
        hooks=["jira"],
        hook_jobs=[],
        presence=PresenceState(online=["aiko"], viewing={"aiko": 7}, typing={"ben": 7}),
        typing=[7],
    )


@pytest.mark.parametrize(
    "envelope",
    [
        Welcome(protocol=PROTOCOL_VERSION, version="1.0", agent="aiko", state=snapshot()),
        Refused(reason="ben is not an agent of this desk"),
        Result(id=4, value=msgspec.Raw(b'{"a":1}')),
        Error(id=4, kind="desk", message="no such conversation"),
        Changes(
            changes=[Change(ChangeKind.MESSAGE, conversation_id=7, message_id=11)],
            conversations=[conversation()],
            messages=[message()],
            contact_names={3: "Aiko"},
            presence=PresenceState(online=["ben"]),
        ),
        Pong(),
    ],
    ids=lambda e: type(e).__name__,
)
def test_server_envelopes_round_trip(envelope):
    decoded = protocol.decode_server(protocol.encode(envelope))
    assert type(decoded) is type(envelope)
    if isinstance(envelope, Result):
        assert bytes(decoded.value) == bytes(envelope.value)
    else:
        assert decoded == envelope


def test_client_envelopes_round_trip_and_are_tagged_by_t():
    assert protocol.encode(Hello(protocol=1, version="2.3")) == (
        b'{"t":"hello","protocol":1,"version":"2.3","join":true}'
    )
    assert protocol.decode_client(b'{"t":"ping"}') == Ping()
    assert protocol.decode_client(b'{"t":"hello","protocol":9,"extra":[1]}') == Hello(protocol=9)


def test_a_client_may_not_send_a_server_envelope():
    with pytest.raises(ProtocolError, match="client frame does not decode"):
        protocol.decode_client(protocol.encode(Refused(reason="x")))


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not json",
        b"[]",
        b'{"t":"nope"}',
        b'{"protocol":1}',
        b'{"t":"hello","protocol":"one"}',
        b'{"t":"call","id":1}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"t":"hello","protocol":1' + b"\xff\xfe" + b"}",
    ],
)
def test_hostile_client_frames_are_one_line_protocol_errors(payload):
    with pytest.raises(ProtocolError) as raised:
        protocol.decode_client(payload)
    assert "\n" not in str(raised.value) and len(str(raised.value)) < 300


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=8,
)


@settings(max_examples=300)
@given(st.binary(max_size=2048))
def test_any_bytes_decode_to_an_envelope_or_a_protocol_error(payload):
    for decode in (protocol.decode_client, protocol.decode_server):
        try:
            envelope = decode(payload)
        except ProtocolError:
            continue
        assert isinstance(envelope, msgspec.Struct)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["hello", "call", "ping", "welcome", "changes", "result", "error"]),
    st.dictionaries(st.sampled_from(["protocol", "id", "method", "args", "changes"]), JSON),
)
def test_tagged_objects_with_any_fields_decode_or_are_protocol_errors(tag, fields):
    payload = msgspec.json.encode({"t": tag, **fields})
    for decode in (protocol.decode_client, protocol.decode_server):
        try:
            decode(payload)
        except ProtocolError:
            pass


# ---- the call codec ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def codec() -> CallCodec:
    return CallCodec(Desk, DESK_METHODS)


def decoded_call(codec: CallCodec, method: str, args: dict) -> dict:
    envelope = protocol.decode_client(codec.encode_call(1, method, args))
    assert isinstance(envelope, Call)
    return codec.decode_args(envelope)


def test_call_arguments_arrive_as_the_methods_types(codec):
    assert decoded_call(codec, "reply", {"conv_id": 7, "body": "hi"}) == {
        "conv_id": 7,
        "body": "hi",
    }
    assert decoded_call(codec, "set_status", {"conv_id": 7, "status": Status.RESOLVED}) == {
        "conv_id": 7,
        "status": Status.RESOLVED,
    }
    args = decoded_call(codec, "snooze", {"conv_id": 7, "until": WHEN})
    assert args["until"] == WHEN and isinstance(args["until"], datetime)


def test_results_arrive_as_the_methods_return_type(codec):
    result = protocol.decode_server(codec.encode_result(3, [message()]))
    assert isinstance(result, Result)
    assert codec.decode_value("thread", result) == [message()]


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b'{"t":"call","id":1,"method":"stop","args":{}}', "'stop' is not a method of the desk"),
        (b'{"t":"call","id":1,"method":"reply","args":{"conv_id":7}}', "needs the argument 'body'"),
        (
            b'{"t":"call","id":1,"method":"reply","args":{"conv_id":"7","body":"x"}}',
            "reply's conv_id: Expected `int`, got `str`",
        ),
        (
            b'{"t":"call","id":1,"method":"assign","args":{"conv_id":1,"agent":null,"x":1}}',
            "assign takes no argument 'x'",
        ),
        (
            b'{"t":"call","id":1,"method":"set_status","args":{"conv_id":1,"status":"gone"}}',
            "Invalid enum value 'gone'",
        ),
    ],
)
def test_calls_that_do_not_fit_are_call_errors(codec, raw, says):
    envelope = protocol.decode_client(raw)
    with pytest.raises(CallError, match=says):
        codec.decode_args(envelope)


def test_the_client_side_refuses_an_unknown_method_or_argument(codec):
    with pytest.raises(CallError, match="not a method"):
        codec.encode_call(1, "store", {})
    with pytest.raises(CallError, match="takes no argument 'agent'"):
        codec.encode_call(1, "reply", {"conv_id": 1, "body": "x", "agent": "root"})


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(DESK_METHODS), st.dictionaries(st.text(max_size=10), JSON, max_size=4))
def test_any_arguments_decode_or_are_call_errors(method, args):
    codec = CallCodec(Desk, DESK_METHODS)
    payload = msgspec.json.encode({"t": "call", "id": 1, "method": method, "args": args})
    envelope = protocol.decode_client(payload)
    try:
        decoded = codec.decode_args(envelope)
    except CallError as exc:
        assert "\n" not in str(exc)
    else:
        assert set(decoded) <= set(inspect.signature(getattr(Desk, method)).parameters) - {"self"}


def test_every_remote_method_of_the_interface_has_a_codec():
    codec = CallCodec(DeskAPI, REMOTE_METHODS)
    assert codec.methods == REMOTE_METHODS
    assert "stop" not in codec.methods and "tally" not in codec.methods


def test_an_attachments_bytes_travel_whole_and_arrive_typed():
    from frontdesk.desk.attachments import AttachmentData

    codec = CallCodec(DeskAPI, REMOTE_METHODS)
    sent = AttachmentData("a b.pdf", bytes(range(256)) * 3)
    result = protocol.decode_server(codec.encode_result(1, sent))
    assert codec.decode_value("attachment_data", result) == sent
    wrong = protocol.decode_server(codec.encode_result(1, 5))
    with pytest.raises(ProtocolError, match="attachment_data"):
        codec.decode_value("attachment_data", wrong)


@pytest.mark.parametrize("status", list(Status))
def test_every_status_crosses_the_wire_and_the_cache(status):
    from frontdesk.store.records import conversation_from_record, conversation_to_record

    conv = conversation()
    conv.status = status
    decoded = protocol.decode_server(protocol.encode(Changes(changes=[], conversations=[conv])))
    assert decoded.conversations[0].status is status
    assert conversation_from_record(7, conversation_to_record(conv)).status is status
