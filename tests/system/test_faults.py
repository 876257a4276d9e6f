"""Fault suite: the real Telegram and Twilio SMS backends and the real desk outbox against fakes on loopback HTTP.

Faults played over real sockets (tests/fakes/server.py): connection refused, a reset in the
middle of a response, a connect timeout (a port that never accepts), a timeout after the
request was sent (the fake read it and never answers), 429 with Retry-After, bursts of
5xx, slow answers within and beyond the timeout, answers trickling a byte at a time
(sends, polls and escalation hooks; one slow channel beside a healthy one), and a channel
down for minutes (the
desk's clock is injected and moved to each retry, so many retries take no wall time; one
test runs the real dispatcher with shrunken backoff).

What every test asserts: each reply ends in a truthful state — `sent`, `failed` with the
channel's reason, or `unconfirmed` when the channel may have acted on it — and the fake
holds no message twice (sends counted per body at the fake); inbound polling loses and
duplicates nothing, the cursor is never ahead of what is persisted, and the channel shows
`down` during an outage and `ok` again by itself.

Covered elsewhere and not repeated here: the outbox rules on scripted exceptions
(tests/unit/test_desk.py), each backend's error typing, a dropped poll, 409/401 handling and
a restart mid-burst (tests/backends/test_telegram.py, tests/backends/test_twilio_sms.py), SIGKILL at random
moments (tests/system/test_crash.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from functools import partial

import pytest


from conftest import FixedClock  # noqa: E402
from fakes import telegram as tg  # noqa: E402
from fakes import twilio as tw  # noqa: E402
from fakes.server import DROP, AfterWork, Blackhole, Cut, FakeServer, Hang, Slow, Trickle  # noqa: E402

from pilot_helpers import eventually as wait_for_condition  # noqa: E402
from status_log import record_statuses  # noqa: E402

from frontdesk.backends.base import MAX_RETRY_AFTER, Backend  # noqa: E402
from frontdesk.backends.telegram import TelegramBackend  # noqa: E402
from frontdesk.backends.twilio_sms import TwilioSMSBackend  # noqa: E402
from frontdesk.desk import Desk, outbox  # noqa: E402
from frontdesk.model import Delivery, Direction, MessageKind  # noqa: E402
from frontdesk.store import Store  # noqa: E402

pytestmark = pytest.mark.slow

CUSTOMER = "+15557654321"
TIMEOUT = 0.6  # request timeout of the backends under test (seconds)
TG_FAST = {
    "poll_timeout": 1,
    "poll_interval": 0.05,
    "backoff_initial": 0.05,
    "backoff_max": 0.2,
    "conflict_retry": 0.3,
    "request_timeout": TIMEOUT,
    "connect_timeout": 0.3,
}
TW_FAST = {
    "account_sid": tw.ACCOUNT,
    "from_number": tw.NUMBER,
    "poll_interval": 0.05,
    "page_size": 20,
    "backoff_initial": 0.05,
    "backoff_max": 0.2,
    "error_retry": 0.3,
    "request_timeout": TIMEOUT,
    "connect_timeout": 0.3,
}


# ---- the two channels behind one small interface ------------------------------------------------


@dataclass
class Channel:
    """A backend kind with its fake: how to build it, script its send faults and count sends."""

    name: str
    fake: Any
    send_route: str

    def backend(self, base_url: str, cursor: str | None = None, **settings: Any) -> Backend:
        if self.name == "tg":
            return TelegramBackend(
                "tg",
                {"base_url": base_url, **TG_FAST, **settings},
                secrets=lambda k: tg.TOKEN if k == "token" else None,
                cursor=cursor,
            )
        return TwilioSMSBackend(
            "sms",
            {"base_url": base_url, **TW_FAST, **settings},
            secrets={"auth_token": tw.TOKEN}.get,
            cursor=cursor,
        )

    def fail_send(self, *answers: Any) -> None:
        self.fake.fail_next(self.send_route, *answers)

    def sends(self, body: str) -> int:
        """How many messages with `body` the channel holds (what the customer would see)."""
        if self.name == "tg":
            return sum(1 for s in self.fake.sent if s.get("text") == body)
        return sum(1 for m in self.fake.created if m["body"] == body)

    def attempts(self) -> int:
        """Send requests that reached the fake (answered or not)."""
        if self.name == "tg":
            return self.fake.count("sendMessage")
        return sum(1 for c in self.fake.calls if c[0] == "create")

    def inbound(self, text: str) -> None:
        if self.name == "tg":
            self.fake.message(77, text)
        else:
            self.fake.inbound(CUSTOMER, text)

    def too_many(self, seconds: int) -> Any:
        if self.name == "tg":
            return tg.error(429, f"Too Many Requests: retry after {seconds}", retry_after=seconds)
        return tw.error(429, 20429, "Too Many Requests", {"Retry-After": str(seconds)})

    def absurd_wait(self) -> Any:
        """A 429 whose wait overflows a datetime (a broken proxy, a hostile server)."""
        if self.name == "tg":
            return tg.error(429, "Too Many Requests", retry_after=10**12)
        return tw.error(429, 20429, "Too Many Requests", {"Retry-After": "1e400"})

    def unavailable(self) -> Any:
        if self.name == "tg":
            return tg.error(503, "Service Unavailable: try later")
        return tw.error(503, 20503, "Service Unavailable: try later")

    def refused(self) -> tuple[Any, str]:
        if self.name == "tg":
            return tg.error(
                403, "Forbidden: bot was blocked by the user"
            ), "bot was blocked by the user"
        return tw.error(
            400, 21610, "Attempt to send to unsubscribed recipient"
        ), "unsubscribed recipient"


@pytest.fixture(params=["tg", "sms"])
def channel(request) -> Channel:
    if request.param == "tg":
        return Channel("tg", tg.FakeTelegram(), "sendMessage")
    return Channel("sms", tw.FakeTwilio(), "create")


@pytest.fixture
def server(channel):
    srv = FakeServer(channel.fake).start()
    yield srv
    srv.stop()


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "data") as s:
        yield s


async def conversation(channel: Channel, store: Store, base_url: str, clock: FixedClock):
    """A desk on the channel with one customer conversation read from the fake."""
    channel.inbound("help please")
    backend = channel.backend(base_url)
    desk = Desk(store, {channel.name: backend}, agent="Aiko", clock=clock)
    await backend.fetch_once(desk)
    conv = store.conversations()[0]
    return desk, backend, conv


async def drive(
    desk: Desk,
    clock: FixedClock,
    rounds: int = 30,
    before_round: Callable[[int], None] | None = None,
) -> list[float]:
    """Flush the outbox, move the desk's clock to the next retry, repeat until nothing is pending.

    Returns the waits the outbox asked for between tries (time passes only on the clock).
    """
    waits: list[float] = []
    for n in range(rounds):
        if before_round:
            before_round(n)
        await desk.flush_outbox()
        pending = [e for e in desk.store.outbox() if e.state == "pending"]
        if not pending:
            break
        due = min(e.next_attempt_at or clock.now for e in pending)
        waits.append((due - clock.now).total_seconds())
        clock.now = max(clock.now, due)
    return waits


async def settle_outbox(desk: Desk, clock: FixedClock) -> None:
    """Later flushes, hours on: a final state must stay final and nothing may go out again."""
    for _ in range(3):
        clock.advance(hours=1)
        await desk.flush_outbox()


# ---- sending through faults -------------------------------------------------------------------------

# (fault script for consecutive send attempts, final delivery, messages at the channel, reason part)
SEND_CASES = {
    "reset mid-response after the send was made": (
        lambda ch: [AfterWork(Cut)],
        Delivery.UNCONFIRMED,
        1,
        "may have been sent",
    ),
    "connection dropped after the request was read": (
        lambda ch: [DROP],
        Delivery.UNCONFIRMED,
        0,
        "may have been sent",
    ),
    "timeout after the request was sent (no answer)": (
        lambda ch: [AfterWork(lambda r: Hang(5))],
        Delivery.UNCONFIRMED,
        1,
        "may have been sent",
    ),
    "slow answer within the timeout": (
        lambda ch: [AfterWork(lambda r: Slow(TIMEOUT / 3, r))],
        Delivery.SENT,
        1,
        "",
    ),
    "slow answer beyond the timeout": (
        lambda ch: [AfterWork(lambda r: Slow(TIMEOUT * 3, r))],
        Delivery.UNCONFIRMED,
        1,
        "may have been sent",
    ),
    "an answer trickling past the deadline": (
        lambda ch: [AfterWork(lambda r: Trickle(r))],
        Delivery.UNCONFIRMED,
        1,
        f"took longer than {TIMEOUT:g} s",
    ),
    "429 with Retry-After": (lambda ch: [ch.too_many(7)], Delivery.SENT, 1, ""),
    "429 with an absurd Retry-After": (lambda ch: [ch.absurd_wait()], Delivery.SENT, 1, ""),
    "a burst of 5xx": (lambda ch: [ch.unavailable()] * 4, Delivery.SENT, 1, ""),
    "5xx until the outbox gives up": (
        lambda ch: [ch.unavailable()] * outbox.MAX_ATTEMPTS,
        Delivery.FAILED,
        0,
        "Service Unavailable: try later",
    ),
    "refused by the channel": (lambda ch: [ch.refused()[0]], Delivery.FAILED, 0, None),
}


@pytest.mark.parametrize("case", list(SEND_CASES))
async def test_every_reply_ends_truthfully_and_is_never_sent_twice(channel, server, store, case):
    script, expected, copies, reason = SEND_CASES[case]
    clock = FixedClock()
    desk, backend, conv = await conversation(channel, store, server.url, clock)
    channel.fail_send(*script(channel))
    body = f"About your order ({case})"
    message = await desk.reply(conv.id, body)

    waits = await drive(desk, clock)
    await settle_outbox(desk, clock)
    await backend.close()

    stored = store.message(conv.id, message.id)
    assert stored.delivery is expected, (stored.delivery, stored.delivery_reason)
    assert channel.sends(body) == copies
    assert store.outbox() == []
    if reason is None:
        reason = channel.refused()[1]
    assert reason in stored.delivery_reason
    if expected is Delivery.SENT:
        assert stored.external_id and stored.delivery_reason == ""
    if expected is Delivery.UNCONFIRMED:
        assert channel.attempts() == 1  # the agent decides; never re-sent on its own
    if case == "429 with Retry-After":
        assert waits == [7.0]  # the channel's wait, not the outbox's own backoff
    if case == "429 with an absurd Retry-After":
        assert waits == [MAX_RETRY_AFTER]  # capped: an hour, not 31,000 years (or a crash)
    if case == "a burst of 5xx":
        assert waits == [2.0, 4.0, 8.0, 16.0] and channel.attempts() == 5
    if case == "5xx until the outbox gives up":
        assert f"gave up after {outbox.MAX_ATTEMPTS} tries" in stored.delivery_reason
        assert channel.attempts() == outbox.MAX_ATTEMPTS


async def test_connection_refused_then_back_sends_once(channel, server, store):
    clock = FixedClock()
    desk, backend, conv = await conversation(channel, store, server.url, clock)
    server.stop()
    message = await desk.reply(conv.id, "refused at first")

    def come_back(round_number: int) -> None:
        if round_number == 3:
            assert store.message(conv.id, message.id).delivery is Delivery.PENDING
            assert "cannot reach" in store.message(conv.id, message.id).delivery_reason
            server.start()

    waits = await drive(desk, clock, before_round=come_back)
    await settle_outbox(desk, clock)
    await backend.close()
    stored = store.message(conv.id, message.id)
    assert stored.delivery is Delivery.SENT and stored.delivery_reason == ""
    assert waits == [2.0, 4.0, 8.0]
    assert channel.sends("refused at first") == 1 and channel.attempts() == 1


async def test_connect_timeout_is_retried_and_sends_once_when_the_channel_answers(channel, store):
    clock = FixedClock()
    hole = Blackhole()
    desk_server = FakeServer(channel.fake).start()  # for reading the first message only
    try:
        desk, backend, conv = await conversation(channel, store, desk_server.url, clock)
        await backend.close()
    finally:
        desk_server.stop()
    backend = channel.backend(hole.url)
    desk = Desk(store, {channel.name: backend}, agent="Aiko", clock=clock)
    message = await desk.reply(conv.id, "through a black hole")
    server = None

    def come_back(round_number: int) -> None:
        nonlocal server
        if round_number == 2:
            stored = store.message(conv.id, message.id)
            assert stored.delivery is Delivery.PENDING and "cannot reach" in stored.delivery_reason
            hole.close()
            server = FakeServer(channel.fake, port=hole.port).start()

    try:
        started = time.monotonic()
        await drive(desk, clock, before_round=come_back)
        assert time.monotonic() - started < 5  # connect_timeout 0.3 s, not the request timeout
        await settle_outbox(desk, clock)
    finally:
        hole.close()
        if server is not None:
            server.stop()
        await backend.close()
    assert store.message(conv.id, message.id).delivery is Delivery.SENT
    assert channel.sends("through a black hole") == 1


@pytest.mark.parametrize("minutes, expected", [(3, Delivery.SENT), (10, Delivery.FAILED)])
async def test_channel_down_for_minutes(channel, server, store, minutes, expected):
    """Down for 3 minutes: delivered once when it is back. Down for 10: failed with the reason
    after MAX_ATTEMPTS tries (about 4 minutes of backoff), for the agent to retry."""
    clock = FixedClock()
    desk, backend, conv = await conversation(channel, store, server.url, clock)
    server.stop()
    went_down = clock.now
    bodies = [f"reply {i} while down" for i in range(3)]
    messages = [await desk.reply(conv.id, body) for body in bodies]

    def maybe_back(_: int) -> None:
        if not server.running and clock.now - went_down >= timedelta(minutes=minutes):
            server.start()

    await drive(desk, clock, rounds=40, before_round=maybe_back)
    await settle_outbox(desk, clock)
    await backend.close()
    for message, body in zip(messages, bodies):
        stored = store.message(conv.id, message.id)
        assert stored.delivery is expected, stored.delivery_reason
        if expected is Delivery.SENT:
            assert channel.sends(body) == 1
        else:
            assert channel.sends(body) == 0
            assert (
                f"gave up after {outbox.MAX_ATTEMPTS} tries: cannot reach" in stored.delivery_reason
            )
    assert store.outbox() == []


# ---- the real dispatcher and inbound polling through the same outage -----------------------------------


class AuditingDesk(Desk):
    """A Desk that checks, after every ingest, that the committed cursor is not ahead of the
    messages persisted, and remembers every channel status it showed."""

    def __init__(self, *args: Any, behind: Callable[[Store], list[str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.behind = behind
        self.violations: list[str] = []
        self.shown = record_statuses(self)

    async def ingest(self, channel, events, cursor=None):
        await super().ingest(channel, events, cursor)
        self.violations += self.behind(self.store)

    @property
    def statuses(self) -> list[str]:
        return [status.state for _, status in self.shown]


def inbound_messages(store: Store) -> list:
    return [
        m
        for c in store.conversations()
        for m in store.messages(c.id)
        if m.direction is Direction.IN and m.kind is not MessageKind.ACTIVITY
    ]


# the fakes on loopback answer slowly on a busy box: a longer limit than the default
eventually = partial(wait_for_condition, timeout=15.0)


class Feeder:
    """Customers keep writing from another thread while the channel misbehaves."""

    def __init__(self, channel: Channel, count: int, every: float) -> None:
        self.channel, self.count, self.every = channel, count, every
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        for i in range(self.count):
            self.channel.inbound(f"m{i}")
            time.sleep(self.every)

    def __enter__(self) -> Feeder:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.thread.join()


def telegram_behind(fake: tg.FakeTelegram, pushed: dict[int, str]) -> Callable[[Store], list[str]]:
    def check(store: Store) -> list[str]:
        cursor = int(store.cursor("tg") or 0)
        return [
            f"update {uid} below cursor {cursor} not stored"
            for uid, ext in list(pushed.items())
            if uid < cursor and store.lookup_external("tg", ext) is None
        ]

    return check


def twilio_behind(fake: tw.FakeTwilio) -> Callable[[Store], list[str]]:
    def check(store: Store) -> list[str]:
        raw = store.cursor("sms")
        after = json.loads(raw).get("after") if raw else None
        if not after:
            return []
        mark = datetime.fromisoformat(after)
        with fake.lock:
            listed = [m for m in fake.messages.values() if m["direction"] == "inbound"]
        return [
            f"{m['sid']} older than the cursor not stored"
            for m in listed
            if tw.parse_date(m["date_sent"]) <= mark
            and store.lookup_external("sms", m["sid"]) is None
        ]

    return check


def poll_faults(channel: Channel) -> list[Any]:
    """One of each fault on the poll route, in order, between normal answers."""
    if channel.name == "tg":  # getUpdates waits up to poll_timeout + 10 s: no 'slow beyond' here
        return [
            DROP,
            None,
            AfterWork(Cut),
            None,
            channel.unavailable(),
            channel.unavailable(),
            channel.unavailable(),
            None,
            AfterWork(lambda r: Slow(0.3, r)),
            channel.too_many(1),
        ]
    return [
        DROP,
        None,
        AfterWork(Cut),
        None,
        channel.unavailable(),
        channel.unavailable(),
        channel.unavailable(),
        None,
        AfterWork(lambda r: Slow(0.2, r)),
        AfterWork(lambda r: Slow(TIMEOUT * 2, r)),
        channel.too_many(1),
        Hang(TIMEOUT * 2),
    ]


async def test_polling_through_every_fault_and_an_outage_loses_and_duplicates_nothing(
    channel, server, store, monkeypatch
):
    monkeypatch.setattr(outbox, "BASE_DELAY", 0.05)
    monkeypatch.setattr(outbox, "MAX_DELAY", 0.2)
    monkeypatch.setattr(outbox, "MAX_ATTEMPTS", 100)
    fake = channel.fake
    pushed: dict[int, str] = {}
    if channel.name == "tg":
        original = fake.push

        def recording_push(update):
            update = original(update)
            msg = update.get("message")
            if msg:
                pushed[update["update_id"]] = f"{msg['chat']['id']}:{msg['message_id']}"
            return update

        fake.push = recording_push
        behind = telegram_behind(fake, pushed)
    else:
        behind = twilio_behind(fake)
    channel.inbound("help please")
    backend = channel.backend(server.url)
    desk = AuditingDesk(store, {channel.name: backend}, agent="Aiko", behind=behind)
    route = "getUpdates" if channel.name == "tg" else "list"
    await desk.start()
    try:
        await eventually(lambda: len(inbound_messages(store)) == 1)
        conv = store.conversations()[0]
        fake.fail_next(route, *poll_faults(channel))
        with Feeder(channel, 30, 0.03):
            replies = [await desk.reply(conv.id, f"answer {i}") for i in range(3)]
            await eventually(lambda: not fake.faults.get(route))
        await eventually(lambda: len(inbound_messages(store)) == 31)
        assert "down" in desk.statuses
        await eventually(lambda: desk.channel_status[channel.name].state == "ok")

        # an outage: the channel shows down, replies wait, and it all recovers by itself
        server.stop()
        await eventually(lambda: desk.channel_status[channel.name].state == "down")
        late = [await desk.reply(conv.id, f"late answer {i}") for i in range(3)]
        late_ids = {m.id for m in late}
        await eventually(  # several outbox retries against the closed port
            lambda: all(e.attempts >= 3 for e in store.outbox() if e.message_id in late_ids)
        )
        assert all(store.message(conv.id, m.id).delivery is Delivery.PENDING for m in late)
        server.start()
        channel.inbound("after the outage")
        await eventually(lambda: len(inbound_messages(store)) == 32)
        await eventually(lambda: desk.channel_status[channel.name].state == "ok")
        await eventually(lambda: store.outbox() == [])
    finally:
        await desk.stop()
        await backend.close()

    bodies = Counter(m.body for m in inbound_messages(store))
    assert bodies == Counter(["help please", "after the outage", *(f"m{i}" for i in range(30))])
    assert len({m.external_id for m in inbound_messages(store)}) == 32
    assert desk.violations == []
    assert behind(store) == []
    for message in replies + late:
        stored = store.message(conv.id, message.id)
        assert stored.delivery in (Delivery.SENT, Delivery.DELIVERED), stored.delivery_reason
        assert channel.sends(message.body) == 1


async def test_polling_through_connect_timeouts_shows_down_then_reads_everything_once(
    channel, store, caplog
):
    caplog.set_level(logging.WARNING, logger="frontdesk")
    hole = Blackhole()
    for i in range(5):
        channel.inbound(f"waiting {i}")
    backend = channel.backend(hole.url)
    desk = AuditingDesk(store, {channel.name: backend}, agent="Aiko", behind=lambda s: [])
    server = None
    await desk.start()
    try:
        await eventually(
            lambda: getattr(desk.channel_status.get(channel.name), "state", "") == "down"
        )
        assert "cannot reach" in desk.channel_status[channel.name].detail
        await eventually(  # several connect timeouts (0.3 s each), with backoff between them
            lambda: sum("retrying in" in r.getMessage() for r in caplog.records) >= 3
        )
        assert inbound_messages(store) == [] and store.cursor(channel.name) is None
        hole.close()
        server = FakeServer(channel.fake, port=hole.port).start()
        await eventually(lambda: len(inbound_messages(store)) == 5)
        await eventually(lambda: desk.channel_status[channel.name].state == "ok")
    finally:
        await desk.stop()
        await backend.close()
        hole.close()
        if server is not None:
            server.stop()
    assert sorted(m.body for m in inbound_messages(store)) == [f"waiting {i}" for i in range(5)]


# ---- trickling servers: every request and hook ends by its deadline ------------------------------------
#
# A Trickle answers one byte every 0.2 s: httpx's timeouts apply per read, so without an
# overall deadline such a request never ends.


class StatusRecordingDesk(Desk):
    """A Desk that remembers every channel status it showed, in order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shown = record_statuses(self)


