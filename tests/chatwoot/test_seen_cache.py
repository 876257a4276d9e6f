"""The seen cache: what was seen comes back whole, bounded, private and without tokens; damage never crashes."""

from __future__ import annotations

import asyncio
import os
import stat
import threading
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pilot_helpers import eventually

from frontdesk.chatwoot import cache_files, seen_cache
from frontdesk.chatwoot.outbox import ChatwootOutbox, OutboxState
from frontdesk.chatwoot.seen_cache import OUTBOX_FILE_NAME, FILE_NAME, SeenCache, Saver
from frontdesk.chatwoot.state import CannedResponse, SeenState, ServerAgent, ServerInbox
from frontdesk.desk.views import View
from frontdesk.model import (
    Attachment,
    Contact,
    Conversation,
    Delivery,
    Direction,
    Identity,
    Message,
    Priority,
    Status,
)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
ACCOUNT = "https://chat.example.com#1"
TOKEN = "pubsub-SECRET-8Fq2"


def sample_state(conversations: int = 3) -> SeenState:
    state = SeenState(me=ServerAgent(2, "ben@x.io", "Ben", "online", "administrator"))
    state.pubsub_token = TOKEN
    state.put_agent(ServerAgent(2, "ben@x.io", "Ben", "online", "administrator"))
    state.put_agent(ServerAgent(3, "aiko@x.io", "Aiko"))
    state.put_inbox(ServerInbox(1, "Support WA", "whatsapp"))
    state.teams[4] = "billing"
    state.labels[:] = ["vip", "refund"]
    state.canned.append(CannedResponse("hello", "Hello {{contact.name}}"))
    state.server_counts[View.MINE] = 12
    for i in range(1, conversations + 1):
        state.put_contact(
            Contact(
                10 + i,
                f"Contact {i}",
                emails=[f"c{i}@example.com"],
                attributes={"plan": "gold"},
                identities=[Identity("Support WA", f"+8190{i}")],
            )
        )
        state.put_conversation(
            Conversation(
                i,
                "Support WA",
                10 + i,
                f"cw-{i}",
                status=Status.SNOOZED if i == 1 else Status.OPEN,
                snoozed_until=T0 + timedelta(days=1) if i == 1 else None,
                priority=Priority.HIGH,
                assignee="ben@x.io",
                team="billing",
                labels=["vip"],
                subject=f"Order {i}",
                preview="Where is my order?",
                created_at=T0,
                last_activity_at=T0 + timedelta(minutes=i),
                unread=i,
            )
        )
    state.keep_thread(
        1,
        [
            Message(1, 1, Direction.IN, "Where is my\norder?", created_at=T0, author="Contact 1"),
            Message(
                2,
                1,
                Direction.OUT,
                "On its way",
                delivery=Delivery.READ,
                attachments=[Attachment("label.pdf", "application/pdf", 120, "cw:9")],
                created_at=T0 + timedelta(minutes=1),
                author="ben@x.io",
            ),
        ],
        older=True,
    )
    state.keep_thread(2, [Message(5, 2, Direction.IN, "hi", created_at=T0)], older=False)
    return state


def test_save_then_load_gives_back_the_state_and_the_outbox(tmp_path) -> None:
    state = sample_state()
    outbox = ChatwootOutbox(_never_send, lambda entry: None)
    entry = outbox.add(1, "a reply not yet posted")
    cache = SeenCache(tmp_path / "cw", account=ACCOUNT)
    cache.save(state, outbox.entries())
    reader = SeenCache(tmp_path / "cw", account=ACCOUNT)
    loaded, entries, problems = reader.load()
    assert problems == []
    assert reader.saved_at is not None and reader.saved_at.tzinfo is not None
    assert loaded is not None
    assert loaded.me == state.me
    assert loaded.agents == state.agents
    assert loaded.inboxes == state.inboxes
    assert loaded.teams == {4: "billing"} and loaded.labels == ["vip", "refund"]
    assert loaded.canned == state.canned
    assert loaded.conversations == state.conversations
    assert loaded.contacts == state.contacts and loaded.contact_names == state.contact_names
    assert list(loaded.threads) == [1, 2]  # the order threads were read in: the oldest drops first
    assert loaded.threads == state.threads
    assert loaded.older == {1: True, 2: False}
    assert loaded.server_counts == {View.MINE: 12}
    assert loaded.thread(1)[1].attachments[0].ref == "cw:9"
    assert entries == [entry]
    assert loaded.pubsub_token == ""
    assert cache.saved_at is None  # only a load says when its file was written


