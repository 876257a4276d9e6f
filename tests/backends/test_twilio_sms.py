"""Twilio SMS backend against a fake Messages API on loopback, driven through a real Desk and Store."""

from __future__ import annotations

import json
import logging

import pytest


from fakes.server import DROP, Hang, Response  # noqa: E402
from fakes.twilio import ACCOUNT, NUMBER, TOKEN, FakeTwilio, error  # noqa: E402

from channel_checks import RecordingDesk, eventually, messages_of, state  # noqa: E402
from channel_checks import assert_doctor_found, assert_doctor_ok, frontdesk_doctor  # noqa: E402
from channel_checks import assert_reply_unconfirmed, running  # noqa: E402
from pilot_helpers import eventually as wait_for_condition  # noqa: E402

from frontdesk.backends.base import AmbiguousError, ConfigError, PermanentError, TransientError  # noqa: E402
from frontdesk.backends.sms import sms_segments  # noqa: E402
from frontdesk.backends.twilio_parse import failure_reason  # noqa: E402
from frontdesk.backends.twilio_sms import TwilioSMSBackend  # noqa: E402
from frontdesk.model import Delivery, Direction, MessageKind, Outgoing  # noqa: E402
from frontdesk.store import Store  # noqa: E402

FAST = {
    "account_sid": ACCOUNT,
    "from_number": NUMBER,
    "poll_interval": 0.05,
    "page_size": 50,
    "backoff_initial": 0.05,
    "backoff_max": 0.2,
    "error_retry": 0.3,
    "request_timeout": 2.0,
    "connect_timeout": 0.5,
}
CUSTOMER = "+15557654321"


@pytest.fixture
def fake():
    return FakeTwilio()


def backend_for(server, cursor=None, secrets=None, **settings) -> TwilioSMSBackend:
    secrets = secrets if secrets is not None else {"auth_token": TOKEN}
    return TwilioSMSBackend(
        "sms", {"base_url": server.url, **FAST, **settings}, secrets=secrets.get, cursor=cursor
    )


def desk_for(store, backend) -> RecordingDesk:
    return RecordingDesk(store, {"sms": backend}, agent="Aiko")


def inbound_messages(store):
    return sorted(messages_of(store, Direction.IN), key=lambda m: m.id)


# ---- reading ----------------------------------------------------------------------------------


async def test_burst_of_500_across_pages_is_ingested_oldest_first_and_once(fake, server, store):
    for i in range(500):
        fake.inbound(f"+1555000{i % 20:04d}", f"sms {i}")
    backend = backend_for(server)
    desk = desk_for(store, backend)
    await backend.fetch_once(desk)
    messages = inbound_messages(store)
    assert [m.body for m in messages] == [f"sms {i}" for i in range(500)]
    assert len({m.external_id for m in messages}) == 500
    lists = [c for c in fake.calls if c[0] == "list"]
    assert len(lists) == 10  # followed next_page_uri through 10 pages of 50
    assert lists[0][2]["To"] == NUMBER and "DateSent>" in lists[0][2]
    cursor = store.cursor("sms")
    assert json.loads(cursor)["after"]
    # a second poll re-reads the overlap but ingests nothing twice
    fake.inbound(CUSTOMER, "one more")
    await backend.fetch_once(desk)
    assert len(inbound_messages(store)) == 501
    assert inbound_messages(store)[-1].body == "one more"
    conv = store.find_conversation("sms", CUSTOMER)
    assert conv is not None and store.contact(conv.contact_id).phones == [CUSTOMER]


async def test_mms_media_are_listed_as_attachments(fake, server, store):
    fake.inbound(CUSTOMER, "photo of the damage", media=["image/jpeg", "image/png"])
    fake.inbound(CUSTOMER, "", media=["application/pdf"])
    backend = backend_for(server)
    await backend.fetch_once(desk_for(store, backend))
    first, second = inbound_messages(store)
    assert [(a.mime, a.name.endswith(".jpg")) for a in first.attachments][:1] == [
        ("image/jpeg", True)
    ]
    assert len(first.attachments) == 2 and first.attachments[0].ref.startswith(
        f"/2010-04-01/Accounts/{ACCOUNT}/Messages/"
    )
    assert second.kind is MessageKind.ATTACHMENT and second.attachments[0].mime == "application/pdf"


