"""Telegram backend against a fake Bot API on loopback, driven through a real Desk and Store."""

from __future__ import annotations

import logging

import pytest


from fakes.server import DROP, Hang, Response  # noqa: E402
from fakes.telegram import TOKEN, FakeTelegram, error  # noqa: E402

from channel_checks import RecordingDesk, eventually, messages_of, state  # noqa: E402
from channel_checks import assert_doctor_found, assert_doctor_ok, frontdesk_doctor  # noqa: E402
from channel_checks import assert_reply_unconfirmed, config_refusal, running  # noqa: E402
from pilot_helpers import eventually as wait_for_condition  # noqa: E402

from frontdesk.backends.base import AmbiguousError, PermanentError, TransientError  # noqa: E402
from frontdesk.backends.telegram import TelegramBackend  # noqa: E402
from frontdesk.backends.telegram_parse import parse_update  # noqa: E402
from frontdesk.model import (  # noqa: E402
    Attachment,
    Delivery,
    Direction,
    FileUpload,
    Outgoing,
)
from frontdesk.store import Store  # noqa: E402

FAST = {
    "poll_timeout": 1,
    "poll_interval": 0.05,
    "backoff_initial": 0.05,
    "backoff_max": 0.2,
    "conflict_retry": 0.3,
    "request_timeout": 2.0,
    "connect_timeout": 0.5,
}


@pytest.fixture
def fake():
    return FakeTelegram()


def backend_for(server, cursor=None, token=TOKEN, **settings) -> TelegramBackend:
    return TelegramBackend(
        "tg",
        {"base_url": server.url, **FAST, **settings},
        secrets=lambda key: token if key == "token" else None,
        cursor=cursor,
    )


def desk_for(store, backend) -> RecordingDesk:
    return RecordingDesk(store, {"tg": backend}, agent="Aiko")


def inbound_messages(store):
    return messages_of(store, Direction.IN)


# ---- reading ----------------------------------------------------------------------------------


async def test_burst_of_500_updates_is_ingested_once_with_the_offset_as_cursor(fake, server, store):
    for i in range(500):
        fake.message(5000 + i % 50, f"message {i}")
    last = fake.next_update_id - 1
    backend = backend_for(server)
    desk = desk_for(store, backend)

    await backend.fetch_once(desk)

    messages = inbound_messages(store)
    assert len(messages) == 500
    assert len({m.external_id for m in messages}) == 500
    assert len(store.conversations()) == 50
    assert store.cursor("tg") == str(last + 1)
    assert fake.count("getUpdates") == 6  # five pages of 100, then an empty one
    first_chat = store.find_conversation("tg", "5000")
    assert [m.body for m in store.messages(first_chat.id)] == [
        f"message {i}" for i in range(0, 500, 50)
    ]
    # the next poll asks for updates after the committed offset only
    await backend.fetch_once(desk)
    assert fake.calls[-1][2]["offset"] == last + 1
    assert len(inbound_messages(store)) == 500


async def test_long_polling_run_delivers_messages_as_they_come(fake, server, store):
    backend = backend_for(server)
    desk = desk_for(store, backend)
    async with running(desk):
        await eventually(lambda: fake.count("getUpdates") >= 1)  # a long poll is waiting
        fake.message(42, "hello?")
        await eventually(lambda: len(inbound_messages(store)) == 1)
        fake.message(42, "anyone there?")
        await eventually(lambda: len(inbound_messages(store)) == 2)
    assert fake.calls[0][2]["timeout"] == 1
    assert fake.calls[0][2]["allowed_updates"] == ["message", "edited_message"]
    assert state(desk, "tg") == "ok"


