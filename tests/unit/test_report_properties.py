"""Whatever the threads hold, a report adds up: every group's counts sum to the whole (labels
aside: a conversation counts under each), the series holds every message, nothing crashes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from frontdesk.desk.report import Grouping, Period
from frontdesk.desk.report.facts import facts_of
from frontdesk.desk.report.metrics import compute
from frontdesk.desk.sla import SlaPolicy, SlaTarget
from frontdesk.model import (
    Conversation,
    Direction,
    EventKind,
    Message,
    MessageKind,
    Priority,
    Status,
)

START = datetime(2026, 10, 20, tzinfo=timezone.utc)
PERIOD = Period(START + timedelta(days=3), START + timedelta(days=10))  # across the clock change
SLA = SlaPolicy({Priority.NONE: SlaTarget(timedelta(minutes=30), timedelta(hours=1))})
LINES = [
    (EventKind.STATUS, "Aiko resolved this", "Aiko"),
    (EventKind.STATUS, "Kim wrote again: reopened", ""),
    (EventKind.STATUS, "Ben reopened this", "Ben"),
    (EventKind.STATUS, "Ben snoozed this", "Ben"),
    (EventKind.AUTOMATION, "⚙ FAQ bot handed this to the agents: asked", "⚙ FAQ bot"),
    (EventKind.RATED, "Kim rated this 5/5", ""),
]
message = st.tuples(
    st.integers(0, 14 * 24 * 60),  # minutes after START
    st.sampled_from(["in", "Aiko", "Ben", "⚙ auto", "note", *range(len(LINES))]),
)
conversation = st.tuples(
    st.integers(0, 14 * 24 * 60),
    st.sampled_from(["sms", "mail"]),
    st.sampled_from([None, "Aiko", "Ben"]),
    st.sampled_from(list(Status)),
    st.lists(message, max_size=12),
)


def build(i: int, spec) -> tuple[Conversation, list[Message]]:
    created, channel, assignee, status, items = spec
    at = START + timedelta(minutes=created)
    conv = Conversation(i, channel, i, str(i), status, assignee=assignee, created_at=at)
    thread = []
    for n, (minute, what) in enumerate(items):
        when = at + timedelta(minutes=minute % (14 * 24 * 60 - created + 1))
        if isinstance(what, int):
            kind, body, author = LINES[what]
            thread.append(
                Message(n, i, Direction.OUT, body, MessageKind.ACTIVITY, True,
                        author=author, created_at=when, event=kind)
            )  # fmt: skip
        elif what == "in":
            thread.append(Message(n, i, Direction.IN, "hi", author="Kim", created_at=when))
        else:
            private = what == "note"
            author = "Aiko" if private else what
            thread.append(Message(n, i, Direction.OUT, "…", private=private, author=author,
                                  created_at=when))  # fmt: skip
    return conv, thread


@settings(max_examples=60, deadline=None)
@given(st.lists(conversation, max_size=8), st.sampled_from(list(Grouping)))
def test_groups_and_series_add_up_to_the_whole(specs, grouping):
    facts = []
    for i, spec in enumerate(specs, start=1):
        conv, thread = build(i, spec)
        facts.append((conv, facts_of(thread, conv.created_at.timestamp(), len(thread))))
    r = compute(
        facts,
        PERIOD,
        grouping,
        sla=SLA,
        tz=ZoneInfo("Europe/Berlin"),
        now=START + timedelta(days=20),
    )
    f = r.figures
    if grouping is not Grouping.LABEL:
        for name in ("messages_in", "messages_out", "opened", "sla_breaches", "answerable_15m"):
            assert sum(getattr(row.figures, name) for row in r.rows) == getattr(f, name), name
        assert sum(row.figures.reply.calendar.count for row in r.rows) == f.reply.calendar.count
    assert sum(p.messages_in for p in r.series) == f.messages_in
    assert sum(p.messages_out for p in r.series) == f.messages_out
    assert sum(p.opened for p in r.series) == f.opened
    assert f.first_response.calendar.count <= f.reply.calendar.count
    assert f.sla_first_met <= f.sla_first and f.sla_next_met <= f.sla_next
    for stat in (f.first_response.calendar, f.reply.calendar, f.resolution.calendar):
        if stat.count:
            assert 0 <= stat.median <= stat.p90
            assert stat.mean >= 0
