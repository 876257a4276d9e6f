"""The live queue: waits by age bucket and channel, the longest, breaches, open counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from frontdesk.desk.presence import AgentInfo
from frontdesk.desk.report.queue import BUCKETS, LONGEST, LiveQueue, bucket_of
from frontdesk.model import Conversation, Status

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def conv(cid, minutes=None, *, channel="mail", status=Status.OPEN, assignee=None, **more):
    since = None if minutes is None else NOW - timedelta(minutes=minutes)
    return Conversation(
        id=cid,
        channel=channel,
        contact_id=cid,
        thread_key=str(cid),
        status=status,
        assignee=assignee,
        waiting_since=since,
        **more,
    )


def test_bucket_bounds_are_upper_exclusive():
    assert [label for label, _ in BUCKETS] == ["<15m", "15m–1h", "1–4h", "4–24h", ">1d"]
    assert bucket_of(0) == 0
    assert bucket_of(15 * 60 - 1) == 0
    assert bucket_of(15 * 60) == 1
    assert bucket_of(3600) == 2
    assert bucket_of(4 * 3600) == 3
    assert bucket_of(24 * 3600 - 1) == 3
    assert bucket_of(24 * 3600) == 4


def test_counts_waits_by_bucket_and_channel_and_skips_what_is_not_due_a_reply():
    queue = LiveQueue()
    queue.reset(
        [
            conv(1, 5),
            conv(2, 20, channel="whatsapp"),
            conv(3, 120, channel="whatsapp"),
            conv(4, 60 * 30),
            conv(5),  # answered: no waiting_since
            conv(6, 10, status=Status.RESOLVED),
            conv(7, 10, status=Status.BOT),
            conv(8, 10, status=Status.SNOOZED),
            conv(9, 10, status=Status.PENDING),  # pending, but the customer wrote again
            conv(10, status=Status.PENDING),  # pending on the customer
        ]
    )
    snap = queue.snapshot(NOW)
    assert snap.waiting == 5
    assert snap.buckets == (2, 1, 1, 0, 1)
    assert snap.by_channel == {"mail": (2, 0, 0, 0, 1), "whatsapp": (0, 1, 1, 0, 0)}


def test_longest_waits_are_the_ten_oldest_longest_first():
    queue = LiveQueue()
    queue.reset(conv(i, minutes=i) for i in range(1, 25))
    longest = queue.snapshot(NOW).longest
    assert len(longest) == LONGEST
    assert [w.id for w in longest] == list(range(24, 14, -1))


def test_an_update_moves_one_conversation_without_a_reset():
    queue = LiveQueue()
    queue.reset([conv(1, 5), conv(2, 50)])
    queue.update(conv(1))  # an agent answered
    queue.update(conv(3, 1))  # a new customer
    snap = queue.snapshot(NOW)
    assert [w.id for w in snap.longest] == [2, 3]
    queue.remove(2)
    assert [w.id for w in queue.snapshot(NOW).longest] == [3]


def test_breaches_are_flagged_or_past_due_most_overdue_first():
    queue = LiveQueue()
    queue.reset(
        [
            conv(1, 90, sla_due_at=NOW - timedelta(minutes=30), sla_breached=True),
            conv(2, 40, sla_due_at=NOW - timedelta(minutes=1)),  # due passed, not alerted yet
            conv(3, 10, sla_due_at=NOW + timedelta(minutes=5)),
            conv(4, 10),
        ]
    )
    assert [w.id for w in queue.snapshot(NOW).breaches] == [1, 2]


def test_open_counts_follow_assignment_and_resolution():
    queue = LiveQueue()
    queue.reset(
        [
            conv(1, 5, assignee="ben"),
            conv(2, assignee="ben", status=Status.PENDING),
            conv(3, assignee="ben", status=Status.RESOLVED),
            conv(4, 5, assignee="aiko"),
        ]
    )
    assert queue.open_count("ben") == 2
    queue.update(conv(1, status=Status.RESOLVED, assignee="ben"))
    queue.update(conv(4, 5, assignee="ben"))
    assert (queue.open_count("ben"), queue.open_count("aiko")) == (2, 0)
    roster = [AgentInfo("aiko", "Aiko", False, 99), AgentInfo("ben", "Ben", True, 99)]
    agents = queue.snapshot(NOW, roster).agents
    assert [(a.name, a.online, a.open_count) for a in agents] == [
        ("Ben", True, 2),
        ("Aiko", False, 0),
    ]
