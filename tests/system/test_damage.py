"""A damaged cache: journal records, hand-edited files, missing partitions, a full disk, a read-only dir.

What can be read is read, what is lost is named in one line with where its copy is, and
the commands that check (`sync --once`, `export`, `doctor`) exit non-zero.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
import zlib
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frontdesk.model import Contact, Conversation, Direction, Identity, Message
from frontdesk.store import Store, StoreError
from frontdesk.store import journal as journal_mod
from frontdesk.store.journal import HEADER_SIZE, LEGACY_MAGIC, MAGIC, RECORD_MAGIC
from conftest import mounted_tmpfs

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)


def abandon(store: Store) -> None:
    """Let go of a store as a killed process would: no checkpoint, no cleanup."""
    store._journal.close()
    store._writer.release()


def fill(store: Store, conversations: int = 5, messages: int = 10) -> None:
    """`conversations` conversations of `messages` inbound messages each, one batch per conversation."""
    for c in range(conversations):
        with store.batch():
            contact = Contact(
                store.new_id("contact"), f"customer {c}", identities=[Identity("sms", f"+{c}")]
            )
            store.put_contact(contact)
            conv = Conversation(
                store.new_id("conversation"),
                "sms",
                contact.id,
                f"+{c}",
                created_at=T0,
                last_activity_at=T0,
                labels=["vip"],
                message_count=messages,
            )
            store.put_conversation(conv)
            for n in range(messages):
                msg = Message(
                    store.new_id("message"),
                    conv.id,
                    Direction.IN,
                    f"c{c} m{n}",
                    external_id=f"c{c}m{n}",
                    created_at=T0,
                )
                store.put_message(msg, "sms")
            store.set_cursor("sms", str(c))


def record_offsets(path: Path) -> list[tuple[int, int]]:
    """(start, end) of every record of the journal at `path`."""
    raw = path.read_bytes()
    offsets, at = [], HEADER_SIZE
    while at < len(raw):
        length = int.from_bytes(raw[at + 4 : at + 8], "little")
        offsets.append((at, at + 16 + length))
        at += 16 + length
    return offsets


def flip(path: Path, offset: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 0x20
    path.write_bytes(bytes(raw))


def bodies(store: Store) -> set[str]:
    return {m.body for conv in store.conversations() for m in store.messages(conv.id)}


# ---- the journal ------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["payload", "length"])
def test_a_damaged_journal_record_loses_only_itself(tmp_path, where):
    root = tmp_path / "data"
    store = Store.open(root)
    fill(store)
    abandon(store)
    journal = root / "journal"
    records = record_offsets(journal)
    assert len(records) == 5
    start, end = records[1]
    flip(journal, start + 20 if where == "payload" else start + 5)
    damaged = journal.read_bytes()

    with Store.open(root) as store:
        # the records after the damaged one are kept: their conversations, messages and the last cursor
        assert {c.id for c in store.conversations()} == {1, 3, 4, 5}
        assert len(bodies(store)) == 40 and "c4 m9" in bodies(store)
        assert store.cursor("sms") == "4"
        assert store.lookup_external("sms", "c4m9") is not None
        [problem] = store.problems
        assert f"1 damaged record(s) ({end - start} bytes at {start}-{end})" in problem
        assert "the 4 whole record(s) were kept" in problem
        [copy] = store.quarantine_files()
        assert f"a copy of the journal is in {copy}" in problem
        assert copy.read_bytes() == damaged and stat.S_IMODE(copy.stat().st_mode) == 0o600
    with Store.open(root) as store:  # set aside once: the next start is clean
        assert store.problems == [] and len(bodies(store)) == 40


def test_a_damaged_journal_that_cannot_be_copied_aside_is_kept_as_it_is(tmp_path, monkeypatch):
    root = tmp_path / "data"
    store = Store.open(root)
    fill(store)
    abandon(store)
    start, _ = record_offsets(root / "journal")[0]
    flip(root / "journal", start + 20)
    damaged = (root / "journal").read_bytes()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(journal_mod, "quarantine_copy", full)
    store = Store.open(root)
    assert len(bodies(store)) == 40
    assert (
        "no copy could be set aside (No space left on device), so the journal is kept as it is"
        in store.problems[0]
    )
    assert (root / "journal").read_bytes() == damaged
    with store.batch():
        store.set_cursor("sms", "after")
    abandon(store)
    monkeypatch.undo()
    with Store.open(root) as store:  # once there is space: set aside, rewritten, nothing lost
        assert len(bodies(store)) == 40 and store.cursor("sms") == "after"
        assert "a copy of the journal is in" in store.problems[0]


def test_a_reader_reads_past_a_damaged_record_and_says_so(tmp_path):
    root = tmp_path / "data"
    store = Store.open(root)
    fill(store)
    abandon(store)
    start, _ = record_offsets(root / "journal")[2]
    flip(root / "journal", start + 30)
    with Store.open(root, readonly=True) as reader:
        assert {c.id for c in reader.conversations()} == {1, 2, 4, 5}
        assert reader.cursor("sms") == "4"
        assert len(reader.problems) == 1 and "damaged record" in reader.problems[0]
        assert "start frontdesk (not read-only) to set a copy aside" in reader.problems[0]


def test_a_torn_tail_is_cut_without_a_word_but_a_whole_bad_last_record_is_reported(tmp_path):
    root = tmp_path / "data"
    store = Store.open(root)
    fill(store, conversations=2)
    abandon(store)
    journal = root / "journal"
    whole = journal.read_bytes()
    journal.write_bytes(
        whole + bytes(16) + b'{"messages/9.json": {"messa'
    )  # killed while appending
    with Store.open(root) as store:
        assert store.problems == [] and len(bodies(store)) == 20
    store = Store.open(root)
    fill(store, conversations=1)
    abandon(store)
    start, end = record_offsets(journal)[-1]
    flip(journal, end - 3)  # the last record's payload, its header intact: not what a kill leaves
    with Store.open(root) as store:
        assert len(bodies(store)) == 20
        [problem] = store.problems
        assert f"its last record ({end - start} bytes) fails its checksum" in problem
        assert store.quarantine_files()


def legacy_journal(generation: int, batches: list[dict]) -> bytes:
    out = LEGACY_MAGIC + generation.to_bytes(8, "little")
    for batch in batches:
        payload = json.dumps(batch).encode()
        out += (
            len(payload).to_bytes(4, "little") + zlib.crc32(payload).to_bytes(4, "little") + payload
        )
    return out


def test_a_journal_of_the_first_format_is_replayed_and_rewritten(tmp_path):
    root = tmp_path / "data"
    with Store.open(root) as store:
        fill(store, conversations=1)
    meta = json.loads((root / "meta.json").read_text())
    meta["meta"]["1"]["schema"] = 2  # what the previous frontdesk wrote beside such a journal
    (root / "meta.json").write_text(json.dumps(meta))
    message = {
        "conversation_id": 1,
        "direction": "in",
        "body": "from the old journal",
        "external_id": "old1",
        "created_at": T0.isoformat(),
    }
    (root / "journal").write_bytes(
        legacy_journal(
            7,
            [
                {"messages/1.json": {"messages": {"500": message}}},
                {"meta.json": {"cursors": {"1": {"sms": "old"}}}},
            ],
        )
    )
    with Store.open(root, readonly=True) as reader:  # a reader reads it as it is
        assert "from the old journal" in bodies(reader) and reader.cursor("sms") == "old"
    store = Store.open(root)
    assert store.problems == []
    assert "from the old journal" in bodies(store) and store.cursor("sms") == "old"
    assert (root / "journal").read_bytes().startswith(MAGIC)
    abandon(store)
    with Store.open(root) as store:  # the rewritten journal replays the same
        assert "from the old journal" in bodies(store) and store.cursor("sms") == "old"
    assert json.loads((root / "meta.json").read_text())["meta"]["1"]["schema"] == 3


def test_a_garbage_journal_header_keeps_the_records(tmp_path):
    root = tmp_path / "data"
    store = Store.open(root)
    fill(store, conversations=3)
    abandon(store)
    raw = bytearray((root / "journal").read_bytes())
    raw[:HEADER_SIZE] = os.urandom(HEADER_SIZE).replace(RECORD_MAGIC[:1], b"x")
    (root / "journal").write_bytes(bytes(raw))
    with Store.open(root) as store:
        assert len(bodies(store)) == 30 and store.cursor("sms") == "2"
        [problem] = store.problems
        assert "its header is damaged" in problem and "the 3 whole record(s) were kept" in problem


@given(
    st.lists(
        st.dictionaries(
            st.text(max_size=5),
            st.dictionaries(
                st.text(max_size=3),
                st.dictionaries(st.text(max_size=3), st.none() | st.integers() | st.text()),
                max_size=2,
            ),
            max_size=3,
        ),
        max_size=6,
    ),
    st.lists(st.binary(max_size=40), max_size=6),
    st.data(),
)
def test_parse_finds_every_whole_record_whatever_lies_between(batches, garbage, data):
    """Bytes between records (damage) cost nothing but themselves; parse never raises."""
    raw = b""
    for n, batch in enumerate(batches):
        raw += journal_mod.record_bytes(json.dumps(batch).encode())
        if n < len(garbage):
            raw += garbage[n]
    records, _, _ = journal_mod.parse(raw)
    assert records == batches
    cut = data.draw(st.integers(0, len(raw)))
    journal_mod.parse(raw[:cut] + raw[cut + 1 :])  # any damage: no exception


# ---- hand-damaged files -------------------------------------------------------------------------


@pytest.fixture
def checkpointed(tmp_path) -> Path:
    root = tmp_path / "data"
    with Store.open(root) as store:
        fill(store)
    return root


def test_a_flipped_byte_in_a_conversation_file_costs_that_record(checkpointed):
    path = checkpointed / "conversations/0000.json"
    text = path.read_text()
    path.write_text(text.replace('"created_at"', '"crdated_at"', 1))
    with Store.open(checkpointed) as store:
        assert len(store.conversations()) == 4
        [problem] = store.problems
        assert (
            str(path) in problem
            and "1 damaged conversations record(s) left out: 1 (KeyError: 'created_at')" in problem
        )
        assert "a copy is in" in problem and "frontdesk doctor --repair" in problem


def test_a_file_cut_in_half_is_read_as_far_as_it_goes(checkpointed):
    path = checkpointed / "conversations/0000.json"
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with Store.open(checkpointed) as store:
        assert 1 <= len(store.conversations()) < 5
        assert any(f"{path} is not valid JSON" in p for p in store.problems)
        assert store.quarantine_files()[0].read_bytes() == raw[: len(raw) // 2]
    with Store.open(checkpointed) as store:  # still damaged, still said, but set aside once
        assert any(f"{path} is not valid JSON" in p for p in store.problems)
        assert len(store.quarantine_files()) == 1


def test_a_wrong_type_is_a_damaged_record(checkpointed):
    path = checkpointed / "conversations/0000.json"
    data = json.loads(path.read_text())
    data["conversations"]["2"]["labels"] = 5
    path.write_text(json.dumps(data))
    with Store.open(checkpointed) as store:
        assert {c.id for c in store.conversations()} == {1, 3, 4, 5}
        assert "2 (TypeError" in store.problems[0]


@pytest.mark.parametrize("field", ["body", "author", "delivery_reason"])
def test_a_message_text_of_the_wrong_type_is_a_damaged_record(checkpointed, field):
    # body = 5 was read as it was and the console stopped on it ('int' object has no attribute 'split')
    path = checkpointed / "messages/2.json"
    data = json.loads(path.read_text())
    data["messages"]["12"][field] = 5
    path.write_text(json.dumps(data))
    with Store.open(checkpointed) as store:
        assert [m.id for m in store.messages(2)] == [11, *range(13, 21)]
        assert "12 (TypeError" in store.problems[0]


@pytest.mark.parametrize(
    ("table", "field", "value"),
    [
        ("conversations", "preview", 5),
        ("conversations", "subject", ["x"]),
        ("conversations", "thread_key", 7),
        ("conversations", "channel", None),
        ("conversations", "unread", "3"),
        ("conversations", "message_count", 2.5),
        ("conversations", "contact_id", "2"),
        ("contacts", "name", 5),
        ("contacts", "notes", {}),
        ("contacts", "language", 1),
    ],
)
def test_a_text_or_count_of_the_wrong_type_is_a_damaged_record(checkpointed, table, field, value):
    path = checkpointed / f"{table}/0000.json"
    data = json.loads(path.read_text())
    data[table]["2"][field] = value
    path.write_text(json.dumps(data))
    with Store.open(checkpointed) as store:
        if table == "conversations":
            assert {c.id for c in store.conversations()} == {1, 3, 4, 5}
        else:
            assert {c.id for c in store.contacts()} == {1, 3, 4, 5}
        assert "2 (TypeError" in store.problems[0]


def test_damaged_text_in_a_problem_line_is_inert(checkpointed):
    path = checkpointed / "conversations/0000.json"
    data = json.loads(path.read_text())
    data["conversations"]["2"]["status"] = "\x1b]52;c;ZWNobyBwd25lZA==\x07open"
    path.write_text(json.dumps(data))
    with Store.open(checkpointed) as store:
        [problem] = store.problems
        assert (
            "2 (ValueError: '\\x1b]52;c;ZWNobyBwd25lZA==\\x07open' is not a valid Status)"
            in problem
        )
        assert all(ch.isprintable() for ch in problem)


def test_an_emptied_file_is_a_problem_not_an_empty_table(checkpointed):
    (checkpointed / "conversations/0000.json").write_bytes(b"")
    with Store.open(checkpointed) as store:
        assert store.conversations() == []
        assert any("conversations/0000.json is empty (0 bytes)" in p for p in store.problems)
        assert any(
            "5 message file(s)" in p and "have no conversation record" in p for p in store.problems
        )


def test_a_deleted_message_file_is_reported_and_repair_recounts_and_forgets_its_dedup(checkpointed):
    (checkpointed / "messages/3.json").unlink()
    with Store.open(checkpointed) as store:
        assert any(
            "messages/3.json is missing: conversation 3 says it has 10 messages" in p
            for p in store.problems
        )
        assert store.lookup_external("sms", "c2m0") is not None  # would drop a redelivery
        done, left = store.repair()
        assert "conversation 3: message count 10 -> 0" in done
        assert any(
            "dedup index: 10 entries for messages that are gone dropped" in line for line in done
        )
    with Store.open(checkpointed) as store:
        assert store.problems == []
        assert (
            store.lookup_external("sms", "c2m0") is None
            and store.conversation(3).message_count == 0
        )


def test_repair_rewrites_a_damaged_file_with_what_could_be_read(checkpointed):
    path = checkpointed / "conversations/0000.json"
    data = json.loads(path.read_text())
    data["conversations"]["2"]["labels"] = 5
    path.write_text(json.dumps(data))
    with Store.open(checkpointed) as store:
        done, left = store.repair()
        assert any(f"rewrote {path} with the 4 record(s)" in line for line in done)
        assert any("messages/2.json: its conversation record is lost" in line for line in left)
    with Store.open(checkpointed) as store:
        assert len(store.conversations()) == 4
        assert store.problems == [
            f"1 message file(s) in {checkpointed} have no conversation record "
            "(messages/2.json): their conversations' records are damaged or lost; they are not shown"
        ]


def test_lost_id_counters_are_set_past_every_id(checkpointed):
    path = checkpointed / "meta.json"
    data = json.loads(path.read_text())
    del data["meta"]["1"]["next"]
    path.write_text(json.dumps(data))
    with Store.open(checkpointed) as store:
        assert any("had lost its id counters" in p for p in store.problems)
        with store.batch():
            assert store.new_id("conversation") == 6 and store.new_id("message") == 51
    with Store.open(checkpointed) as store:
        assert store.problems == []


@pytest.mark.parametrize(
    "damage",
    [
        {"message": "x"},
        {"conversation": None},
        {"contact": 2.5},
        {"message": True},
        {"message": -3},
        "drop-message",
    ],
)
def test_id_counters_of_the_wrong_type_are_lost_counters(checkpointed, damage):
    # a counter that is not a whole number failed every new record ('quarantined a bad event'
    # for every message a channel sent, exit 0); one missing would start again at 1
    path = checkpointed / "meta.json"
    data = json.loads(path.read_text())
    if damage == "drop-message":
        del data["meta"]["1"]["next"]["message"]
    else:
        data["meta"]["1"]["next"].update(damage)
    path.write_text(json.dumps(data))
    with Store.open(checkpointed) as store:
        assert any("had lost its id counters" in p for p in store.problems)
        with store.batch():
            assert (
                store.new_id("conversation") == 6
                and store.new_id("contact") == 6
                and store.new_id("message") == 51
            )


def test_lost_counters_also_skip_past_hook_and_quarantine_ids(checkpointed):
    with Store.open(checkpointed) as store:
        with store.batch():
            store.quarantine("sms", "{}", "bad")
            store.quarantine("sms", "{}", "bad again")
    path = checkpointed / "meta.json"
    data = json.loads(path.read_text())
    del data["meta"]["1"]["next"]
    path.write_text(json.dumps(data))
    with Store.open(checkpointed) as store:
        with store.batch():
            store.quarantine("sms", "{}", "third")
        assert sorted(q["reason"] for q in store.quarantined()) == ["bad", "bad again", "third"]


def run(*args: str, data: Path, config: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env.update(
        FRONTDESK_DATA_DIR=str(data),
        FRONTDESK_CONFIG=str(config or data.parent / "none.toml"),
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    return subprocess.run(
        [sys.executable, "-m", "frontdesk", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_commands_name_the_damage_and_exit_non_zero(tmp_path):
    root = tmp_path / "data"
    store = Store.open(root)
    fill(store)
    abandon(store)
    start, _ = record_offsets(root / "journal")[1]
    flip(root / "journal", start + 20)
    (tmp_path / "config.toml").write_text(
        '[[channels]]\nname = "sms"\nbackend = "demo"\nlive = false\n'
    )

    export = run("export", data=root)
    assert export.returncode == 1 and "Traceback" not in export.stderr
    assert len(export.stdout.splitlines()) == 4  # every conversation outside the damaged record
    assert "cache damaged: journal" in export.stderr and "damaged record" in export.stderr

    sync = run("sync", "--once", data=root, config=tmp_path / "config.toml")
    assert sync.returncode == 1, sync.stderr
    [line] = [line for line in sync.stderr.splitlines() if "cache damaged" in line]
    assert "the batches they held are lost" in line and "a copy of the journal is in" in line

    doctor = run("doctor", data=root)
    assert doctor.returncode == 1
    assert "was set aside from a damaged cache; look at it, then delete it" in doctor.stdout


def test_doctor_reads_every_file_and_repair_fixes_what_it_can(checkpointed):
    (checkpointed / "messages/3.json").unlink()
    doctor = run("doctor", data=checkpointed)
    assert doctor.returncode == 1 and "Traceback" not in doctor.stderr
    assert "messages/3.json is missing" in doctor.stdout and "cache damaged" not in doctor.stderr
    repair = run("doctor", "--repair", data=checkpointed)
    assert "repaired: conversation 3: message count 10 -> 0" in repair.stdout, (
        repair.stdout + repair.stderr
    )
    again = run("doctor", data=checkpointed)
    assert f"ok: cache {checkpointed}" in again.stdout, again.stdout


# ---- a full disk --------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A real 8 MB file system (tmpfs), so the disk fills as it would in the field."""
    with mounted_tmpfs(tmp_path / "disk", "8m") as mount:
        yield mount


