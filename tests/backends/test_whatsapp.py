"""WhatsApp Cloud API backend: webhook bodies in Meta's documented shapes, and a fake Graph API on loopback."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from datetime import datetime, timezone

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channel_checks import assert_doctor_found, config_refusal, eventually, frontdesk_doctor
from channel_checks import json_values
from fakes.server import DROP, Hang, Response
from fakes.whatsapp import (
    APP_SECRET,
    BUSINESS_NUMBER,
    CUSTOMER,
    PHONE_ID,
    TOKEN,
    VERIFY_TOKEN,
    VERSION,
    WABA_ID,
    FakeGraph,
    dumps,
    graph_error,
    message,
    sign,
    status,
    status_error,
    template,
    value,
    webhook,
)

from frontdesk.backends.base import (
    AmbiguousError,
    ConfigError,
    PermanentError,
    TransientError,
    WindowClosedError,
)
from frontdesk.backends.whatsapp import TokenRejected, WhatsAppBackend, media_kind
from frontdesk.backends.whatsapp_parse import parse_body
from frontdesk.backends.whatsapp_templates import template_of
from frontdesk.desk import Desk
from frontdesk.desk.outbox import after_failure
from frontdesk.model import (
    Attachment,
    ChannelStatus,
    Delivery,
    DeliveryUpdate,
    Direction,
    Inbound,
    MessageTemplate,
    Outgoing,
    TemplateExtra,
    TemplateSend,
    Unparsable,
)
from frontdesk.desk.templates import send_of

SECRETS = {"access_token": TOKEN, "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN}


@pytest.fixture
def fake():
    return FakeGraph()


@pytest.fixture
def server(server, fake):
    """The shared loopback server; the fake names its own URL in the media links it gives."""
    fake.url = server.url
    return server


def backend_for(server, secrets=None, **settings) -> WhatsAppBackend:
    secrets = SECRETS if secrets is None else secrets
    base = {
        "base_url": server.url,
        "phone_number_id": PHONE_ID,
        "business_account_id": WABA_ID,
        "api_version": VERSION,
        "request_timeout": 2.0,
        "connect_timeout": 0.5,
    }
    return WhatsAppBackend("wa", {**base, **settings}, secrets=secrets.get)


def parse(*values, entries: int = 1):
    return parse_body(dumps(webhook(*values, entries=entries)), "wa", PHONE_ID)


def one(msg, **kw) -> Inbound:
    (event,) = parse(value([msg], **kw))
    assert isinstance(event, Inbound), event
    return event


# ---- parsing: every message type --------------------------------------------------------------


def test_text_message_names_the_sender_and_keys_the_thread_by_wa_id():
    event = one(
        message(
            "text", {"body": "Does it come in another color?"}, mid="wamid.TEXT1", ts=1749416383
        ),
        name="Sheena Nelson",
    )
    assert event.external_id == "wamid.TEXT1"
    assert event.thread_key == CUSTOMER
    assert event.sender.address == CUSTOMER and event.sender.name == "Sheena Nelson"
    assert event.sender.phone == "+" + CUSTOMER
    assert event.body == "Does it come in another color?"
    assert event.created_at == datetime.fromtimestamp(1749416383, timezone.utc)
    assert event.attachments == []


@pytest.mark.parametrize(
    ("kind", "content", "name", "mime", "body"),
    [
        (
            "image",
            {
                "caption": "The box was crushed",
                "mime_type": "image/jpeg",
                "sha256": "x",
                "id": "1003383421387256",
            },
            "image_1003383421387256.jpg",
            "image/jpeg",
            "The box was crushed",
        ),
        (
            "audio",
            {
                "mime_type": "audio/ogg; codecs=opus",
                "sha256": "x",
                "id": "1003383421387257",
                "voice": True,
            },
            "voice_1003383421387257.oga",
            "audio/ogg",
            "",
        ),
        (
            "audio",
            {"mime_type": "audio/mpeg", "sha256": "x", "id": "1003383421387258", "voice": False},
            "audio_1003383421387258.mp3",
            "audio/mpeg",
            "",
        ),
        (
            "video",
            {"caption": "see", "mime_type": "video/mp4", "sha256": "x", "id": "1003383421387259"},
            "video_1003383421387259.mp4",
            "video/mp4",
            "see",
        ),
        (
            "document",
            {
                "caption": "my invoice",
                "filename": "invoice-42.pdf",
                "mime_type": "application/pdf",
                "sha256": "x",
                "id": "1003383421387260",
            },
            "invoice-42.pdf",
            "application/pdf",
            "my invoice",
        ),
        (
            "sticker",
            {"mime_type": "image/webp", "sha256": "x", "id": "1003383421387261", "animated": False},
            "sticker_1003383421387261.webp",
            "image/webp",
            "[sticker]",
        ),
    ],
)
def test_media_messages_become_attachments_whose_ref_is_the_media_id(
    kind, content, name, mime, body
):
    event = one(message(kind, content, mid=f"wamid.{kind}"))
    (attachment,) = event.attachments
    assert attachment.ref == content["id"]
    assert attachment.name == name
    assert attachment.mime == mime
    assert event.body == body


def test_location_contacts_buttons_lists_and_template_quick_replies_read_as_text():
    location = one(
        message(
            "location",
            {
                "address": "1 Hacker Way, Menlo Park, CA 94025",
                "latitude": 37.483307,
                "longitude": -122.148981,
                "name": "Philz Coffee",
                "url": "https://philzcoffee.com",
            },
            mid="wamid.LOC",
        )
    )
    assert location.body.startswith(
        "📍 Location: Philz Coffee — 1 Hacker Way, Menlo Park, CA 94025"
    )
    assert (
        "(37.483307, -122.148981)" in location.body and "https://philzcoffee.com" in location.body
    )
    contacts = one(
        message(
            "contacts",
            [
                {
                    "name": {"formatted_name": "Barbara J. Johnson", "first_name": "Barbara"},
                    "phones": [
                        {"phone": "+1 (940) 555-1234", "type": "HOME", "wa_id": "19405551234"}
                    ],
                    "emails": [{"email": "bjohnson@luckyshrub.com", "type": "WORK"}],
                    "org": {"company": "Lucky Shrub"},
                }
            ],
            mid="wamid.CONTACTS",
        )
    )
    assert contacts.body == (
        "👤 Contact card: Barbara J. Johnson — +1 (940) 555-1234, bjohnson@luckyshrub.com, Lucky Shrub"
    )
    button = one(
        message(
            "interactive",
            {
                "type": "button_reply",
                "button_reply": {"id": "cancel-order", "title": "Cancel order"},
            },
            mid="wamid.BTN",
            context={"from": BUSINESS_NUMBER, "id": "wamid.OURQUESTION0001"},
        )
    )
    assert button.body == "↩ Replying to our message …TION0001\n[chose the button “Cancel order”]"
    listed = one(
        message(
            "interactive",
            {
                "type": "list_reply",
                "list_reply": {"id": "ship-2", "title": "Express", "description": "Next day, $9"},
            },
            mid="wamid.LIST",
        )
    )
    assert listed.body == "[chose “Express” from the list: Next day, $9]"
    quick = one(
        message("button", {"payload": "STOP_PROMOS", "text": "Stop promotions"}, mid="wamid.QR")
    )
    assert quick.body == "[chose the button “Stop promotions”]"


def test_reactions_and_replies_say_which_message_they_are_about():
    reacted = one(
        message(
            "reaction",
            {"message_id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI", "emoji": "👍"},
            mid="wamid.R1",
        )
    )
    assert reacted.body == "reacted 👍 to message …VAgARGBI"
    removed = one(
        message("reaction", {"message_id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI"}, mid="wamid.R2")
    )
    assert removed.body == "removed their reaction from message …VAgARGBI"
    reply = one(
        message(
            "text",
            {"body": "Yes, that one"},
            mid="wamid.REPLY",
            context={"from": CUSTOMER, "id": "wamid.THEIRS00000042"},
        )
    )
    assert reply.body == "↩ Replying to a message …00000042\nYes, that one"
    from_ad = one(
        message(
            "text",
            {"body": "Is this still available?"},
            mid="wamid.AD",
            referral={
                "source_url": "https://fb.me/3cr4Wqqkt",
                "source_type": "ad",
                "headline": "Spring sale",
                "body": "Up to 50% off",
            },
        )
    )
    assert (
        from_ad.body
        == "📣 Came from Spring sale (https://fb.me/3cr4Wqqkt)\nIs this still available?"
    )
    forwarded = one(message("text", {"body": "look"}, mid="wamid.FWD", context={"forwarded": True}))
    assert forwarded.body == "↪ Forwarded\nlook"


def test_unsupported_and_unknown_types_keep_their_error_and_are_never_dropped():
    unsupported = one(
        {
            "from": CUSTOMER,
            "id": "wamid.UNSUP",
            "timestamp": "1749416383",
            "type": "unsupported",
            "errors": [
                status_error(
                    131051, "Message type unknown", "Message type is currently not supported."
                )
            ],
            "unsupported": {"type": "edit"},
        }
    )
    assert (
        "131051: Message type unknown — Message type is currently not supported" in unsupported.body
    )
    future = one(message("hologram", {"x": 1}, mid="wamid.NEW"))
    assert future.body == "[a WhatsApp message of type 'hologram' frontdesk cannot show]"


def test_statuses_update_delivery_and_a_failure_carries_code_and_title():
    events = parse(
        value(
            statuses=[
                status("wamid.OUT1", "sent"),
                status("wamid.OUT1", "delivered"),
                status("wamid.OUT1", "read"),
                status(
                    "wamid.OUT2", "failed", errors=[status_error(131026, "Message undeliverable")]
                ),
                status(
                    "wamid.OUT3",
                    "failed",
                    errors=[
                        status_error(
                            131047,
                            "Re-engagement message",
                            "More than 24 hours have passed since the recipient last replied",
                        )
                    ],
                ),
                status("wamid.OUT4", "played"),
            ]
        )
    )
    assert events == [
        DeliveryUpdate("wamid.OUT1", Delivery.SENT),
        DeliveryUpdate("wamid.OUT1", Delivery.DELIVERED),
        DeliveryUpdate("wamid.OUT1", Delivery.READ),
        DeliveryUpdate("wamid.OUT2", Delivery.FAILED, "131026: Message undeliverable"),
        DeliveryUpdate(
            "wamid.OUT3",
            Delivery.FAILED,
            "131047: Re-engagement message — the 24-hour window closed — send an approved template (ctrl+t)",
        ),
    ]


def test_several_entries_and_changes_per_post_are_all_read_and_a_bad_one_is_quarantined():
    good = [
        value(
            [message("text", {"body": f"m{i}"}, mid=f"wamid.M{i}", sender=f"1555000{i}")],
            name=f"C{i}",
            wa_id=f"1555000{i}",
        )
        for i in range(4)
    ]
    body = webhook(*good, value(statuses=[status("wamid.OUT9", "delivered")]), entries=2)
    body["entry"][0]["changes"].append(
        {"field": "messages", "value": {"messages": [{"id": "wamid.BAD"}]}}
    )
    body["entry"].append("not an entry")
    events = parse_body(dumps(body), "wa", PHONE_ID)
    inbound = [e for e in events if isinstance(e, Inbound)]
    assert sorted(e.body for e in inbound) == ["m0", "m1", "m2", "m3"]
    assert {e.sender.name for e in inbound} == {"C0", "C1", "C2", "C3"}
    assert DeliveryUpdate("wamid.OUT9", Delivery.DELIVERED) in events
    bad = [e for e in events if isinstance(e, Unparsable)]
    assert len(bad) == 2 and any("wamid.BAD" in e.payload for e in bad)


def test_a_change_for_another_phone_number_is_quarantined_not_ingested():
    events = parse(
        value([message("text", {"body": "hi"}, mid="wamid.OTHER")], phone_number_id="999")
    )
    (event,) = events
    assert isinstance(event, Unparsable) and "not this channel's" in event.reason


@pytest.mark.parametrize(
    "body", [b"", b"{", b"[]", b'{"entry": 5}', b"\xff\xfe", b'"x"' * 3, b"[" * 5000]
)
def test_bodies_that_are_not_webhooks_are_one_unparsable(body):
    (event,) = parse_body(body, "wa", PHONE_ID)
    assert isinstance(event, Unparsable)


KEYS = st.sampled_from(
    [
        "from",
        "id",
        "timestamp",
        "type",
        "text",
        "image",
        "context",
        "errors",
        "reaction",
        "interactive",
        "contacts",
        "location",
    ]
)
MESSAGE_LIKE = st.dictionaries(KEYS, json_values | st.text(max_size=10), max_size=8)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(junk=json_values, messages=st.lists(MESSAGE_LIKE, max_size=4))
def test_random_json_never_raises_and_never_costs_the_good_messages(junk, messages):
    good = message("text", {"body": "still here"}, mid="wamid.GOOD")
    body = webhook(value([*messages, good]))
    body["entry"].append({"changes": [junk]})
    events = parse_body(dumps(body), "wa", PHONE_ID)
    assert any(isinstance(e, Inbound) and e.external_id == "wamid.GOOD" for e in events)
    assert parse_body(json.dumps(junk).encode(), "wa", PHONE_ID) is not None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_raise(raw):
    assert all(isinstance(e, (Inbound, DeliveryUpdate, Unparsable)) for e in parse_body(raw, "wa"))


COMPONENT_LIKE = st.fixed_dictionaries(
    {"type": st.sampled_from(["HEADER", "BODY", "BUTTONS", "FOOTER", 3])},
    optional={
        "format": st.sampled_from(["TEXT", "IMAGE", "LOCATION", "", None]),
        "text": st.one_of(st.text(max_size=30), st.just("{{1}} and {{x}}"), st.integers()),
        "buttons": st.one_of(json_values, st.lists(json_values, max_size=3)),
    },
)


@settings(max_examples=200, deadline=None)
@given(
    components=st.one_of(json_values, st.lists(st.one_of(COMPONENT_LIKE, json_values), max_size=5)),
    junk=json_values,
)
def test_random_template_lists_never_raise_and_what_is_listed_is_well_formed(components, junk):
    for raw in (
        junk,
        {"name": "t", "language": "en", "status": "APPROVED", "components": components},
    ):
        found = template_of(raw)
        if found is not None:
            assert all(isinstance(p, str) for p in found.parameters)
            assert all(e.part in ("header", "button") for e in found.extras)


# ---- webhook verification -----------------------------------------------------------------------


def test_signature_is_checked_with_the_app_secret_and_the_challenge_with_the_verify_token(server):
    backend = backend_for(server)
    body = dumps(webhook(value([message("text", {"body": "hi"}, mid="wamid.S")])))
    assert backend.signature_ok({"x-hub-signature-256": sign(body)}, body)
    assert not backend.signature_ok({"x-hub-signature-256": sign(body, "wrong")}, body)
    assert not backend.signature_ok({}, body)
    assert not backend.signature_ok({"x-hub-signature-256": sign(body)}, body + b" ")
    query = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    assert backend.subscription_answer(query) == "1158201444"
    assert backend.subscription_answer({**query, "hub.verify_token": "nope"}) is None
    no_secret = backend_for(server, secrets={"access_token": TOKEN})
    assert not no_secret.signature_ok({"x-hub-signature-256": sign(body)}, body)
    assert no_secret.subscription_answer(query) is None


def test_window_rule_names_the_template_picker(server):
    rule = backend_for(server).window_rule
    assert rule.span.total_seconds() == 24 * 3600
    assert rule.closed_label == "template required" and "ctrl+t" in rule.way_out


# ---- sending ----------------------------------------------------------------------------------------


def out(body="", **kw) -> Outgoing:
    return Outgoing(1, 1, CUSTOMER, CUSTOMER, body, **kw)


BASE = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER}


async def test_text_and_reply_are_sent_with_exact_bodies(fake, server):
    backend = backend_for(server)
    result = await backend.send(out("On it! 🙂"))
    assert result.external_id == "wamid.OUT000001" and result.delivery is Delivery.SENT
    await backend.send(out("That one?", reply_to_external_id="wamid.IN42"))
    assert fake.sent == [
        {**BASE, "type": "text", "text": {"preview_url": False, "body": "On it! 🙂"}},
        {
            **BASE,
            "context": {"message_id": "wamid.IN42"},
            "type": "text",
            "text": {"preview_url": False, "body": "That one?"},
        },
    ]
    (_, request), _ = fake.calls
    assert request.path == f"/{VERSION}/{PHONE_ID}/messages"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"].startswith("application/json")
    with pytest.raises(PermanentError, match="at most 4,096"):
        await backend.send(out("x" * 4097))
    await backend.close()


async def test_template_is_sent_with_language_and_body_parameters(fake, server):
    backend = backend_for(server)
    await backend.send(out(template=TemplateSend("order_update", "en_US", ["Sheena", "#4521"])))
    await backend.send(out(template=TemplateSend("hello_world", "en_US", [])))
    assert fake.sent == [
        {
            **BASE,
            "type": "template",
            "template": {
                "name": "order_update",
                "language": {"code": "en_US"},
                "components": [
                    {
                        "type": "body",
                        "parameters": [
                            {"type": "text", "text": "Sheena"},
                            {"type": "text", "text": "#4521"},
                        ],
                    }
                ],
            },
        },
        {
            **BASE,
            "type": "template",
            "template": {"name": "hello_world", "language": {"code": "en_US"}},
        },
    ]
    await backend.close()


async def test_files_are_uploaded_then_sent_by_media_id(fake, server, tmp_path):
    photo = tmp_path / "label.png"
    photo.write_bytes(b"\x89PNG fake label")
    pdf = tmp_path / "stored-copy"
    pdf.write_bytes(b"%PDF-1.4 invoice")
    backend = backend_for(server)
    result = await backend.send(
        out(
            "Here is your return label",
            attachments=[
                Attachment("label.png", "image/png", photo.stat().st_size, str(photo)),
                Attachment("invoice.pdf", "application/pdf", pdf.stat().st_size, str(pdf)),
            ],
            reply_to_external_id="wamid.IN7",
        )
    )
    assert fake.uploads == [
        {
            "messaging_product": "whatsapp",
            "type": "image/png",
            "name": "label.png",
            "data": b"\x89PNG fake label",
        },
        {
            "messaging_product": "whatsapp",
            "type": "application/pdf",
            "name": "invoice.pdf",
            "data": b"%PDF-1.4 invoice",
        },
    ]
    assert fake.sent == [
        {
            **BASE,
            "context": {"message_id": "wamid.IN7"},
            "type": "image",
            "image": {"id": "900001", "caption": "Here is your return label"},
        },
        {**BASE, "type": "document", "document": {"id": "900003", "filename": "invoice.pdf"}},
    ]
    assert result.external_id == "wamid.OUT000002"
    upload = next(r for route, r in fake.calls if route == "upload")
    assert upload.path == f"/{VERSION}/{PHONE_ID}/media"
    assert upload.headers["content-type"].startswith("multipart/form-data")
    await backend.close()


async def test_text_beside_audio_goes_first_since_audio_takes_no_caption(fake, server, tmp_path):
    voice = tmp_path / "note.ogg"
    voice.write_bytes(b"OggS voice")
    backend = backend_for(server)
    await backend.send(
        out("Listen to this", attachments=[Attachment("note.ogg", "audio/ogg", 10, str(voice))])
    )
    assert fake.sent == [
        {**BASE, "type": "text", "text": {"preview_url": False, "body": "Listen to this"}},
        {**BASE, "type": "audio", "audio": {"id": "900002"}},
    ]
    await backend.close()


async def test_run_refuses_to_start_without_the_token_or_the_app_secret(server):
    for missing in ("access_token", "app_secret"):
        secrets = {k: v for k, v in SECRETS.items() if k != missing}
        with pytest.raises(ConfigError, match=f"frontdesk creds set wa {missing}"):
            await backend_for(server, secrets=secrets).run(Sink())


def test_attachment_problem_enforces_whatsapps_limits(server):
    backend = backend_for(server)
    mb = 1024 * 1024
    assert backend.attachment_problem("a.jpg", "image/jpeg", 5 * mb) is None
    assert "at most 5 MB" in backend.attachment_problem("a.jpg", "image/jpeg", 5 * mb + 1)
    assert backend.attachment_problem("v.mp4", "video/mp4", 16 * mb) is None
    assert "video of at most 16 MB" in backend.attachment_problem("v.mp4", "video/mp4", 16 * mb + 1)
    assert "an audio of at most 16 MB" in backend.attachment_problem("a.ogg", "audio/ogg", 17 * mb)
    assert backend.attachment_problem("r.pdf", "application/pdf", 100 * mb) is None
    assert "document of at most 100 MB" in backend.attachment_problem(
        "r.zip", "application/zip", 101 * mb
    )
    assert "stickers" in backend.attachment_problem("s.webp", "image/webp", 10)
    assert media_kind("image/gif") == "document" and media_kind("audio/ogg; codecs=opus") == "audio"


async def test_a_file_over_the_limit_is_refused_before_any_upload(fake, server, tmp_path):
    big = tmp_path / "big.jpg"
    big.write_bytes(b"\xff" * (5 * 1024 * 1024 + 1))
    backend = backend_for(server)
    with pytest.raises(PermanentError, match="at most 5 MB"):
        await backend.send(out("", attachments=[Attachment("big.jpg", "image/jpeg", 0, str(big))]))
    assert fake.uploads == [] and fake.sent == []
    await backend.close()


class Sink:
    def __init__(self) -> None:
        self.events: list = []

    async def ingest(self, channel, events, cursor=None) -> None:
        self.events.extend(events)


async def _running(backend):
    import asyncio

    sink = Sink()
    task = asyncio.create_task(backend.run(sink))
    await asyncio.sleep(0)
    return sink, task


async def test_a_rejected_token_fails_the_send_with_the_fix_and_shows_the_channel_down(
    fake, server
):
    backend = backend_for(server, secrets={**SECRETS, "access_token": "EAAG-expired"})
    sink, task = await _running(backend)
    with pytest.raises(TokenRejected) as info:
        await backend.send(out("hello"))
    assert "190: Invalid OAuth access token" in str(info.value)
    assert "frontdesk creds set wa access_token" in str(info.value)
    assert isinstance(info.value, PermanentError)
    (down,) = sink.events
    assert down.state == "down" and "frontdesk creds set wa access_token" in down.detail
    assert "EAAG-expired" not in str(info.value) + down.detail
    fake.token = (
        "EAAG-expired"  # the provider accepts it again: the next send brings the channel back
    )
    await backend.send(out("hello"))
    assert sink.events[-1] == ChannelStatus("ok")
    task.cancel()
    await backend.close()


@pytest.mark.parametrize(
    ("answer", "error", "text", "wait"),
    [
        (
            graph_error(
                429, 130429, "Rate limit hit", "Cloud API message throughput has been reached."
            ),
            TransientError,
            "rate limit (130429: Rate limit hit",
            30.0,
        ),
        (
            graph_error(400, 131056, "(Business Account, Consumer Account) pair rate limit hit"),
            TransientError,
            "131056",
            60.0,
        ),
        (
            graph_error(400, 80007, "Rate limit issues", headers={"Retry-After": "12"}),
            TransientError,
            "80007",
            12.0,
        ),
        (
            graph_error(
                400,
                131047,
                "Re-engagement message",
                "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
            ),
            WindowClosedError,
            "131047: Re-engagement message",
            None,
        ),
        (
            graph_error(400, 131026, "Message undeliverable"),
            PermanentError,
            "refused: 131026: Message undeliverable",
            None,
        ),
        (
            graph_error(400, 131051, "Unsupported message type"),
            PermanentError,
            "131051: Unsupported message type",
            None,
        ),
        (
            graph_error(400, 368, "Temporarily blocked for policies violations"),
            PermanentError,
            "may not send (368",
            None,
        ),
        (
            graph_error(503, 131016, "Service unavailable"),
            TransientError,
            "server error (131016",
            None,
        ),
        (
            Response(502, b"<html>Bad Gateway</html>"),
            TransientError,
            "server error (HTTP 502",
            None,
        ),
    ],
)
async def test_graph_errors_are_mapped(fake, server, answer, error, text, wait):
    backend = backend_for(server)
    fake.fail_next("messages", answer)
    with pytest.raises(error) as info:
        await backend.send(out("hello"))
    assert text in str(info.value)
    if error is TransientError:
        assert info.value.retry_after == wait
        assert not isinstance(info.value, PermanentError)
    if error is WindowClosedError:
        assert info.value.way_out == "send an approved template (ctrl+t)"
        assert "the 24-hour window closed" in str(info.value)
        shown = after_failure(info.value, 1, False, datetime.now(timezone.utc)).reason
        assert shown.endswith("the 24-hour window closed — send an approved template (ctrl+t)")
        assert shown.count("ctrl+t") == 1
    await backend.close()


async def test_timeouts_and_cuts_after_sending_are_ambiguous_and_connect_errors_transient(
    fake, server
):
    backend = backend_for(server, request_timeout=0.5)
    fake.fail_next("messages", Response(200, b"<html>ok</html>"))
    with pytest.raises(AmbiguousError, match="may have been sent"):
        await backend.send(out("hello"))
    fake.fail_next("messages", Hang(5))
    with pytest.raises(AmbiguousError, match="may have been sent"):
        await backend.send(out("hello"))
    fake.fail_next("messages", DROP)
    with pytest.raises(AmbiguousError):
        await backend.send(out("hello"))
    server.stop()
    with pytest.raises(TransientError, match="cannot reach WhatsApp"):
        await backend.send(out("hello"))
    await backend.close()


async def test_missing_settings_and_token_name_the_fix(server):
    backend = WhatsAppBackend("wa", {"base_url": server.url}, secrets=SECRETS.get)
    with pytest.raises(ConfigError, match="phone_number_id is missing"):
        await backend.send(out("hi"))
    backend = backend_for(server, secrets={})
    with pytest.raises(ConfigError, match="frontdesk creds set wa access_token"):
        await backend.send(out("hi"))


# ---- templates, read receipts, files ---------------------------------------------------------------


async def test_templates_lists_approved_ones_across_pages(fake, server):
    fake.templates = [
        template("order_update", "Hi {{1}}, your order {{2}} has shipped."),
        template("draft_promo", "Sale!", status="PENDING"),
        template("hello_world", "Hello, welcome to Lucky Shrub"),
        template(
            "appointment",
            "Dear {{1}}, see you on {{2}} at {{1}}'s address",
            language="es",
            category="MARKETING",
        ),
        template("rejected_one", "no", status="REJECTED"),
        template("named", "Hi {{first_name}}, code {{code}}"),
    ]
    fake.page_size = 2
    backend = backend_for(server)
    found = await backend.templates()
    assert found == [
        MessageTemplate(
            "appointment",
            "es",
            "MARKETING",
            "Dear {{1}}, see you on {{2}} at {{1}}'s address",
            ("1", "2"),
        ),
        MessageTemplate("hello_world", "en_US", "UTILITY", "Hello, welcome to Lucky Shrub", ()),
        MessageTemplate(
            "named", "en_US", "UTILITY", "Hi {{first_name}}, code {{code}}", ("first_name", "code")
        ),
        MessageTemplate(
            "order_update",
            "en_US",
            "UTILITY",
            "Hi {{1}}, your order {{2}} has shipped.",
            ("1", "2"),
        ),
    ]
    pages = [r for route, r in fake.calls if route == "templates"]
    assert len(pages) == 2 and "after" in pages[1].query
    assert pages[0].query["status"] == ["APPROVED"]
    await backend.send(out(template=TemplateSend("named", "en_US", ["Ana", "X1"])))
    assert fake.sent[-1]["template"]["components"][0]["parameters"] == [
        {"type": "text", "text": "Ana", "parameter_name": "first_name"},
        {"type": "text", "text": "X1", "parameter_name": "code"},
    ]
    restarted = backend_for(server)  # a template queued before a restart: its names are looked up
    await restarted.send(out(template=TemplateSend("named", "en_US", ["Bo", "Y2"])))
    assert fake.sent[-1]["template"]["components"][0]["parameters"][0]["parameter_name"] == (
        "first_name"
    )
    await restarted.close()
    without = backend_for(server, business_account_id="")
    with pytest.raises(ConfigError, match="business_account_id is missing"):
        await without.templates()
    await backend.close()


SALE_BUTTONS = [
    {
        "type": "URL",
        "text": "Shop now",
        "url": "https://shop.example/s/{{1}}",
        "example": ["https://shop.example/s/spring"],
    },
    {"type": "QUICK_REPLY", "text": "Stop promotions"},
    {"type": "COPY_CODE", "example": "SAVE25"},
    {"type": "URL", "text": "Our site", "url": "https://shop.example/"},
]


async def test_a_header_and_buttons_that_take_values_are_listed_and_sent_in_graphs_shape(
    fake, server
):
    fake.templates = [
        template(
            "spring_sale",
            "Hi {{1}}, the sale is on.",
            category="MARKETING",
            header={"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW"]}},
            buttons=SALE_BUTTONS,
        ),
        template(
            "order_shipped",
            "Your order is on its way.",
            header={
                "type": "HEADER",
                "format": "TEXT",
                "text": "Order {{order_id}}",
                "example": {
                    "header_text_named_params": [{"param_name": "order_id", "example": "1"}]
                },
            },
        ),
        template("invoice", "Your invoice.", header={"type": "HEADER", "format": "DOCUMENT"}),
        template("store_map", "Find us here.", header={"type": "HEADER", "format": "LOCATION"}),
    ]
    fake.page_size = 10
    backend = backend_for(server)
    found = {t.name: t for t in await backend.templates()}
    assert set(found) == {"spring_sale", "order_shipped", "invoice"}  # a map header: not fillable
    assert found["spring_sale"].extras == (
        TemplateExtra("header", "image", "image"),
        TemplateExtra("button", "url", "Shop now", 0, "https://shop.example/s/{{1}}"),
        TemplateExtra("button", "copy_code", "Copy code", 2),
    )
    assert found["order_shipped"].extras == (
        TemplateExtra("header", "text", "order_id", text="Order {{order_id}}"),
    )
    answers = {
        "spring_sale": ["https://cdn.example/sale.png", "Mia", "spring24", "SAVE25"],
        "order_shipped": ["A-17"],
        "invoice": ["https://cdn.example/inv-17.pdf"],
    }
    for name, values in answers.items():
        await backend.send(out(template=send_of(found[name], values)))
    assert [body["template"] for body in fake.sent] == [
        {
            "name": "spring_sale",
            "language": {"code": "en_US"},
            "components": [
                {
                    "type": "header",
                    "parameters": [
                        {"type": "image", "image": {"link": "https://cdn.example/sale.png"}}
                    ],
                },
                {"type": "body", "parameters": [{"type": "text", "text": "Mia"}]},
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": "0",
                    "parameters": [{"type": "text", "text": "spring24"}],
                },
                {
                    "type": "button",
                    "sub_type": "copy_code",
                    "index": "2",
                    "parameters": [{"type": "coupon_code", "coupon_code": "SAVE25"}],
                },
            ],
        },
        {
            "name": "order_shipped",
            "language": {"code": "en_US"},
            "components": [
                {
                    "type": "header",
                    "parameters": [{"type": "text", "text": "A-17", "parameter_name": "order_id"}],
                }
            ],
        },
        {
            "name": "invoice",
            "language": {"code": "en_US"},
            "components": [
                {
                    "type": "header",
                    "parameters": [
                        {"type": "document", "document": {"link": "https://cdn.example/inv-17.pdf"}}
                    ],
                }
            ],
        },
    ]
    assert all(body["type"] == "template" and body["to"] == CUSTOMER for body in fake.sent)
    await backend.close()


async def test_mark_read_reports_the_newest_message(fake, server):
    backend = backend_for(server)
    await backend.mark_read(CUSTOMER, ["wamid.A", "wamid.B"])
    await backend.mark_read(CUSTOMER, [])
    assert fake.read == [
        {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.B"}
    ]
    quiet = backend_for(server, read_receipts=False)
    await quiet.mark_read(CUSTOMER, ["wamid.C"])
    assert len(fake.read) == 1
    await quiet.close()
    await backend.close()


async def test_received_media_is_fetched_through_its_media_id(fake, server, tmp_path):
    fake.add_media("1003383421387256", b"\xff\xd8 a crushed box", "image/jpeg")
    backend = backend_for(server)
    assert await backend.fetch_attachment("1003383421387256") == b"\xff\xd8 a crushed box"
    saved = await backend.save_attachment("1003383421387256", tmp_path / "dl", "box.jpg")
    assert saved.read_bytes() == b"\xff\xd8 a crushed box"
    download = next(r for route, r in fake.calls if route == "download")
    assert download.headers["authorization"] == f"Bearer {TOKEN}"
    with pytest.raises(PermanentError):
        await backend.fetch_attachment("../../etc/passwd")
    await backend.close()


# ---- the desk: ingest, statuses, read receipts ---------------------------------------------------


async def test_parsed_webhook_makes_a_conversation_and_statuses_update_the_reply(
    fake, server, store
):
    backend = backend_for(server)
    desk = Desk(store, {"wa": backend}, agent="Aiko")
    body = dumps(
        webhook(value([message("text", {"body": "Where is my parcel?"}, mid="wamid.IN1")]))
    )
    await desk.ingest("wa", backend.parse_webhook(body))
    await desk.ingest("wa", backend.parse_webhook(body))  # Meta retries: stored once
    conv = store.find_conversation("wa", CUSTOMER)
    assert [m.body for m in store.messages(conv.id)] == ["Where is my parcel?"]
    assert store.contact(conv.contact_id).name == "Sheena Nelson"
    assert conv.window_expires_at is not None
    reply = await desk.reply(conv.id, "It left the depot this morning")
    await desk.flush_outbox()
    sent = store.message(conv.id, reply.id)
    assert sent.external_id == "wamid.OUT000001" and sent.delivery is Delivery.SENT
    assert "context" not in fake.sent[-1]  # a plain reply quotes nothing of the customer's
    update = dumps(webhook(value(statuses=[status(sent.external_id, "read")])))
    await desk.ingest("wa", backend.parse_webhook(update))
    assert store.message(conv.id, reply.id).delivery is Delivery.READ
    await backend.close()


async def test_opening_a_conversation_marks_its_messages_read_on_whatsapp_in_the_background(
    fake, server, store
):
    backend = backend_for(server)
    desk = Desk(store, {"wa": backend}, agent="Aiko")
    msgs = [message("text", {"body": f"m{i}"}, mid=f"wamid.IN{i}") for i in range(3)]
    await desk.ingest("wa", backend.parse_webhook(dumps(webhook(value(msgs)))))
    conv = store.find_conversation("wa", CUSTOMER)
    await desk.mark_read(conv.id)
    await eventually(lambda: fake.read)
    assert fake.read == [
        {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN2"}
    ]
    await desk.mark_read(conv.id)  # nothing new: nothing reported
    await desk.ingest(
        "wa",
        backend.parse_webhook(
            dumps(webhook(value([message("text", {"body": "slow"}, mid="wamid.SLOW")])))
        ),
    )
    fake.fail_next("messages", Hang(5))
    started = time.monotonic()
    await desk.mark_read(conv.id)  # Graph hangs: the agent does not wait for it
    assert time.monotonic() - started < 1.0 and store.conversation(conv.id).unread == 0
    await eventually(lambda: len([c for c in fake.calls if c[0] == "messages"]) == 2)
    fake.fail_next("messages", graph_error(500, 1, "An unknown error occurred"))
    await desk.ingest(
        "wa",
        backend.parse_webhook(
            dumps(webhook(value([message("text", {"body": "m3"}, mid="wamid.IN3")])))
        ),
    )
    await desk.mark_read(conv.id)  # the receipt fails: only logged, the desk carries on
    await eventually(lambda: len([c for c in fake.calls if c[0] == "messages"]) == 3)
    assert store.conversation(conv.id).unread == 0
    await desk.stop()


# ---- doctor -------------------------------------------------------------------------------------------


async def test_check_reads_the_number_and_names_the_fix_for_a_bad_token(fake, server):
    assert await backend_for(server).check() == []
    bad = await backend_for(server, secrets={**SECRETS, "access_token": "EAAG-wrong"}).check()
    assert len(bad) == 1 and "frontdesk creds set wa access_token" in bad[0]
    assert "EAAG-wrong" not in bad[0]
    missing = await backend_for(server, business_account_id="").check()
    assert len(missing) == 1 and "business_account_id is missing" in missing[0]
    server.stop()
    (down,) = await backend_for(server).check()
    assert "cannot reach WhatsApp" in down and "base_url" in down


def test_doctor_checks_the_whatsapp_token(tmp_path, server):
    settings = (
        f'base_url = "{server.url}"\nphone_number_id = "{PHONE_ID}"\n'
        f'business_account_id = "{WABA_ID}"\napi_version = "{VERSION}"\n'
    )

    def doctor(token: str) -> subprocess.CompletedProcess:
        secrets = {"access_token": token, "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN}
        return frontdesk_doctor(tmp_path, "wa", "whatsapp", settings, secrets)

    good = doctor(TOKEN)  # exits 1 all the same: the config has no [webhooks] section
    assert "ok: channel wa (whatsapp)" in good.stdout, good.stdout + good.stderr
    assert_doctor_found(
        doctor("EAAG-wrong"),
        "WhatsApp rejected the access token (190: Invalid OAuth access token",
        "frontdesk creds set wa access_token",
        hidden="EAAG-wrong",
    )


def test_settings_are_validated_by_the_config_loader(tmp_path):
    def refusal(settings: str) -> str:
        block = f'name = "wa"\nbackend = "whatsapp"\n{settings}\n'
        return config_refusal(tmp_path, block, WhatsAppBackend.settings_schema)

    assert "phone_number_id" in refusal("phone_number_id = 1065")
    token = refusal('access_token = "EAAG-x"')
    assert "frontdesk creds set wa access_token" in token and "EAAG-x" not in token
    assert "request_timeout must be from 0.1 to 600" in refusal("request_timeout = 0")


def test_direction_of_parsed_messages_is_inbound():
    assert one(message("text", {"body": "x"}, mid="wamid.D")).direction is Direction.IN


# ---- end to end: signed POSTs over loopback HTTP to the desk's receiver --------------------------


@pytest.fixture
async def live(fake, server, store):
    """A running desk with the WhatsApp channel, its receiver on a free loopback port."""
    backend = backend_for(server)
    desk = Desk(store, {"wa": backend}, agent="Aiko", webhook_listen=("127.0.0.1", 0))
    await desk.start()
    assert desk.receiver is not None
    yield desk, f"http://{desk.receiver.address}/webhooks/wa"
    await desk.stop()


async def _until_conversation(changes):
    """The changes published up to the first about a conversation (a channel's status may come first)."""
    async with asyncio.timeout(5):
        async for change in changes:
            yield change
            if change.conversation_id is not None:
                changes.close()
                return


async def post(url: str, body: bytes, signature: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    async with httpx.AsyncClient() as client:
        return await client.post(url, content=body, headers=headers, timeout=10)


async def test_a_signed_post_makes_a_whatsapp_conversation_appear_and_a_reply_goes_out(
    fake, live, store
):
    desk, url = live
    changes = desk.subscribe()
    body = dumps(
        webhook(
            value([message("text", {"body": "Where is my parcel?"}, mid="wamid.E2E1")]),
            value(
                [
                    message(
                        "image",
                        {"id": "1003383421387256", "mime_type": "image/jpeg", "sha256": "x"},
                        mid="wamid.E2E2",
                        sender="447700900123",
                    )
                ],
                name="Ana Lima",
                wa_id="447700900123",
            ),
            entries=2,
        )
    )
    answer = await post(url, body, sign(body))
    assert answer.status_code == 200
    # persisted before the 200: the conversations are there the moment it arrives
    convs = {c.thread_key: c for c in await desk.conversations()}
    assert set(convs) == {CUSTOMER, "447700900123"}
    assert store.contact(convs["447700900123"].contact_id).name == "Ana Lima"
    (picture,) = store.messages(convs["447700900123"].id)
    assert picture.attachments[0].ref == "1003383421387256"
    heard = [c.conversation_id async for c in _until_conversation(changes)]
    assert heard[-1] in {c.id for c in convs.values()}  # the console hears of it live
    again = await post(url, body, sign(body))  # Meta retries: stored once
    assert again.status_code == 200
    assert len(store.messages(convs[CUSTOMER].id)) == 1
    window = await desk.window(convs[CUSTOMER].id)
    assert window is not None and not window.closed
    reply = await desk.reply(convs[CUSTOMER].id, "It left the depot this morning")
    await eventually(lambda: store.message(convs[CUSTOMER].id, reply.id).delivery is Delivery.SENT)
    assert fake.sent[-1]["text"]["body"] == "It left the depot this morning"
    delivered = dumps(webhook(value(statuses=[status("wamid.OUT000001", "delivered")])))
    assert (await post(url, delivered, sign(delivered))).status_code == 200
    assert store.message(convs[CUSTOMER].id, reply.id).delivery is Delivery.DELIVERED


async def test_forged_and_unsigned_posts_are_refused_and_meta_verification_needs_the_token(
    live, store
):
    desk, url = live
    body = dumps(webhook(value([message("text", {"body": "fake"}, mid="wamid.FORGED")])))
    assert (await post(url, body, sign(body, "not-the-app-secret"))).status_code == 403
    assert (await post(url, body, None)).status_code == 403
    assert await desk.conversations() == []
    async with httpx.AsyncClient() as client:
        ok = await client.get(
            url,
            params={
                "hub.mode": "subscribe",
                "hub.verify_token": VERIFY_TOKEN,
                "hub.challenge": "1158201444",
            },
        )
        wrong = await client.get(
            url,
            params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"},
        )
    assert (ok.status_code, ok.text) == (200, "1158201444")
    assert wrong.status_code == 403


async def test_a_signed_post_shows_the_conversation_live_in_the_console(live):
    from pilot_helpers import make_app, screen_text, wait_until

    desk, url = live
    app = make_app(desk)
    async with app.run_test(size=(120, 30)) as pilot:
        body = dumps(
            webhook(value([message("text", {"body": "Is my order shipped?"}, mid="wamid.UI1")]))
        )
        assert (await post(url, body, sign(body))).status_code == 200
        await wait_until(pilot, lambda: "Sheena Nelson" in screen_text(app), what="the new row")
        assert "Is my order shipped?" in screen_text(app)
