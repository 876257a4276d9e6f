"""The webhook receiver over real HTTP on loopback: signed POSTs ingested before the 200, forged,
oversized and unknown ones refused without touching the store, retries deduplicated, Meta's
GET check, hostile bodies survived, and a taken port reported in one line."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import socket
import threading
from collections.abc import Mapping
from datetime import datetime, timezone

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.backends.webhook import (
    MAX_WEBHOOK_BYTES,
    WebhookBackend,
    meta_challenge,
    meta_signature_ok,
)
from frontdesk.desk import Desk
from frontdesk.desk.receiver import Coalescer, ReceiverError, WebhookReceiver
from frontdesk.model import (
    ChannelEvent,
    ChannelStatus,
    ContactRef,
    Inbound,
    SendResult,
    Unparsable,
)
from pilot_helpers import eventually
from frontdesk.store import Store

SECRET = "app-s3cret"
VERIFY = "verify-me"
AT = datetime(2026, 12, 6, 18, 0, tzinfo=timezone.utc)


class SignedChannel(WebhookBackend):
    """A webhook channel signed like Meta's: `{"messages": [{"id", "from", "text"}]}`."""

    kind = "whatsapp"
    secret_names = ("app_secret", "verify_token")

    def __init__(self, name: str = "wa", settings=None, secrets=None, cursor=None) -> None:
        own = {"app_secret": SECRET, "verify_token": VERIFY}.get
        super().__init__(name, settings, secrets or own, cursor)

    def signature_ok(self, headers: Mapping[str, str], body: bytes) -> bool:
        return meta_signature_ok(
            self.secret("app_secret"), headers.get("x-hub-signature-256"), body
        )

    def parse_webhook(self, body: bytes) -> list[ChannelEvent]:
        try:
            items = json.loads(body)["messages"]
            return [
                Inbound(m["id"], m["from"], ContactRef(m["from"]), m["text"], created_at=AT)
                for m in items
            ]
        except Exception as exc:
            return [
                Unparsable(f"not a payload: {type(exc).__name__}", body.decode(errors="replace"))
            ]

    def subscription_answer(self, query: Mapping[str, str]) -> str | None:
        return meta_challenge(self.secret("verify_token"), query)

    async def send(self, outgoing) -> SendResult:
        raise NotImplementedError


class CountingDesk(Desk):
    """A desk that counts the ingests reaching it (the store is untouched when none did)."""

    ingests = 0

    async def ingest(self, channel, events, cursor=None) -> None:
        self.ingests += 1
        await super().ingest(channel, events, cursor)


def sign(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


def payload(*messages: tuple[str, str, str]) -> bytes:
    return json.dumps(
        {"messages": [{"id": i, "from": f, "text": t} for i, f, t in messages]}
    ).encode()


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "data") as s:
        yield s


@pytest.fixture
async def desk(store):
    from conftest import FakeChannel

    return CountingDesk(store, {"wa": SignedChannel(), "sms": FakeChannel("sms", "sms")})


@pytest.fixture
async def receiver(desk):
    r = WebhookReceiver(desk, "127.0.0.1", 0)
    await r.start()
    yield r
    await r.stop()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


def url(receiver: WebhookReceiver, channel: str = "wa") -> str:
    return f"http://{receiver.address}/webhooks/{channel}"


async def post(http, target: str, body: bytes, headers: Mapping[str, str] | None = None):
    async with http.post(target, data=body, headers=headers or {}) as response:
        return response.status, await response.text()


async def test_a_signed_post_is_stored_before_its_200_and_shows_in_the_desk(
    receiver, desk, http, store
):
    body = payload(("wamid.1", "+8190", "Where is my order?"))
    assert await post(http, url(receiver), body, sign(body)) == (200, "ok\n")
    [conv] = await desk.conversations()
    [message] = store.messages(conv.id)
    assert (conv.channel, conv.thread_key, message.body) == ("wa", "+8190", "Where is my order?")
    # durable when answered: no commit is left without its fsync
    assert store._synced == store._committed


async def test_the_200_waits_for_the_fsync(receiver, desk, http, monkeypatch):
    real_fsync, started, release = os.fsync, threading.Event(), threading.Event()

    def held_fsync(fd: int) -> None:
        started.set()
        release.wait(10)  # the disk is slow until the test lets it finish
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", held_fsync)
    body = payload(("wamid.2", "+8190", "durable?"))
    answer = asyncio.create_task(post(http, url(receiver), body, sign(body)))
    await eventually(started.is_set, what="the fsync under way")
    assert not answer.done()  # in the journal, not yet on disk: no 200
    release.set()
    assert (await answer)[0] == 200