def telegram_channel(
    name: str, fake: tg.FakeTelegram, base_url: str, **settings: Any
) -> TelegramBackend:
    return TelegramBackend(
        name,
        {"base_url": base_url, **TG_FAST, **settings},
        secrets=lambda k: tg.TOKEN if k == "token" else None,
    )


async def test_a_trickling_channel_does_not_delay_the_replies_of_another(store):
    slow_fake, healthy_fake = tg.FakeTelegram(), tg.FakeTelegram()
    slow_server, healthy_server = FakeServer(slow_fake).start(), FakeServer(healthy_fake).start()
    slow_fake.message(77, "help on the slow bot")
    healthy_fake.message(88, "help on the healthy bot")
    slow = telegram_channel("slow", slow_fake, slow_server.url)
    healthy = telegram_channel("healthy", healthy_fake, healthy_server.url)
    desk = StatusRecordingDesk(store, {"slow": slow, "healthy": healthy}, agent="Aiko")
    await desk.start()
    try:
        await eventually(lambda: len(store.conversations()) == 2)
        convs = {c.channel: c for c in store.conversations()}
        slow_fake.fail_next("sendMessage", AfterWork(lambda r: Trickle(r)))
        stuck = await desk.reply(convs["slow"].id, "to the slow bot")
        await eventually(lambda: slow_fake.count("sendMessage") == 1)  # the slow send is under way
        behind = await desk.reply(
            convs["slow"].id, "second to the slow bot"
        )  # waits its turn: order kept
        started = time.monotonic()
        prompt = await desk.reply(convs["healthy"].id, "to the healthy bot")
        await eventually(
            lambda: store.message(convs["healthy"].id, prompt.id).delivery is Delivery.SENT,
            timeout=5,
        )
        healthy_took = time.monotonic() - started
        assert (
            store.message(convs["slow"].id, stuck.id).delivery is Delivery.PENDING
        )  # still trickling
        assert (
            store.message(convs["slow"].id, behind.id).delivery is Delivery.PENDING
            and slow_fake.count("sendMessage") == 1
        )
        # the slow send ends by its deadline (request_timeout), as unconfirmed: the bot did take it
        await eventually(
            lambda: store.message(convs["slow"].id, stuck.id).delivery is Delivery.UNCONFIRMED,
            timeout=5,
        )
        slow_took = time.monotonic() - started
        reason = store.message(convs["slow"].id, stuck.id).delivery_reason
        # the slow channel showed down with the reason, the healthy one never; the next send in time brings it back
        await eventually(
            lambda: store.message(convs["slow"].id, behind.id).delivery is Delivery.SENT, timeout=5
        )
        assert desk.channel_status["slow"].state == "ok"
    finally:
        await desk.stop()
        slow_server.stop()
        healthy_server.stop()
    assert healthy_took < 3 and slow_took < 3, (
        healthy_took,
        slow_took,
    )  # a trickle of the whole answer: 400 s
    assert (
        f"Telegram sendMessage took longer than {TIMEOUT:g} s; the message may have been sent"
        in reason
    )
    assert slow_fake.count("sendMessage") == 2  # the unconfirmed one never re-sent on its own
    assert [s["text"] for s in slow_fake.sent] == ["to the slow bot", "second to the slow bot"]
    shown = [
        (name, status.state, status.detail) for name, status in desk.shown if status.state == "down"
    ]
    assert shown == [
        (
            "slow",
            "down",
            f"Telegram sendMessage took longer than {TIMEOUT:g} s; the message may have been sent",
        )
    ]
    assert [s["text"] for s in healthy_fake.sent] == ["to the healthy bot"]
    assert store.outbox() == []


