"""The demo workspace is deterministic, varied and self-consistent; the demo backend simulates live customers."""

import asyncio
import re
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from pilot_helpers import eventually

from frontdesk.backends import registry
from frontdesk.backends.base import ConfigError
from frontdesk.backends.demo import DemoBackend, demo_channels
from frontdesk.backends.demo_kinds import KINDS
from frontdesk.backends.demo_workspace import generate_workspace
from frontdesk.model import (
    ChannelStatus,
    ContactRef,
    Delivery,
    DeliveryUpdate,
    Direction,
    EventKind,
    Inbound,
    MessageKind,
    Outgoing,
    Status,
    Typing,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
AGENTS = {"Aiko", "Ben", "Chloé"}
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
CHAT_WINDOW = {"whatsapp", "messenger", "line"}


@pytest.fixture(scope="module")
def ws():
    return generate_workspace(seed=1, now=NOW)


def by_conversation(messages):
    grouped = {}
    for m in messages:
        grouped.setdefault(m.conversation_id, []).append(m)
    return grouped


def fingerprint(workspace):
    return (
        [repr(c) for c in workspace.contacts],
        [repr(c) for c in workspace.conversations],
        [repr(m) for m in workspace.messages],
    )


# ---- the generated workspace -------------------------------------------------------------------


def test_same_seed_same_world_and_other_seed_another():
    assert fingerprint(generate_workspace(seed=1, now=NOW)) == fingerprint(
        generate_workspace(seed=1, now=NOW)
    )
    other = generate_workspace(seed=2, now=NOW)
    assert fingerprint(other) != fingerprint(generate_workspace(seed=1, now=NOW))
    assert [c.name for c in other.contacts] != [
        c.name for c in generate_workspace(seed=1, now=NOW).contacts
    ]


def test_now_only_shifts_timestamps():
    later = NOW + timedelta(days=3, minutes=17)
    a, b = generate_workspace(seed=5, now=NOW), generate_workspace(seed=5, now=later)
    assert [
        (c.id, c.channel, c.thread_key, c.status, c.assignee, c.labels) for c in a.conversations
    ] == [(c.id, c.channel, c.thread_key, c.status, c.assignee, c.labels) for c in b.conversations]
    for ma, mb in zip(a.messages, b.messages, strict=True):
        assert (ma.id, ma.conversation_id, ma.direction, ma.external_id) == (
            mb.id,
            mb.conversation_id,
            mb.direction,
            mb.external_id,
        )
        assert mb.created_at - ma.created_at == later - NOW
        if (
            ma.event is None or ma.event.value != "snoozed"
        ):  # a snooze event names its wall-clock time
            assert ma.body == mb.body


def test_default_size_and_ids(ws):
    assert len(ws.conversations) == 60
    assert 35 <= len(ws.contacts) <= 45
    assert [c.id for c in ws.contacts] == list(range(1, len(ws.contacts) + 1))
    assert [c.id for c in ws.conversations] == list(range(1, 61))
    assert sorted(m.id for m in ws.messages) == list(range(1, len(ws.messages) + 1))
    sizes = Counter(m.conversation_id for m in ws.messages)
    assert set(sizes) == set(range(1, 61))
    # 3–15 each, and a resolved one's survey, answer and their lines, a reopen's two lines
    assert min(sizes.values()) >= 3 and max(sizes.values()) <= 15 + 6
    # conversation ids follow creation time
    created = [c.created_at for c in ws.conversations]
    assert created == sorted(created)


def test_spread_of_channels_languages_and_states(ws):
    convs = ws.conversations
    assert {c.channel for c in convs} == set(KINDS)
    languages = Counter(c.language for c in ws.contacts)
    assert set(languages) == {"ja", "en"} and min(languages.values()) >= len(ws.contacts) // 4
    statuses = Counter(c.status for c in convs)
    assert set(statuses) == set(Status) - {Status.BOT}  # the bot takes only live conversations
    assert statuses[Status.OPEN] > statuses[Status.RESOLVED] > statuses[Status.SNOOZED]
    assert {c.assignee for c in convs} == AGENTS | {None}
    assert any(c.assignee is None and c.status is Status.OPEN for c in convs)
    assert 1 <= sum(c.team is not None for c in convs) <= 4
    labels = {label for c in convs for label in c.labels}
    assert {"billing", "shipping", "vip"} <= labels
    assert len({c.priority for c in convs}) >= 3
    for c in convs:
        if c.status is Status.SNOOZED:
            assert c.snoozed_until is not None and c.snoozed_until > NOW
        else:
            assert c.snoozed_until is None
    assert any(c.notes for c in ws.contacts) and any(c.attributes.get("plan") for c in ws.contacts)


def test_names_and_texts_in_the_contacts_language(ws):
    contacts = {c.id: c for c in ws.contacts}
    assert any(JAPANESE.search(c.name) for c in ws.contacts)
    assert any(c.language == "en" and not JAPANESE.search(c.name) for c in ws.contacts)
    assert any(re.search(r"[\U0001F300-\U0001FAFF]", c.name) for c in ws.contacts)
    convs = {c.id: c for c in ws.conversations}
    for m in ws.messages:
        if m.direction is Direction.IN and m.body:
            lang = contacts[convs[m.conversation_id].contact_id].language
            assert bool(JAPANESE.search(m.body)) == (lang == "ja"), (lang, m.body)
    bodies = [m.body for m in ws.messages]
    assert any("\n" in b for b in bodies)
    assert any(re.search(r"[\U0001F300-\U0001FAFF]", b) for b in bodies)


def test_messages_have_realistic_authors_notes_events_and_deliveries(ws):
    contacts = {c.id: c for c in ws.contacts}
    convs = {c.id: c for c in ws.conversations}
    for m in ws.messages:
        conv = convs[m.conversation_id]
        if m.direction is Direction.IN:
            assert m.author == contacts[conv.contact_id].name
            assert m.delivery is Delivery.RECEIVED and not m.private and m.external_id
        else:
            assert m.author in AGENTS or m.author in (
                "⚙ CSAT",
                "",
            )  # the survey; the customer's lines
        if m.kind is MessageKind.ACTIVITY:
            assert m.event is not None and m.private and m.direction is Direction.OUT
            who = m.author or contacts[conv.contact_id].name  # "rated this", "wrote again"
            assert m.body.startswith(who + " ")
        else:
            assert m.event is None
        if m.private:
            assert m.external_id is None
        if m.delivery is Delivery.FAILED:
            assert m.delivery_reason and m.direction is Direction.OUT and not m.private
        if m.kind is MessageKind.ATTACHMENT:
            assert m.attachments and not m.body
    out = [m for m in ws.messages if m.direction is Direction.OUT and not m.private]
    states = Counter(m.delivery for m in out)
    assert states[Delivery.READ] + states[Delivery.DELIVERED] >= 0.9 * len(out)
    assert 1 <= states[Delivery.FAILED] <= 2
    notes = [m for m in ws.messages if m.is_note]
    assert notes and any(m.mentions and f"@{m.mentions[0]}" in m.body for m in notes)
    events = {m.event for m in ws.messages if m.kind is MessageKind.ACTIVITY}
    assert {"assigned", "status", "snoozed", "escalated"} <= {e.value for e in events}
    assert any("assigned this to" in m.body for m in ws.messages if m.kind is MessageKind.ACTIVITY)
    photos = [a for m in ws.messages for a in m.attachments if a.mime.startswith("image/")]
    assert photos and all(a.name and a.size > 0 for a in photos)
    # email and SMS carry no read receipts
    assert not any(
        m.delivery is Delivery.READ and convs[m.conversation_id].channel in ("email", "sms")
        for m in out
    )


def test_identities_addresses_and_thread_keys(ws):
    contacts = {c.id: c for c in ws.contacts}
    seen_identities = set()
    for contact in ws.contacts:
        assert 1 <= len(contact.identities) <= 3
        for identity in contact.identities:
            key = (identity.channel, identity.address)
            assert key not in seen_identities
            seen_identities.add(key)
            if identity.channel == "email":
                assert re.fullmatch(
                    r"[a-z0-9.]+@example\.(com|org|net|jp|co\.jp|ne\.jp)", identity.address
                )
                assert identity.address in contact.emails
            elif identity.channel in ("whatsapp", "sms"):
                assert re.fullmatch(r"\+(81[789]0\d{8}|1\d{10})", identity.address)
                assert identity.address in contact.phones
            elif identity.channel == "line":
                assert re.fullmatch(r"U[0-9a-f]{32}", identity.address)
            elif identity.channel == "telegram":
                assert re.fullmatch(r"\d{10}", identity.address)
            else:
                assert re.fullmatch(r"\d{16}", identity.address)
    threads = Counter((c.channel, c.thread_key) for c in ws.conversations)
    assert max(threads.values()) == 1  # the desk finds a conversation by (channel, thread key)
    for conv in ws.conversations:
        addresses = [
            i.address for i in contacts[conv.contact_id].identities if i.channel == conv.channel
        ]
        assert addresses
        if conv.channel == "email":
            assert re.fullmatch(r"<[0-9a-f]+\.\d+@example\.com>", conv.thread_key) and conv.subject
        else:
            assert conv.thread_key in addresses and conv.subject == ""


def test_conversation_fields_agree_with_messages(ws):
    threads = by_conversation(ws.messages)
    for conv in ws.conversations:
        msgs = threads[conv.id]
        assert [m.id for m in msgs] == sorted(m.id for m in msgs)
        assert [m.created_at for m in msgs] == sorted(m.created_at for m in msgs)
        assert conv.message_count == len(msgs)
        assert conv.created_at == msgs[0].created_at
        assert conv.last_activity_at == msgs[-1].created_at
        last = [m for m in msgs if m.kind is not MessageKind.ACTIVITY][-1]
        first_line = next((line for line in last.body.splitlines() if line.strip()), "")
        assert conv.preview == (first_line or "📎 " + last.attachments[0].name)
        replies = [m for m in msgs if m.direction is Direction.OUT and not m.private]
        assert conv.first_reply_at == (replies[0].created_at if replies else None)
        after = [
            m
            for m in msgs
            if m.direction is Direction.IN and (not replies or m.id > replies[-1].id)
        ]
        if conv.status is not Status.RESOLVED:  # a resolved one's last inbound may rate it
            assert conv.waiting_since == (after[0].created_at if after else None)
        assert conv.unread == (len(after) if conv.status is Status.OPEN else 0)
        inbound = [m for m in msgs if m.direction is Direction.IN]
        if conv.channel in CHAT_WINDOW:
            assert conv.window_expires_at == inbound[-1].created_at + timedelta(hours=24)
        else:
            assert conv.window_expires_at is None
        if conv.status is Status.RESOLVED:
            status = [m for m in msgs if m.event is EventKind.STATUS]
            assert status[-1].body.endswith("resolved this")
            assert conv.waiting_since is None
    assert any(c.unread > 1 for c in ws.conversations)


def test_timestamps_cover_two_weeks_and_the_last_minutes(ws):
    first = min(m.created_at for m in ws.messages)
    assert NOW - timedelta(days=16) <= first <= NOW - timedelta(days=7)
    assert max(m.created_at for m in ws.messages) <= NOW
    newest = sorted((NOW - c.last_activity_at for c in ws.conversations))
    assert newest[0] < timedelta(minutes=10) and newest[2] < timedelta(hours=1)


def test_live_threads_are_the_open_and_pending_conversations(ws):
    expected = {c.id for c in ws.conversations if c.status in (Status.OPEN, Status.PENDING)}
    assert {t.conversation_id for t in ws.live} == expected
    contacts = {c.id: c for c in ws.contacts}
    for t in ws.live:
        assert (
            t.name == contacts[t.contact_id].name and t.language == contacts[t.contact_id].language
        )


def test_explicit_sizes_are_exact():
    small = generate_workspace(seed=3, conversations=7, contacts=3, messages=50, now=NOW)
    assert (len(small.conversations), len(small.contacts), len(small.messages)) == (7, 3, 50)
    assert min(Counter(m.conversation_id for m in small.messages).values()) >= 1
    with pytest.raises(ValueError):
        generate_workspace(conversations=10, messages=5, now=NOW)


def test_custom_agents_are_the_only_authors_and_mentions():
    custom = generate_workspace(seed=4, conversations=30, agents=("Kim", "Lou"), now=NOW)
    people = {m.author for m in custom.messages if m.direction is Direction.OUT}
    assert people - {"⚙ CSAT", ""} == {"Kim", "Lou"}
    assert {c.assignee for c in custom.conversations} <= {"Kim", "Lou", None}
    assert {name for m in custom.messages for name in m.mentions} <= {"Kim", "Lou"}


def test_large_workspace_is_exact_and_fast():
    started = time.perf_counter()
    big = generate_workspace(seed=1, conversations=10_000, messages=200_000, now=NOW)
    elapsed = time.perf_counter() - started
    assert len(big.conversations) == 10_000 and len(big.messages) == 200_000
    assert (
        len({m.id for m in big.messages}) == 200_000 and max(m.id for m in big.messages) == 200_000
    )
    assert len({(c.channel, c.thread_key) for c in big.conversations}) == 10_000
    sizes = Counter(m.conversation_id for m in big.messages)
    assert len(sizes) == 10_000 and sum(c.message_count for c in big.conversations) == 200_000
    print(f"10,000 conversations / 200,000 messages generated in {elapsed:.2f} s")
    assert elapsed < 20


# ---- the backend -------------------------------------------------------------------------------


class FakeSink:
    """Collects what a backend hands to the desk."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list, str | None]] = []

    async def ingest(self, channel, events, cursor=None):
        self.calls.append((channel, list(events), cursor))

    def events(self, kind=object):
        return [e for _, events, _ in self.calls for e in events if isinstance(e, kind)]

    def inbound_calls(self):
        return [
            (events[0], cursor)
            for _, events, cursor in self.calls
            if isinstance(events[0], Inbound)
        ]

    async def wait_for(self, predicate, timeout=5.0):
        await eventually(predicate, timeout, what="the demo channel's events")


def demo(kind="whatsapp", cursor=None, **settings):
    return DemoBackend(kind, {"kind": kind, "speed": 0.001, **settings}, cursor=cursor)


async def run_until(backend, sink, predicate):
    task = asyncio.create_task(backend.run(sink))
    try:
        await sink.wait_for(predicate)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    return task


def test_backend_is_registered_with_its_capabilities():
    cls = registry.load("demo")
    assert cls is DemoBackend
    assert (
        cls.polling
        and cls.supports_typing
        and cls.supports_read_receipts
        and cls.supports_attachments
    )
    assert cls.idempotent_send and cls.messaging_window is None
    assert {"kind", "seed", "live", "interval", "speed"} <= set(cls.settings_schema)
    assert DemoBackend("x", {"kind": "line"}).channel_kind == "line"
    assert DemoBackend("telegram").channel_kind == "telegram"
    assert DemoBackend("line", {"kind": "line"}).window == timedelta(hours=24)
    assert DemoBackend("sms").window is None
    with pytest.raises(ConfigError, match="kind"):
        DemoBackend("x", {"kind": "fax"})
    with pytest.raises(ConfigError):
        DemoBackend("sms", {"speed": 0})
    assert set(demo_channels()) == set(KINDS)


async def test_run_emits_typing_then_inbound_with_increasing_cursor():
    sink, backend = FakeSink(), demo("whatsapp")
    await run_until(backend, sink, lambda: len(sink.inbound_calls()) >= 3)
    calls_after_cancel = len(sink.calls)
    await asyncio.sleep(0.05)  # real time passes on purpose: nothing may arrive after the cancel
    assert len(sink.calls) == calls_after_cancel  # cancelled cleanly: nothing more arrives
    assert isinstance(sink.calls[0][1][0], ChannelStatus) and sink.calls[0][1][0].state == "ok"
    assert all(channel == "whatsapp" for channel, _, _ in sink.calls)
    ws = generate_workspace(
        seed=1, now=NOW + timedelta(days=40)
    )  # live threads don't depend on now
    contacts = {c.id: c for c in ws.contacts}
    live = {
        c.thread_key: contacts[c.contact_id]
        for c in ws.conversations
        if c.channel == "whatsapp" and c.status in (Status.OPEN, Status.PENDING)
    }
    inbound = sink.inbound_calls()[:3]
    assert [cursor for _, cursor in inbound] == ["1", "2", "3"]
    assert [e.external_id for e, _ in inbound] == [
        "whatsapp-in-1",
        "whatsapp-in-2",
        "whatsapp-in-3",
    ]
    flat = [e for _, events, _ in sink.calls for e in events]
    for event, _ in inbound:
        before = flat[flat.index(event) - 1]
        assert isinstance(before, Typing) and before.thread_key == event.thread_key
        contact = live[event.thread_key]
        assert event.sender.address == event.thread_key and event.sender.name == contact.name
        assert event.body and bool(JAPANESE.search(event.body)) == (contact.language == "ja")
        assert event.window_expires_at == event.created_at + timedelta(hours=24)
    assert backend.cursor == str(len(sink.inbound_calls()))


async def test_restart_from_cursor_continues_ids_deterministically():
    first, second = FakeSink(), FakeSink()
    await run_until(demo("line", cursor="7"), first, lambda: len(first.inbound_calls()) >= 2)
    await run_until(demo("line", cursor="7"), second, lambda: len(second.inbound_calls()) >= 2)
    got = [(e.external_id, cursor, e.thread_key, e.body) for e, cursor in first.inbound_calls()[:2]]
    assert [(x, c) for x, c, _, _ in got] == [("line-in-8", "8"), ("line-in-9", "9")]
    assert got == [(e.external_id, c, e.thread_key, e.body) for e, c in second.inbound_calls()[:2]]


async def test_email_inbound_uses_the_thread_root_and_the_email_address():
    sink = FakeSink()
    await run_until(demo("email"), sink, lambda: len(sink.inbound_calls()) >= 1)
    event, _ = sink.inbound_calls()[0]
    assert re.fullmatch(r"<[0-9a-f]+\.\d+@example\.com>", event.thread_key)
    assert "@" in event.sender.address and event.sender.email == event.sender.address
    assert event.subject.startswith("Re: ") and event.window_expires_at is None


def outgoing_for(kind, language, message_id=501):
    ws = generate_workspace(seed=1, now=NOW)
    contacts = {c.id: c for c in ws.contacts}
    conv = next(
        c
        for c in ws.conversations
        if c.channel == kind and contacts[c.contact_id].language == language
    )
    address = next(i.address for i in contacts[conv.contact_id].identities if i.channel == kind)
    return Outgoing(message_id, conv.id, conv.thread_key, address, "Could you try again now?")


async def test_send_returns_a_deterministic_id_then_receipts_and_an_answer():
    sink, backend = FakeSink(), demo("whatsapp", live=False)
    task = asyncio.create_task(backend.run(sink))
    await sink.wait_for(lambda: sink.events(ChannelStatus))
    out = outgoing_for("whatsapp", "ja")
    result = await backend.send(out)
    assert result.external_id == "whatsapp-out-501" and result.delivery is Delivery.SENT
    assert (
        await backend.send(out)
    ).external_id == "whatsapp-out-501"  # a retry is the same message
    await sink.wait_for(lambda: sink.inbound_calls())
    await asyncio.sleep(0.02)  # real time passes on purpose: nothing may follow the answer
    task.cancel()
    await backend.close()
    flow = [e for e in sink.events() if not isinstance(e, ChannelStatus)]
    assert [type(e).__name__ for e in flow] == [
        "DeliveryUpdate",
        "DeliveryUpdate",
        "Typing",
        "Inbound",
    ]
    assert [(e.external_id, e.delivery) for e in flow[:2]] == [
        ("whatsapp-out-501", Delivery.DELIVERED),
        ("whatsapp-out-501", Delivery.READ),
    ]
    answer, cursor = sink.inbound_calls()[0]
    assert flow[2].thread_key == answer.thread_key == out.thread_key
    assert (answer.external_id, cursor) == ("whatsapp-in-1", "1")
    assert JAPANESE.search(answer.body) and answer.sender.address == out.to


async def test_sms_gets_no_read_receipt_and_english_answer():
    sink, backend = FakeSink(), demo("sms", live=False, cursor="41")
    task = asyncio.create_task(backend.run(sink))
    await sink.wait_for(lambda: sink.events(ChannelStatus))
    await backend.send(outgoing_for("sms", "en", message_id=9))
    await sink.wait_for(lambda: sink.inbound_calls())
    task.cancel()
    await backend.close()
    assert [e.delivery for e in sink.events(DeliveryUpdate)] == [Delivery.DELIVERED]
    answer, cursor = sink.inbound_calls()[0]
    assert (answer.external_id, cursor) == ("sms-in-42", "42")
    assert answer.body and not JAPANESE.search(answer.body)


async def test_send_without_a_sink_or_after_close_emits_nothing():
    backend = demo("telegram")
    assert (await backend.send(outgoing_for("telegram", "en", 3))).external_id == "telegram-out-3"
    sink = FakeSink()
    task = asyncio.create_task(backend.run(sink))
    await sink.wait_for(lambda: sink.events(ChannelStatus))
    task.cancel()
    await backend.send(outgoing_for("telegram", "en", 4))
    await backend.close()  # cancels the pending receipts
    await asyncio.sleep(0.05)  # real time passes on purpose: the receipts would be due by now
    assert sink.events(DeliveryUpdate) == []


async def test_live_customers_land_in_the_seeded_conversations_of_a_desk(tmp_path):
    """The contract with the desk: live events find the loaded conversations and contacts."""
    from frontdesk.desk import Desk
    from frontdesk.store import Store

    ws = generate_workspace(seed=1)
    with Store.open(tmp_path / "data") as store:
        channels = demo_channels(seed=1, speed=0.0005, interval=4)
        desk = Desk(store, channels, agent="Aiko", agents=["Ben", "Chloé"])
        await desk.load_workspace(ws.contacts, ws.conversations, ws.messages)
        before = {c.id: c.message_count for c in store.conversations()}
        await desk.start()
        try:
            # a LINE conversation whose reply window is still open: the desk refuses the others
            open_window = {
                c.id
                for c in ws.conversations
                if c.window_expires_at and c.window_expires_at > desk.now()
            }
            target = next(
                t for t in ws.live if t.channel == "line" and t.conversation_id in open_window
            )
            reply = await desk.reply(target.conversation_id, "Please try again now 🙏")

            def grown() -> set[str]:
                return {
                    c.channel
                    for c in store.conversations()
                    if c.message_count > before.get(c.id, 0)
                }

            def read() -> bool:
                return store.message(target.conversation_id, reply.id).delivery is Delivery.READ

            await eventually(
                lambda: grown() >= set(KINDS) and read(),
                10,
                what="a new message on every channel and the LINE reply read",
            )
        finally:
            await desk.stop()
        sent = store.message(target.conversation_id, reply.id)
        assert grown() >= set(KINDS)
        assert sent.delivery is Delivery.READ and sent.external_id == f"line-out-{reply.id}"
        assert len(store.conversations()) == 60 and len(store.contacts()) == len(ws.contacts)


def test_demo_keeps_its_workspace_in_demo_seed_under_the_data_dir(tmp_path, monkeypatch, capsys):
    """--data-dir and FRONTDESK_DATA_DIR both name the data dir; the demo keeps to demo-<seed> in it."""
    from frontdesk import cli
    from frontdesk.commands import console

    monkeypatch.setattr(console, "run_console", lambda *args, **kwargs: None)
    monkeypatch.setenv("FRONTDESK_CONFIG", str(tmp_path / "no-config.toml"))
    data = tmp_path / "data"
    assert cli.main(["demo", "--quiet", "--data-dir", str(data)]) == 0
    assert [p.name for p in data.iterdir()] == ["demo-1"]
    assert f"Demo workspace kept in {data / 'demo-1'}" in capsys.readouterr().out
    assert cli.main(["export", "--data-dir", str(data / "demo-1")]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 60
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(data))
    assert cli.main(["demo", "--quiet", "--seed", "2"]) == 0
    assert sorted(p.name for p in data.iterdir()) == ["demo-1", "demo-2"]


async def test_live_customers_write_at_the_pace_of_a_busy_human_shift():
    """The whole demo workspace, on a simulated clock: a few unprompted customer messages a
    minute, with uneven gaps, not one every few seconds (which rang the bell nonstop)."""
    clocks: dict[str, float] = {}
    arrivals: list[float] = []

    class Sink:
        async def ingest(self, channel, events, cursor=None):
            arrivals.extend(clocks[channel] for e in events if isinstance(e, Inbound))

    def simulated(backend):
        async def wait(seconds):  # time passes for this channel only; nothing really waits
            clocks[backend.name] += seconds
            await asyncio.sleep(0)  # the other channels take their turn

        return wait

    channels = demo_channels(seed=1)
    for name, backend in channels.items():
        clocks[name] = 0.0
        backend.wait = simulated(backend)
    tasks = [asyncio.create_task(backend.run(Sink())) for backend in channels.values()]
    try:
        while min(clocks.values()) < 3600:  # an hour of the shift on every channel
            await asyncio.sleep(0)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    per_minute = sum(1 for at in arrivals if at <= 3600) / 60
    assert 2 <= per_minute <= 5, per_minute
    gaps = sorted(b - a for a, b in zip(sorted(arrivals), sorted(arrivals)[1:]))
    assert gaps[len(gaps) // 2] >= 8  # the typical pause between two customers, workspace-wide
    assert gaps[-1] >= 4 * gaps[len(gaps) // 2]  # and lulls: not a metronome


async def test_a_reply_with_a_file_is_accepted_except_on_sms(tmp_path):
    from frontdesk.desk import Desk, DeskError
    from frontdesk.model import FileUpload
    from frontdesk.store import Store

    with Store.open(tmp_path / "data") as store:
        channels = {kind: demo(kind, live=False) for kind in ("whatsapp", "sms")}
        desk = Desk(store, channels, agent="Aiko")
        for kind in channels:
            hello = Inbound(f"{kind}-in-1", "+1555", ContactRef("+1555", "Mia"), "hi")
            await desk.ingest(kind, [hello])
        by_channel = {c.channel: c for c in await desk.conversations()}
        photo = FileUpload("lamp.jpg", "image/jpeg", b"\xff\xd8lamp")
        sent = await desk.reply(by_channel["whatsapp"].id, "", [photo])
        await desk.flush_outbox()
        assert store.message(sent.conversation_id, sent.id).delivery is Delivery.SENT
        with pytest.raises(DeskError, match="\\(sms\\) cannot send files"):
            await desk.reply(by_channel["sms"].id, "see photo", [photo])
        for backend in channels.values():
            await backend.close()


async def test_the_demo_whatsapp_sends_approved_templates_after_the_window_and_line_has_a_quota(
    tmp_path,
):
    """A new user's path: a WhatsApp conversation with a closed window lists the demo's
    templates and takes one; LINE's composer line is its push quota; same data every run."""
    from frontdesk.desk import Desk, DeskError
    from frontdesk.desk.templates import send_of
    from frontdesk.model import TemplateSend
    from frontdesk.store import Store

    ws = generate_workspace(seed=1)
    with Store.open(tmp_path / "data") as store:
        desk = Desk(store, demo_channels(seed=1, live=False), agent="Aiko")
        await desk.load_workspace(ws.contacts, ws.conversations, ws.messages)
        closed = next(
            c
            for c in ws.conversations
            if c.channel == "whatsapp" and c.window_expires_at and c.window_expires_at < desk.now()
        )
        window = await desk.window(closed.id)
        assert (
            window.closed
            and window.templates
            and "ctrl+t sends an approved template" in (window.explanation)
        )
        listed = await desk.templates(closed.id)
        assert listed == await desk.templates(closed.id)
        names = {(t.name, t.language) for t in listed}
        assert {
            ("order_update", "en_US"),
            ("order_update", "ja"),
            ("payment_failed", "en_US"),
        } <= names
        assert {t.category for t in listed} == {"UTILITY", "MARKETING"}
        with pytest.raises(DeskError, match="window closed"):
            await desk.reply(closed.id, "hello?")
        sent = await desk.send_template(
            closed.id, TemplateSend("payment_failed", "en_US", ["Mia", "A-1042"])
        )
        assert sent.body.startswith(
            "[template payment_failed] Hi Mia, the payment for order A-1042"
        )
        offer = next(t for t in listed if t.name == "spring_offer")
        assert [e.kind for e in offer.extras] == ["image", "url", "copy_code"]
        values = ["https://shop.example/spring.png", "Mia", "mia-15", "SPRING15"]
        sent = await desk.send_template(closed.id, send_of(offer, values))
        assert sent.template.extras[-1].value == "SPRING15"
        line = next(c for c in ws.conversations if c.channel == "line")
        assert await desk.allowance(line.id) == "push quota: 412 of 500 left this month"
        assert await desk.allowance(closed.id) is None
        with pytest.raises(DeskError, match="has no message templates"):
            await desk.templates(line.id)
