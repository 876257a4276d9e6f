"""Crash suite: SIGKILL a desk under load at seeded random moments, then check the cache.

After every kill: the store opens; every message the channel handed over up to the
committed cursor is there exactly once and nothing beyond it; every reply the agent saw
accepted is still there with a truthful state (sent only if the channel got it, pending
only while in the outbox, unconfirmed when the outcome is unknown); no reply reached the
channel twice. `--trials N` (default 20) sets the number of kills; the README's
Reliability section gives the figures of the long run.

After every kill, a copy of the data dir also gets one byte flipped in a random journal
record that has whole records after it (a corrupt-record trial): the copy must open, keep
everything the other records hold, and report the damage with a copy set aside. A second
run kills the desk on a 2 MB file system that fills up (disk-full trials).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from frontdesk.model import Delivery, Direction, MessageKind
from frontdesk.store import Store
from frontdesk.store import journal as journal_mod
from frontdesk.store.records import message_to_record
from conftest import mounted_tmpfs

WORKER = Path(__file__).with_name("crash_worker.py")
SEED = 20261122


def run_and_kill(
    data_dir: Path,
    channel_log: Path,
    ack_log: Path,
    seed: int,
    after: float,
    *,
    may_stop: bool = False,
) -> bool:
    """Start the worker, kill it after `after` seconds; False if it stopped by itself (only with
    `may_stop`: on a full disk it may not even start)."""
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), str(data_dir), str(channel_log), str(ack_log), str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready = proc.stdout.readline()
        if may_stop and ready.strip() != "ready":
            proc.wait(timeout=30)
            assert "No space left on device" in proc.stderr.read()
            return False
        assert ready.strip() == "ready", proc.stderr.read()
        time.sleep(after)
        if not may_stop:
            assert proc.poll() is None, f"worker died by itself: {proc.stderr.read()}"
        return proc.poll() is None
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)


def lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def check_cache(data_dir: Path, channel_log: Path, ack_log: Path) -> dict[str, int]:
    """Open the cache as the next start would and return counts of every kind of defect."""
    defects = Counter()
    with Store.open(data_dir) as store:
        cursor = int(store.cursor("sim") or 0)
        inbound = Counter()
        replies = {}
        for conv in store.conversations():
            messages = store.messages(conv.id)
            if conv.message_count != len(messages):
                defects["conversation counts off"] += 1
            for m in messages:
                if m.direction is Direction.IN:
                    inbound[m.external_id] += 1
                elif not m.private and m.kind is MessageKind.TEXT:
                    replies[m.id] = m
        expected = {f"m{n}" for n in range(1, cursor + 1)}
        defects["lost"] += len(expected - set(inbound))
        defects["beyond cursor"] += len(set(inbound) - expected)
        defects["duplicated"] += sum(count - 1 for count in inbound.values())

        sent_to_channel = Counter(int(x) for x in lines(channel_log))
        defects["sent twice"] += sum(1 for count in sent_to_channel.values() if count > 1)
        outbox = {e.message_id: e for e in store.outbox()}
        defects["accepted reply lost"] += sum(
            1 for message_id in accepted(ack_log) if message_id not in replies
        )
        for message_id, m in replies.items():
            entry = outbox.get(message_id)
            reached = message_id in sent_to_channel
            if m.delivery is Delivery.PENDING and entry is None:
                defects["pending without outbox entry"] += 1
            elif m.delivery is Delivery.SENT and not reached:
                defects["sent but channel never got it"] += 1
            elif m.delivery is Delivery.PENDING and reached and entry.state != "sending":
                defects["channel got it but desk would send again"] += 1
            elif m.delivery not in (
                Delivery.PENDING,
                Delivery.SENT,
                Delivery.UNCONFIRMED,
                Delivery.FAILED,
            ):
                defects["impossible state"] += 1
    return dict(defects)


def stored_messages(data_dir: Path) -> tuple[dict[tuple[int, int], dict], list[str], list[Path]]:
    """Every message the cache holds as its record, the problems it reported, what it set aside."""
    with Store.open(data_dir) as store:
        held = {
            (c.id, m.id): message_to_record(m)
            for c in store.conversations()
            for m in store.messages(c.id)
        }
        return held, list(store.problems), store.quarantine_files()


def whole_records(path: Path) -> list[tuple[int, int, dict]]:
    """(start, end, changes) of every whole record of the journal at `path`, up to its tail."""
    raw = path.read_bytes()
    found, at = [], journal_mod.HEADER_SIZE
    while True:
        length = int.from_bytes(raw[at + 4 : at + 8], "little")
        records, _, _ = journal_mod.parse(raw[at : at + 16 + length])
        if len(records) != 1:
            return found
        found.append((at, at + 16 + length, records[0]))
        at += 16 + length


def corrupt_record_trial(data_dir: Path, scratch: Path, rng: random.Random) -> Counter:
    """Flip one byte of a journal record with whole records after it, in a copy of the data dir,
    and compare what the copy keeps with what an undamaged copy keeps."""
    counts = Counter()
    records = whole_records(data_dir / "journal")
    if len(records) < 2:
        return counts  # the kill came right after a checkpoint: no record has one after it
    pristine, damaged = scratch / "pristine", scratch / "damaged"
    for copy in (pristine, damaged):
        shutil.copytree(data_dir, copy)
    start, end, changes = records[rng.randrange(len(records) - 1)]
    raw = bytearray((damaged / "journal").read_bytes())
    raw[rng.randrange(start, end)] ^= 1 << rng.randrange(8)
    (damaged / "journal").write_bytes(bytes(raw))
    in_bad_record = {
        (int(relpath[len("messages/") : -len(".json")]), int(key))
        for relpath, tables in changes.items()
        if relpath.startswith("messages/")
        for key in tables.get("messages", {})
    }
    expected, _, _ = stored_messages(pristine)
    held, problems, aside = stored_messages(damaged)
    counts["corrupt-record trials"] += 1
    counts["corrupt records reported"] += int(
        len(problems) == 1 and "damaged record" in problems[0] and len(aside) == 1
    )
    counts["corrupt records not reported"] += int(not (len(problems) == 1 and len(aside) == 1))
    counts["whole records besides the corrupt one"] += len(records) - 1
    outside = {key: record for key, record in expected.items() if key not in in_bad_record}
    counts["lost outside the corrupt record"] += sum(1 for key in outside if key not in held)
    counts["changed outside the corrupt record"] += sum(
        1 for key, record in outside.items() if key in held and held[key] != record
    )
    counts["invented by a corrupt record"] += sum(1 for key in held if key not in expected)
    shutil.rmtree(scratch)
    return counts


def accepted(ack_log: Path) -> list[int]:
    """Ids of the replies whose `desk.reply` returned (lines "conversation message")."""
    text = ack_log.read_text() if ack_log.exists() else ""
    return [int(line.split()[1]) for line in text.splitlines() if line.strip()]


@pytest.mark.slow
def test_sigkill_never_loses_duplicates_or_corrupts(tmp_path, request):
    trials = request.config.getoption("--trials", default=20) or 20
    rng = random.Random(SEED)
    data_dir, channel_log, ack_log = (
        tmp_path / "data",
        tmp_path / "channel.log",
        tmp_path / "ack.log",
    )
    totals = Counter()
    for trial in range(trials):
        run_and_kill(
            data_dir,
            channel_log,
            ack_log,
            seed=rng.randrange(1 << 30),
            after=rng.uniform(0.05, 0.8),
        )
        try:
            totals.update(corrupt_record_trial(data_dir, tmp_path / "corrupt", rng))
        except Exception as exc:  # the damaged copy did not open
            totals["corrupt copy did not open"] += 1
            print(f"trial {trial}, corrupt record: {type(exc).__name__}: {exc}")
        try:
            defects = check_cache(data_dir, channel_log, ack_log)
        except Exception as exc:  # the store did not open: corruption
            defects = {"store did not open": 1}
            print(f"trial {trial}: {type(exc).__name__}: {exc}")
        totals.update(defects)
        totals["trials"] += 1
    report = summarize(totals, data_dir, channel_log, ack_log, "crash suite")
    assert totals["corrupt-record trials"] > trials // 4, (
        f"too few kills left a record to corrupt: {report}"
    )


FIGURES = {
    "trials",
    "messages",
    "cursor",
    "replies accepted",
    "replies reaching channel",
    "corrupt-record trials",
    "corrupt records reported",
    "whole records besides the corrupt one",
    "trials ending with the disk full",
    "cursor before space came back",
    "worker stopped by the full disk",
    "kept beyond the cursor by split batches",
}


def summarize(totals: Counter, data_dir: Path, channel_log: Path, ack_log: Path, name: str) -> str:
    """Print the figures and assert that no defect was counted; returns the report."""
    with Store.open(data_dir) as store:
        totals["messages"] = sum(c.message_count for c in store.conversations())
        totals["cursor"] = int(store.cursor("sim") or 0)
    totals["replies accepted"] = len(accepted(ack_log))
    totals["replies reaching channel"] = len(lines(channel_log))
    report = ", ".join(f"{k}: {v}" for k, v in sorted(totals.items()))
    print(f"\n{name}: {report}")
    defects = {k: v for k, v in totals.items() if k not in FIGURES and v}
    assert defects == {}, report
    assert totals["cursor"] > 0 and totals["replies accepted"] > 0, (
        "the load never ran: the suite proved nothing"
    )
    return report


def split_batches(defects: dict[str, int]) -> dict[str, int]:
    """On a full disk a batch is split and its first parts kept before the cursor moves: stored
    messages beyond the cursor are then expected (the channel sends them again, dedup drops them)."""
    defects = dict(defects)
    defects["kept beyond the cursor by split batches"] = defects.pop("beyond cursor", 0)
    return defects


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs: the desk fills it within a kill or two."""
    with mounted_tmpfs(tmp_path / "disk", "2m") as mount:
        yield mount