async def test_malformed_messages_are_quarantined_and_the_rest_ingested(
    fake, server, store, caplog
):
    fake.inbound(CUSTOMER, "first")
    fake.inbound(CUSTOMER, "bad sid", sid="not-a-sid")
    fake.inbound(CUSTOMER, "bad body")["body"] = {"nested": True}
    fake.inbound(CUSTOMER, "bad date", date_sent="the day after tomorrow", date_created=None)
    fake.inbound(CUSTOMER, "last")
    backend = backend_for(server)
    desk = desk_for(store, backend)
    with caplog.at_level(logging.WARNING):
        await backend.fetch_once(desk)
    assert [m.body for m in inbound_messages(store)] == ["first", "last"]
    assert len(store.quarantined()) == 3
    assert caplog.text.count("skipped a malformed Twilio message") == 3
    await backend.fetch_once(desk)
    assert len(store.quarantined()) == 3


@pytest.mark.parametrize("crash", ["before-ingest", "after-ingest"])
async def test_restart_in_the_middle_of_a_batch_loses_and_duplicates_nothing(
    fake, server, tmp_path, crash
):
    for i in range(300):
        fake.inbound(f"+1555111{i % 9:04d}", f"m{i}")

    class PowerCut(Exception):
        pass

    class CrashingSink:
        def __init__(self, desk):
            self.desk = desk

        async def ingest(self, channel, events, cursor=None):
            if crash == "after-ingest":
                await self.desk.ingest(channel, events, cursor)
            raise PowerCut()

    store = Store.open(tmp_path / "data")
    backend = backend_for(server)
    with pytest.raises(PowerCut):
        await backend.fetch_once(CrashingSink(desk_for(store, backend)))
    await backend.close()
    store.close()
    for i in range(300, 320):
        fake.inbound(CUSTOMER, f"m{i}")

    with Store.open(tmp_path / "data") as store:
        backend = backend_for(server, cursor=store.cursor("sms"))
        await backend.fetch_once(desk_for(store, backend))
        await backend.close()
        assert sorted(int(m.body[1:]) for m in inbound_messages(store)) == list(range(320))


# ---- failures while reading ---------------------------------------------------------------------


async def test_429_with_retry_after_is_honoured(fake, server, store):
    fake.fail_next("list", error(429, 20429, "Too Many Requests", {"Retry-After": "1"}))
    fake.inbound(CUSTOMER, "hi")
    backend = backend_for(server)
    desk = desk_for(store, backend)
    async with running(desk):
        await eventually(lambda: len(inbound_messages(store)) == 1)
    times = [c[3] for c in fake.calls if c[0] == "list"]
    assert times[1] - times[0] >= 0.9
    assert all(s == "ok" for s, _ in desk.statuses)


async def test_rejected_credentials_show_down_with_the_fix_and_recover_when_fixed(
    fake, server, store, caplog
):
    caplog.set_level(logging.DEBUG)
    secrets = {"auth_token": "wrong-auth-token-never-shown"}
    fake.inbound(CUSTOMER, "hi")
    backend = backend_for(server, secrets=secrets)
    desk = desk_for(store, backend)
    async with running(desk):
        await eventually(lambda: state(desk, "sms") == "down")
        detail = desk.channel_status["sms"].detail
        assert "Twilio rejected the credentials (Twilio error 20003: Authenticate" in detail
        assert "frontdesk creds set sms auth_token" in detail
        await wait_for_condition(lambda: len(server.requests) >= 3, what="three refused polls")
        times = [request.at for request in server.requests]
        assert min(b - a for a, b in zip(times, times[1:])) >= 0.25  # error_retry 0.3 s apart
        secrets["auth_token"] = TOKEN
        await eventually(lambda: len(inbound_messages(store)) == 1)
        await eventually(lambda: state(desk, "sms") == "ok")
    assert "wrong-auth-token-never-shown" not in caplog.text + repr(desk.statuses)
    assert TOKEN not in caplog.text


async def test_dropped_connection_mid_pagination_and_outage_recover(fake, server, store):
    for i in range(120):
        fake.inbound(CUSTOMER, f"m{i}")
    fake.fail_next("list", None, DROP)  # page 1 fine, page 2 cut
    backend = backend_for(server)
    desk = desk_for(store, backend)
    async with running(desk):
        await eventually(lambda: len(inbound_messages(store)) == 120)
        down = [d for s, d in desk.statuses if s == "down"]
        assert down and "lost the connection to Twilio" in down[0]
        await eventually(lambda: state(desk, "sms") == "ok")

        server.stop()
        await eventually(lambda: "cannot reach Twilio" in desk.channel_status["sms"].detail)
        server.start()
        fake.inbound(CUSTOMER, "m120")
        await eventually(lambda: len(inbound_messages(store)) == 121)
        await eventually(lambda: state(desk, "sms") == "ok")
    assert [m.body for m in inbound_messages(store)] == [f"m{i}" for i in range(121)]


