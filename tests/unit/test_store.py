"""Store rules: atomic batches, crash recovery, dedup index, cursors, outbox, locking, privacy."""

import asyncio
import errno
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frontdesk.model import Contact, Conversation, Direction, Identity, Message
from frontdesk.store import OutboxEntry, Store, StoreError, StoreLocked
from frontdesk.store import checkpoints as checkpoints_mod
from frontdesk.store import dedup as dedup_mod
from frontdesk.store import journal as journal_mod
from frontdesk.store import storage as storage_mod
from frontdesk.store import upgrades as upgrades_mod
from pilot_helpers import eventually

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)


def add_conversation(store: Store, body: str = "hello", external_id: str = "x1") -> tuple[int, int]:
    with store.batch():
        contact = Contact(store.new_id("contact"), "Ann", identities=[Identity("sms", "+100")])
        store.put_contact(contact)
        conv = Conversation(
            store.new_id("conversation"),
            "sms",
            contact.id,
            "+100",
            created_at=T0,
            last_activity_at=T0,
        )
        store.put_conversation(conv)
        msg = Message(
            store.new_id("message"),
            conv.id,
            Direction.IN,
            body,
            external_id=external_id,
            created_at=T0,
        )
        store.put_message(msg, "sms")
    return conv.id, msg.id


def test_round_trip_and_reopen(tmp_path):
    root = tmp_path / "data"
    with Store.open(root) as store:
        conv_id, msg_id = add_conversation(store, "こんにちは 🌸")
        with store.batch():
            store.set_cursor("sms", "42")
    with Store.open(root) as store:
        assert store.conversation(conv_id).thread_key == "+100"
        assert [m.body for m in store.messages(conv_id)] == ["こんにちは 🌸"]
        assert store.lookup_external("sms", "x1") == (conv_id, msg_id)
        assert store.cursor("sms") == "42"
        assert store.find_contact("sms", "+100").name == "Ann"


def test_a_lone_surrogate_from_a_channel_round_trips(tmp_path):
    """JSON allows "\\ud800"; UTF-8 does not: the commit used to fail on it (found by tests/system/test_hostile.py)."""
    with Store.open(tmp_path) as store:
        with store.batch():
            store.put_contact(Contact(1, "Eve\ud800", identities=[Identity("tg", "1")]))
            store.put_conversation(Conversation(1, "tg", 1, "1"))
            store.put_message(Message(1, 1, Direction.IN, "bad \ud800 text"), "tg")
            store.quarantine("tg", '{"text": "\ud800"}', "test")
    with Store.open(tmp_path) as store:
        assert store.contact(1).name == "Eve\ud800"
        assert store.messages(1)[0].body == "bad \ud800 text"
        assert store.quarantined()[0]["payload"] == '{"text": "\ud800"}'
    assert storage_mod.to_json({"a": "日本\ud800"}) == '{"a": "\\u65e5\\u672c\\ud800"}'
    assert storage_mod.to_json({"a": "日本"}) == '{"a": "日本"}'


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(_json_values, st.booleans())
def test_decode_reads_every_file_the_standard_library_reads(value, ascii_only):
    """orjson refuses some JSON that Python writes and reads (an escaped lone surrogate, NaN,
    integers past 64 bits); `decode` must still read it, as Python does."""
    raw = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    try:
        expected = json.loads(raw)
    except ValueError:  # raw UTF-8 of a surrogate: not JSON to anyone
        with pytest.raises(ValueError):
            storage_mod.decode(raw)
        return
    decoded = storage_mod.decode(raw)
    assert json.dumps(decoded, sort_keys=True) == json.dumps(expected, sort_keys=True)


_record_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text() | st.integers(), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(_record_values)
def test_encode_writes_what_the_standard_library_writes(value):
    """orjson writes the files; what it writes must read back as Python's JSON would have
    written it (int keys as strings, lone surrogates escaped, integers of any size)."""
    expected = json.loads(json.dumps(value, ensure_ascii=True))
    assert storage_mod.decode(storage_mod.encode(value)) == expected
    assert json.loads(storage_mod.encode(value)) == expected


def test_decode_names_text_that_is_not_json():
    with pytest.raises(ValueError):
        storage_mod.decode(b'{"conversations": {"1": ')