@pytest.mark.slow
def test_sigkill_on_a_full_disk_loses_nothing_and_recovers_when_space_returns(
    small_disk, tmp_path, request
):
    trials = max(4, (request.config.getoption("--trials", default=20) or 20) // 2)
    rng = random.Random(SEED + 1)
    data_dir, channel_log, ack_log = (
        small_disk / "data",
        tmp_path / "channel.log",
        tmp_path / "ack.log",
    )
    totals = Counter()
    for trial in range(trials):
        # a little more room each time: every start has room to work, and fills the disk again
        subprocess.run(
            ["mount", "-o", f"remount,size={2048 + 192 * trial}k", str(small_disk)], check=True
        )
        killed = run_and_kill(
            data_dir,
            channel_log,
            ack_log,
            seed=rng.randrange(1 << 30),
            after=rng.uniform(0.5, 2.0),
            may_stop=True,
        )  # a full disk may stop the worker before the kill: that is not a defect
        totals["worker stopped by the full disk"] += int(not killed)
        statvfs = os.statvfs(small_disk)
        totals["trials ending with the disk full"] += int(
            statvfs.f_bavail * statvfs.f_frsize < 256 * 1024
        )
        try:
            defects = split_batches(check_cache(data_dir, channel_log, ack_log))
        except Exception as exc:
            defects = {"store did not open": 1}
            print(f"trial {trial}: {type(exc).__name__}: {exc}")
        totals.update(defects)
        totals["trials"] += 1
    assert totals["trials ending with the disk full"] > 0, (
        "the disk never filled: the trials proved nothing"
    )
    with Store.open(
        data_dir
    ) as store:  # a start on a full disk gives back the scratch files' space
        totals["scratch bytes left after a restart"] += sum(
            p.stat().st_size for p in (data_dir / "tmp").iterdir()
        )
        stuck_at = int(store.cursor("sim") or 0)
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    run_and_kill(data_dir, channel_log, ack_log, seed=rng.randrange(1 << 30), after=1.0)
    totals.update(split_batches(check_cache(data_dir, channel_log, ack_log)))
    totals["cursor before space came back"] = stuck_at
    report = summarize(totals, data_dir, channel_log, ack_log, "crash suite, full disk")
    assert totals["cursor"] > stuck_at, f"ingest stayed stuck after space came back: {report}"


def test_checker_catches_a_lost_message(tmp_path):
    """The checker itself must be able to fail: drop a persisted message and look."""
    data_dir, channel_log, ack_log = (
        tmp_path / "data",
        tmp_path / "channel.log",
        tmp_path / "ack.log",
    )
    run_and_kill(data_dir, channel_log, ack_log, seed=1, after=0.4)
    assert check_cache(data_dir, channel_log, ack_log) == {
        k: 0 for k in check_cache(data_dir, channel_log, ack_log)
    }
    with Store.open(data_dir) as store:
        cursor = int(store.cursor("sim"))
        with store.batch():
            store.set_cursor("sim", str(cursor + 3))
    defects = check_cache(data_dir, channel_log, ack_log)
    assert defects["lost"] == 3