def free_bytes(path: Path) -> int:
    info = os.statvfs(path)
    return info.f_bavail * info.f_frsize


def leave_free(mount: Path, keep: int) -> Path:
    """Fill the disk but `keep` bytes with one file."""
    filler = mount / "filler"
    with filler.open("ab") as f:
        f.write(b"\0" * max(0, free_bytes(mount) - keep))
    return filler


def scratch_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in (root / "tmp").iterdir())


def test_a_failed_checkpoint_gives_its_scratch_space_back_then_and_at_start(small_disk):
    root = small_disk / "data"
    with Store.open(root) as store:
        fill(store)
    store = Store.open(root)
    with store.batch():  # 1 MB in the journal; the checkpoint must rewrite the five message files
        for conv in store.conversations():
            store.put_message(
                Message(
                    store.new_id("message"), conv.id, Direction.IN, "x" * 200_000, created_at=T0
                )
            )
    leave_free(small_disk, 500_000)
    store.close()  # its checkpoint fails half-way: the journal keeps every change
    assert scratch_bytes(root) == 0
    assert free_bytes(small_disk) >= 400_000

    (root / "tmp" / "0.json").write_bytes(
        b"y" * 300_000
    )  # what a checkpoint killed half-way leaves
    with Store.open(root) as store:
        assert scratch_bytes(root) == 0
        assert (
            sum(len(m.body) for c in store.conversations() for m in store.messages(c.id))
            >= 1_000_000
        )