def test_files_are_private_from_creation(tmp_path):
    root = tmp_path / "data"
    with Store.open(root) as store:
        add_conversation(store)
    assert root.stat().st_mode & 0o777 == 0o700
    for path in root.rglob("*"):
        expected = 0o700 if path.is_dir() else 0o600
        assert path.stat().st_mode & 0o777 == expected, path


def test_writes_outside_a_batch_are_refused(tmp_path):
    with Store.open(tmp_path / "d") as store:
        with pytest.raises(StoreError):
            store.set_cursor("sms", "1")


def test_a_failed_journal_write_leaves_old_state_readable(tmp_path, monkeypatch):
    root = tmp_path / "data"
    with Store.open(root) as store:
        conv_id, _ = add_conversation(store, "before")
    journal_before = (root / "journal").read_bytes()

    with Store.open(root) as store:

        def boom(*args):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(journal_mod.os, "fsync", boom)
        with pytest.raises(StoreError, match="could not write the cache"):
            with store.batch():
                msg = Message(
                    store.new_id("message"), conv_id, Direction.IN, "after", created_at=T0
                )
                store.put_message(msg)
                store.set_cursor("sms", "99")
        monkeypatch.undo()
        # the in-memory view forgot the failed batch too, and the journal was cut back
        assert [m.body for m in store.messages(conv_id)] == ["before"]
        assert store.cursor("sms") is None
        assert (root / "journal").read_bytes() == journal_before
        with store.batch():  # and the next batch commits normally after it
            store.set_cursor("sms", "100")
    with Store.open(root) as store:
        assert [m.body for m in store.messages(conv_id)] == ["before"]
        assert store.cursor("sms") == "100"


def test_a_failed_checkpoint_loses_nothing(tmp_path, monkeypatch, caplog):
    root = tmp_path / "data"
    with Store.open(root) as store:
        conv_id, _ = add_conversation(store, "before")
    with Store.open(root) as store:

        def boom(*args):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(storage_mod.os, "replace", boom)
        with store.batch():  # the batch is committed by the journal; only the checkpoint fails
            store.put_message(
                Message(store.new_id("message"), conv_id, Direction.IN, "after", created_at=T0)
            )
        store.close()  # checkpoints, fails, logs
        monkeypatch.undo()
    assert "could not checkpoint" in caplog.text
    with Store.open(root) as store:
        assert store.recovered
        assert [m.body for m in store.messages(conv_id)] == ["before", "after"]


def test_journal_is_replayed_after_a_kill(tmp_path):
    root = tmp_path / "data"
    store = Store.open(root)
    conv_id, _ = add_conversation(store, "first")
    for n in range(3):
        with store.batch():
            store.put_message(
                Message(
                    store.new_id("message"),
                    conv_id,
                    Direction.IN,
                    f"m{n}",
                    external_id=f"e{n}",
                    created_at=T0,
                ),
                "sms",
            )
            store.set_cursor("sms", str(n))
    store.let_go()
    assert not (root / f"messages/{conv_id}.json").exists()  # only the journal has them
    with Store.open(root) as store:
        assert store.recovered
        assert [m.body for m in store.messages(conv_id)] == ["first", "m0", "m1", "m2"]
        assert store.lookup_external("sms", "e2") == (conv_id, store.messages(conv_id)[-1].id)
        assert store.cursor("sms") == "2"
    # closing checkpointed: the files hold it all and the journal is empty again
    assert len(json.loads((root / f"messages/{conv_id}.json").read_text())["messages"]) == 4
    with Store.open(root) as store:
        assert not store.recovered


def test_a_torn_journal_tail_is_cut_off(tmp_path):
    """A record whose fsync never returned (cut short, or not matching its checksum) was never committed."""
    root = tmp_path / "data"
    store = Store.open(root)
    conv_id, _ = add_conversation(store, "kept")
    store.let_go()
    whole = (root / "journal").read_bytes()
    unfinished = b'\xff\xff\xff\xff\x00\x00\x00\x00{"messages/1.json"'  # killed before its header was written
    for tail in (
        b"\x05",
        b'\x40\x00\x00\x00\x01\x02\x03\x04{"half',
        b"\x02\x00\x00\x00\x00\x00\x00\x00{}",
        unfinished,
    ):
        (root / "journal").write_bytes(whole + tail)
        store = Store.open(root)
        assert [m.body for m in store.messages(conv_id)] == ["kept"]
        assert (root / "journal").read_bytes() == whole
        with store.batch():
            store.set_cursor("sms", "after tail")
        store.let_go()
        with Store.open(root, readonly=True) as reader:
            assert reader.cursor("sms") == "after tail"
        (root / "journal").write_bytes(whole)