def test_parse_text_caption_photo_document_voice_edit_reply_and_group():
    user = {
        "id": 7,
        "is_bot": False,
        "first_name": "Mia",
        "last_name": "Tanaka",
        "language_code": "ja",
    }
    chat = {"id": 7, "type": "private", "first_name": "Mia"}
    photo = parse_update(
        {
            "update_id": 1,
            "message": {
                "message_id": 10,
                "from": user,
                "chat": chat,
                "date": 1_780_000_000,
                "caption": "the box 📦",
                "photo": [
                    {
                        "file_id": "small",
                        "file_unique_id": "s1",
                        "width": 90,
                        "height": 90,
                        "file_size": 1000,
                    },
                    {
                        "file_id": "big",
                        "file_unique_id": "b1",
                        "width": 1280,
                        "height": 960,
                        "file_size": 250_000,
                    },
                ],
            },
        }
    )[0]
    assert photo.external_id == "7:10" and photo.thread_key == "7"
    assert (
        photo.sender.address == "7"
        and photo.sender.name == "Mia Tanaka"
        and photo.sender.language == "ja"
    )
    assert photo.body == "the box 📦"
    assert [(a.ref, a.mime, a.size) for a in photo.attachments] == [("big", "image/jpeg", 250_000)]

    doc = parse_update(
        {
            "update_id": 2,
            "message": {
                "message_id": 11,
                "from": user,
                "chat": chat,
                "date": 1_780_000_001,
                "document": {
                    "file_id": "DOC1",
                    "file_unique_id": "d1",
                    "file_name": "invoice.pdf",
                    "mime_type": "application/pdf",
                    "file_size": 48_213,
                },
            },
        }
    )[0]
    assert doc.body == "" and [(a.name, a.mime, a.size, a.ref) for a in doc.attachments] == [
        ("invoice.pdf", "application/pdf", 48_213, "DOC1")
    ]

    voice = parse_update(
        {
            "update_id": 3,
            "message": {
                "message_id": 12,
                "from": user,
                "chat": chat,
                "date": 1_780_000_002,
                "voice": {
                    "file_id": "VOICE1",
                    "file_unique_id": "v1",
                    "duration": 4,
                    "mime_type": "audio/ogg",
                    "file_size": 9_000,
                },
            },
        }
    )[0]
    assert (
        voice.attachments[0].name.startswith("voice_4s")
        and voice.attachments[0].mime == "audio/ogg"
    )

    reply = parse_update(
        {
            "update_id": 4,
            "message": {
                "message_id": 13,
                "from": user,
                "chat": chat,
                "date": 1_780_000_003,
                "text": "yes, that one",
                "reply_to_message": {
                    "message_id": 3,
                    "chat": chat,
                    "date": 1_779_999_000,
                    "text": "Is it order #1234?",
                },
            },
        }
    )[0]
    assert reply.body == "↩ Replying to “Is it order #1234?”\nyes, that one"

    edit = parse_update(
        {
            "update_id": 5,
            "edited_message": {
                "message_id": 13,
                "from": user,
                "chat": chat,
                "date": 1_780_000_003,
                "edit_date": 1_780_000_100,
                "text": "yes, that one — #1235 actually",
            },
        }
    )[0]
    assert edit.external_id == "7:13:edit:1780000100"
    assert edit.body.startswith("✏️ Edited their message of ") and edit.body.endswith(
        "#1235 actually"
    )

    group = parse_update(
        {
            "update_id": 6,
            "message": {
                "message_id": 1,
                "from": user,
                "chat": {"id": -100123, "type": "supergroup", "title": "VIP customers"},
                "date": 1_780_000_004,
                "text": "hi all",
            },
        }
    )[0]
    assert (
        group.thread_key == "-100123"
        and group.sender.address == "7"
        and group.subject == "VIP customers"
    )

    sticker = parse_update(
        {
            "update_id": 7,
            "message": {
                "message_id": 14,
                "from": user,
                "chat": chat,
                "date": 1_780_000_005,
                "sticker": {"emoji": "👍"},
            },
        }
    )[0]
    assert sticker.body == "[sticker 👍]"
    assert parse_update({"update_id": 8, "callback_query": {"id": "1"}}) == []