async def test_several_events_in_one_post_are_all_stored(receiver, desk, http):
    body = payload(("m1", "+1", "one"), ("m2", "+1", "two"), ("m3", "+2", "three"))
    assert (await post(http, url(receiver), body, sign(body)))[0] == 200
    convs = await desk.conversations()
    assert sorted(c.thread_key for c in convs) == ["+1", "+2"]
    assert sum(len(desk.store.messages(c.id)) for c in convs) == 3


async def test_a_provider_retry_of_the_same_payload_stores_one_message(receiver, desk, http):
    body = payload(("wamid.7", "+8190", "hello"))
    assert (await post(http, url(receiver), body, sign(body)))[0] == 200
    assert (await post(http, url(receiver), body, sign(body)))[0] == 200
    [conv] = await desk.conversations()
    assert [m.external_id for m in desk.store.messages(conv.id)] == ["wamid.7"]


async def test_retries_arriving_together_store_one_message(receiver, desk, http):
    body = payload(("wamid.9", "+8190", "once"))
    first = [payload((f"m{i}", f"+{i}", "x")) for i in range(20)]  # an ingest under way
    answers = await asyncio.gather(
        *(post(http, url(receiver), b, sign(b)) for b in first),
        *(post(http, url(receiver), body, sign(body)) for _ in range(5)),
    )
    assert {status for status, _ in answers} == {200}
    conv = desk.store.find_conversation("wa", "+8190")
    assert [m.external_id for m in desk.store.messages(conv.id)] == ["wamid.9"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Hub-Signature-256": "sha256=" + "0" * 64},
        "other secret",
        "tampered body",
    ],
)
async def test_forged_or_unsigned_posts_get_403_and_the_store_is_untouched(
    receiver, desk, http, headers
):
    body = payload(("evil", "+6", "pay here"))
    if headers == "other secret":
        headers = sign(body, "guess")
    elif headers == "tampered body":
        headers, body = sign(body), body.replace(b"pay here", b"pay there")
    status, _ = await post(http, url(receiver), body, headers)
    assert status == 403
    assert desk.ingests == 0 and desk.store.conversations() == [] and not desk.store.quarantined()


async def test_a_body_over_one_mib_gets_413_unread_and_the_store_is_untouched(receiver, desk, http):
    body = b"x" * (MAX_WEBHOOK_BYTES + 1)
    status, _ = await post(http, url(receiver), body, sign(body))
    assert status == 413

    # without a Content-Length (chunked), the limit holds while reading
    async def chunks():
        for _ in range(17):
            yield b"y" * 65_536

    async with http.post(url(receiver), data=chunks(), headers=sign(b"")) as response:
        assert response.status == 413
    assert desk.ingests == 0 and desk.store.conversations() == []
    # and it still serves the next request
    ok = payload(("m1", "+1", "after"))
    assert (await post(http, url(receiver), ok, sign(ok)))[0] == 200


async def test_a_body_trickling_past_the_read_deadline_gets_408_and_is_not_stored(desk, http):
    receiver = WebhookReceiver(desk, "127.0.0.1", 0, read_seconds=0.3)
    await receiver.start()
    release = asyncio.Event()
    try:

        async def trickle():
            yield b'{"messages": ['
            await release.wait()  # the rest never comes while the deadline runs
            yield b"]}"

        async with http.post(url(receiver), data=trickle(), headers=sign(b"")) as response:
            release.set()
            assert response.status == 408
        assert desk.ingests == 0
    finally:
        release.set()
        await receiver.stop()


async def test_a_malformed_but_signed_body_is_quarantined_and_answered_200(receiver, desk, http):
    body = b'{"messages": [ {"id": "m1", '
    assert (await post(http, url(receiver), body, sign(body)))[0] == 200
    [kept] = desk.store.quarantined()
    assert kept["channel"] == "wa" and '"id": "m1"' in kept["payload"]
    assert desk.store.conversations() == []


