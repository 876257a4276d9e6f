"""Desk rules: ingest order and dedup, outbox retry and `unconfirmed`, commands and events."""

import asyncio
import json
import os
import time
from datetime import datetime, timedelta, timezone

import pytest

from frontdesk.backends.base import (
    AmbiguousError,
    Backend,
    PermanentError,
    TransientError,
    WindowClosedError,
)
from frontdesk.desk import ChangeKind, Desk, DeskError, View
from frontdesk.model import (
    ContactRef,
    Delivery,
    DeliveryUpdate,
    EventKind,
    Inbound,
    MessageKind,
    Outgoing,
    Priority,
    SendResult,
    Status,
    Typing,
)
from frontdesk.store import Store, StoreError
from pilot_helpers import eventually

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


class FakeBackend(Backend):
    """Sends by following a script of outcomes; records every call."""

    kind = "sms"
    messaging_window = timedelta(hours=24)

    def __init__(self, name="sms", script=(), idempotent=False):
        super().__init__(name)
        self.script = list(script)
        self.sent: list[Outgoing] = []
        self.idempotent_send = idempotent

    async def run(self, sink):
        await asyncio.Event().wait()

    async def send(self, outgoing):
        self.sent.append(outgoing)
        outcome = self.script.pop(0) if self.script else None
        if isinstance(outcome, BaseException):
            raise outcome
        return SendResult(f"ext-{outgoing.message_id}-{len(self.sent)}")


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "data") as s:
        yield s


def make_desk(store, clock, backend=None):
    backend = backend or FakeBackend()
    return Desk(store, {backend.name: backend}, agent="Aiko", agents=["Ben"], clock=clock), backend


def inbound(n: int, thread="+1555", body=None, at=NOW) -> Inbound:
    return Inbound(
        f"in-{n}", thread, ContactRef(thread, "Mia 🌸", "en"), body or f"message {n}", created_at=at
    )


async def test_ingest_creates_contact_and_conversation_and_dedups(store, clock):
    desk, _ = make_desk(store, clock)
    sub = desk.subscribe()
    await desk.ingest("sms", [inbound(1), inbound(2)], cursor="2")
    await desk.ingest("sms", [inbound(2)], cursor="2")  # re-poll after a restart
    [conv] = await desk.conversations()
    assert conv.unread == 2 and conv.message_count == 2 and conv.preview == "message 2"
    assert conv.window_expires_at == NOW + timedelta(hours=24)
    assert [m.body for m in await desk.thread(conv.id)] == ["message 1", "message 2"]
    assert (await desk.contact(conv.contact_id)).name == "Mia 🌸"
    assert store.cursor("sms") == "2"
    kinds = [c.kind for c in sub.pending()]
    assert ChangeKind.MESSAGE in kinds and ChangeKind.CONVERSATION in kinds


async def test_cursor_is_not_committed_when_persisting_fails(store, clock, monkeypatch):
    desk, _ = make_desk(store, clock)
    await desk.ingest("sms", [inbound(1)], cursor="1")

    def disk_full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("frontdesk.store.journal.JournalWriter.append", disk_full)
    with pytest.raises(Exception):
        await desk.ingest("sms", [inbound(2)], cursor="2")
    monkeypatch.undo()
    assert store.cursor("sms") == "1"
    assert store.lookup_external("sms", "in-2") is None
    await desk.ingest("sms", [inbound(2)], cursor="2")  # the channel re-delivers: nothing lost
    assert [m.external_id for m in store.messages(1)] == ["in-1", "in-2"]


async def test_bad_event_is_quarantined_and_rest_of_batch_kept(store, clock):
    desk, _ = make_desk(store, clock)
    bad = Inbound("", "+1", ContactRef("+1"), "no id")
    await desk.ingest("sms", [inbound(1), bad, "garbage", inbound(2)], cursor="3")
    assert [m.external_id for m in store.messages(1)] == ["in-1", "in-2"]
    assert len(store.quarantined()) == 2
    assert store.cursor("sms") == "3"