def test_a_date_beyond_the_platforms_time_t_is_malformed_not_a_crash():
    """datetime.fromtimestamp(10**18) raises OSError, which escaped the poll and restarted the
    channel forever on the same update (found by tests/system/test_hostile.py)."""
    chat = {"id": 7, "type": "private"}
    for date in (10**18, -(10**13), 2**70):
        with pytest.raises(
            (ValueError, OverflowError)
        ):  # both in httpchannel.MALFORMED: quarantined
            parse_update(
                {
                    "update_id": 1,
                    "message": {"message_id": 1, "chat": chat, "date": date, "text": "x"},
                }
            )


async def test_edit_shows_as_a_new_message_in_the_same_thread(fake, server, store):
    sent = fake.message(7, "my order is #1234")
    mid = sent["message"]["message_id"]
    fake.push(
        {
            "edited_message": {
                **sent["message"],
                "text": "my order is #1235",
                "edit_date": 1_780_000_500,
            }
        }
    )
    await backend_for(server).fetch_once(desk_for(store, backend_for(server)))
    conv = store.find_conversation("tg", "7")
    bodies = [m.body for m in store.messages(conv.id)]
    assert bodies[0] == "my order is #1234"
    assert "Edited their message" in bodies[1] and bodies[1].endswith("my order is #1235")
    assert store.lookup_external("tg", f"7:{mid}") is not None


async def test_malformed_updates_are_quarantined_and_the_rest_ingested(fake, server, store, caplog):
    fake.message(1, "before")
    fake.push(
        {"message": {"message_id": 2, "chat": "not an object", "date": 1_780_000_000, "text": "x"}}
    )
    fake.push(
        {
            "message": {
                "message_id": "three",
                "chat": {"id": 1, "type": "private"},
                "date": 1,
                "text": "y",
            }
        }
    )
    fake.push(
        {
            "edited_message": {
                "message_id": 4,
                "from": {"id": 1},
                "chat": {"id": 1},
                "date": "yesterday",
            }
        }
    )
    fake.message(1, "after")
    last = fake.next_update_id - 1
    backend = backend_for(server)
    desk = desk_for(store, backend)
    with caplog.at_level(logging.WARNING):
        await backend.fetch_once(desk)
    assert [m.body for m in inbound_messages(store)] == ["before", "after"]
    assert len(store.quarantined()) == 3
    assert all(q["channel"] == "tg" for q in store.quarantined())
    assert "not an object" in store.quarantined()[0]["payload"]
    assert caplog.text.count("skipped a malformed Telegram update") == 3
    assert store.cursor("tg") == str(last + 1)
    await backend.fetch_once(desk)  # the offset moved past them: not read again
    assert len(store.quarantined()) == 3


@pytest.mark.parametrize("crash", ["before-ingest", "after-ingest"])
async def test_restart_in_the_middle_of_a_burst_loses_and_duplicates_nothing(
    fake, server, tmp_path, crash
):
    for i in range(250):
        fake.message(100 + i % 7, f"m{i}")
    last = fake.next_update_id - 1

    class PowerCut(Exception):
        pass

    class CrashingSink:
        """Forwards the first page, then the process 'dies' around the second one."""

        def __init__(self, desk):
            self.desk, self.calls = desk, 0

        async def ingest(self, channel, events, cursor=None):
            self.calls += 1
            if self.calls == 2 and crash == "before-ingest":
                raise PowerCut()
            await self.desk.ingest(channel, events, cursor)
            if self.calls == 2:
                raise PowerCut()

    store = Store.open(tmp_path / "data")
    backend = backend_for(server, cursor=store.cursor("tg"))
    with pytest.raises(PowerCut):
        await backend.fetch_once(CrashingSink(desk_for(store, backend)))
    await backend.close()
    committed = store.cursor("tg")
    store.close()

    with Store.open(tmp_path / "data") as store:
        assert store.cursor("tg") == committed
        backend = backend_for(server, cursor=store.cursor("tg"))
        await backend.fetch_once(desk_for(store, backend))
        await backend.close()
        messages = inbound_messages(store)
        assert sorted(int(m.body[1:]) for m in messages) == list(range(250))
        assert store.cursor("tg") == str(last + 1)