async def test_a_trickling_poll_shows_the_channel_down_with_the_reason_then_it_recovers(
    channel, server, store
):
    fake = channel.fake
    channel.inbound("before")
    extra = {"poll_timeout": 0} if channel.name == "tg" else {}
    backend = channel.backend(server.url, **extra)
    desk = AuditingDesk(store, {channel.name: backend}, agent="Aiko", behind=lambda s: [])
    route = "getUpdates" if channel.name == "tg" else "list"
    await desk.start()
    try:
        await eventually(lambda: len(inbound_messages(store)) == 1)
        fake.fail_next(route, *[AfterWork(lambda r: Trickle(r))] * 3)
        channel.inbound("during the trickle")
        await eventually(lambda: desk.channel_status[channel.name].state == "down", timeout=5)
        detail = desk.channel_status[channel.name].detail
        what = "Telegram getUpdates" if channel.name == "tg" else "Twilio GET Messages.json"
        assert detail.startswith(f"{what} took longer than {TIMEOUT:g} s"), detail
        await eventually(lambda: desk.channel_status[channel.name].state == "ok", timeout=10)
        await eventually(lambda: len(inbound_messages(store)) == 2)
    finally:
        await desk.stop()
        await backend.close()
    assert sorted(m.body for m in inbound_messages(store)) == ["before", "during the trickle"]
    assert desk.violations == []