# ---- sending and delivery -------------------------------------------------------------------------


async def _conversation(fake, server, store):
    fake.inbound(CUSTOMER, "where is my parcel?")
    backend = backend_for(server)
    desk = desk_for(store, backend)
    await backend.fetch_once(desk)
    return desk, backend, store.find_conversation("sms", CUSTOMER)


async def test_reply_is_created_and_its_delivery_followed_to_delivered(fake, server, store):
    desk, backend, conv = await _conversation(fake, server, store)
    message = await desk.reply(conv.id, "It left the warehouse today.")
    await desk.flush_outbox()
    created = fake.created[-1]
    assert (created["to"], created["from"], created["body"]) == (
        CUSTOMER,
        NUMBER,
        "It left the warehouse today.",
    )
    stored = store.message(conv.id, message.id)
    assert stored.delivery is Delivery.SENT and stored.external_id == created["sid"]

    await backend.fetch_once(
        desk
    )  # still queued: nothing changes; the SID is followed in the cursor
    assert created["sid"] in json.loads(store.cursor("sms"))["follow"]
    fake.set_status(created["sid"], "sent")
    await backend.fetch_once(desk)
    assert store.message(conv.id, message.id).delivery is Delivery.SENT

    # a restart keeps following
    backend = backend_for(server, cursor=store.cursor("sms"))
    desk = desk_for(store, backend)
    fake.set_status(created["sid"], "delivered")
    await backend.fetch_once(desk)
    assert store.message(conv.id, message.id).delivery is Delivery.DELIVERED
    assert json.loads(store.cursor("sms"))["follow"] == {}
    fetches = sum(1 for c in fake.calls if c[0] == "fetch")
    await backend.fetch_once(desk)
    assert sum(1 for c in fake.calls if c[0] == "fetch") == fetches  # final: no longer re-read


async def test_undelivered_reply_fails_with_the_error_code_and_text(fake, server, store):
    desk, backend, conv = await _conversation(fake, server, store)
    message = await desk.reply(conv.id, "Are you there?")
    await desk.flush_outbox()
    sid = fake.created[-1]["sid"]
    fake.set_status(sid, "undelivered", error_code=30003)
    await backend.fetch_once(desk)
    stored = store.message(conv.id, message.id)
    assert stored.delivery is Delivery.FAILED
    assert stored.delivery_reason == (
        "undelivered: error 30003 — unreachable destination handset "
        "(https://www.twilio.com/docs/api/errors/30003)"
    )
    assert failure_reason(
        {"status": "failed", "error_code": 30007, "error_message": "Carrier filtered"}
    ).startswith("failed: error 30007 — Carrier filtered")


async def test_malformed_delivery_statuses_do_not_stop_the_channel(fake, server, store):
    """`"error_code": Infinity` made int() raise OverflowError, and a status that is a list raised
    TypeError, in the delivery follow-up; the SID stayed followed in the cursor, so every poll
    stopped there (found by tests/system/test_hostile.py)."""
    desk, backend, conv = await _conversation(fake, server, store)
    message = await desk.reply(conv.id, "Are you there?")
    await desk.flush_outbox()
    fake.set_status(fake.created[-1]["sid"], "failed", error_code=float("inf"))
    odd = await desk.reply(conv.id, "And now?")
    await desk.flush_outbox()
    fake.set_status(
        fake.created[-1]["sid"], ["delivered"]
    )  # not a string: unhashable, raised TypeError
    fake.inbound(CUSTOMER, "still here")
    await backend.fetch_once(desk)
    assert store.message(conv.id, odd.id).delivery is Delivery.SENT
    stored = store.message(conv.id, message.id)
    assert stored.delivery is Delivery.FAILED and stored.delivery_reason == "failed"
    assert inbound_messages(store)[-1].body == "still here"


async def test_send_that_times_out_after_the_request_is_written_is_unconfirmed_and_not_resent(
    fake, server, store
):
    desk, backend, conv = await _conversation(fake, server, store)
    backend.request_timeout = 0.5
    fake.fail_next("create", Hang(5))
    await assert_reply_unconfirmed(desk, store, conv.id, "Refund issued")
    assert sum(1 for c in fake.calls if c[0] == "create") == 1