# ---- failures while reading ---------------------------------------------------------------------


async def test_429_waits_retry_after_then_reads(fake, server, store):
    fake.fail_next("getUpdates", error(429, "Too Many Requests: retry after 1", retry_after=1))
    fake.message(9, "hi")
    backend = backend_for(server)
    desk = desk_for(store, backend)
    async with running(desk):
        await eventually(lambda: len(inbound_messages(store)) == 1)
    times = [t for t, method, _ in fake.calls if method == "getUpdates"]
    assert times[1] - times[0] >= 0.9
    assert all(state == "ok" for state, _ in desk.statuses)


async def test_409_conflict_shows_down_and_retries_slowly_then_recovers(fake, server, store):
    fake.persistent["getUpdates"] = error(
        409,
        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    )
    backend = backend_for(server)
    desk = desk_for(store, backend)
    async with running(desk):
        await eventually(lambda: state(desk, "tg") == "down")
        detail = desk.channel_status.get("tg").detail
        assert "Another program is polling this bot" in detail and "only one bot instance" in detail
        await wait_for_condition(lambda: fake.count("getUpdates") >= 3, what="three refused polls")
        times = [t for t, method, _ in fake.calls if method == "getUpdates"]
        assert min(b - a for a, b in zip(times, times[1:])) >= 0.25  # conflict_retry 0.3 s apart
        del fake.persistent["getUpdates"]
        fake.message(3, "back")
        await eventually(lambda: len(inbound_messages(store)) == 1)
        await eventually(lambda: state(desk, "tg") == "ok")


def retries_logged(caplog, reason: str) -> int:
    """How many times the channel logged that it will try again after `reason`."""
    return sum(reason in r.getMessage() and "retrying in" in r.getMessage() for r in caplog.records)


async def test_dropped_connection_and_outage_show_down_and_recover(fake, server, store, caplog):
    caplog.set_level(logging.WARNING, logger="frontdesk")
    fake.fail_next("getUpdates", DROP)
    fake.message(5, "one")
    backend = backend_for(server)
    desk = desk_for(store, backend)
    async with running(desk):
        await eventually(lambda: len(inbound_messages(store)) == 1)
        await eventually(
            lambda: state(desk, "tg") == "ok"
        )  # once the batch is on disk (ingest returned)
        assert ("down",) == tuple(s for s, _ in desk.statuses if s == "down")[:1]
        down_details = [d for s, d in desk.statuses if s == "down"]
        assert "lost the connection to Telegram" in down_details[0]

        server.stop()  # the network goes away
        await eventually(
            lambda: "cannot reach Telegram at 127.0.0.1" in desk.channel_status["tg"].detail
        )
        assert state(desk, "tg") == "down"
        await eventually(lambda: retries_logged(caplog, "cannot reach Telegram") >= 2)
        server.start()  # and comes back on the same port
        fake.message(5, "two")
        await eventually(lambda: len(inbound_messages(store)) == 2)
        await eventually(lambda: state(desk, "tg") == "ok")
    assert [m.body for m in inbound_messages(store)] == ["one", "two"]