async def test_a_backend_that_raises_while_parsing_loses_nothing(receiver, desk, http):
    def broken(body: bytes):
        raise KeyError("entry")

    desk.channels["wa"].parse_webhook = broken
    body = b'{"entry": 1}'
    assert (await post(http, url(receiver), body, sign(body)))[0] == 200
    [kept] = desk.store.quarantined()
    assert kept["payload"] == '{"entry": 1}' and "KeyError" in kept["reason"]


async def test_a_write_the_store_refuses_is_503_so_the_provider_sends_it_again(
    receiver, desk, http, monkeypatch
):
    from frontdesk.store import StoreError

    async def refuse(channel, events, cursor=None):
        raise StoreError("could not write the cache: No space left on device")

    monkeypatch.setattr(desk, "ingest", refuse)
    body = payload(("m1", "+1", "lost?"))
    assert (await post(http, url(receiver), body, sign(body)))[0] == 503

    async def broken(channel, events, cursor=None):
        raise RuntimeError("a bug")

    monkeypatch.setattr(desk, "ingest", broken)
    assert (await post(http, url(receiver), body, sign(body)))[0] == 503
    monkeypatch.undo()
    assert (await post(http, url(receiver), body, sign(body)))[0] == 200
    assert len(desk.store.conversations()) == 1


async def test_unknown_or_non_webhook_channels_are_404_and_wrong_methods_405(receiver, desk, http):
    body = payload(("m1", "+1", "x"))
    assert (await post(http, url(receiver, "nope"), body, sign(body)))[0] == 404
    assert (await post(http, url(receiver, "sms"), body, sign(body)))[0] == 404
    async with http.get(f"http://{receiver.address}/elsewhere") as response:
        assert response.status == 404
    async with http.put(url(receiver), data=body, headers=sign(body)) as response:
        assert response.status == 405
    async with http.delete(url(receiver)) as response:
        assert response.status == 405
    assert desk.ingests == 0


async def test_meta_verification_answers_the_challenge_only_for_the_right_token(receiver, http):
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    async with http.get(url(receiver), params=query) as response:
        assert (response.status, await response.text()) == (200, "1158201444")
    async with http.get(url(receiver), params={**query, "hub.verify_token": "guess"}) as response:
        assert response.status == 403
    async with http.get(url(receiver)) as response:
        assert response.status == 403
    async with http.get(url(receiver, "sms"), params=query) as response:
        assert response.status == 404


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=30,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    body=st.binary(max_size=512)
    | st.binary(min_size=2_000, max_size=60_000)
    | st.text(max_size=600).map(str.encode)
    | JSON.map(lambda value: json.dumps({"messages": value}).encode())
)
async def test_the_receiver_survives_random_signed_bodies(receiver, desk, http, body):
    status, _ = await post(http, url(receiver), body, sign(body))
    assert status == 200
    good = payload(("alive", "+1", "still here"))
    assert (await post(http, url(receiver), good, sign(good)))[0] == 200


async def test_many_concurrent_posts_are_each_durable_when_answered(receiver, desk, http, store):
    bodies = [payload((f"m{i}", f"+{i % 7}", f"text {i}")) for i in range(200)]
    statuses = await asyncio.gather(*(post(http, url(receiver), b, sign(b)) for b in bodies))
    assert {s for s, _ in statuses} == {200}
    assert sum(len(store.messages(c.id)) for c in store.conversations()) == 200
    assert store._synced == store._committed


class GatedDesk:
    """A desk whose ingest records each call and holds it until `gate` is set."""

    def __init__(self) -> None:
        self.channels: dict = {}
        self.calls: list[list[str]] = []
        self.gate = asyncio.Event()
        self.fail: Exception | None = None

    async def ingest(self, channel, events, cursor=None) -> None:
        self.calls.append([e.external_id for e in events])
        await self.gate.wait()
        self.gate.clear()
        if self.fail is not None:
            raise self.fail


def inbound(external_id: str) -> Inbound:
    return Inbound(external_id, "+1", ContactRef("+1"), "x", created_at=AT)