async def test_send_errors_map_to_permanent_or_transient(fake, server, store):
    backend = backend_for(server)
    out = Outgoing(1, 1, CUSTOMER, CUSTOMER, "hello")
    with pytest.raises(PermanentError, match="at most 1,600"):
        await backend.send(Outgoing(1, 1, CUSTOMER, CUSTOMER, "x" * 1601))
    assert not any(c[0] == "create" for c in fake.calls)  # refused before sending
    with pytest.raises(
        PermanentError,
        match=r"Twilio error 21211: The 'To' number 12345 is not a valid phone number",
    ):
        await backend.send(Outgoing(1, 1, "12345", "12345", "hello"))
    fake.fail_next("create", error(429, 20429, "Too Many Requests", {"Retry-After": "3"}))
    with pytest.raises(TransientError) as info:
        await backend.send(out)
    assert info.value.retry_after == 3
    fake.fail_next("create", error(503, 20503, "Service Unavailable"))
    with pytest.raises(TransientError, match="20503"):
        await backend.send(out)
    fake.fail_next("create", DROP)
    with pytest.raises(AmbiguousError):
        await backend.send(out)
    assert (await backend.send(out)).external_id.startswith("SM")
    server.stop()
    with pytest.raises(TransientError, match="cannot reach Twilio"):
        await backend.send(out)
    await backend.close()


async def test_a_create_accepted_with_an_unreadable_answer_is_ambiguous_never_resent(fake, server):
    backend = backend_for(server)
    fake.fail_next("create", Response(201, b"<html>created</html>"))
    with pytest.raises(AmbiguousError, match="may have been sent"):
        await backend.send(Outgoing(1, 1, CUSTOMER, CUSTOMER, "hello"))
    await backend.close()


def test_segment_count_gsm7_and_ucs2():
    assert (sms_segments("a" * 160).segments, sms_segments("a" * 161).segments) == (1, 2)
    assert sms_segments("a" * 306).segments == 2 and sms_segments("a" * 307).segments == 3
    assert (
        sms_segments("€" * 80).units == 160 and sms_segments("€" * 81).segments == 2
    )  # € takes two septets
    assert sms_segments("é" * 160).encoding == "GSM-7"
    assert (
        sms_segments("こんにちは" * 14).encoding == "UCS-2"
        and sms_segments("こ" * 70).segments == 1
    )
    assert sms_segments("こ" * 71).segments == 2
    assert (
        sms_segments("🙂" * 35).units == 70 and sms_segments("🙂" * 36).segments == 2
    )  # an emoji is 2 UTF-16 units
    assert sms_segments("").segments == 0
    assert str(sms_segments("hello")) == "1 SMS segment (GSM-7, 5/160)"


# ---- settings and doctor --------------------------------------------------------------------------


async def test_missing_settings_name_the_fix(server):
    backend = TwilioSMSBackend("sms", {"base_url": server.url}, secrets={"auth_token": TOKEN}.get)
    problems = await backend.check()
    assert any('add account_sid = "AC…"' in p for p in problems)
    assert any("neither from_number nor messaging_service_sid" in p for p in problems)
    with pytest.raises(ConfigError, match="account_sid is missing"):
        await backend.run(None)


def run_doctor(tmp_path, base_url, token=None, extra=""):
    settings = (
        f'base_url = "{base_url}"\naccount_sid = "{ACCOUNT}"\nfrom_number = "{NUMBER}"\n{extra}'
    )
    return frontdesk_doctor(tmp_path, "sms-us", "twilio_sms", settings, {"auth_token": token})


def test_doctor_on_a_missing_auth_token_prints_the_fix(tmp_path, server):
    assert_doctor_found(
        run_doctor(tmp_path, server.url),
        "run `frontdesk creds set sms-us auth_token` or set FRONTDESK_SECRET_SMS_US_AUTH_TOKEN",
    )


def test_doctor_fetches_the_account(tmp_path, server):
    assert_doctor_ok(run_doctor(tmp_path, server.url, TOKEN), "ok: channel sms-us (twilio_sms)")
    assert_doctor_found(
        run_doctor(tmp_path, server.url, "not-the-auth-token"),
        "Twilio rejected the credentials",
        hidden="not-the-auth-token",
    )