async def test_reply_goes_through_outbox_and_is_sent(store, clock):
    desk, backend = make_desk(store, clock)
    await desk.ingest("sms", [inbound(1)])
    message = await desk.reply(1, "Hi Mia, refund is on its way")
    assert message.delivery is Delivery.PENDING
    assert [e.message_id for e in store.outbox()] == [message.id]
    conv = await desk.conversation(1)
    assert conv.unread == 0 and conv.waiting_since is None and conv.first_reply_at == NOW
    await desk.flush_outbox()
    assert store.outbox() == []
    sent = store.message(1, message.id)
    assert sent.delivery is Delivery.SENT and sent.external_id == f"ext-{message.id}-1"
    [out] = backend.sent
    # a chat reply names no message: on WhatsApp that would quote the customer's last one
    assert (out.to, out.body, out.reply_to_external_id) == (
        "+1555",
        "Hi Mia, refund is on its way",
        None,
    )
    # later receipts move it forward, never backward
    await desk.ingest("sms", [DeliveryUpdate(sent.external_id, Delivery.READ)])
    await desk.ingest("sms", [DeliveryUpdate(sent.external_id, Delivery.DELIVERED)])
    assert store.message(1, message.id).delivery is Delivery.READ


class ThreadingBackend(FakeBackend):
    """Mail-like: each reply names the customer's last message as its parent."""

    replies_name_last_inbound = True


async def test_only_a_channel_that_threads_replies_is_told_the_last_inbound_message(store, clock):
    desk, backend = make_desk(store, clock, ThreadingBackend())
    await desk.ingest("sms", [inbound(1), inbound(2)])
    await desk.note(1, "internal")
    await desk.reply(1, "Hi Mia")
    await desk.flush_outbox()
    [out] = backend.sent
    assert out.reply_to_external_id == "in-2"


async def test_transient_failure_is_retried_after_backoff_or_retry_after(store, clock):
    backend = FakeBackend(
        script=[TransientError("connection refused"), TransientError("429", retry_after=30)]
    )
    desk, _ = make_desk(store, clock, backend)
    await desk.ingest("sms", [inbound(1)])
    msg = await desk.reply(1, "hello")
    await desk.flush_outbox()
    [entry] = store.outbox()
    assert entry.state == "pending" and entry.attempts == 1
    assert entry.next_attempt_at == NOW + timedelta(seconds=2)
    await desk.flush_outbox()  # not due yet
    assert len(backend.sent) == 1
    clock.now += timedelta(seconds=2)
    await desk.flush_outbox()
    [entry] = store.outbox()
    assert entry.next_attempt_at == clock.now + timedelta(seconds=30)
    clock.now += timedelta(seconds=30)
    await desk.flush_outbox()
    assert store.outbox() == [] and store.message(1, msg.id).delivery is Delivery.SENT
    assert len(backend.sent) == 3


async def test_gives_up_after_max_attempts_with_reason(store, clock):
    backend = FakeBackend(script=[TransientError("503 Service Unavailable")] * 20)
    desk, _ = make_desk(store, clock, backend)
    await desk.ingest("sms", [inbound(1)])
    msg = await desk.reply(1, "hello")
    for _ in range(20):
        await desk.flush_outbox()
        clock.now += timedelta(minutes=10)
    final = store.message(1, msg.id)
    assert final.delivery is Delivery.FAILED and "503" in final.delivery_reason
    assert len(backend.sent) == 8


async def test_ambiguous_failure_is_unconfirmed_and_never_resent(store, clock):
    backend = FakeBackend(script=[AmbiguousError("timed out after the request was sent")])
    desk, _ = make_desk(store, clock, backend)
    await desk.ingest("sms", [inbound(1)])
    msg = await desk.reply(1, "hello")
    for _ in range(3):
        await desk.flush_outbox()
        clock.now += timedelta(hours=1)
    assert len(backend.sent) == 1
    final = store.message(1, msg.id)
    assert final.delivery is Delivery.UNCONFIRMED and "timed out" in final.delivery_reason
    assert store.outbox() == []
    await desk.retry(1, msg.id)  # the agent decides to send again
    await desk.flush_outbox()
    assert len(backend.sent) == 2 and store.message(1, msg.id).delivery is Delivery.SENT