async def test_requests_arriving_during_an_ingest_share_the_next_one():
    desk = GatedDesk()
    coalescer = Coalescer(desk, "wa")
    first = asyncio.create_task(coalescer.ingest([inbound("a")]))
    await eventually(lambda: desk.calls == [["a"]], what="the first ingest under way")
    later = [asyncio.create_task(coalescer.ingest([inbound(x), inbound(x + "2")])) for x in "bcd"]
    await asyncio.sleep(0)  # let the later requests queue (no waiting on time)
    assert desk.calls == [["a"]] and not any(t.done() for t in [first, *later])
    desk.gate.set()
    await first
    await eventually(lambda: len(desk.calls) == 2, what="the shared second ingest")
    assert desk.calls[1] == ["b", "b2", "c", "c2", "d", "d2"]
    assert not any(t.done() for t in later)  # not durable yet: not answered
    desk.fail = OSError("disk gone")
    desk.gate.set()
    for task in later:
        with pytest.raises(OSError):
            await task
    desk.fail = None
    after = asyncio.create_task(coalescer.ingest([inbound("e")]))
    await eventually(lambda: len(desk.calls) == 3, what="a fresh ingest after the failure")
    desk.gate.set()
    await after
    assert desk.calls[2] == ["e"]


async def test_requests_waiting_on_a_cancelled_ingest_are_not_left_hanging():
    desk = GatedDesk()
    coalescer = Coalescer(desk, "wa")
    first = asyncio.create_task(coalescer.ingest([inbound("a")]))
    await eventually(lambda: desk.calls, what="the first ingest under way")
    second = asyncio.create_task(coalescer.ingest([inbound("b")]))
    await asyncio.sleep(0)  # queued behind the first
    coalescer._draining.cancel()
    for task in (first, second):
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)  # a TimeoutError if left hanging


async def test_a_request_that_gives_up_waiting_leaves_its_batch_to_the_others():
    """A request cancelled while its batch is stored (its client gone, the server stopping):
    its events are stored with the others, and the others are answered."""
    desk = GatedDesk()
    coalescer = Coalescer(desk, "wa")
    first = asyncio.create_task(coalescer.ingest([inbound("a")]))
    await eventually(lambda: desk.calls, what="the first ingest under way")
    gone, staying = (asyncio.create_task(coalescer.ingest([inbound(x)])) for x in "bc")
    await asyncio.sleep(0)  # both queued behind the first
    desk.gate.set()
    await first
    await eventually(lambda: len(desk.calls) == 2, what="the shared second ingest")
    gone.cancel()
    desk.gate.set()
    await asyncio.wait_for(staying, 5)
    assert desk.calls[1] == ["b", "c"] and gone.cancelled()
    later = asyncio.create_task(coalescer.ingest([inbound("d")]))
    await eventually(lambda: len(desk.calls) == 3, what="the channel still ingests")
    desk.gate.set()
    await asyncio.wait_for(later, 5)


async def test_a_taken_port_is_one_line_naming_the_address_and_the_fix(desk):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        receiver = WebhookReceiver(desk, "127.0.0.1", port)
        with pytest.raises(ReceiverError) as caught:
            await receiver.start()
    message = str(caught.value)
    assert "\n" not in message
    assert message == (
        f"the webhook receiver cannot listen on 127.0.0.1:{port}: Address already in use; "
        "stop what uses that port or set another [webhooks] listen in the config"
    )


async def test_the_desk_runs_the_receiver_for_its_webhook_channels(desk, http):
    desk.webhook_listen = ("127.0.0.1", 0)
    await desk.start()
    try:
        assert desk.receiver is not None
        body = payload(("m1", "+1", "live"))
        assert (await post(http, url(desk.receiver), body, sign(body)))[0] == 200
        assert [c.thread_key for c in await desk.conversations()] == ["+1"]
        address = desk.receiver.address
    finally:
        await desk.stop()
    assert desk.receiver is None
    with pytest.raises(aiohttp.ClientConnectionError):
        await post(http, f"http://{address}/webhooks/wa", b"{}", sign(b"{}"))


async def test_without_webhooks_in_the_config_a_webhook_channel_is_down_with_the_fix(desk):
    await desk.start()
    try:
        assert desk.receiver is None
        status = desk.channel_status["wa"]
        assert status.state == "down" and "[webhooks]" in status.detail
        assert "listen" in status.detail and "\n" not in status.detail
    finally:
        await desk.stop()


async def test_a_taken_port_shows_the_webhook_channels_down_and_the_others_run(desk):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        desk.webhook_listen = ("127.0.0.1", port)
        await desk.start()
        try:
            status = desk.channel_status["wa"]
            assert status.state == "down" and f"127.0.0.1:{port}" in status.detail
            await eventually(lambda: desk.channel_status.get("sms") == ChannelStatus("ok"))
        finally:
            await desk.stop()