def test_checkpoint_killed_between_renames_is_finished_by_replay(tmp_path, monkeypatch):
    root = tmp_path / "data"
    store = Store.open(root)
    conv_id, _ = add_conversation(store)
    with store.batch():
        msg = Message(
            store.new_id("message"),
            conv_id,
            Direction.IN,
            "second",
            external_id="x2",
            created_at=T0,
        )
        store.put_message(msg, "sms")
        store.set_cursor("sms", "2")
    real_swap = storage_mod.swap_in
    calls = {"n": 0}

    def dies_after_two_renames(src, dst):
        calls["n"] += 1
        if calls["n"] > 2:
            raise KeyboardInterrupt("simulated kill")
        real_swap(src, dst)

    monkeypatch.setattr(checkpoints_mod, "swap_in", dies_after_two_renames)
    with pytest.raises(KeyboardInterrupt):
        store.checkpoint()
    monkeypatch.undo()
    store.let_go()
    assert calls["n"] == 3  # two files of the checkpoint were in place, the rest not
    with Store.open(root) as store:
        assert store.recovered
        assert [m.body for m in store.messages(conv_id)] == ["hello", "second"]
        assert store.lookup_external("sms", "x2") == (conv_id, msg.id)
        assert store.cursor("sms") == "2"
        assert store.find_contact("sms", "+100").name == "Ann"


def test_leftover_temp_files_are_dropped_or_reused(tmp_path):
    root = tmp_path / "data"
    with Store.open(root) as store:
        conv_id, _ = add_conversation(store)
    (root / "tmp" / "0.json").write_text("{half")  # a checkpoint's scratch file: reused
    (root / "tmp" / "journal.new").write_text("half")  # anything else: dropped
    with Store.open(root) as store:
        assert not store.recovered
        names = {p.name for p in (root / "tmp").iterdir()}
        assert "0.json" in names and "journal.new" not in names
        add_conversation(store, external_id="x2")
    with Store.open(root) as store:
        assert [m.body for m in store.messages(conv_id)] == ["hello"]
        assert len(store.conversations()) == 2
    for path in root.rglob("*"):
        assert path.stat().st_mode & 0o777 == (0o700 if path.is_dir() else 0o600), path


def test_dedup_index_survives_many_buckets(tmp_path):
    with Store.open(tmp_path / "d") as store:
        conv_id, _ = add_conversation(store)
        with store.batch():
            for n in range(600):
                msg = Message(
                    store.new_id("message"),
                    conv_id,
                    Direction.IN,
                    f"m{n}",
                    external_id=f"e{n}",
                    created_at=T0,
                )
                store.put_message(msg, "sms")
    with Store.open(tmp_path / "d") as store:
        assert all(store.lookup_external("sms", f"e{n}") is not None for n in range(600))
        assert store.lookup_external("sms", "e600") is None
        assert store.lookup_external("email", "e1") is None  # the key includes the channel


def test_outbox_entries_persist_and_delete(tmp_path):
    root = tmp_path / "d"
    with Store.open(root) as store:
        conv_id, msg_id = add_conversation(store)
        with store.batch():
            store.put_outbox(
                OutboxEntry(msg_id, conv_id, "sms", state="sending", attempts=2, created_at=T0)
            )
    with Store.open(root) as store:
        [entry] = store.outbox()
        assert (entry.message_id, entry.state, entry.attempts) == (msg_id, "sending", 2)
        with store.batch():
            store.delete_outbox(msg_id)
    with Store.open(root) as store:
        assert store.outbox() == []