async def test_a_batch_larger_than_the_free_space_is_split(small_disk):
    from frontdesk.desk import Desk
    from frontdesk.model import ContactRef, Inbound

    root = small_disk / "data"
    events = [
        Inbound(
            f"e{n}", f"+{n % 4}", ContactRef(f"+{n % 4}"), f"{n} " + "z" * 20_000, created_at=T0
        )
        for n in range(20)
    ]
    with Store.open(root) as store:
        filler = leave_free(small_disk, 300_000)
        desk = Desk(store, {}, agent="a")
        with pytest.raises(StoreError) as failed:  # the whole batch cannot fit: what fits is kept
            await desk.ingest("sms", events, cursor="20")
        assert failed.value.disk_full
        kept = {m.external_id for c in store.conversations() for m in store.messages(c.id)}
        assert len(kept) >= 8 and store.cursor("sms") is None
        filler.unlink()
        await desk.ingest("sms", events, cursor="20")  # the channel's retry once space is back
        assert sorted(
            m.external_id for c in store.conversations() for m in store.messages(c.id)
        ) == sorted(f"e{n}" for n in range(20))
        assert store.cursor("sms") == "20"


# ---- a read-only data dir, loose modes ---------------------------------------------------------------


def test_a_read_only_data_dir_is_named_and_export_still_reads(small_disk, tmp_path):
    root = small_disk / "data"
    with Store.open(root) as store:
        fill(store, conversations=2)
    for lock_file in (True, False):  # with the lock file a writer left, and without one
        if not lock_file:
            subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
            (root / "commit.lock").unlink()
        subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
        export = run("export", data=root)
        assert export.returncode == 0, export.stderr
        assert len(export.stdout.splitlines()) == 2
    (tmp_path / "config.toml").write_text(
        '[[channels]]\nname = "sms"\nbackend = "demo"\nlive = false\n'
    )
    sync = run("sync", "--once", data=root, config=tmp_path / "config.toml")
    assert sync.returncode != 0
    [line] = sync.stderr.splitlines()
    assert line.startswith(f"frontdesk: read-only data dir {root}: cannot write writer.lock")


