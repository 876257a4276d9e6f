"""The message tag a reply carries: none inside the free window, the channel's tag after it, none once the tag span ended."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from frontdesk.backends.base import WindowRule
from frontdesk.desk.dispatcher import message_tag

LAST = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)  # the customer's last message
HUMAN_AGENT = WindowRule(timedelta(hours=24), tag="HUMAN_AGENT", tag_span=timedelta(days=7))


@pytest.mark.parametrize(
    ("after", "tag"),
    [
        (timedelta(hours=1), ""),
        (timedelta(hours=23, minutes=59), ""),
        (timedelta(hours=24), "HUMAN_AGENT"),
        (timedelta(days=3), "HUMAN_AGENT"),
        (timedelta(days=7) - timedelta(seconds=1), "HUMAN_AGENT"),
        (timedelta(days=7), ""),
    ],
)
def test_the_tag_is_set_once_the_window_ended_and_until_the_tag_span_ends(after, tag):
    expires = LAST + HUMAN_AGENT.span
    assert message_tag(HUMAN_AGENT, expires, LAST + after) == tag


def test_no_tag_without_a_tag_rule_or_a_window():
    expires = LAST + timedelta(hours=24)
    late = LAST + timedelta(days=2)
    assert message_tag(WindowRule(timedelta(hours=24)), expires, late) == ""
    assert message_tag(None, expires, late) == ""
    assert message_tag(HUMAN_AGENT, None, late) == ""