async def test_token_never_appears_in_logs_statuses_or_errors(fake, server, store, caplog):
    caplog.set_level(logging.DEBUG)
    fake.fail_next(
        "getUpdates",
        DROP,
        Response(502, b"<html>Bad Gateway</html>", {"Content-Type": "text/html"}),
        error(409, "Conflict: terminated by other getUpdates request"),
    )
    fake.message(1, "hi")
    backend = backend_for(server)
    desk = desk_for(store, backend)
    async with running(desk):
        await eventually(lambda: len(inbound_messages(store)) == 1)
    errors = []
    wrong = "987654:wrong-token-that-must-not-leak"
    bad = backend_for(server, token=wrong)
    for call in (bad.fetch_once(desk), bad.send(Outgoing(1, 1, "1", "1", "hi"))):
        try:
            await call
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
    problems = await bad.check()
    await bad.close()
    assert "HTTP Request" in caplog.text  # httpx did log its requests, with the token cut out
    assert "/bot***/getUpdates" in caplog.text
    everything = (
        caplog.text
        + repr(desk.statuses)
        + repr(errors)
        + repr(problems)
        + repr(store.quarantined())
    )
    assert TOKEN not in everything and wrong not in everything
    assert "rejected the bot token" in problems[0] and "frontdesk creds set tg token" in problems[0]


# ---- sending ------------------------------------------------------------------------------------


async def _one_conversation(fake, server, store, chat=77):
    fake.message(chat, "help please")
    backend = backend_for(server)
    desk = desk_for(store, backend)
    await backend.fetch_once(desk)
    return desk, backend, store.find_conversation("tg", str(chat))


async def test_reply_is_sent_with_sendMessage_and_marked_sent(fake, server, store):
    desk, _, conv = await _one_conversation(fake, server, store)
    message = await desk.reply(conv.id, "On it! 🙂")
    await desk.flush_outbox()
    stored = store.message(conv.id, message.id)
    assert stored.delivery is Delivery.SENT
    assert fake.sent[-1]["method"] == "sendMessage" and fake.sent[-1]["text"] == "On it! 🙂"
    assert stored.external_id == f"77:{fake.sent[-1]['message_id']}"


async def test_send_that_times_out_after_the_request_is_written_is_unconfirmed_and_not_resent(
    fake, server, store
):
    desk, backend, conv = await _one_conversation(fake, server, store)
    backend.request_timeout = 0.5
    fake.fail_next("sendMessage", Hang(5))
    await assert_reply_unconfirmed(desk, store, conv.id, "Your refund is on its way")
    await desk.flush_outbox()
    assert fake.count("sendMessage") == 1


async def test_send_errors_are_typed(fake, server, store):
    backend = backend_for(server)
    out = Outgoing(1, 1, "77", "77", "hello")
    fake.blocked.add(66)
    with pytest.raises(PermanentError, match="bot was blocked by the user"):
        await backend.send(Outgoing(1, 1, "66", "66", "hello"))
    fake.fail_next("sendMessage", error(429, "Too Many Requests: retry after 7", retry_after=7))
    with pytest.raises(TransientError) as info:
        await backend.send(out)
    assert info.value.retry_after == 7
    fake.fail_next("sendMessage", DROP)
    with pytest.raises(AmbiguousError):
        await backend.send(out)
    with pytest.raises(PermanentError, match="at most 4,096"):
        await backend.send(Outgoing(1, 1, "77", "77", "x" * 4097))
    assert fake.count("sendMessage") == 3  # the too-long one never left
    server.stop()
    with pytest.raises(TransientError, match="cannot reach Telegram"):
        await backend.send(out)
    await backend.close()


async def test_connect_error_on_send_is_retried_by_the_outbox(fake, server, store):
    desk, backend, conv = await _one_conversation(fake, server, store)
    server.stop()
    message = await desk.reply(conv.id, "hello again")
    await desk.flush_outbox()
    assert store.message(conv.id, message.id).delivery is Delivery.PENDING
    assert "cannot reach Telegram" in store.message(conv.id, message.id).delivery_reason
    assert store.outbox()[0].state == "pending"


