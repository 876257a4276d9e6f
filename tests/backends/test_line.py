"""LINE backend: webhook parsing, reply token vs push, quota, errors and doctor against a loopback fake."""

from __future__ import annotations

import asyncio
import json
import logging
import struct
import uuid

import httpx
import pytest
from fakes.line import SECRET, TOKEN, USER, FakeLine, error, event, signature, text, webhook
from channel_checks import eventually, json_values, running
from fakes.server import DROP, AfterWork, Hang, Response
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.backends.base import (
    AmbiguousError,
    ConfigError,
    PermanentError,
    TransientError,
)
from frontdesk.backends.line import FILES_PROBLEM, LineBackend
from frontdesk.backends.line_media import mp4_duration_ms
from frontdesk.backends.line_parse import parse_body
from frontdesk.desk import Desk
from frontdesk.desk.errors import DeskError
from frontdesk.model import (
    Attachment,
    ContactProfile,
    Delivery,
    Direction,
    FileUpload,
    Inbound,
    Outgoing,
    TemplateSend,
    Unparsable,
)

FAST = {"request_timeout": 2.0, "connect_timeout": 0.5}


class Clock:
    """A monotonic clock the test moves by hand (reply tokens age with it)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake():
    return FakeLine()


def backend_for(server, token=TOKEN, secret=SECRET, **settings) -> LineBackend:
    secrets = {"channel_access_token": token, "channel_secret": secret}
    backend = LineBackend(
        "line",
        {"base_url": server.url, "data_base_url": server.url, **FAST, **settings},
        secrets=lambda key: secrets.get(key),
    )
    backend.clock = Clock()
    return backend


def desk_for(store, backend) -> Desk:
    """A desk whose receiver listens on a free loopback port (it starts with `desk.start()`)."""
    return Desk(store, {"line": backend}, agent="Aiko", webhook_listen=("127.0.0.1", 0))


def inbound(events):
    return [e for e in events if isinstance(e, Inbound)]


def out(body="Thanks, checking now", thread=USER, key="k-1", **kw) -> Outgoing:
    return Outgoing(1, 1, thread, thread, body, idempotency_key=key, **kw)


# ---- parsing -----------------------------------------------------------------------------------


def test_every_event_type_in_one_body_is_parsed():
    body = webhook(
        text("1001", "Hello, my order?", event_id="E1"),
        event(message={"id": "1002", "type": "image", "contentProvider": {"type": "line"}}),
        event(
            message={
                "id": "1003",
                "type": "video",
                "duration": 5000,
                "contentProvider": {
                    "type": "external",
                    "originalContentUrl": "https://cdn.example.com/v.mp4",
                    "previewImageUrl": "https://cdn.example.com/v.jpg",
                },
            }
        ),
        event(
            message={
                "id": "1004",
                "type": "audio",
                "duration": 60000,
                "contentProvider": {"type": "line"},
            }
        ),
        event(message={"id": "1005", "type": "file", "fileName": "invoice.pdf", "fileSize": 2048}),
        event(
            message={
                "id": "1006",
                "type": "location",
                "title": "my home",
                "address": "1-3 Kioicho, Chiyoda-ku, Tokyo",
                "latitude": 35.67966,
                "longitude": 139.73669,
            }
        ),
        event(
            message={
                "id": "1007",
                "type": "sticker",
                "packageId": "446",
                "stickerId": "1988",
                "stickerResourceType": "STATIC",
                "keywords": ["happy", "smile"],
            }
        ),
        event("follow", event_id="E-follow", follow={"isUnblocked": False}),
        event("unfollow", event_id="E-unfollow"),
        event(
            "postback",
            event_id="E-postback",
            postback={"data": "action=buy&itemid=111", "params": {"date": "2026-12-06"}},
        ),
        event("join", event_id="E-join", group="Cgroup1"),
    )
    parsed = parse_body("line", body)
    events = parsed.events
    assert all(isinstance(e, Inbound) for e in events)
    by_id = {e.external_id: e for e in events}
    assert list(by_id) == [
        "1001", "1002", "1003", "1004", "1005", "1006", "1007", "E-follow", "E-unfollow", "E-postback"
    ]  # fmt: skip
    assert by_id["1001"].body == "Hello, my order?"
    assert by_id["1001"].thread_key == USER and by_id["1001"].sender.address == USER
    assert by_id["1001"].created_at.timestamp() == 1_780_000_000
    assert by_id["1002"].attachments == [Attachment("image-1002.jpg", "image/jpeg", 0, "1002")]
    assert by_id["1003"].attachments[0].ref == "https://cdn.example.com/v.mp4"
    assert by_id["1004"].attachments[0].mime == "audio/mp4"
    assert by_id["1005"].attachments == [Attachment("invoice.pdf", "application/pdf", 2048, "1005")]
    assert by_id["1006"].body.startswith(
        "📍 my home — 1-3 Kioicho, Chiyoda-ku, Tokyo\n35.679660, 139.736690"
    )
    assert by_id["1007"].body == "[sticker 446/1988: happy, smile]"
    assert by_id["E-follow"].body == "(followed the account)"
    assert "unfollowed" in by_id["E-unfollow"].body
    assert by_id["E-postback"].body == "action=buy&itemid=111 (date=2026-12-06)"
    # a reply token per event that carries one; a profile lookup for each sender
    assert len(parsed.reply_tokens) == 9 and parsed.reply_tokens[0].thread_key == USER
    assert {p.path for p in parsed.profiles} == {f"/v2/bot/profile/{USER}"}


def test_group_and_room_thread_on_the_group_with_the_sender_as_contact():
    parsed = parse_body(
        "line",
        webhook(
            text("2001", "hi all", group="Cgroup1", user="Ualice"),
            text("2002", "hi room", room="Rroom1", user="Ubob"),
        ),
    )
    first, second = parsed.events
    assert (first.thread_key, first.sender.address) == ("Cgroup1", "Ualice")
    assert (second.thread_key, second.sender.address) == ("Rroom1", "Ubob")
    assert [p.path for p in parsed.profiles] == [
        "/v2/bot/group/Cgroup1/member/Ualice",
        "/v2/bot/room/Rroom1/member/Ubob",
    ]


def test_a_bad_event_is_quarantined_and_the_rest_kept():
    body = webhook(
        text("3001", "fine"),
        {
            "type": "message",
            "source": {"type": "user", "userId": USER},
            "message": {"type": "text"},
        },
        event(message={"id": "../../etc", "type": "text", "text": "path trick"}),
        "not an object",
        text("3002", "also fine"),
    )
    events = parse_body("line", body).events
    assert [e.external_id for e in inbound(events)] == ["3001", "3002"]
    assert sum(isinstance(e, Unparsable) for e in events) == 3


def test_not_json_is_one_unparsable():
    events = parse_body("line", b"\xff{nope").events
    assert len(events) == 1 and isinstance(events[0], Unparsable)


event_like = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["message", "follow", "unfollow", "postback", "join"]) | json_values,
        "source": st.fixed_dictionaries({"type": st.sampled_from(["user", "group", "room"]), "userId": st.text(max_size=8)}) | json_values,
        "message": st.fixed_dictionaries({"id": st.text(max_size=8) | json_values, "type": st.sampled_from(["text", "image", "file", "location", "sticker"])}, optional={"text": json_values, "latitude": json_values, "longitude": json_values, "fileSize": json_values, "fileName": json_values}) | json_values,
    },
    optional={"replyToken": json_values, "timestamp": json_values, "webhookEventId": json_values, "deliveryContext": json_values, "postback": json_values},
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(event_like | json_values, max_size=6), json_values)
def test_random_json_never_raises_and_good_events_survive(events, noise):
    body = json.dumps(
        {"destination": "x", "events": [*events, text("4242", "survivor")], "n": noise}
    )
    parsed = parse_body("line", body.encode())
    assert "4242" in [e.external_id for e in inbound(parsed.events)]
    for found in inbound(parsed.events):
        assert found.external_id and found.thread_key


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_random_bytes_never_raise(body):
    events = parse_body("line", body).events
    assert all(isinstance(e, (Inbound, Unparsable)) for e in events)


def test_signature_is_checked_with_the_channel_secret(server):
    backend = backend_for(server)
    body = webhook(text("5001", "hi"))
    assert backend.signature_ok({"x-line-signature": signature(body)}, body)
    assert not backend.signature_ok({"x-line-signature": signature(body, "other")}, body)
    assert not backend.signature_ok({}, body)
    assert not backend_for(server, secret=None).signature_ok(
        {"x-line-signature": signature(body)}, body
    )


async def test_redelivery_and_repeats_are_stored_once(server, store):
    backend = backend_for(server)
    desk = desk_for(store, backend)
    first = webhook(
        text("6001", "where is my parcel?", event_id="E6001"), event("follow", event_id="E-f")
    )
    again = webhook(
        text("6001", "where is my parcel?", event_id="E6001", redelivery=True),
        event("follow", event_id="E-f", redelivery=True),
        text("6002", "hello?", event_id="E6002", redelivery=True),
    )
    await desk.ingest("line", backend.parse_webhook(first))
    await desk.ingest("line", backend.parse_webhook(again))
    conv = store.find_conversation("line", USER)
    bodies = [m.body for m in store.messages(conv.id) if m.direction is Direction.IN]
    assert bodies == ["where is my parcel?", "(followed the account)", "hello?"]


# ---- sending: reply token vs push ------------------------------------------------------------


async def test_fresh_reply_token_is_used_once_then_push(fake, server):
    backend = backend_for(server)
    token = fake.issue_token("tok-fresh")
    backend.parse_webhook(webhook(text("7001", "hi", reply_token=token)))

    first = await backend.send(out("Hello! How can I help?", key="k-1"))
    second = await backend.send(out("Anything else?", key="k-2"))

    reply, push = [r for r in server.requests if r.path.startswith("/v2/bot/message/")]
    assert reply.path == "/v2/bot/message/reply"
    assert json.loads(reply.body) == {
        "replyToken": "tok-fresh",
        "messages": [{"type": "text", "text": "Hello! How can I help?"}],
    }
    assert reply.headers["authorization"] == f"Bearer {TOKEN}"
    assert "x-line-retry-key" not in reply.headers
    assert push.path == "/v2/bot/message/push"
    assert json.loads(push.body) == {
        "to": USER,
        "messages": [{"type": "text", "text": "Anything else?"}],
    }
    assert uuid.UUID(push.headers["x-line-retry-key"])
    assert [s["via"] for s in fake.sent] == ["reply", "push"]
    assert first.external_id.isdigit() and second.external_id.isdigit()


async def test_old_reply_token_is_not_used(fake, server):
    backend = backend_for(server)
    backend.parse_webhook(webhook(text("7101", "hi", reply_token=fake.issue_token("tok-old"))))
    backend.clock.now += 51  # past reply_token_seconds (50)
    await backend.send(out())
    assert [s["via"] for s in fake.sent] == ["push"]
    assert "tok-old" in fake.reply_tokens  # never spent


async def test_newest_token_of_a_thread_wins_and_redelivered_tokens_are_ignored(fake, server):
    backend = backend_for(server)
    backend.parse_webhook(webhook(text("7201", "a", reply_token=fake.issue_token("tok-a"))))
    backend.clock.now += 10
    backend.parse_webhook(webhook(text("7202", "b", reply_token=fake.issue_token("tok-b"))))
    backend.parse_webhook(
        webhook(text("7200", "old", reply_token=fake.issue_token("tok-re"), redelivery=True))
    )
    await backend.send(out())
    assert fake.sent[0] == {
        "via": "reply", "to": "tok-b", "messages": [{"type": "text", "text": "Thanks, checking now"}]
    }  # fmt: skip


async def test_reply_token_line_refuses_falls_back_to_push(fake, server):
    backend = backend_for(server)
    backend.parse_webhook(webhook(text("7301", "hi", reply_token="tok-never-issued")))
    result = await backend.send(out())
    assert [r.path for r in server.requests] == ["/v2/bot/message/reply", "/v2/bot/message/push"]
    assert fake.sent == [
        {"via": "push", "to": USER, "messages": [{"type": "text", "text": "Thanks, checking now"}]}
    ]
    assert (
        result.external_id
        == fake.retry_keys[server.requests[-1].headers["x-line-retry-key"]]["sentMessages"][0]["id"]
    )


async def test_push_retry_with_the_same_key_is_success_not_a_second_message(fake, server):
    backend = backend_for(server)
    # LINE accepts the push but the answer is lost on the way back
    fake.faults["/v2/bot/message/push"] = [AfterWork(lambda answer: DROP)]
    with pytest.raises(TransientError, match="retry key is safe"):
        await backend.send(out(key="k-9"))
    first = await backend.send(out(key="k-9"))  # the outbox's retry: 409, already accepted
    again = await backend.send(out(key="k-9"))
    keys = [r.headers["x-line-retry-key"] for r in server.requests]
    assert len(keys) == 3 and len(set(keys)) == 1
    assert len(fake.sent) == 1 and again.external_id == first.external_id == fake.sent_ids[0]
    other = await backend.send(out(key="k-10"))
    assert other.external_id != first.external_id and len(fake.sent) == 2


async def test_reply_that_may_have_gone_out_is_not_retried(fake, server, store):
    backend = backend_for(server, request_timeout=0.5)
    desk = desk_for(store, backend)
    token = fake.issue_token("tok-hang")
    await desk.ingest("line", backend.parse_webhook(webhook(text("7401", "hi", reply_token=token))))
    conv = store.find_conversation("line", USER)
    fake.faults["/v2/bot/message/reply"] = [Hang(3)]
    message = await desk.reply(conv.id, "On it")
    await desk.flush_outbox()
    stored = store.message(conv.id, message.id)
    assert (
        stored.delivery is Delivery.UNCONFIRMED and "may have been sent" in stored.delivery_reason
    )
    await desk.flush_outbox()
    assert fake.sent == [] and [r.path for r in server.requests].count("/v2/bot/message/push") == 0


async def test_reply_through_the_desk_is_sent_and_marked(fake, server, store):
    backend = backend_for(server)
    desk = desk_for(store, backend)
    token = fake.issue_token("tok-desk")
    await desk.ingest("line", backend.parse_webhook(webhook(text("7501", "hi", reply_token=token))))
    conv = store.find_conversation("line", USER)
    message = await desk.reply(conv.id, "Hello from the desk")
    await desk.flush_outbox()
    stored = store.message(conv.id, message.id)
    assert stored.delivery is Delivery.SENT and stored.external_id == str(fake.next_id)
    assert fake.sent[0]["via"] == "reply"


async def test_files_without_a_public_url_are_refused_with_the_fix(server, tmp_path):
    backend = backend_for(server)
    picture = tmp_path / "a.png"
    picture.write_bytes(b"\x89PNG....")
    assert backend.attachment_problem("a.png", "image/png", 10) == FILES_PROBLEM
    assert FILES_PROBLEM.startswith("LINE sends files only from a public HTTPS URL; set [webhooks]")
    with pytest.raises(PermanentError, match="public HTTPS URL"):
        await backend.send(out(attachments=[Attachment("a.png", "image/png", 8, str(picture))]))
    with pytest.raises(PermanentError, match="no message templates"):
        await backend.send(out(template=TemplateSend("hello", "en")))
    with pytest.raises(PermanentError, match="at most 5,000"):
        await backend.send(out("x" * 5001))
    assert server.requests == []


async def test_only_jpeg_and_png_pictures_up_to_10_mb_go(server):
    backend = backend_for(server)
    backend.public_url = "https://support.example.com/webhooks/line"
    assert backend.attachment_problem("a.png", "image/png", 10) is None
    assert backend.attachment_problem("b.jpg", "image/jpeg", 10 * 1024 * 1024) is None
    assert "only JPEG or PNG" in backend.attachment_problem("c.pdf", "application/pdf", 10)
    assert "up to 10 MB" in backend.attachment_problem("d.jpg", "image/jpeg", 11 * 1024 * 1024)


async def test_a_picture_goes_as_an_image_message_whose_url_the_desk_serves(fake, server, tmp_path):
    backend = backend_for(server)
    backend.public_url = "https://support.example.com/webhooks/line"
    picture = tmp_path / "receipt.jpg"
    picture.write_bytes(b"\xff\xd8 a receipt")
    backend.parse_webhook(webhook(text("7601", "hi", reply_token=fake.issue_token("tok-pic"))))
    sent = out(
        "Here is your receipt",
        attachments=[Attachment("receipt.jpg", "image/jpeg", 0, str(picture))],
    )
    await backend.send(sent)
    messages = json.loads(server.requests[-1].body)["messages"]
    assert messages[0] == {"type": "text", "text": "Here is your receipt"}
    url = messages[1]["originalContentUrl"]
    assert messages[1] == {"type": "image", "originalContentUrl": url, "previewImageUrl": url}
    prefix = "https://support.example.com/webhooks/line/files/"
    assert url.startswith(prefix) and len(url) - len(prefix) >= 32
    assert backend.served_file(url.removeprefix(prefix)) == picture
    assert backend.served_file("guess") is None
    # the retry of a push reuses the same URL, so what LINE accepted first stays served
    await backend.send(out("again", key="k-pic", attachments=sent.attachments))
    assert json.loads(server.requests[-1].body)["messages"][1]["originalContentUrl"] == url
    with pytest.raises(PermanentError, match="at most 4 files"):
        await backend.send(out(attachments=sent.attachments * 5))
    picture.unlink()
    with pytest.raises(PermanentError, match="gone from the desk"):
        await backend.send(out(attachments=sent.attachments))


def box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def mp4(duration_ms: int, *, version: int = 0, scale: int = 44100, moov_last: bool = True) -> bytes:
    """A minimal M4A/MP4 file: ftyp, mdat and a movie header giving its length."""
    units = duration_ms * scale // 1000
    if version == 0:
        mvhd = bytes(4) + bytes(8) + struct.pack(">II", scale, units) + bytes(80)
    else:
        mvhd = b"\x01\0\0\0" + bytes(16) + struct.pack(">IQ", scale, units) + bytes(80)
    moov = box(b"moov", box(b"mvhd", mvhd) + box(b"trak", b"\0" * 40))
    mdat = box(b"mdat", b"\x21" * 300)
    ftyp = box(b"ftyp", b"M4A \0\0\0\0isomM4A ")
    return ftyp + (mdat + moov if moov_last else moov + mdat)


def test_the_length_of_an_m4a_file_is_read_from_its_movie_header(tmp_path):
    path = tmp_path / "a.m4a"
    for data, expected in (
        (mp4(83_250), 83_250),
        (mp4(5_000, version=1, scale=1000, moov_last=False), 5_000),
        (mp4(0), None),  # LINE needs a length
        (b"ID3\x03 an mp3", None),
        (mp4(2_000)[:-20], None),  # cut short inside the movie header's box
        (b"", None),
    ):
        path.write_bytes(data)
        assert mp4_duration_ms(path) == expected, data[:40]


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.binary(max_size=400)
    | st.builds(
        lambda a, b: a + b, st.binary(max_size=40), st.sampled_from([mp4(1000), box(b"moov", b"")])
    )
)
def test_any_bytes_give_a_length_or_none_and_never_raise(tmp_path, data):
    path = tmp_path / "any.m4a"
    path.write_bytes(data)
    found = mp4_duration_ms(path)
    assert found is None or (isinstance(found, int) and found > 0)


async def test_videos_and_audio_up_to_200_mb_go_and_other_files_say_what_line_takes(server):
    backend = backend_for(server)
    backend.public_url = "https://support.example.com/webhooks/line"
    assert backend.attachment_problem("clip.mp4", "video/mp4", 200 * 1024 * 1024) is None
    assert backend.attachment_problem("voice.m4a", "audio/mp4", 3_000_000) is None
    big = backend.attachment_problem("film.mp4", "video/mp4", 200 * 1024 * 1024 + 1)
    assert big == (
        "film.mp4 is 200.0 MB; LINE takes MP4 videos up to 200 MB — send a smaller file or a link"
    )
    other = backend.attachment_problem("song.mp3", "audio/mpeg", 10)
    assert other == (
        "song.mp3: LINE takes only JPEG or PNG pictures, MP4 videos and M4A audio from "
        "frontdesk; share other files by a link in the text"
    )


async def test_a_video_goes_with_a_preview_and_audio_with_its_length_both_served_by_the_desk(
    fake, server, tmp_path
):
    backend = backend_for(server)
    backend.public_url = "https://support.example.com/webhooks/line"
    kept = tmp_path / "outgoing" / "12"
    kept.mkdir(parents=True)
    (kept / "unboxing.mp4").write_bytes(mp4(30_000))
    (kept / "steps.m4a").write_bytes(mp4(83_250))
    files = [
        Attachment("unboxing.mp4", "video/mp4", 0, str(kept / "unboxing.mp4")),
        Attachment("steps.m4a", "audio/mp4", 0, str(kept / "steps.m4a")),
    ]
    await backend.send(out("How to set it up", attachments=files))
    [sent] = fake.sent
    text_message, video, audio = sent["messages"]
    assert text_message == {"type": "text", "text": "How to set it up"}
    assert set(video) == {"type", "originalContentUrl", "previewImageUrl"}
    assert video["type"] == "video" and video["originalContentUrl"] != video["previewImageUrl"]
    assert audio == {
        "type": "audio",
        "originalContentUrl": audio["originalContentUrl"],
        "duration": 83_250,
    }
    prefix = "https://support.example.com/webhooks/line/files/"
    served = {
        u: backend.served_file(u.removeprefix(prefix))
        for u in (
            video["originalContentUrl"],
            video["previewImageUrl"],
            audio["originalContentUrl"],
        )
    }
    assert served[video["originalContentUrl"]] == kept / "unboxing.mp4"
    assert served[audio["originalContentUrl"]] == kept / "steps.m4a"
    preview = served[video["previewImageUrl"]]
    assert preview.parent == kept and preview.name.startswith(".")  # dropped with the copy
    assert (
        preview.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        and preview.stat().st_size < 1024 * 1024
    )


async def test_audio_whose_length_cannot_be_read_is_refused_before_anything_goes(
    fake, server, tmp_path
):
    backend = backend_for(server)
    backend.public_url = "https://support.example.com/webhooks/line"
    raw = tmp_path / "memo.m4a"
    raw.write_bytes(b"not an mp4 at all")
    with pytest.raises(PermanentError, match="memo.m4a: LINE needs an audio file's length"):
        await backend.send(
            out("listen", attachments=[Attachment("memo.m4a", "audio/mp4", 0, str(raw))])
        )
    assert fake.sent == [] and server.requests == []


async def test_audio_without_a_length_is_refused_by_the_desk_before_it_is_queued(
    fake, server, store
):
    backend = backend_for(server)
    backend.public_url = "https://support.example.com/webhooks/line"
    desk = Desk(store, {"line": backend}, agent="Aiko")
    await desk.ingest("line", backend.parse_webhook(webhook(text("7901", "voice memo?"))))
    conv = store.find_conversation("line", USER)
    raw = FileUpload("memo.m4a", "audio/mp4", b"\xff\xf1 raw AAC frames")
    with pytest.raises(DeskError, match="memo.m4a: LINE needs an audio file's length"):
        await desk.reply(conv.id, "listen", [raw])
    assert store.outbox() == [] and len(store.messages(conv.id)) == 1
    good = FileUpload("memo.m4a", "audio/mp4", mp4(4_000))
    await desk.reply(conv.id, "listen", [good])
    await desk.flush_outbox()
    assert fake.sent[-1]["messages"][1]["duration"] == 4_000
    await backend.close()


async def test_opening_a_conversation_marks_it_read_up_to_the_newest_message(fake, server):
    backend = backend_for(server)
    first = text("7701", "one")
    first["message"]["markAsReadToken"] = "read-1"
    newest = text("7702", "two")
    newest["message"]["markAsReadToken"] = "read-2"
    backend.parse_webhook(webhook(first, newest))
    await backend.mark_read("Uother", ["7702"])
    await backend.mark_read(USER, ["7701"])  # the agent has not seen the newest yet
    assert fake.read == []
    await backend.mark_read(USER, ["7701", "7702"])
    await backend.mark_read(USER, ["7701", "7702"])  # nothing new: no second call
    assert fake.read == ["read-2"]
    assert json.loads(server.requests[-1].body) == {"markAsReadToken": "read-2"}


# ---- quota -------------------------------------------------------------------------------------


async def test_allowance_says_the_push_quota_left_and_is_cached(fake, server):
    backend = backend_for(server)
    fake.usage = 88
    assert await backend.allowance() == "LINE push quota: 412 of 500 left this month"
    fake.usage = 100
    assert await backend.allowance() == "LINE push quota: 412 of 500 left this month"  # cached
    backend.clock.now += 61
    assert await backend.allowance() == "LINE push quota: 400 of 500 left this month"
    fake.quota = {"type": "none"}
    backend.clock.now += 61
    assert "unlimited" in await backend.allowance()
    assert [r.path for r in server.requests].count("/v2/bot/message/quota") == 3


async def test_allowance_is_none_when_line_cannot_say(fake, server):
    backend = backend_for(server, token="wrong")
    assert await backend.allowance() is None


# ---- errors ------------------------------------------------------------------------------------


async def test_errors_are_mapped(fake, server):
    backend = backend_for(server)
    push = "/v2/bot/message/push"
    fake.faults[push] = [
        error(400, "The request body has 1 error(s)", ("messages[0].text", "May not be empty")),
        error(429, "The API rate limit has been exceeded. Try again later."),
        Response(429, {"message": "You have reached your monthly limit."}),
        error(500, "Internal server error"),
        error(403, "Access to this API is not available for your account"),
    ]
    with pytest.raises(PermanentError, match=r"May not be empty") as bad:
        await backend.send(out())
    assert "messages[0].text" in str(bad.value)
    with pytest.raises(TransientError) as rate:
        await backend.send(out())
    assert rate.value.retry_after == 10.0 and "rate limit" in str(rate.value)
    with pytest.raises(PermanentError, match="monthly message quota is used up"):
        await backend.send(out())
    with pytest.raises(TransientError, match="server error"):
        await backend.send(out())
    with pytest.raises(PermanentError, match="plan or settings"):
        await backend.send(out())


async def test_server_error_on_a_reply_is_ambiguous(fake, server):
    backend = backend_for(server)
    backend.parse_webhook(webhook(text("8001", "hi", reply_token=fake.issue_token("tok-5xx"))))
    fake.faults["/v2/bot/message/reply"] = [error(502, "Bad gateway")]
    with pytest.raises(AmbiguousError, match="may have been sent"):
        await backend.send(out())


async def test_rate_limited_reply_keeps_its_token(fake, server):
    backend = backend_for(server)
    backend.parse_webhook(webhook(text("8101", "hi", reply_token=fake.issue_token("tok-429"))))
    fake.faults["/v2/bot/message/reply"] = [error(429, "The API rate limit has been exceeded.")]
    with pytest.raises(TransientError):
        await backend.send(out())
    await backend.send(out())
    assert [s["via"] for s in fake.sent] == ["reply"]


async def test_bad_token_shows_the_channel_down_with_the_fix_and_never_leaks(
    fake, server, store, caplog
):
    caplog.set_level(logging.DEBUG)
    backend = backend_for(server, token="stale-token-SECRET-123")
    desk = desk_for(store, backend)
    async with running(desk):
        await eventually(
            lambda: (
                desk.channel_status.get("line", None) is not None
                and desk.channel_status["line"].state == "down"
            )
        )
        detail = desk.channel_status["line"].detail
        assert "frontdesk creds set line channel_access_token" in detail
        with pytest.raises(PermanentError, match="creds set line channel_access_token") as failed:
            await backend.send(out())
        # the agent runs `frontdesk creds set`: the next call that succeeds brings it back up
        backend._secrets = {"channel_access_token": TOKEN, "channel_secret": SECRET}.get
        assert await backend.allowance() is not None
        await eventually(lambda: desk.channel_status["line"].state == "ok")
    assert "stale-token-SECRET-123" not in caplog.text + detail + str(failed.value)


async def test_missing_token_is_a_config_error(server):
    backend = backend_for(server, token=None)
    with pytest.raises(ConfigError, match="creds set line channel_access_token"):
        await backend.send(out())


# ---- profiles and content ------------------------------------------------------------------------


async def test_display_name_arrives_after_the_message_and_is_looked_up_once(fake, server, store):
    backend = backend_for(server)
    desk = desk_for(store, backend)
    async with running(desk):
        await desk.ingest("line", backend.parse_webhook(webhook(text("9001", "hi"))))
        contact = store.find_contact("line", USER)
        assert contact.name == USER  # stored before any profile call
        await eventually(lambda: store.find_contact("line", USER).name == "Aiko Tanaka")
        assert store.find_contact("line", USER).language == "ja"
        await desk.ingest("line", backend.parse_webhook(webhook(text("9002", "again"))))
        await desk.ingest(
            "line", backend.parse_webhook(webhook(text("9003", "x", user="Ustranger")))
        )
        await eventually(lambda: any("Ustranger" in r.path for r in server.requests))
    profile_calls = [r.path for r in server.requests if "/profile/" in r.path]
    assert profile_calls == [f"/v2/bot/profile/{USER}", "/v2/bot/profile/Ustranger"]


async def test_profile_event_is_handed_to_the_sink(fake, server):
    backend = backend_for(server)
    got = []

    class Sink:
        async def ingest(self, channel, events, cursor=None):
            got.extend(events)

    backend.parse_webhook(webhook(text("9101", "hi")))
    assert server.requests == []  # queued, not done: the webhook's answer never waits on it
    task = asyncio.create_task(backend.run(Sink()))
    try:
        await eventually(lambda: got)
    finally:
        task.cancel()
    assert got == [ContactProfile(USER, "Aiko Tanaka", "ja")]


async def test_content_is_streamed_from_the_data_host(fake, server, tmp_path):
    backend = backend_for(server)
    fake.content["1002"] = b"\xff\xd8jpeg-bytes" * 1000
    assert await backend.fetch_attachment("1002") == fake.content["1002"]
    path = await backend.save_attachment("1002", tmp_path / "dl", "image-1002.jpg")
    assert path.read_bytes() == fake.content["1002"]
    assert server.requests[-1].path == "/v2/bot/message/1002/content"
    with pytest.raises(PermanentError, match="not a LINE message id"):
        await backend.fetch_attachment("../info")
    with pytest.raises(PermanentError, match="HTTP 404"):
        await backend.fetch_attachment("999")


# ---- doctor ------------------------------------------------------------------------------------


async def test_doctor_check(fake, server):
    assert await backend_for(server).check() == []
    problems = await backend_for(server, token="nope").check()
    assert len(problems) == 1 and "creds set line channel_access_token" in problems[0]
    fake.webhook_active = False
    assert "Use webhook" in (await backend_for(server).check())[0]
    fake.webhook_active = True
    no_secret = await backend_for(server, secret=None).check()
    assert len(no_secret) == 1 and "creds set line channel_secret" in no_secret[0]
    server.stop()
    down = await backend_for(server).check()
    assert "cannot reach LINE" in down[0] and "base_url" in down[0]


# ---- end to end through the receiver --------------------------------------------------------------


async def test_signed_post_over_loopback_makes_a_conversation_then_the_name_arrives(
    fake, server, store, tmp_path
):
    backend = backend_for(server)
    desk = desk_for(store, backend)
    async with running(desk):
        url = f"http://127.0.0.1:{desk.receiver.port}/webhooks/line"
        token = fake.issue_token("tok-e2e")
        body = webhook(
            text("10001", "Is the shop open on Sunday?", event_id="E1", reply_token=token),
            event("postback", event_id="E2", postback={"data": "menu=hours"}, reply_token=None),
        )
        async with httpx.AsyncClient() as client:
            forged = await client.post(url, content=body, headers={"X-Line-Signature": "AAAA"})
            assert forged.status_code == 403 and store.conversations() == []
            signed = {"X-Line-Signature": signature(body), "Content-Type": "application/json"}
            answer = await client.post(url, content=body, headers=signed)
            assert answer.status_code == 200
            # answered 200: the messages are stored already, the name may come later
            conv = store.find_conversation("line", USER)
            assert [m.body for m in store.messages(conv.id)] == [
                "Is the shop open on Sunday?",
                "menu=hours",
            ]
            again = json.loads(body)
            for item in again["events"]:
                item["deliveryContext"]["isRedelivery"] = True
            redelivered = json.dumps(again).encode()
            answer = await client.post(
                url, content=redelivered, headers={"X-Line-Signature": signature(redelivered)}
            )
            assert answer.status_code == 200 and len(store.messages(conv.id)) == 2
        await eventually(lambda: store.find_contact("line", USER).name == "Aiko Tanaka")
        message = await desk.reply(conv.id, "Yes, 10:00 to 16:00")
        await desk.flush_outbox()
        assert store.message(conv.id, message.id).delivery is Delivery.SENT
        assert fake.sent[0]["via"] == "reply" and fake.sent[0]["to"] == "tok-e2e"
        # a picture the agent sends is served to LINE by the same receiver, under its token
        backend.public_url = "https://support.example.com/webhooks/line"
        picture = tmp_path / "map.png"
        picture.write_bytes(b"\x89PNG the map")
        await backend.send(
            out("map", attachments=[Attachment("map.png", "image/png", 0, str(picture))])
        )
        token = fake.sent[-1]["messages"][1]["originalContentUrl"].rsplit("/", 1)[-1]
        async with httpx.AsyncClient() as client:
            served = await client.get(f"{url}/files/{token}")
            assert served.status_code == 200 and served.content == b"\x89PNG the map"
            assert (await client.get(f"{url}/files/{token[:-1]}x")).status_code == 404


def test_the_consoles_verify_request_is_an_empty_batch():
    # the Verify button sends a signed body with no events; it must be answered 200, not quarantined
    assert parse_body("line", webhook()).events == []


def test_the_desk_setup_gives_the_channel_its_public_url(tmp_path, store):
    from frontdesk.config import load_config
    from frontdesk.desk_setup import build_desk

    path = tmp_path / "config.toml"
    path.write_text(
        '[webhooks]\nlisten = "127.0.0.1:8787"\npublic_url = "https://support.example.com"\n\n'
        '[[channels]]\nname = "line-shop"\nbackend = "line"\n'
    )
    desk = build_desk(load_config(path), store)
    backend = desk.channels["line-shop"]
    assert backend.public_url == "https://support.example.com/webhooks/line-shop"
    assert backend.attachment_problem("a.png", "image/png", 10) is None


async def test_a_video_reply_from_the_desk_is_fetched_by_line_from_the_receiver(
    fake, server, store
):
    backend = backend_for(server)
    backend.public_url = "https://support.example.com/webhooks/line"
    desk = desk_for(store, backend)
    async with running(desk):
        token = fake.issue_token("tok-video")
        await desk.ingest(
            "line", backend.parse_webhook(webhook(text("7801", "how?", reply_token=token)))
        )
        conv = store.find_conversation("line", USER)
        clip = mp4(12_000, moov_last=False)
        message = await desk.reply(conv.id, "", [FileUpload("setup.mp4", "video/mp4", clip)])
        await desk.flush_outbox()
        assert store.message(conv.id, message.id).delivery is Delivery.SENT
        [video] = fake.sent[-1]["messages"]
        local = f"http://127.0.0.1:{desk.receiver.port}/webhooks/line/files/"
        prefix = "https://support.example.com/webhooks/line/files/"
        async with httpx.AsyncClient() as client:
            got = await client.get(local + video["originalContentUrl"].removeprefix(prefix))
            assert got.status_code == 200 and got.content == clip
            assert got.headers["content-type"] == "video/mp4"
            part = await client.get(
                local + video["originalContentUrl"].removeprefix(prefix),
                headers={"Range": "bytes=0-7"},
            )
            assert part.status_code == 206 and part.content == clip[:8]  # players seek
            shown = await client.get(local + video["previewImageUrl"].removeprefix(prefix))
            assert shown.status_code == 200 and shown.headers["content-type"] == "image/png"