def test_files_left_readable_by_others_are_tightened(tmp_path):
    root = tmp_path / "data"
    with Store.open(root) as store:
        fill(store, conversations=2)
    (root / "tmp" / "0.json").write_bytes(b"{}")
    for path in root.rglob("*"):
        if path.is_file():
            path.chmod(0o644)
    with Store.open(root) as store:
        store.messages(1)
        store.contacts()
        with store.batch():
            store.index_external("sms", "new", 1, 1)
    loose = [
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and stat.S_IMODE(p.stat().st_mode) != 0o600
    ]
    # every file the session opened was tightened; the others (a thread not read, dedup logs not
    # asked) wait for their first read, behind directories that were made 0700 at the start
    assert [p for p in loose if not p.startswith("dedup/")] == ["messages/2.json"]
    assert len(loose) < len(list(root.glob("dedup/*"))) + 1 and all(
        stat.S_IMODE(d.stat().st_mode) == 0o700 for d in [root, *root.iterdir()] if d.is_dir()
    )


_RECORDS = st.dictionaries(
    st.integers(1, 10_000).map(str),
    st.dictionaries(
        st.sampled_from(["body", "labels", "n", "1"]),
        st.text(max_size=8) | st.integers() | st.lists(st.text(max_size=3)),
    ),
    max_size=5,
)