async def _never_send(entry):
    raise AssertionError("not started")


def test_no_token_is_written(tmp_path) -> None:
    cache = SeenCache(tmp_path, account=ACCOUNT)
    cache.save(sample_state(), [])
    assert TOKEN.encode() not in (tmp_path / FILE_NAME).read_bytes()


def test_nothing_saved_yet_is_no_problem(tmp_path) -> None:
    assert SeenCache(tmp_path / "none").load() == (None, [], [])


def test_the_file_is_private_and_its_folder_too(tmp_path) -> None:
    folder = tmp_path / "cw"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    SeenCache(folder).save(sample_state(), [])
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in (FILE_NAME, OUTBOX_FILE_NAME):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    assert sorted(p.name for p in folder.iterdir()) == [OUTBOX_FILE_NAME, FILE_NAME]  # no temp


def test_a_file_readable_by_others_is_tightened_on_load(tmp_path) -> None:
    SeenCache(tmp_path).save(sample_state(), [])
    os.chmod(tmp_path / FILE_NAME, 0o644)
    SeenCache(tmp_path).load()
    assert stat.S_IMODE((tmp_path / FILE_NAME).stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[: len(raw) // 2],
        lambda raw: b"\xc1" + raw[1:],
        lambda raw: b"not msgpack at all",
        lambda raw: b"",
        lambda raw: raw.replace(b"Support WA", b"Support\xffA"),
        lambda raw: raw[:-1] + bytes([raw[-1] ^ 1]),
    ],
    ids=["cut", "bad-first-byte", "text", "empty", "bad-utf8", "one-bit"],
)
def test_a_damaged_file_is_set_aside_and_reported_in_one_line(tmp_path, damage) -> None:
    SeenCache(tmp_path).save(sample_state(), [])
    path = tmp_path / FILE_NAME
    path.write_bytes(damage(path.read_bytes()))
    state, entries, problems = SeenCache(tmp_path).load()
    assert state is None and entries == []
    assert len(problems) == 1 and "\n" not in problems[0]
    assert str(path) in problems[0] and "damaged" in problems[0]
    assert (tmp_path / (FILE_NAME + ".damaged")).exists() and not path.exists()
    SeenCache(tmp_path).save(sample_state(), [])  # and the next save starts afresh
    assert SeenCache(tmp_path).load()[2] == []


@settings(max_examples=200, deadline=None)
@given(
    flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(1, 255)), max_size=8),
    cut=st.one_of(st.none(), st.integers(min_value=0)),
)
def test_no_damage_to_the_file_crashes_the_load(tmp_path_factory, flips, cut) -> None:
    folder = tmp_path_factory.mktemp("seen")
    SeenCache(folder).save(sample_state(), [])
    path = folder / FILE_NAME
    original = path.read_bytes()
    raw = bytearray(original)
    for at, mask in flips:
        raw[at % len(raw)] ^= mask
    if cut is not None:
        raw = raw[: cut % (len(raw) + 1)]
    path.write_bytes(bytes(raw))
    state, _, problems = SeenCache(folder).load()
    if bytes(raw) == original:  # the flips undid each other
        assert problems == [] and state is not None
    else:
        assert state is None and len(problems) == 1 and "\n" not in problems[0]