async def test_attachment_is_sent_with_sendDocument_and_received_files_download(
    fake, server, store, tmp_path
):
    path = tmp_path / "label.pdf"
    path.write_bytes(b"%PDF-1.4 return label")
    backend = backend_for(server)
    result = await backend.send(
        Outgoing(
            1,
            1,
            "77",
            "77",
            "Here is your return label",
            attachments=[Attachment("label.pdf", "application/pdf", 21, str(path))],
        )
    )
    sent = fake.sent[-1]
    assert sent["method"] == "sendDocument" and sent["caption"] == "Here is your return label"
    assert sent["document"] == ("label.pdf", b"%PDF-1.4 return label")
    assert result.external_id == f"77:{sent['message_id']}"
    fake.files["documents/DOC9.bin"] = b"customer file"
    assert await backend.fetch_attachment("DOC9") == b"customer file"
    await backend.close()


async def test_a_reply_with_a_file_from_the_desk_is_one_multipart_sendDocument(fake, server, store):
    desk, backend, conv = await _one_conversation(fake, server, store)
    pdf = b"%PDF-1.4 " + bytes(range(256)) * 40
    message = await desk.reply(
        conv.id, "Your label", [FileUpload("label.pdf", "application/pdf", pdf)]
    )
    await desk.flush_outbox()
    sent = fake.sent[-1]
    assert sent["method"] == "sendDocument" and sent["caption"] == "Your label"
    assert sent["document"] == ("label.pdf", pdf)
    raw = server.requests[-1].body
    assert b'name="document"; filename="label.pdf"' in raw
    assert b"Content-Type: application/pdf" in raw
    assert store.message(conv.id, message.id).delivery is Delivery.SENT
    assert await desk.file_problem(conv.id, "film.mp4", "video/mp4", 50 * 1024 * 1024 + 1) == (
        "tg: files over 50 MB cannot be sent on Telegram (film.mp4 is 52.4 MB)"
    )
    assert backend.attachment_problem("film.mp4", "video/mp4", 50 * 1024 * 1024) is None


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


async def test_a_picture_goes_with_sendPhoto_and_shows_inline(fake, server, store):
    desk, backend, conv = await _one_conversation(fake, server, store)
    message = await desk.reply(
        conv.id,
        "Is this the crack you mean?",
        [
            FileUpload("crack.png", "image/png", PNG),
            FileUpload("label.pdf", "application/pdf", b"%PDF"),
        ],
    )
    await desk.flush_outbox()
    photo, document = fake.sent[-2:]
    assert photo["method"] == "sendPhoto" and photo["caption"] == "Is this the crack you mean?"
    assert photo["photo"] == ("crack.png", PNG) and "document" not in photo
    assert document["method"] == "sendDocument" and "caption" not in document
    assert b'name="photo"; filename="crack.png"' in server.requests[-2].body
    assert store.message(conv.id, message.id).delivery is Delivery.SENT
    assert store.message(conv.id, message.id).external_id == f"77:{photo['message_id']}"


async def test_a_picture_over_the_photo_limit_or_of_another_type_goes_as_a_document(
    fake, server, tmp_path
):
    big = tmp_path / "scan.jpg"
    big.write_bytes(b"\xff\xd8\xff" + b"\0" * (10 * 1024 * 1024))
    gif = tmp_path / "wave.gif"
    gif.write_bytes(b"GIF89a")
    backend = backend_for(server)
    for path, mime in ((big, "image/jpeg"), (gif, "image/gif")):
        size = path.stat().st_size
        attachment = Attachment(path.name, mime, size, str(path))
        await backend.send(Outgoing(1, 1, "77", "77", "", attachments=[attachment]))
        assert fake.sent[-1]["method"] == "sendDocument"
        assert fake.sent[-1]["document"][0] == path.name
    assert fake.count("sendPhoto") == 0
    await backend.close()