@given(
    st.dictionaries(st.sampled_from(["conversations", "messages", "meta"]), _RECORDS, min_size=1),
    st.data(),
)
def test_salvage_reads_every_record_of_a_whole_file_and_never_raises_on_a_damaged_one(tables, data):
    from frontdesk.store.storage import encode, salvage

    raw = encode(tables)
    assert salvage(raw) == {name: rows for name, rows in tables.items() if rows}
    at = data.draw(st.integers(0, len(raw) - 1))
    damaged = raw[:at] + bytes([raw[at] ^ data.draw(st.integers(1, 255))]) + raw[at + 1 :]
    found = salvage(damaged)
    assert all(isinstance(rows, dict) for rows in found.values())
    assert (
        sum(map(len, found.values())) <= sum(map(len, tables.values())) + 5
    )  # nothing much invented
    salvage(raw[:at])  # cut short: no exception either


def test_a_failed_checkpoint_takes_back_its_dedup_appends(tmp_path, monkeypatch):
    """Each failed attempt appended the same entries again: a full disk only got fuller."""
    from frontdesk.store import checkpoints as checkpoints_mod

    root = tmp_path / "data"
    with Store.open(root) as store:
        fill(store, conversations=1)
    store = Store.open(root)
    fill(store, conversations=2)
    sizes = {p.name: p.stat().st_size for p in (root / "dedup").iterdir()}

    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoints_mod, "sync_files", full)
    for _ in range(3):
        store._checkpoint_safely()
    assert {p.name: p.stat().st_size for p in (root / "dedup").iterdir()} == sizes
    monkeypatch.undo()
    store.close()
    with Store.open(root) as store:
        assert store.lookup_external("sms", "c1m9") == (3, 30)
        assert sum(len(store.messages(c.id)) for c in store.conversations()) == 30