def test_second_writer_gets_a_clear_message_with_pid(tmp_path):
    root = tmp_path / "d"
    with Store.open(root):
        code = (
            "from frontdesk.store import Store, StoreLocked\n"
            f"try:\n    Store.open({str(root)!r})\nexcept StoreLocked as e:\n    print(e)\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
        )
    assert f"pid {os.getpid()}" in out.stdout
    assert "Traceback" not in out.stderr
    with pytest.raises(StoreLocked):
        with Store.open(root):
            Store.open(root)


def test_readonly_store_works_beside_a_writer_and_sees_commits(tmp_path):
    root = tmp_path / "d"
    with Store.open(root) as writer:
        conv_id, _ = add_conversation(writer)
        reader = Store.open(root, readonly=True)
        with writer.batch():
            msg = Message(writer.new_id("message"), conv_id, Direction.OUT, "reply", created_at=T0)
            writer.put_message(msg)
            conv = writer.conversation(conv_id)
            conv.message_count = 2
            writer.put_conversation(conv)
        conv, contact, messages = reader.snapshot(conv_id)
        assert conv.message_count == len(messages) == 2
        assert contact.name == "Ann"
        with pytest.raises(StoreError):
            with reader.batch():
                pass


def test_readonly_open_of_missing_cache_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="no frontdesk cache"):
        Store.open(tmp_path / "nothing", readonly=True)