async def test_ambiguous_failure_is_retried_when_backend_sends_idempotently(store, clock):
    backend = FakeBackend(script=[AmbiguousError("timeout")], idempotent=True)
    desk, _ = make_desk(store, clock, backend)
    await desk.ingest("sms", [inbound(1)])
    msg = await desk.reply(1, "hello")
    await desk.flush_outbox()
    clock.now += timedelta(seconds=5)
    await desk.flush_outbox()
    assert [o.idempotency_key for o in backend.sent][0] == backend.sent[1].idempotency_key
    assert store.message(1, msg.id).delivery is Delivery.SENT


@pytest.mark.parametrize(
    "error, reason",
    [
        (PermanentError("recipient blocked the business"), "recipient blocked"),
        (WindowClosedError("24h window closed", "send an approved template"), "approved template"),
    ],
)
async def test_permanent_failures_fail_with_the_channel_reason(store, clock, error, reason):
    desk, backend = make_desk(store, clock, FakeBackend(script=[error]))
    await desk.ingest("sms", [inbound(1)])
    msg = await desk.reply(1, "hello")
    await desk.flush_outbox()
    clock.now += timedelta(hours=1)
    await desk.flush_outbox()
    final = store.message(1, msg.id)
    assert final.delivery is Delivery.FAILED and reason in final.delivery_reason
    assert len(backend.sent) == 1


async def test_reply_left_sending_by_a_crash_becomes_unconfirmed(tmp_path, clock):
    root = tmp_path / "data"
    with Store.open(root) as store:
        desk, _ = make_desk(store, clock)
        await desk.ingest("sms", [inbound(1)])
        msg = await desk.reply(1, "hello")
        entry = store.outbox()[0]
        entry.state = "sending"  # what the dispatcher persists right before calling send()
        with store.batch():
            store.put_outbox(entry)
    with Store.open(root) as store:
        desk, backend = make_desk(store, clock)
        await desk.start()
        await desk.flush_outbox()  # what the dispatcher would send now: nothing
        await desk.stop()
        assert backend.sent == []
        assert store.message(1, msg.id).delivery is Delivery.UNCONFIRMED


async def test_note_is_private_with_mentions_and_never_queued(store, clock):
    desk, backend = make_desk(store, clock)
    await desk.ingest("sms", [inbound(1)])
    note = await desk.note(1, "@ben can you check the refund? cc @nobody")
    assert note.private and note.mentions == ["Ben"]
    assert store.outbox() == []
    await desk.flush_outbox()
    assert backend.sent == []


async def test_commands_change_state_and_leave_inline_events(store, clock):
    desk, _ = make_desk(store, clock)
    await desk.ingest("sms", [inbound(1)])
    await desk.assign(1, "Aiko")
    assert [c.id for c in await desk.conversations(View.MINE)] == [1]
    await desk.set_priority(1, Priority.URGENT)
    await desk.label(1, add=["billing", "vip"])
    await desk.label(1, remove=["vip"])
    await desk.set_status(1, Status.RESOLVED)
    assert [c.id for c in await desk.conversations(View.RESOLVED)] == [1]
    await desk.set_status(1, Status.OPEN)
    await desk.snooze(1, NOW + timedelta(hours=1))
    assert [c.id for c in await desk.conversations(View.SNOOZED)] == [1]
    await desk.escalate(1, "tier2", "card charged twice", Priority.HIGH)
    conv = await desk.conversation(1)
    assert (conv.assignee, conv.priority, conv.labels, conv.team) == (
        "Aiko",
        Priority.HIGH,
        ["billing"],
        "tier2",
    )
    events = [(m.event, m.body) for m in await desk.thread(1) if m.kind is MessageKind.ACTIVITY]
    assert [e for e, _ in events] == [
        EventKind.ASSIGNED,
        EventKind.PRIORITY,
        EventKind.LABELLED,
        EventKind.LABELLED,
        EventKind.STATUS,
        EventKind.STATUS,
        EventKind.SNOOZED,
        EventKind.ESCALATED,
    ]
    assert events[0][1] == "Aiko assigned this to themself"
    assert any(m.is_note and "card charged twice" in m.body for m in await desk.thread(1))
    counts = await desk.counts()
    assert counts[View.ESCALATED] == 1 and counts[View.SNOOZED] == 1 and counts[View.ALL] == 0