async def test_the_console_opens_with_the_damage_in_a_notice(tmp_path):
    from frontdesk.commands.console import cache_problems
    from frontdesk.desk import Desk
    from pilot_helpers import make_app, idle

    root = tmp_path / "data"
    store = Store.open(root)
    fill(store)
    abandon(store)
    start, _ = record_offsets(root / "journal")[1]
    flip(root / "journal", start + 20)
    with Store.open(root) as store:
        desk = Desk(store, agent="Aiko")
        app = make_app(desk, notices=cache_problems(desk))
        async with app.run_test(size=(160, 50), notifications=True) as pilot:
            await idle(pilot)
            toasts = " ".join(
                " ".join(str(toast.render()).split()) for toast in app.screen.query("Toast")
            )
            assert (
                "Cache damaged" in toasts
                and "damaged record(s)" in toasts
                and "a copy of the journal is in" in toasts
            )


def test_a_symlink_planted_in_tmp_is_never_written_through(tmp_path):
    # tmp/ is the store's own scratch space: a link there (a restored backup's, or planted)
    # must not let a checkpoint write the cache into, or chmod, a file outside the data dir
    root = tmp_path / "data"
    victim = tmp_path / "victim.txt"
    victim.write_text("not the cache's")
    victim.chmod(0o644)
    with Store.open(root) as store:
        fill(store, conversations=2)
    for n in range(64):
        (root / "tmp" / f"{n}.json").unlink(missing_ok=True)
        (root / "tmp" / f"{n}.json").symlink_to(victim)
    (root / "tmp" / "journal.new").symlink_to(victim)
    with Store.open(root) as store:
        fill(store, conversations=2)
        for n in range(64):  # planted while it runs: the checkpoint must not follow them either
            (root / "tmp" / f"{n}.json").unlink(missing_ok=True)
            (root / "tmp" / f"{n}.json").symlink_to(victim)
        (root / "tmp" / "journal.new").unlink(missing_ok=True)
        (root / "tmp" / "journal.new").symlink_to(victim)
        with store.batch():
            store.index_external("sms", "more", 1, 1)
    assert victim.read_text() == "not the cache's" and stat.S_IMODE(victim.stat().st_mode) == 0o644
    assert not [p for p in root.rglob("*") if p.is_symlink() and p.parent.name != "tmp"]
    with Store.open(root) as store:
        assert sum(len(store.messages(conv.id)) for conv in store.conversations()) == 40