async def test_a_trickling_http_hook_ends_by_its_timeout_and_the_command_hook_runs_meanwhile(
    desk_store, channels, workspace, tmp_path
):
    from fakes.helpdesk import HelpdeskServer

    from frontdesk.desk.hooks import HookSpec

    helpdesk = HelpdeskServer()
    helpdesk.answer(201, {"id": "HD-1"}, trickle=0.2)
    marker = tmp_path / "ran"
    command = (
        sys.executable,
        "-c",
        f"import pathlib, sys; sys.stdin.read(); pathlib.Path({str(marker)!r}).write_text('x')",
    )
    hook_timeout = 1.5
    desk = Desk(
        desk_store,
        channels,
        agent="Aiko",
        clock=FixedClock(),
        escalation_targets=["billing"],
        hooks=[
            HookSpec("helpdesk", url=helpdesk.url, timeout=hook_timeout),
            HookSpec("tracker", command=command),
        ],
    )
    await desk.load_workspace(workspace.contacts, workspace.conversations, workspace.messages)
    await desk.start()
    try:
        started = time.monotonic()
        await desk.escalate(1, "billing", "charged twice")
        # the command hook is not queued behind the trickle: it is done while the HTTP hook still runs
        await eventually(
            lambda: [j.hook for j in desk.hook_jobs(1)] == ["helpdesk"], timeout=hook_timeout
        )
        command_took = time.monotonic() - started
        assert marker.exists() and desk.hook_jobs(1)[0].state == "running"
        await eventually(lambda: desk.hook_jobs(1)[0].state == "pending", timeout=hook_timeout + 2)
        http_took = time.monotonic() - started
        job = desk.hook_jobs(1)[0]
    finally:
        await desk.stop()
        helpdesk.close()
    assert command_took < hook_timeout and http_took < hook_timeout + 1, (command_took, http_took)
    assert job.last_error == f"no answer within {hook_timeout:g}s" and job.attempts == 1