async def test_customer_writing_again_reopens_a_resolved_conversation(store, clock):
    desk, _ = make_desk(store, clock)
    await desk.ingest("sms", [inbound(1)])
    await desk.set_status(1, Status.RESOLVED)
    await desk.ingest("sms", [inbound(2)])
    conv = await desk.conversation(1)
    assert conv.status is Status.OPEN and conv.unread == 1


async def test_snooze_wakes_up_when_due(store, clock):
    desk, _ = make_desk(store, clock)
    await desk.ingest("sms", [inbound(1)])
    await desk.snooze(1, NOW + timedelta(hours=1))
    await desk.wake_snoozed()
    assert (await desk.conversation(1)).status is Status.SNOOZED
    clock.now += timedelta(hours=1)
    await desk.wake_snoozed()
    assert (await desk.conversation(1)).status is Status.OPEN


async def test_invalid_commands_are_desk_errors(store, clock):
    desk, _ = make_desk(store, clock)
    await desk.ingest("sms", [inbound(1)])
    with pytest.raises(DeskError):
        await desk.reply(1, "   ")
    with pytest.raises(DeskError):
        await desk.escalate(1, "tier2", "")
    with pytest.raises(DeskError):
        await desk.snooze(1, NOW - timedelta(minutes=1))
    with pytest.raises(DeskError):
        await desk.conversation(99)


async def test_typing_is_published_not_persisted(store, clock):
    desk, _ = make_desk(store, clock)
    await desk.ingest("sms", [inbound(1)])
    sub = desk.subscribe()
    await desk.ingest("sms", [Typing("+1555")])
    assert desk.is_typing(1)
    assert [c.kind for c in sub.pending()] == [ChangeKind.TYPING]
    await desk.ingest("sms", [inbound(2)])
    assert not desk.is_typing(1)


async def test_running_desk_dispatches_replies_and_stops_cleanly(store, clock):
    desk, backend = make_desk(store, clock)
    await desk.ingest("sms", [inbound(1)])
    await desk.start()
    try:
        msg = await desk.reply(1, "live reply")
        await eventually(
            lambda: store.message(1, msg.id).delivery is Delivery.SENT, what="the reply sent"
        )
        assert store.message(1, msg.id).delivery is Delivery.SENT
    finally:
        await desk.stop()