def test_a_dangling_symlink_in_quarantine_creates_nothing_outside(checkpointed, tmp_path):
    # a damaged file's copy is named by its content's CRC, so the name can be guessed ahead
    path = checkpointed / "conversations/0000.json"
    path.write_text(path.read_text().replace('"labels":["vip"]', '"labels":5', 1))
    outside = tmp_path / "planted.txt"
    (checkpointed / "quarantine").mkdir()
    copy = (
        checkpointed / "quarantine" / f"conversations-0000.json-{zlib.crc32(path.read_bytes()):08x}"
    )
    copy.symlink_to(outside)
    with Store.open(checkpointed) as store:
        assert any("conversations/0000.json" in line for line in store.problems)
    assert not outside.exists()
    assert copy.is_file() and not copy.is_symlink() and copy.read_bytes() == path.read_bytes()


@pytest.mark.parametrize(
    "line",
    [b"[1,2]", b'{"a":1}', b'["k",[],{}]', b'["k",1]', b'[["k"],1,2]', b'["k","1",true]', b"5"],
)
def test_a_dedup_line_of_the_wrong_shape_is_skipped_like_a_torn_one(checkpointed, line):
    # valid JSON of another shape took the one-parse path and failed the lookup or the repair
    for log_path in (checkpointed / "dedup").iterdir():
        with log_path.open("ab") as f:
            f.write(line + b"\n")
    with Store.open(checkpointed) as store:
        assert store.lookup_external("sms", "c1m9") == (2, 20)
        assert store.lookup_external("sms", "nothing") is None
        store.repair()
    with Store.open(checkpointed) as store:
        assert store.lookup_external("sms", "c4m0") is not None


@pytest.mark.parametrize("folder", ["tmp", "quarantine"])
def test_tmp_or_quarantine_planted_as_a_link_to_another_folder_is_replaced(
    checkpointed, tmp_path, folder
):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "0.json").write_text("someone's file")
    outside.chmod(0o755)
    link = checkpointed / folder
    if link.exists():
        for entry in link.iterdir():
            entry.unlink()
        link.rmdir()
    link.symlink_to(outside)
    path = checkpointed / "conversations/0000.json"
    path.write_text(
        path.read_text().replace('"labels":["vip"]', '"labels":5', 1)
    )  # something to set aside
    with Store.open(checkpointed) as store:
        fill(store, conversations=1)
    assert (
        sorted(p.name for p in outside.iterdir()) == ["0.json"]
        and (outside / "0.json").read_text() == "someone's file"
    )
    assert stat.S_IMODE(outside.stat().st_mode) == 0o755
    assert not link.is_symlink() and link.is_dir()