def test_newer_schema_is_refused(tmp_path):
    root = tmp_path / "d"
    with Store.open(root) as store:
        add_conversation(store)
    meta = json.loads((root / "meta.json").read_text())
    meta["meta"]["1"]["schema"] = 99
    (root / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(StoreError, match="newer frontdesk"):
        Store.open(root)


def test_one_write_is_one_small_journal_record(tmp_path, monkeypatch):
    """Writing one message appends one record whose size does not grow with the cache, and
    writes no other file; the checkpoint after it rewrites only the files that message touched."""
    root = tmp_path / "d"
    with Store.open(root) as store:
        with store.batch():
            for n in range(1, 1001):
                store.put_contact(Contact(n, f"c{n}", identities=[Identity("sms", f"+{n}")]))
                store.put_conversation(
                    Conversation(n, "sms", n, f"+{n}", created_at=T0, last_activity_at=T0)
                )
        store.checkpoint()
        records: list[int] = []
        files: list[str] = []
        real_append, real_write = journal_mod.JournalWriter.append, checkpoints_mod.write_file
        monkeypatch.setattr(
            journal_mod.JournalWriter,
            "append",
            lambda self, changes, **kw: records.append(real_append(self, changes, **kw)),
        )
        monkeypatch.setattr(
            checkpoints_mod,
            "write_file",
            lambda path, data: (files.append(path.name), real_write(path, data)),
        )
        monkeypatch.setattr(storage_mod, "write_durable", lambda *a: files.append("durable"))
        with store.batch():
            store.put_message(
                Message(
                    store.new_id("message"), 500, Direction.IN, "hi", external_id="z", created_at=T0
                ),
                "sms",
            )
            conv = store.conversation(500)
            conv.message_count += 1
            store.put_conversation(conv)
        assert len(records) == 1 and records[0] < 2_000
        assert files == []
        monkeypatch.undo()
        written = []
        monkeypatch.setattr(
            checkpoints_mod,
            "write_file",
            lambda path, data: (written.append(len(data)), real_write(path, data)),
        )
        store.checkpoint()
    # messages partition, one conversation bucket, meta (and one line appended to one dedup log)
    assert len(written) == 3
    assert max(written) < 40_000
    assert sum(p.read_text().count("\n") for p in (root / "dedup").iterdir()) == 1


def test_readonly_store_sees_journal_commits_across_checkpoints(tmp_path):
    root = tmp_path / "d"
    with Store.open(root) as writer:
        conv_id, _ = add_conversation(writer)
        reader = Store.open(root, readonly=True)
        for n in range(4):
            with writer.batch():
                writer.put_message(
                    Message(
                        writer.new_id("message"), conv_id, Direction.OUT, f"r{n}", created_at=T0
                    )
                )
                conv = writer.conversation(conv_id)
                conv.message_count += 1
                writer.put_conversation(conv)
            if n % 2:
                writer.checkpoint()
            conv, contact, messages = reader.snapshot(conv_id)
            assert conv.message_count + 1 == len(messages) == n + 2
            assert [m.body for m in messages][-1] == f"r{n}"
        reader.close()


def test_schema_1_cache_is_upgraded(tmp_path):
    """Schema 1 kept the dedup index in 4096 hash buckets (xid/NNNN.json) and had no journal."""
    root = tmp_path / "d"
    root.mkdir(mode=0o700)
    (root / "xid").mkdir(mode=0o700)
    (root / "messages").mkdir(mode=0o700)
    (root / "meta.json").write_text(
        json.dumps(
            {
                "meta": {
                    "1": {"schema": 1, "next": {"conversation": 2, "contact": 1, "message": 3}}
                },
                "cursors": {"1": {"sms": "7"}},
            }
        )
    )
    (root / "xid" / "0001.json").write_text(json.dumps({"xid": {"1": {"sms\x1fa": [1, 1]}}}))
    (root / "xid" / "4095.json").write_text(json.dumps({"xid": {"1": {"sms\x1fb": [1, 2]}}}))
    (root / "messages" / "1.json").write_text(
        json.dumps(
            {
                "messages": {
                    "1": {
                        "conversation_id": 1,
                        "direction": "in",
                        "body": "a",
                        "created_at": T0.isoformat(),
                    },
                    "2": {
                        "conversation_id": 1,
                        "direction": "in",
                        "body": "b",
                        "created_at": T0.isoformat(),
                    },
                }
            }
        )
    )
    with Store.open(root, readonly=True) as reader:  # no writer runs: a reader may upgrade
        assert reader.lookup_external("sms", "b") == (1, 2)
    assert not (root / "xid").exists()
    assert len(list((root / "dedup").iterdir())) == dedup_mod.DEDUP_SEGMENTS
    with Store.open(root) as store:
        assert store.lookup_external("sms", "a") == (1, 1)
        assert store.cursor("sms") == "7"
        with store.batch():
            assert store.new_id("message") == 3
    assert (
        json.loads((root / "meta.json").read_text())["meta"]["1"]["schema"]
        == upgrades_mod.SCHEMA_VERSION
    )


def test_dedup_log_with_a_torn_or_damaged_line_still_reads(tmp_path):
    path = tmp_path / "000.log"
    dedup_mod.append_xid_log(path, {"sms\x1fa": [1, 1], 'sms\x1fb\n"': [1, 2]})
    whole = path.read_bytes()
    path.write_bytes(whole + b'["sms\\u001fc",1,')  # a checkpoint killed while appending
    assert dedup_mod.read_xid_log(path) == {"sms\x1fa": (1, 1), 'sms\x1fb\n"': (1, 2)}
    dedup_mod.append_xid_log(path, {"sms\x1fd": [2, 3]})  # cuts the torn line first
    assert dedup_mod.read_xid_log(path)["sms\x1fd"] == (2, 3)
    path.write_bytes(
        whole + b"\x00" * 10 + b"\n" + b'["sms\\u001fe",2,4]\n'
    )  # blocks never written
    assert dedup_mod.read_xid_log(path) == {
        "sms\x1fa": (1, 1),
        'sms\x1fb\n"': (1, 2),
        "sms\x1fe": (2, 4),
    }


def test_hook_jobs_and_tickets_persist_and_old_records_read(tmp_path):
    from frontdesk.model import Ticket
    from frontdesk.store import HookJob
    from frontdesk.store.records import conversation_from_record

    root = tmp_path / "d"
    with Store.open(root) as store:
        conv_id, _ = add_conversation(store)
        with store.batch():
            job = HookJob(
                store.new_id("hook"),
                conv_id,
                "helpdesk",
                {"reason": "refund", "n": [1, 2]},
                "k1",
                attempts=1,
                next_attempt_at=T0,
                last_error="HTTP 503",
                created_at=T0,
            )
            store.put_hook_job(job)
            other = HookJob(store.new_id("hook"), conv_id, "pager", {}, "k2", created_at=T0)
            store.put_hook_job(other)
            conv = store.conversation(conv_id)
            conv.tickets.append(Ticket("helpdesk", "HD-7", "https://desk.example/t/7", T0))
            store.put_conversation(conv)
    with Store.open(root) as store:
        assert [
            (j.hook, j.payload, j.key, j.attempts, j.next_attempt_at, j.last_error)
            for j in store.hook_jobs()
        ] == [
            ("helpdesk", {"reason": "refund", "n": [1, 2]}, "k1", 1, T0, "HTTP 503"),
            ("pager", {}, "k2", 0, None, ""),
        ]
        assert store.conversation(conv_id).tickets == [
            Ticket("helpdesk", "HD-7", "https://desk.example/t/7", T0)
        ]
        with store.batch():
            store.delete_hook_job(store.hook_jobs()[0].id)
            assert store.new_id("hook") == 3  # ids are never reused
    with Store.open(root) as store:
        assert [j.hook for j in store.hook_jobs()] == ["pager"]
    assert (root / "hooks.json").stat().st_mode & 0o777 == 0o600
    # a conversation record written before tickets existed reads with none
    old = {
        "channel": "sms",
        "contact_id": 1,
        "thread_key": "+1",
        "status": "open",
        "created_at": T0.isoformat(),
        "last_activity_at": T0.isoformat(),
    }
    assert conversation_from_record(9, old).tickets == []


def test_contacts_read_lazily_still_answer_everything(tmp_path):
    """Contacts are read a bucket at a time; a contact put before its bucket was read wins over the file."""
    root = tmp_path / "d"
    with Store.open(root) as store:
        with store.batch():
            for n in range(1, 201):
                store.put_contact(Contact(n, f"c{n}", identities=[Identity("sms", f"+{n}")]))
    with Store.open(root) as store:
        assert store.contact(70).name == "c70"
        with store.batch():  # bucket 0 not read yet: the put one must not be replaced by the file's
            store.put_contact(
                Contact(5, "renamed", identities=[Identity("sms", "+5"), Identity("tg", "5")])
            )
        assert store.contact(5).name == "renamed"
        assert store.find_contact("tg", "5").id == 5
        assert store.find_contact("sms", "+199").name == "c199"
        assert [c.id for c in store.contacts()] == list(range(1, 201))
        assert store.contact(500) is None
    with Store.open(root) as store:
        assert store.find_contact("tg", "5").name == "renamed"
        assert len(store.contacts()) == 200


def test_writing_a_message_reads_no_message_file(tmp_path, monkeypatch):
    """A burst over more conversations than are kept in memory writes each message without
    reading its conversation's file first; every message is there when read back, also after
    a restart."""
    from frontdesk.store import damage as damage_mod
    from frontdesk.store.reads import OPEN_PARTITIONS

    root = tmp_path / "d"
    count = OPEN_PARTITIONS + 20
    with Store.open(root) as store:
        with store.batch():
            convs = []
            for n in range(count):
                conv = Conversation(store.new_id("conversation"), "sms", 1, f"+{n}", created_at=T0)
                store.put_conversation(conv)
                convs.append(conv.id)
        store.checkpoint()
        read = []
        real = damage_mod.read_tables
        monkeypatch.setattr(
            damage_mod,
            "read_tables",
            lambda path, **kw: (read.append(path.name), real(path, **kw))[1],
        )
        for round_ in range(3):
            with store.batch():
                for conv_id in convs:
                    message = Message(store.new_id("message"), conv_id, Direction.IN, f"r{round_}")
                    store.put_message(message, "sms")
        assert read == []
        assert [m.body for m in store.messages(convs[0])] == ["r0", "r1", "r2"]
        assert [m.body for m in store.messages(convs[-1])] == ["r0", "r1", "r2"]
    with Store.open(root) as store:
        assert all(len(store.messages(c)) == 3 for c in convs)


def test_a_batch_larger_than_a_write_chunk_round_trips(tmp_path):
    """A bulk import is written to the journal a file at a time, in several writes: one record still."""
    root = tmp_path / "d"
    store = Store.open(root)
    conv_id, _ = add_conversation(store)
    body = "長い本文 " * 400
    with store.batch():
        for n in range(700):
            store.put_message(
                Message(
                    store.new_id("message"),
                    conv_id + n % 3,
                    Direction.IN,
                    f"{n} {body}",
                    external_id=f"b{n}",
                    created_at=T0,
                ),
                "sms",
            )
    assert (root / "journal").stat().st_size > 2 * journal_mod.WRITE_CHUNK  # written in pieces
    store.let_go()
    with Store.open(root, readonly=True) as reader:
        assert len(reader.messages(conv_id)) == 1 + 234
    with Store.open(root) as store:
        assert sum(len(store.messages(conv_id + k)) for k in range(3)) == 701
        assert store.lookup_external("sms", "b699") is not None


async def test_sync_waits_for_an_fsync_that_started_after_the_commit(tmp_path, monkeypatch):
    """Two batches committed, then a sync starts (slow disk); a sync called meanwhile for the
    second batch must not take the first one's word: that fsync may not cover it."""
    real_fsync, started, finished = os.fsync, [], []

    def slow_fsync(fd: int) -> None:
        started.append(fd)
        time.sleep(0.2)  # a slow disk, on purpose
        real_fsync(fd)
        finished.append(fd)

    with Store.open(tmp_path) as store:
        for n in (1, 2):
            with store.batch(durable=False):
                store.put_contact(Contact(n, f"c{n}"))
        monkeypatch.setattr(os, "fsync", slow_fsync)
        first = asyncio.create_task(store.sync())
        await eventually(lambda: started, what="the first sync's fsync under way")
        await store.sync()
        assert finished  # an fsync finished before the second sync returned
        await first
        finished.clear()
        await store.sync()  # everything is covered now: no fsync at all
        assert finished == []


async def test_syncs_called_while_an_fsync_runs_share_the_next_one(tmp_path, monkeypatch):
    """Group commit: batches committed while an fsync runs wait for it, then share one more,
    and none of their syncs returns before an fsync that started after its commit ended."""
    real_fsync, started, finished = os.fsync, [], []

    def slow_fsync(fd: int) -> None:
        started.append(len(finished))
        time.sleep(0.1)  # a slow disk, on purpose
        real_fsync(fd)
        finished.append(fd)

    async def commit_and_sync(n: int) -> int:
        with store.batch(durable=False):
            store.put_contact(Contact(n, f"c{n}"))
        await store.sync()
        return len(finished)

    with Store.open(tmp_path) as store:
        monkeypatch.setattr(os, "fsync", slow_fsync)
        first = asyncio.create_task(commit_and_sync(1))
        await eventually(lambda: started, what="the first fsync under way")
        later = await asyncio.gather(*(commit_and_sync(n) for n in range(2, 40)))
        assert await first == 1
        assert len(finished) == 2  # 39 batches, two fsyncs
        assert set(later) == {2}  # each waited for the fsync that began after its commit
        assert store._synced == store._committed


async def test_a_failed_shared_fsync_fails_every_sync_waiting_on_it(tmp_path, monkeypatch):
    def broken_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    with Store.open(tmp_path) as store:
        for n in (1, 2):
            with store.batch(durable=False):
                store.put_contact(Contact(n, f"c{n}"))
        monkeypatch.setattr(os, "fsync", broken_fsync)
        results = await asyncio.gather(store.sync(), store.sync(), return_exceptions=True)
        assert [type(r) for r in results] == [StoreError, StoreError]
        assert "Input/output error" in str(results[0])
        monkeypatch.undo()
        await store.sync()  # the disk is back: the next sync makes them durable
        assert store._synced == store._committed


def test_drafts_are_kept_by_mode_across_a_restart_and_forgotten_when_empty(tmp_path):
    with Store.open(tmp_path) as store:
        with store.batch():
            store.put_draft(1, {"reply": "on its way", "note": ""})
            store.put_draft(2, {"note": "VIP"})
        assert store.draft(1) == {"reply": "on its way"}
    with Store.open(tmp_path) as store:
        assert (store.draft(1), store.draft(2), store.draft(3)) == (
            {"reply": "on its way"},
            {"note": "VIP"},
            {},
        )
        with store.batch():
            store.put_draft(2, {"note": ""})
    with Store.open(tmp_path) as store:
        assert store.draft(2) == {} and store.draft(1) == {"reply": "on its way"}
    assert json.loads((tmp_path / "drafts.json").read_text()) == {
        "drafts": {"1": {"reply": "on its way"}}
    }
