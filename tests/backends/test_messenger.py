"""Messenger backend: webhook parsing, sending through a Desk with a clock, Graph errors, profile names, poll mode."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakes.messenger import (
    APP_SECRET,
    PAGE_ID,
    TOKEN,
    VERIFY_TOKEN,
    FakeGraph,
    echo_event,
    graph_error,
    message_event,
    sign,
    webhook_body,
)
from channel_checks import RecordingDesk, eventually, json_values, messages_of, running
from channel_checks import assert_doctor_found, assert_doctor_ok, frontdesk_doctor
from fakes.server import DROP, Hang, Response

from frontdesk.backends.base import (
    AmbiguousError,
    PermanentError,
    TransientError,
    WindowClosedError,
)
from frontdesk.backends.messenger import MessengerBackend, SentLedger
from frontdesk.backends.messenger_parse import parse_body
from frontdesk.desk.errors import DeskError
from frontdesk.model import (
    Attachment,
    Delivery,
    DeliveryUpdate,
    Direction,
    Inbound,
    Outgoing,
    Unparsable,
)

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
T0_MS = int(T0.timestamp() * 1000)
SECRETS = {"page_access_token": TOKEN, "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN}
FAST = {"request_timeout": 2.0, "connect_timeout": 0.5, "backoff_initial": 0.05, "backoff_max": 0.2}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def fake():
    return FakeGraph()


@pytest.fixture
def graph(fake):
    return fake


def backend_for(server, cursor=None, secrets=None, **settings) -> MessengerBackend:
    values = {**SECRETS, **(secrets or {})}
    return MessengerBackend(
        "fb",
        {"page_id": PAGE_ID, "base_url": server.url, **FAST, **settings},
        secrets=values.get,
        cursor=cursor,
    )


# ---- parsing ------------------------------------------------------------------------------------


def test_every_messaging_event_type_is_parsed():
    ledger = SentLedger()
    ledger.record("P1", "m_ours1", T0_MS - 5000)
    ledger.record("P1", "m_ours2", T0_MS + 5000)
    attachments = [
        {"type": "image", "payload": {"url": "https://cdn.fb.example/img.jpg"}},
        {"type": "video", "payload": {"url": "https://cdn.fb.example/v.mp4"}},
        {"type": "audio", "payload": {"url": "https://cdn.fb.example/a.mp4"}},
        {"type": "file", "payload": {"url": "https://cdn.fb.example/f.pdf"}},
        {"type": "location", "payload": {"coordinates": {"lat": 35.6762, "long": 139.6503}}},
        {"type": "fallback", "payload": {"url": "https://shop.example/p/1", "title": "Blue mug"}},
    ]
    body = webhook_body(
        message_event("P1", "m_text", "hello, world!", ts=T0_MS, quick_reply={"payload": "SIZE_M"}),
        message_event("P1", "m_reply", "this one", ts=T0_MS, reply_to={"mid": "m_earlier"}),
        message_event("P2", "m_files", ts=T0_MS, attachments=attachments),
        {
            "sender": {"id": "P2"},
            "recipient": {"id": PAGE_ID},
            "timestamp": T0_MS,
            "postback": {"title": "Talk to a person", "payload": "HUMAN", "mid": "m_pb"},
        },
        {
            "sender": {"id": "P1"},
            "recipient": {"id": PAGE_ID},
            "timestamp": T0_MS,
            "delivery": {"mids": ["m_ours1", "m_ours2"], "watermark": T0_MS},
        },
        {
            "sender": {"id": "P1"},
            "recipient": {"id": PAGE_ID},
            "timestamp": T0_MS,
            "read": {"watermark": T0_MS},
        },
        echo_event("P3", "m_elsewhere", "Sent from Business Suite", ts=T0_MS),
        echo_event("P1", "m_ours_echo", "ours", ts=T0_MS, metadata="frontdesk:abc"),
        entries=3,
    )
    parsed = parse_body(body, PAGE_ID, ledger)
    by_id = {e.external_id: e for e in parsed.events if isinstance(e, Inbound)}
    assert by_id["m_text"].body == "hello, world!\n(quick reply: SIZE_M)"
    assert by_id["m_text"].thread_key == "P1" and by_id["m_text"].sender.address == "P1"
    assert by_id["m_text"].created_at == T0
    assert by_id["m_reply"].body == "↩ Replying to message m_earlier\nthis one"
    files = by_id["m_files"]
    assert [(a.mime, a.ref) for a in files.attachments] == [
        ("image/*", "https://cdn.fb.example/img.jpg"),
        ("video/*", "https://cdn.fb.example/v.mp4"),
        ("audio/*", "https://cdn.fb.example/a.mp4"),
        ("application/octet-stream", "https://cdn.fb.example/f.pdf"),
    ]
    assert (
        files.body
        == "📍 Location 35.676200, 139.650300\n🔗 Shared: Blue mug https://shop.example/p/1"
    )
    assert by_id["m_pb"].body == "(tapped “Talk to a person”) payload: HUMAN"
    echo = by_id["m_elsewhere"]
    assert echo.direction is Direction.OUT and echo.thread_key == "P3"
    assert "m_ours_echo" not in by_id  # this desk sent it: already stored
    updates = [(e.external_id, e.delivery) for e in parsed.events if isinstance(e, DeliveryUpdate)]
    # read: only what we sent up to the watermark, never the later message
    assert updates == [
        ("m_ours1", Delivery.DELIVERED),
        ("m_ours2", Delivery.DELIVERED),
        ("m_ours1", Delivery.READ),
    ]
    assert parsed.senders == ["P1", "P2"]
    assert not [e for e in parsed.events if isinstance(e, Unparsable)]


def test_a_malformed_event_is_quarantined_and_the_rest_kept():
    body = webhook_body(
        message_event("P1", "m_good", "fine", ts=T0_MS),
        {"sender": "nope", "recipient": {"id": PAGE_ID}, "message": {"mid": "x"}},
        message_event("P1", "m_bad_ts", "x", ts=-5),
        message_event("P1", "m_good2", "also fine", ts=T0_MS),
    )
    events = parse_body(body, PAGE_ID).events
    assert [e.external_id for e in events if isinstance(e, Inbound)] == ["m_good", "m_good2"]
    assert len([e for e in events if isinstance(e, Unparsable)]) == 2
    for junk in (b"", b"not json", b"[]", b'{"object": "instagram", "entry": []}', b"{" * 5000):
        (only,) = parse_body(junk, PAGE_ID).events
        assert isinstance(only, Unparsable)


event_keys = st.fixed_dictionaries(
    {},
    optional={
        "sender": json_values | st.just({"id": "P9"}),
        "recipient": json_values | st.just({"id": PAGE_ID}),
        "timestamp": json_values | st.integers(0, 2 * 10**15),
        "message": json_values
        | st.fixed_dictionaries(
            {"mid": json_values},
            optional={"text": json_values, "attachments": json_values, "is_echo": st.booleans()},
        ),
        "postback": json_values,
        "delivery": json_values,
        "read": json_values,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(junk=st.lists(event_keys | json_values, max_size=5), raw=json_values)
def test_random_json_never_raises_and_never_loses_the_good_events(junk, raw):
    good = message_event("P1", "m_keep", "keep me", ts=T0_MS)
    body = json.dumps({"object": "page", "entry": [{"id": PAGE_ID, "messaging": [*junk, good]}]})
    events = parse_body(body.encode(), PAGE_ID).events
    assert any(isinstance(e, Inbound) and e.external_id == "m_keep" for e in events)
    assert parse_body(json.dumps(raw).encode(), PAGE_ID).events is not None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_raise(raw):
    assert all(isinstance(e, Unparsable) for e in parse_body(raw, PAGE_ID).events)


def test_signature_and_subscription_check(server):
    backend = backend_for(server)
    body = webhook_body(message_event("P1", "m1", "hi"))
    assert backend.signature_ok({"x-hub-signature-256": sign(body)}, body)
    assert not backend.signature_ok({"x-hub-signature-256": sign(body, "other")}, body)
    assert not backend.signature_ok({}, body)
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42"}
    assert backend.subscription_answer(query) == "42"
    assert backend.subscription_answer({**query, "hub.verify_token": "wrong"}) is None


# ---- sending through a Desk --------------------------------------------------------------------


async def _customer_wrote(server, store, clock, psid="P1", **settings):
    backend = backend_for(server, **settings)
    desk = RecordingDesk(store, {"fb": backend}, agent="Aiko", clock=clock)
    ts = int(clock.now.timestamp() * 1000)
    await desk.ingest(
        "fb",
        backend.parse_webhook(
            webhook_body(message_event(psid, "m_in1", "where is my order?", ts=ts))
        ),
    )
    return desk, backend, store.find_conversation("fb", psid)


async def test_reply_inside_24_hours_is_a_RESPONSE_and_after_it_carries_HUMAN_AGENT(
    graph, server, store
):
    clock = Clock(T0)
    desk, _, conv = await _customer_wrote(server, store, clock)
    clock.now = T0 + timedelta(hours=2)
    first = await desk.reply(conv.id, "Let me check")
    await desk.flush_outbox()
    assert graph.sent[-1] == {
        "recipient": {"id": "P1"},
        "messaging_type": "RESPONSE",
        "message": {"text": "Let me check", "metadata": graph.sent[-1]["message"]["metadata"]},
        "_mid": graph.sent[-1]["_mid"],
    }
    assert graph.sent[-1]["message"]["metadata"].startswith("frontdesk:")
    stored = store.message(conv.id, first.id)
    assert stored.delivery is Delivery.SENT and stored.external_id == graph.sent[-1]["_mid"]

    clock.now = T0 + timedelta(days=3)
    window = await desk.window(conv.id)
    assert window.label == "sent with the HUMAN_AGENT tag, 4d left" and not window.closed
    await desk.reply(conv.id, "Your parcel left the warehouse")
    await desk.flush_outbox()
    sent = graph.sent[-1]
    assert sent["messaging_type"] == "MESSAGE_TAG" and sent["tag"] == "HUMAN_AGENT"
    assert sent["recipient"] == {"id": "P1"}
    assert sent["message"]["text"] == "Your parcel left the warehouse"
    assert set(sent) == {"recipient", "messaging_type", "tag", "message", "_mid"}

    clock.now = T0 + timedelta(days=8)
    with pytest.raises(DeskError, match="window closed"):
        await desk.reply(conv.id, "too late")
    assert len(graph.sent) == 2


async def test_outside_the_window_error_fails_the_reply_with_the_way_out(graph, server, store):
    clock = Clock(T0)
    desk, _, conv = await _customer_wrote(server, store, clock)
    graph.fail_next(
        "send",
        graph_error(10, "This message is sent outside of allowed window.", 2018278),
    )
    message = await desk.reply(conv.id, "hello?")
    await desk.flush_outbox()
    stored = store.message(conv.id, message.id)
    assert stored.delivery is Delivery.FAILED
    assert "outside the allowed window" in stored.delivery_reason
    assert "wait for them to write again" in stored.delivery_reason


async def test_graph_errors_are_typed(graph, server):
    backend = backend_for(server)
    out = Outgoing(1, 1, "P1", "P1", "hello")
    graph.fail_next("send", graph_error(10, "outside window", 2018278))
    with pytest.raises(WindowClosedError) as closed:
        await backend.send(out)
    assert "7 days" in closed.value.way_out
    for code in (4, 32, 613):
        graph.fail_next(
            "send", graph_error(code, "Calls to this api have exceeded the rate limit.")
        )
        with pytest.raises(TransientError, match="rate limit") as info:
            await backend.send(out)
        assert info.value.retry_after == 60
    graph.fail_next("send", graph_error(551, "This person isn't available right now."))
    with pytest.raises(PermanentError, match="not available"):
        await backend.send(out)
    graph.fail_next("send", Response(502, b"<html>Bad Gateway</html>"))
    with pytest.raises(TransientError, match="server error"):
        await backend.send(out)
    graph.fail_next("send", DROP)
    with pytest.raises(AmbiguousError):
        await backend.send(out)
    backend.request_timeout = 0.5
    graph.fail_next("send", Hang(5))
    with pytest.raises(AmbiguousError, match="may have been sent"):
        await backend.send(out)
    with pytest.raises(PermanentError, match="at most 2,000"):
        await backend.send(Outgoing(1, 1, "P1", "P1", "x" * 2001))
    assert graph.count("send") == 8  # the too-long one never left
    await backend.close()


async def test_a_rejected_token_shows_the_channel_down_with_the_fix_and_never_leaks(
    graph, server, store, caplog
):
    caplog.set_level(logging.DEBUG)  # httpx logs each request's url, token included, at INFO
    wrong = "EAAG-wrong-token-zzz"
    backend = backend_for(server, secrets={"page_access_token": wrong})
    desk = RecordingDesk(store, {"fb": backend}, agent="Aiko")
    runner = asyncio.create_task(backend.run(desk))
    try:
        with pytest.raises(TransientError, match="frontdesk creds set fb page_access_token"):
            await backend.send(Outgoing(1, 1, "P1", "P1", "hello"))
        await eventually(lambda: desk.channel_status.get("fb") is not None)
        status = desk.channel_status["fb"]
        assert status.state == "down" and "rejected the Page access token" in status.detail
        problems = await backend.check()
        assert "frontdesk creds set fb page_access_token" in problems[0]
        text = caplog.text + str(desk.statuses) + str(problems)
        assert wrong not in text and "access_token=***" in caplog.text  # logged, redacted
        backend._secrets = SECRETS.get  # the agent set the right token
        await backend.send(Outgoing(2, 1, "P1", "P1", "hello again"))
        assert desk.channel_status["fb"].state == "ok"
    finally:
        runner.cancel()
        await backend.close()


async def test_files_are_uploaded_as_filedata_by_type_and_received_files_download(
    graph, server, tmp_path
):
    photo = tmp_path / "parcel.jpg"
    photo.write_bytes(b"\xff\xd8jpeg bytes")
    label = tmp_path / "label.pdf"
    label.write_bytes(b"%PDF-1.4 label")
    backend = backend_for(server)
    result = await backend.send(
        Outgoing(
            1,
            1,
            "P1",
            "P1",
            "Here you go",
            attachments=[
                Attachment("parcel.jpg", "image/jpeg", 12, str(photo)),
                Attachment("label.pdf", "application/pdf", 14, str(label)),
            ],
            tag="HUMAN_AGENT",
        )
    )
    text, image, document = graph.sent[-3:]
    assert result.external_id == text["_mid"]
    assert text["message"]["text"] == "Here you go" and text["tag"] == "HUMAN_AGENT"
    assert image["messaging_type"] == "MESSAGE_TAG" and image["tag"] == "HUMAN_AGENT"
    assert image["recipient"] == {"id": "P1"}
    assert image["message"]["attachment"] == {"type": "image", "payload": {"is_reusable": False}}
    assert image["filedata"] == ("parcel.jpg", b"\xff\xd8jpeg bytes")
    assert document["message"]["attachment"]["type"] == "file"
    assert backend.attachment_problem("big.mov", "video/quicktime", 26 * 1024 * 1024)
    assert backend.attachment_problem("ok.mov", "video/quicktime", 24 * 1024 * 1024) is None
    graph.files["img.jpg"] = b"customer photo"
    assert await backend.fetch_attachment(f"{server.url}/cdn/img.jpg") == b"customer photo"
    with pytest.raises(PermanentError, match="not https"):
        await backend.fetch_attachment("http://169.254.169.254/latest")
    await backend.close()


async def test_echoes_of_our_sends_are_dropped_and_reads_map_to_what_we_sent(graph, server, store):
    clock = Clock(T0)
    desk, backend, conv = await _customer_wrote(server, store, clock)
    message = await desk.reply(conv.id, "Refund done")
    await desk.flush_outbox()
    mid = store.message(conv.id, message.id).external_id
    sent = graph.sent[-1]
    echo_ts = T0_MS + 1000
    body = webhook_body(
        echo_event("P1", mid, "Refund done", ts=echo_ts, metadata=sent["message"]["metadata"]),
        echo_event("P1", "m_from_suite", "Hi from our phone app", ts=echo_ts + 1),
        {
            "sender": {"id": "P1"},
            "recipient": {"id": PAGE_ID},
            "timestamp": echo_ts + 9,
            "read": {"watermark": echo_ts},
        },
    )
    await desk.ingest("fb", backend.parse_webhook(body))
    outs = messages_of(store, Direction.OUT)
    assert [m.body for m in outs] == [
        "Refund done",
        "↪ Sent by the Page outside frontdesk\nHi from our phone app",
    ]
    assert store.message(conv.id, message.id).delivery is Delivery.READ
    await backend.close()


async def test_a_delivery_without_mids_covers_what_we_sent_up_to_its_watermark(graph, server):
    backend = backend_for(server)
    await backend.send(Outgoing(1, 1, "P1", "P1", "first"))
    mid = graph.sent[-1]["_mid"]
    later = int(datetime.now(timezone.utc).timestamp() * 1000) + 60_000
    delivery = {"watermark": later}
    body = webhook_body(
        {
            "sender": {"id": "P1"},
            "recipient": {"id": PAGE_ID},
            "timestamp": later,
            "delivery": delivery,
        },
        {
            "sender": {"id": "P1"},
            "recipient": {"id": PAGE_ID},
            "timestamp": later,
            "read": delivery,
        },
        {
            "sender": {"id": "P1"},
            "recipient": {"id": PAGE_ID},
            "timestamp": later,
            "read": delivery,
        },
    )
    updates = [(e.external_id, e.delivery) for e in backend.parse_webhook(body)]
    assert updates == [(mid, Delivery.DELIVERED), (mid, Delivery.READ)]  # read once only
    await backend.mark_read("P1", [mid])
    assert graph.sent[-1] == {"recipient": {"id": "P1"}, "sender_action": "mark_seen"}
    await backend.close()


# ---- profile names ---------------------------------------------------------------------------------


async def test_sender_names_are_looked_up_after_ingest_cached_and_never_block(graph, server, store):
    graph.profiles["P1"] = {"first_name": "Aiko", "last_name": "Tanaka"}
    backend = backend_for(server)
    desk = RecordingDesk(store, {"fb": backend}, agent="Ben")
    graph.fail_next("profile", Hang(3))  # the first lookup hangs: ingest must not wait for it
    backend.request_timeout = 1.0
    runner = asyncio.create_task(backend.run(desk))
    try:
        body = webhook_body(message_event("P1", "m1", "hi", ts=T0_MS))
        started = asyncio.get_running_loop().time()
        await desk.ingest("fb", backend.parse_webhook(body))
        assert asyncio.get_running_loop().time() - started < 0.5
        contact = store.find_contact("fb", "P1")
        assert contact.name == "P1"  # not known yet
        # the hung lookup times out; the next message asks again and the name arrives
        await eventually(lambda: not backend._queued)
        for n in range(2, 5):
            body = webhook_body(message_event("P1", f"m{n}", "still there?", ts=T0_MS + n))
            await desk.ingest("fb", backend.parse_webhook(body))
        await eventually(lambda: store.find_contact("fb", "P1").name == "Aiko Tanaka")
        assert graph.count("profile") == 2  # cached after it succeeded
        request = [r for _, lab, r in graph.requests if lab == "profile"][-1]
        assert request.path == "/v21.0/P1" and request.query["fields"] == ["first_name,last_name"]
    finally:
        runner.cancel()
        await backend.close()


# ---- poll mode ------------------------------------------------------------------------------------


def record_releases(pacer) -> list[float]:
    """When `pacer` lets each call go (monotonic seconds), appended as it happens."""
    released: list[float] = []
    wait = pacer.wait

    async def timed() -> None:
        await wait()
        released.append(time.monotonic())

    pacer.wait = timed
    return released


async def test_poll_mode_is_paced_and_a_restart_neither_loses_nor_duplicates(graph, server, store):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    for n in range(3):
        graph.add_message(
            f"P{n}", f"hello {n}", now - timedelta(hours=2, minutes=3 - n), name=f"Person {n}"
        )
    graph.add_message("P0", "We are on it", now - timedelta(hours=1), from_page=True)
    backend = backend_for(server, mode="poll")
    assert backend.polling and not backend.webhook
    released = record_releases(backend.pacer)
    desk = RecordingDesk(store, {"fb": backend}, agent="Ben")
    await backend.fetch_once(desk)
    assert len(messages_of(store, Direction.IN)) == 3
    assert store.find_contact("fb", "P2").name == "Person 2"
    (out,) = messages_of(store, Direction.OUT)
    assert out.body == "↪ Sent by the Page outside frontdesk\nWe are on it"
    # Meta's 2 calls/s per Page: the k-th call is let go no sooner than k × 0.5 s after the
    # first (read where the pacer lets them go: arrival at the fake adds a busy box's jitter)
    assert len(graph.times()) == len(released) == 4
    assert all(at - released[0] >= k * 0.5 - 0.005 for k, at in enumerate(released))

    cursor = store.cursor("fb")
    assert cursor == backend.cursor
    graph.add_message("P1", "any news?", now + timedelta(seconds=5))
    restarted = backend_for(server, cursor=cursor, mode="poll")
    before = len(graph.requests)
    await restarted.fetch_once(RecordingDesk(store, {"fb": restarted}, agent="Ben"))
    bodies = [m.body for m in messages_of(store, Direction.IN)]
    assert bodies.count("any news?") == 1 and len(bodies) == 4
    # only the changed conversation, and the one at the cursor (a tie may hide another), are read
    labels = [lab for _, lab, _ in graph.requests[before:]]
    assert labels == ["conversations", "messages", "messages"]
    await backend.close()
    await restarted.close()


async def test_poll_mode_pages_through_conversations_and_messages(graph, server, store):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    for n in range(5):
        for k in range(3):
            graph.add_message(f"P{n}", f"{n}.{k}", now - timedelta(minutes=50 - 10 * n - k))
    graph.add_message("P9", "too old for the first poll", now - timedelta(days=8))
    backend = backend_for(server, mode="poll", page_size=2, calls_per_second=2)
    desk = RecordingDesk(store, {"fb": backend}, agent="Ben")
    await backend.fetch_once(desk)
    for n in range(5):
        conv = store.find_conversation("fb", f"P{n}")
        assert [m.body for m in store.messages(conv.id)] == [f"{n}.0", f"{n}.1", f"{n}.2"]
    assert store.find_conversation("fb", "P9") is None
    afters = [r.query.get("after") for _, lab, r in graph.requests if lab == "conversations"]
    assert afters == [None, ["2"], ["4"]]  # stopped at the conversation older than 7 days
    await backend.close()


async def test_poll_mode_backs_off_on_rate_limits_and_shows_the_reason(graph, server, store):
    graph.add_message("P1", "hi", datetime.now(timezone.utc))
    backend = backend_for(server, mode="poll", rate_limit_wait=0.3, poll_interval=0.05)
    desk = RecordingDesk(store, {"fb": backend}, agent="Ben")
    graph.fail_next(
        "conversations", graph_error(613, "Calls to this api have exceeded the rate limit.")
    )
    runner = asyncio.create_task(backend.run(desk))
    try:
        await eventually(lambda: len(messages_of(store)) == 1)
        first, second = graph.times("conversations")[:2]
        assert second - first >= 0.28  # waited rate_limit_wait before asking again
    finally:
        runner.cancel()
        await backend.close()


# ---- config and doctor ----------------------------------------------------------------------------


def test_bad_settings_name_the_fix(server):
    backend = MessengerBackend("fb", {"mode": "push", "base_url": server.url}, secrets=SECRETS.get)
    with pytest.raises(Exception, match='set "webhook" or "poll".*page_id is missing'):
        backend._page_token()


def run_doctor(tmp_path, base_url, token=None, mode="poll", meta_secrets=True):
    settings = (
        f'page_id = "{PAGE_ID}"\nmode = "{mode}"\nbase_url = "{base_url}"\nconnect_timeout = 1.0\n'
    )
    secrets = {"page_access_token": token}
    if token and meta_secrets:
        secrets.update(app_secret=APP_SECRET, verify_token=VERIFY_TOKEN)
    return frontdesk_doctor(tmp_path, "fb-page", "messenger", settings, secrets)


def test_doctor_checks_the_page_token(tmp_path, server, graph):
    assert_doctor_ok(run_doctor(tmp_path, server.url, TOKEN), "ok: channel fb-page (messenger)")
    assert [r.path for _, lab, r in graph.requests if lab == "page"] == [f"/v21.0/{PAGE_ID}"]
    assert_doctor_found(
        run_doctor(tmp_path, server.url, "EAAG-wrong"),
        "rejected the Page access token",
        "frontdesk creds set fb-page page_access_token",
        hidden="EAAG-wrong",
    )


def test_doctor_asks_poll_mode_for_the_page_token_only(tmp_path, server, graph):
    # app_secret signs webhooks and verify_token answers Meta's GET check: poll mode has neither
    polled = run_doctor(tmp_path, server.url, TOKEN, mode="poll", meta_secrets=False)
    assert polled.returncode == 0, polled.stdout + polled.stderr
    assert "ok: channel fb-page (messenger)" in polled.stdout
    assert "app_secret" not in polled.stdout and "verify_token" not in polled.stdout


def test_doctor_asks_webhook_mode_for_the_webhook_secrets(tmp_path, server, graph):
    hooked = run_doctor(tmp_path, server.url, TOKEN, mode="webhook", meta_secrets=False)
    assert hooked.returncode == 1
    assert "secret 'app_secret' is not set" in hooked.stdout
    assert "secret 'verify_token' is not set" in hooked.stdout
    assert "page_access_token" not in hooked.stdout


# ---- end to end through the receiver ----------------------------------------------------------------


async def test_a_signed_post_over_loopback_makes_a_messenger_conversation_with_the_name(
    graph, server, store
):
    import aiohttp

    graph.profiles["P77"] = {"first_name": "Chloé", "last_name": "Martin"}
    backend = backend_for(server)
    desk = RecordingDesk(store, {"fb": backend}, agent="Ben", webhook_listen=("127.0.0.1", 0))
    async with running(desk):
        target = f"http://{desk.receiver.address}/webhooks/fb"
        body = webhook_body(
            message_event("P77", "m_e2e1", "Is the blue mug back in stock?", ts=T0_MS),
            message_event("P77", "m_e2e2", "size M", ts=T0_MS + 1),
            entries=2,
        )
        async with aiohttp.ClientSession() as http:
            query = {
                "hub.mode": "subscribe",
                "hub.verify_token": VERIFY_TOKEN,
                "hub.challenge": "c1",
            }
            async with http.get(target, params=query) as answer:
                assert (answer.status, await answer.text()) == (200, "c1")
            async with http.post(
                target, data=body, headers={"X-Hub-Signature-256": sign(body, "forged")}
            ) as answer:
                assert answer.status == 403
            assert store.conversations() == []
            async with http.post(
                target, data=body, headers={"X-Hub-Signature-256": sign(body)}
            ) as answer:
                assert answer.status == 200
            # stored before the 200, and a retry of the same POST adds nothing
            assert [m.body for m in messages_of(store)] == [
                "Is the blue mug back in stock?",
                "size M",
            ]
            async with http.post(
                target, data=body, headers={"X-Hub-Signature-256": sign(body)}
            ) as answer:
                assert answer.status == 200
        [conv] = await desk.conversations()
        assert (conv.channel, conv.thread_key) == ("fb", "P77")
        assert len(messages_of(store)) == 2
        await eventually(lambda: store.find_contact("fb", "P77").name == "Chloé Martin")
        assert graph.count("profile") == 1