async def test_a_picture_telegram_refuses_as_a_photo_is_sent_as_a_document(fake, server, tmp_path):
    wide = tmp_path / "panorama.jpg"
    wide.write_bytes(b"\xff\xd8\xff wide")
    fake.fail_next("sendPhoto", error(400, "Bad Request: PHOTO_INVALID_DIMENSIONS"))
    backend = backend_for(server)
    attachment = Attachment("panorama.jpg", "image/jpeg", 9, str(wide))
    result = await backend.send(Outgoing(1, 1, "77", "77", "The view", attachments=[attachment]))
    assert fake.count("sendPhoto") == 1 and len(fake.sent) == 1
    [sent] = fake.sent
    assert sent["method"] == "sendDocument" and sent["caption"] == "The view"
    assert result.external_id == f"77:{sent['message_id']}"
    await backend.close()


async def test_a_kept_copy_that_is_gone_fails_the_reply_and_is_never_sent_as_a_file_id(
    fake, server, store, tmp_path
):
    backend = backend_for(server)
    gone = Attachment("label.pdf", "application/pdf", 3, str(tmp_path / "outgoing" / "1" / "x"))
    with pytest.raises(PermanentError, match="the copy kept to send is gone"):
        await backend.send(Outgoing(1, 1, "77", "77", "", attachments=[gone]))
    assert fake.sent == []
    await backend.close()


async def test_a_file_refused_after_the_text_went_out_is_ambiguous_never_resent_whole(
    fake, server, tmp_path
):
    path = tmp_path / "label.pdf"
    path.write_bytes(b"%PDF-1.4 return label")
    label = Attachment("label.pdf", "application/pdf", 21, str(path))
    backend = backend_for(server)
    fake.fail_next("sendDocument", error(400, "Bad Request: file is too big"))
    too_long_for_a_caption = "x" * 1100  # so the text goes first, on its own
    with pytest.raises(
        AmbiguousError, match=r"part of the message was sent \(77:\d+\) but not all"
    ):
        await backend.send(Outgoing(1, 1, "77", "77", too_long_for_a_caption, attachments=[label]))
    assert [sent["method"] for sent in fake.sent] == ["sendMessage"]
    await backend.close()


# ---- config and doctor ------------------------------------------------------------------------------


def test_settings_are_validated_by_the_config_loader(tmp_path):
    def refusal(settings: str) -> str:
        block = f'name = "bot"\nbackend = "telegram"\n{settings}\n'
        return config_refusal(tmp_path, block, TelegramBackend.settings_schema)

    assert "poll_timeout must be an integer" in refusal('poll_timeout = "soon"')
    assert "did you mean poll_timeout" in refusal("poll_timeuot = 5")
    token = refusal('token = "123:abc"')
    assert "frontdesk creds set bot token" in token and "123:abc" not in token


def run_doctor(tmp_path, base_url, token=None):
    settings = f'base_url = "{base_url}"\nconnect_timeout = 1.0\n'
    return frontdesk_doctor(tmp_path, "support-bot", "telegram", settings, {"token": token})


def test_doctor_on_a_missing_token_prints_the_fix(tmp_path, server):
    assert_doctor_found(
        run_doctor(tmp_path, server.url),
        "problem: channel support-bot: secret 'token' is not set — run `frontdesk creds set "
        "support-bot token`",
        "FRONTDESK_SECRET_SUPPORT_BOT_TOKEN",
    )


def test_doctor_checks_the_token_with_getMe(tmp_path, server, fake):
    assert_doctor_ok(run_doctor(tmp_path, server.url, TOKEN), "ok: channel support-bot (telegram)")
    wrong = "111:not-the-token"
    assert_doctor_found(
        run_doctor(tmp_path, server.url, wrong),
        "Telegram rejected the bot token (401 Unauthorized)",
        hidden=wrong,
    )
    fake.webhook_url = "https://example.com/hook"
    hooked = run_doctor(tmp_path, server.url, TOKEN)
    assert "a webhook is set for this bot" in hooked.stdout