async def test_a_desk_without_webhook_channels_opens_no_port(store):
    from conftest import FakeChannel

    desk = Desk(store, {"sms": FakeChannel("sms", "sms")}, webhook_listen=("127.0.0.1", 0))
    await desk.start()
    try:
        assert desk.receiver is None
    finally:
        await desk.stop()


# ---- frontdesk doctor: the URL to enter in the provider's console ---------------------------


@pytest.fixture
def hooked_backends(monkeypatch):
    """The registry with `signed` (SignedChannel) beside the installed backends, and the
    secrets of its channel `wa-sales` in the environment."""
    from frontdesk.backends import registry

    real = registry.load
    monkeypatch.setenv("FRONTDESK_SECRET_WA_SALES_APP_SECRET", SECRET)
    monkeypatch.setenv("FRONTDESK_SECRET_WA_SALES_VERIFY_TOKEN", VERIFY)
    monkeypatch.setattr(
        registry, "load", lambda name: SignedChannel if name == "signed" else real(name)
    )


def doctor(tmp_path, text: str, capsys) -> tuple[int, str]:
    from frontdesk import cli

    path = tmp_path / "config.toml"
    path.write_text(
        '[agent]\nname = "Aiko"\n\n[[channels]]\nname = "wa-sales"\nbackend = "signed"\n' + text
    )
    code = cli.main(["--config", str(path), "--data-dir", str(tmp_path / "data"), "doctor"])
    return code, capsys.readouterr().out


def test_doctor_prints_each_webhook_channels_url(tmp_path, capsys, hooked_backends):
    code, out = doctor(
        tmp_path,
        '[webhooks]\nlisten = "127.0.0.1:9000"\npublic_url = "https://desk.example.com"\n',
        capsys,
    )
    assert "webhooks: the receiver listens on 127.0.0.1:9000" in out
    assert (
        "webhook: channel wa-sales: enter https://desk.example.com/webhooks/wa-sales "
        "in the provider's console" in out
    )
    assert code == 0 and "\nwarning:" not in out and "\nproblem:" not in out


def test_doctor_warns_when_public_url_is_not_https(tmp_path, capsys, hooked_backends):
    _, out = doctor(tmp_path, '[webhooks]\npublic_url = "http://desk.example.com"\n', capsys)
    assert "enter http://desk.example.com/webhooks/wa-sales" in out
    assert "warning: [webhooks] public_url http://desk.example.com is not https" in out


def test_doctor_warns_when_the_receiver_listens_beyond_loopback(tmp_path, capsys, hooked_backends):
    text = '[webhooks]\nlisten = "0.0.0.0:8787"\npublic_url = "https://desk.example.com"\n'
    _, out = doctor(tmp_path, text, capsys)
    assert "warning: [webhooks] listen 0.0.0.0:8787 is reachable from the network" in out
    text = '[webhooks]\nlisten = "[::1]:8787"\npublic_url = "https://desk.example.com"\n'
    _, out = doctor(tmp_path, text, capsys)
    assert "\nwarning:" not in out


def test_doctor_says_when_public_url_or_webhooks_is_missing(tmp_path, capsys, hooked_backends):
    code, out = doctor(tmp_path, "[webhooks]\n", capsys)
    assert code != 0 and "problem: [webhooks] public_url is not set" in out
    assert "wa-sales" in out and "webhook: channel" not in out
    code, out = doctor(tmp_path, "", capsys)
    assert code != 0
    assert "problem: channels wa-sales are fed by webhooks but" in out and "no [webhooks]" in out


async def test_a_desk_built_from_the_config_listens_where_webhooks_says(
    tmp_path, store, http, hooked_backends
):
    from frontdesk.config import load_config
    from frontdesk.desk_setup import build_desk

    with socket.socket() as probe:  # a free port to write into the config
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = tmp_path / "config.toml"
    path.write_text(
        f'[[channels]]\nname = "wa-sales"\nbackend = "signed"\n\n[webhooks]\nlisten = "127.0.0.1:{port}"\n'
    )
    desk = build_desk(load_config(path), store)
    await desk.start()
    try:
        body = payload(("m1", "+8190", "from the provider"))
        target = f"http://127.0.0.1:{port}/webhooks/wa-sales"
        assert (await post(http, target, body, sign(body)))[0] == 200
        assert [c.channel for c in await desk.conversations()] == ["wa-sales"]
    finally:
        await desk.stop()