async def test_a_bug_in_a_send_does_not_spin_the_dispatcher(
    store, channels, workspace, monkeypatch
):
    """A sender that fails on a bug (not a channel error) pauses before it is started again."""
    from frontdesk.desk import due

    monkeypatch.setattr(due, "BUG_PAUSE", 3600.0)
    desk = Desk(store, channels, agent="Aiko")
    await desk.load_workspace(workspace.contacts, workspace.conversations, workspace.messages)
    calls = []

    def broken(contact_id):
        calls.append(contact_id)
        raise RuntimeError("a bug")

    conv = store.conversations()[0]
    await desk.reply(conv.id, "hello")
    # the sender reads the customer's address before it marks the reply as sending: a bug there
    monkeypatch.setattr(store, "contact", broken)
    await desk.start()
    try:
        await eventually(lambda: calls)
        for _ in range(500):  # many turns of the event loop, no wall time
            await asyncio.sleep(0)
        assert len(calls) == 1 and store.outbox()[0].state == "pending"
    finally:
        await desk.stop()


async def test_the_console_says_why_a_channel_is_down(desk, clock):
    # the header has room for a channel's state only: the reason (a trickling poll's deadline,
    # a refused token) must still reach the agent, once per outage, not at every retry
    from pilot_helpers import make_app, screen_text

    from frontdesk.model import ChannelStatus
    from pilot_helpers import idle

    app = make_app(desk, clock)
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        await idle(pilot)
        await desk.ingest(
            "wa",
            [ChannelStatus("down", "Telegram getUpdates took longer than 40 s — retrying in 1s")],
        )
        await idle(pilot)
        assert "wa: Telegram getUpdates took longer than 40 s" in screen_text(app)
        for delay in (2, 4):  # a restart loop: ok at each try, down again with a longer delay
            await desk.ingest("wa", [ChannelStatus("ok")])
            await idle(pilot)
            await desk.ingest(
                "wa",
                [
                    ChannelStatus(
                        "down", f"Telegram getUpdates took longer than 40 s — retrying in {delay}s"
                    )
                ],
            )
            await idle(pilot)
        assert screen_text(app).count("wa: Telegram getUpdates took longer") == 1
        await desk.ingest(
            "wa", [ChannelStatus("down", "Telegram refused the token (401 Unauthorized)")]
        )
        await idle(pilot)
        assert "wa: Telegram refused the token" in screen_text(app)
