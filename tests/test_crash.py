"""Crash suite: SIGKILL a desk under load at seeded random moments, then check the cache.

After every kill: the store opens; every message the channel handed over up to the
committed cursor is there exactly once and nothing beyond it; every reply the agent saw
accepted is still there with a truthful state (sent only if the channel got it, pending
only while in the outbox, unconfirmed when the outcome is unknown); no reply reached the
channel twice. `--trials N` (default 20) sets the number of kills; the README's
Reliability section gives the figures of the long run.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from frontdesk.model import Delivery, Direction, MessageKind
from frontdesk.store import Store

WORKER = Path(__file__).with_name("crash_worker.py")
SEED = 20261122


def run_and_kill(data_dir: Path, channel_log: Path, ack_log: Path, seed: int, after: float) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), str(data_dir), str(channel_log), str(ack_log), str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready = proc.stdout.readline()
        assert ready.strip() == "ready", proc.stderr.read()
        time.sleep(after)
        assert proc.poll() is None, f"worker died by itself: {proc.stderr.read()}"
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
        defects["accepted reply lost"] += sum(1 for message_id in accepted(ack_log) if message_id not in replies)
        for message_id, m in replies.items():
            entry = outbox.get(message_id)
            reached = message_id in sent_to_channel
            if m.delivery is Delivery.PENDING and entry is None:
                defects["pending without outbox entry"] += 1
            elif m.delivery is Delivery.SENT and not reached:
                defects["sent but channel never got it"] += 1
            elif m.delivery is Delivery.PENDING and reached and entry.state != "sending":
                defects["channel got it but desk would send again"] += 1
            elif m.delivery not in (Delivery.PENDING, Delivery.SENT, Delivery.UNCONFIRMED, Delivery.FAILED):
                defects["impossible state"] += 1
    return dict(defects)


def accepted(ack_log: Path) -> list[int]:
    """Ids of the replies whose `desk.reply` returned (lines "conversation message")."""
    text = ack_log.read_text() if ack_log.exists() else ""
    return [int(line.split()[1]) for line in text.splitlines() if line.strip()]


@pytest.mark.slow
def test_sigkill_never_loses_duplicates_or_corrupts(tmp_path, request):
    trials = request.config.getoption("--trials", default=20) or 20
    rng = random.Random(SEED)
    data_dir, channel_log, ack_log = tmp_path / "data", tmp_path / "channel.log", tmp_path / "ack.log"
    totals = Counter()
    for trial in range(trials):
        run_and_kill(data_dir, channel_log, ack_log, seed=rng.randrange(1 << 30), after=rng.uniform(0.05, 0.8))
        try:
            defects = check_cache(data_dir, channel_log, ack_log)
        except Exception as exc:  # the store did not open: corruption
            defects = {"store did not open": 1}
            print(f"trial {trial}: {type(exc).__name__}: {exc}")
        totals.update(defects)
        totals["trials"] += 1
    with Store.open(data_dir) as store:
        totals["messages"] = sum(c.message_count for c in store.conversations())
        totals["cursor"] = int(store.cursor("sim") or 0)
    totals["replies accepted"] = len(accepted(ack_log))
    totals["replies reaching channel"] = len(lines(channel_log))
    report = ", ".join(f"{k}: {v}" for k, v in sorted(totals.items()))
    print(f"\ncrash suite: {report}")
    defects = {k: v for k, v in totals.items() if k not in {"trials", "messages", "cursor", "replies accepted", "replies reaching channel"} and v}
    assert defects == {}, report
    assert totals["cursor"] > 0 and totals["replies accepted"] > 0, "the load never ran: the suite proved nothing"


def test_checker_catches_a_lost_message(tmp_path):
    """The checker itself must be able to fail: drop a persisted message and look."""
    data_dir, channel_log, ack_log = tmp_path / "data", tmp_path / "channel.log", tmp_path / "ack.log"
    run_and_kill(data_dir, channel_log, ack_log, seed=1, after=0.4)
    assert check_cache(data_dir, channel_log, ack_log) == {k: 0 for k in check_cache(data_dir, channel_log, ack_log)}
    with Store.open(data_dir) as store:
        cursor = int(store.cursor("sim"))
        with store.batch():
            store.set_cursor("sim", str(cursor + 3))
    defects = check_cache(data_dir, channel_log, ack_log)
    assert defects["lost"] == 3