async def test_oversized_bodies_are_bounded_at_ingest_and_say_so(store, clock):
    """A 5 MB body and a 100,000-line one are cut with a note of their size; 100,000 lines took 11 s to open."""
    from frontdesk.desk.ingest import MAX_BODY_BYTES, MAX_BODY_LINES

    desk = Desk(store, {}, clock=clock)
    await desk.ingest(
        "wa",
        [
            Inbound("big", "+1", ContactRef("+1"), "é" * (3 * 1024 * 1024)),
            Inbound("tall", "+1", ContactRef("+1"), "\n".join(["x"] * 100_000)),
            Inbound("fits", "+1", ContactRef("+1"), "é" * (MAX_BODY_BYTES // 2)),
        ],
    )
    big, tall, fits = store.messages(store.conversations()[0].id)
    assert len(big.body.encode()) < MAX_BODY_BYTES + 200
    assert big.body.endswith(
        "it had 6,291,456 bytes in 1 lines; ask the customer for the rest or read it on the channel]"
    )
    assert tall.body.count("\n") == MAX_BODY_LINES and "in 100,000 lines" in tall.body
    assert fits.body == "é" * (MAX_BODY_BYTES // 2)


def journal_fsyncs(monkeypatch, store, before=None) -> list[float]:
    """Patch os.fsync to note (time.monotonic()) each fsync of `store`'s journal; `before` runs first."""
    journal_inode = (store.root / "journal").stat().st_ino
    real_fsync, synced = os.fsync, []

    def fsync(fd: int) -> None:
        if os.fstat(fd).st_ino == journal_inode:
            if before is not None:
                before()
            real_fsync(fd)
            synced.append(time.monotonic())
        else:
            real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return synced


async def test_ingest_returns_once_its_batch_is_durable(store, clock, monkeypatch):
    desk, _ = make_desk(store, clock)
    synced = journal_fsyncs(monkeypatch, store)
    await desk.ingest("sms", [inbound(1)], cursor="1")
    assert len(synced) == 1  # the journal record, with the message and the cursor, was fsynced


@pytest.mark.parametrize("command", ["ingest", "mark_read", "assign", "set_priority"])
async def test_a_slow_disk_does_not_stop_the_screen_while_a_batch_syncs(
    store, clock, monkeypatch, command
):
    """The journal's fsync runs in a worker thread: the event loop goes on (drawing the change,
    which is published before the sync), and the call returns after the sync."""
    desk, _ = make_desk(store, clock)
    await desk.ingest("sms", [inbound(1)])
    run = {
        "ingest": lambda: desk.ingest("sms", [inbound(2)]),
        "mark_read": lambda: desk.mark_read(1),
        "assign": lambda: desk.assign(1, "Ben"),
        "set_priority": lambda: desk.set_priority(1, Priority.HIGH),
    }[command]
    slow_disk = lambda: time.sleep(0.3)  # noqa: E731  (a slow fsync, on purpose)
    synced = journal_fsyncs(monkeypatch, store, before=slow_disk)
    sub = desk.subscribe()
    ticks: list[float] = []

    async def tick() -> None:
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.01)  # a heartbeat: a gap in the ticks is a stalled event loop

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)  # the ticker starts
    started = time.monotonic()
    await run()
    returned = time.monotonic()
    ticker.cancel()
    assert returned - started >= 0.3 and synced and synced[0] <= returned
    assert len([t for t in ticks if started < t < synced[0]]) >= 10  # the loop kept running
    assert sub.pending()  # published before the sync


async def test_a_failed_sync_is_an_error_for_the_channel(store, clock, monkeypatch):
    """The backend must not acknowledge a batch the disk did not keep."""
    desk, _ = make_desk(store, clock)

    def disk_error() -> None:
        raise OSError(5, "Input/output error")

    journal_fsyncs(monkeypatch, store, before=disk_error)
    with pytest.raises(StoreError, match="Input/output error"):
        await desk.ingest("sms", [inbound(1)], cursor="1")


async def test_the_cache_holds_no_floats(store, clock):
    """The store writes its files with orjson, which would write a NaN as null: every kind of
    record must keep to integers, strings, booleans, lists and objects."""
    desk, _ = make_desk(store, clock)
    await desk.ingest("sms", [inbound(1)])
    await desk.reply(1, "It is on its way.")
    await desk.note(1, "@ben can you check the refund?")
    await desk.assign(1, "Aiko")
    await desk.set_priority(1, Priority.URGENT)
    await desk.label(1, add=["billing"])
    await desk.snooze(1, NOW + timedelta(hours=1))
    await desk.escalate(1, "tier2", "card charged twice", Priority.HIGH)
    await desk.ingest("sms", ['{"broken": '])  # not an event: quarantined
    store.checkpoint()

    def no_float(text: str) -> None:
        raise AssertionError(f"a float in the cache: {text}")

    read = [path for path in store.root.rglob("*") if path.suffix in (".json", ".log")]
    assert {p.parent.name for p in read} >= {"conversations", "messages", "contacts", "dedup"}
    for path in read:
        lines = path.read_text().splitlines() if path.suffix == ".log" else [path.read_text()]
        for line in lines:
            json.loads(line, parse_float=no_float, parse_constant=no_float)