@given(noise=st.binary(max_size=300))
@settings(max_examples=200, deadline=None)
def test_any_bytes_behind_a_good_head_are_damage_not_a_crash(tmp_path_factory, noise) -> None:
    folder = tmp_path_factory.mktemp("seen")
    (folder / FILE_NAME).write_bytes(cache_files.pack(seen_cache.STATE_MAGIC, noise))
    state, _, problems = SeenCache(folder).load()
    assert state is None and len(problems) == 1 and "damaged" in problems[0]


def test_a_record_of_the_wrong_type_is_damage_not_a_crash(tmp_path) -> None:
    state = sample_state()
    state.conversations[1].unread = "lots"  # type: ignore[assignment]
    SeenCache(tmp_path).save(state, [])
    loaded, _, problems = SeenCache(tmp_path).load()
    assert loaded is None and "damaged" in problems[0]


def test_a_file_of_another_format_version_is_set_aside(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(cache_files, "FORMAT_VERSION", 99)
    SeenCache(tmp_path).save(sample_state(), [])
    monkeypatch.undo()
    state, _, problems = SeenCache(tmp_path).load()
    assert state is None
    assert problems == [
        f"{tmp_path / FILE_NAME} is of another format (99): set aside as {FILE_NAME}.damaged; "
        "Chatwoot is read again",
        f"{tmp_path / OUTBOX_FILE_NAME} is of another format (99): set aside as "
        f"{OUTBOX_FILE_NAME}.damaged; replies written before may not have been posted: "
        "check their threads",
    ]


def test_a_file_of_another_account_is_not_loaded(tmp_path) -> None:
    SeenCache(tmp_path, account="https://other.example.com#7").save(sample_state(), [])
    state, _, problems = SeenCache(tmp_path, account=ACCOUNT).load()
    assert state is None and "another Chatwoot account" in problems[0]


def test_an_oversized_file_is_not_read(tmp_path, monkeypatch) -> None:
    SeenCache(tmp_path).save(sample_state(), [])
    monkeypatch.setattr(seen_cache, "MAX_FILE_BYTES", 100)
    state, _, problems = SeenCache(tmp_path).load()
    assert state is None and "larger than 100 bytes" in problems[0]


def test_only_the_most_recently_active_conversations_are_kept(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(seen_cache, "MAX_CONVERSATIONS", 2)
    SeenCache(tmp_path).save(sample_state(conversations=5), [])
    loaded, _, _ = SeenCache(tmp_path).load()
    assert sorted(loaded.conversations) == [4, 5]  # last_activity_at grows with the id
    assert sorted(loaded.contacts) == [14, 15]
    assert loaded.threads == {}  # threads 1 and 2 belonged to conversations left out


def test_a_long_thread_keeps_its_newest_messages_and_its_unsent_ones(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(seen_cache, "MAX_THREAD_MESSAGES", 3)
    state = sample_state()
    messages = [Message(i, 3, Direction.IN, f"m{i}", created_at=T0) for i in range(1, 8)]
    state.keep_thread(3, messages, older=False)
    state.threads[3][-1] = Message(-1, 3, Direction.OUT, "unsent", delivery=Delivery.PENDING)
    SeenCache(tmp_path).save(state, [])
    loaded, _, _ = SeenCache(tmp_path).load()
    assert sorted(loaded.threads[3]) == [-1, 5, 6, 7]
    assert loaded.older[3] is True  # the cut part is read again from the server


def test_an_entry_saved_while_sending_reloads_unconfirmed(tmp_path) -> None:
    outbox = ChatwootOutbox(_never_send, lambda entry: None)
    entry = outbox.add(1, "in flight")
    entry.state, entry.attempts = OutboxState.SENDING, 1  # as the desk saved it mid-post
    SeenCache(tmp_path).save(sample_state(), outbox.entries())
    _, entries, _ = SeenCache(tmp_path).load()
    assert entries[0].state is OutboxState.SENDING
    restarted = ChatwootOutbox(_never_send, lambda entry: None)
    restarted.load(entries)
    reloaded = restarted.entry(entry.local_id)
    assert reloaded.state is OutboxState.UNCONFIRMED
    assert reloaded.echo_id == entry.echo_id


def test_a_damaged_state_file_loses_no_queued_reply(tmp_path) -> None:
    outbox = ChatwootOutbox(_never_send, lambda entry: None)
    entry = outbox.add(1, "queued")
    SeenCache(tmp_path).save(sample_state(), outbox.entries())
    (tmp_path / FILE_NAME).write_bytes(b"garbage")
    state, entries, problems = SeenCache(tmp_path).load()
    assert state is None and entries == [entry]
    assert len(problems) == 1 and FILE_NAME in problems[0]


def test_a_damaged_outbox_file_is_said_and_the_state_still_loads(tmp_path) -> None:
    outbox = ChatwootOutbox(_never_send, lambda entry: None)
    outbox.add(1, "queued")
    SeenCache(tmp_path).save(sample_state(), outbox.entries())
    raw = (tmp_path / OUTBOX_FILE_NAME).read_bytes()
    (tmp_path / OUTBOX_FILE_NAME).write_bytes(raw[:-3])
    state, entries, problems = SeenCache(tmp_path).load()
    assert state is not None and entries == []
    assert problems == [
        f"{tmp_path / OUTBOX_FILE_NAME} is damaged (checksum mismatch): set aside as "
        f"{OUTBOX_FILE_NAME}.damaged; replies written before may not have been posted: "
        "check their threads"
    ]


async def test_an_older_outbox_list_never_lands_after_a_newer_one(tmp_path, monkeypatch) -> None:
    # the saver's write is slow; meanwhile a reply is queued and the outbox persists: the file
    # must end with the newer list, not the one the slow write began with
    cache = SeenCache(tmp_path)
    outbox = ChatwootOutbox(_never_send, lambda entry: None)
    first = outbox.add(1, "one")
    entered, release = threading.Event(), threading.Event()
    write = seen_cache.write_private

    def slow_first_write(path, data):
        if not entered.is_set():
            entered.set()
            release.wait(5)
        write(path, data)

    monkeypatch.setattr(seen_cache, "write_private", slow_first_write)
    slow = asyncio.create_task(cache.keep_outbox(outbox.entries))
    await asyncio.to_thread(entered.wait, 5)
    second = outbox.add(1, "two")
    newer = asyncio.create_task(cache.keep_outbox(outbox.entries))
    await asyncio.sleep(0)  # let it reach its turn before the slow write ends
    release.set()
    await asyncio.gather(slow, newer)
    assert [e.local_id for e in cache.load()[1]] == [first.local_id, second.local_id]


# ---- the saver ---------------------------------------------------------------------------------


async def test_the_saver_coalesces_requests_into_one_write(tmp_path) -> None:
    state = sample_state()
    cache = SeenCache(tmp_path)
    saver = Saver(cache, lambda: state, list, delay=0.05)
    for _ in range(50):
        saver.request()
    await eventually(lambda: saver.writes > 0, timeout=5, what="the first write")
    assert saver.writes == 1
    assert cache.load()[0].conversations == state.conversations
    await saver.close()
    assert saver.writes == 1  # nothing new to write at close


async def test_the_saver_writes_at_close_what_is_pending(tmp_path) -> None:
    state = sample_state()
    cache = SeenCache(tmp_path)
    saver = Saver(cache, lambda: state, list, delay=3600)
    saver.request()
    state.labels.append("late")
    await saver.close()
    assert saver.writes == 1
    assert cache.load()[0].labels == ["vip", "refund", "late"]
    saver.request()  # after close: ignored
    assert saver._task is None


async def test_a_failed_write_is_reported_not_raised(tmp_path) -> None:
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("")
    saver = Saver(SeenCache(blocker / "cw"), sample_state, list, delay=3600)
    saver.request()
    await saver.close()
    assert saver.writes == 0
    assert str(blocker / "cw") in saver.problem and "\n" not in saver.problem


def test_the_bench_times_a_load_of_the_size_asked(tmp_path) -> None:
    from frontdesk.bench.chatwoot import measure_cache_load
    from frontdesk.bench.report import Report

    report = Report(sizes={})
    figure = measure_cache_load(
        tmp_path, report, conversations=40, threads=3, thread_messages=5, runs=1
    )
    assert figure.key == "chatwoot.cache_load" and figure.unit == "s" and figure.value > 0
    assert "40 conversations + 3 threads of 5 messages" in figure.label
    assert report.figures == [figure]


async def test_a_big_save_lets_the_console_run_between_its_steps(tmp_path, monkeypatch) -> None:
    """Encoding 2,000 conversations is done in steps: a key press waiting meanwhile is
    handled before the file is written, not after the whole encoding."""
    from frontdesk.bench.chatwoot import seen_state

    state = seen_state(2_000, threads=4, thread_messages=50)
    cache = SeenCache(tmp_path)
    ticks: list[int] = []
    written_after: list[int] = []
    write = cache.write

    def spy_write(data: bytes) -> None:
        written_after.append(len(ticks))
        write(data)

    monkeypatch.setattr(cache, "write", spy_write)

    async def ticker() -> None:
        while True:
            ticks.append(1)
            await asyncio.sleep(0)

    saver = Saver(cache, lambda: state, list, delay=3600)
    saver.request()
    running = asyncio.create_task(ticker())
    await asyncio.sleep(0)  # the ticker starts: from here each of its turns is counted
    ticks.clear()
    await saver.close()
    running.cancel()
    assert written_after and written_after[0] >= 5
    assert cache.load()[0].conversations == state.conversations


async def test_records_changed_during_a_stepwise_save_are_saved_whole(tmp_path) -> None:
    """Conversations changed, added and a thread dropped while a save is under way: the file
    still loads, each record whole, and the change is written by the next save."""
    from frontdesk.bench.chatwoot import seen_state

    state = seen_state(2_000, threads=4, thread_messages=50)
    cache = SeenCache(tmp_path)
    saver = Saver(cache, lambda: state, list, delay=0.01)

    async def meddle() -> None:
        for i in range(1, 200):
            conv = state.conversations[i]
            conv.labels = [*conv.labels, "late"]
            conv.last_activity_at = T0 + timedelta(days=40, seconds=i)
            state.put_conversation(Conversation(5_000 + i, "Inbox 1", 1, f"n{i}", created_at=T0))
            state.threads.pop(i % 4 + 1, None)
            saver.request()
            await asyncio.sleep(0)

    saver.request()
    await asyncio.gather(meddle(), eventually(lambda: saver.writes >= 1, timeout=10))
    await saver.close()
    loaded = cache.load()[0]
    assert loaded is not None
    assert loaded.conversations == state.conversations


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 1_300), st.integers(1, 600))
def test_an_array_encoded_in_steps_is_the_array_encoded_at_once(count, step) -> None:
    records = list(range(count))
    steps = seen_cache._array_steps(records, step)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            raw = b"".join(done.value)
            break
    assert raw == seen_cache._encoder.encode(records)


def test_the_stepwise_payload_is_what_msgspec_encodes_for_the_saved_record(tmp_path) -> None:
    from frontdesk.bench.chatwoot import seen_state

    cache = SeenCache(tmp_path)
    payload = cache_files.unpack(
        cache.encode(seen_state(1_200, threads=20, thread_messages=30)), seen_cache.STATE_MAGIC
    )
    assert seen_cache._encoder.encode(seen_cache._decoder.decode(payload)) == payload
