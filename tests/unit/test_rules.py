"""Rules decided without I/O: each condition, all/any, the events, the plan's order and words."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from frontdesk.config import Rule, RuleAction, RuleCondition
from frontdesk.desk.automation.rules import Facts, RuleBook, fold

AT = datetime(2027, 1, 4, 11, 0, tzinfo=UTC)
LABEL = (RuleAction("add_label", ("hit",)),)


def cond(attribute: str, operator: str, *values: str) -> RuleCondition:
    pattern = re.compile(values[0], re.IGNORECASE) if operator == "matches" else None
    return RuleCondition(attribute, operator, values, pattern)


def rule(
    *conditions: RuleCondition, match: str = "all", event: str = "message_created", **kw
) -> Rule:
    return Rule(kw.pop("name", "r"), event, match, conditions, LABEL, **kw)


def facts(**kw) -> Facts:
    base = dict(
        event="message_created", channel="wa-jp", channel_kind="whatsapp", text="hello", at=AT
    )
    return Facts(**(base | kw))


def holds(r: Rule, f: Facts, open_at=lambda channel, at: True) -> bool:
    return bool(RuleBook([r]).plan(f, open_at))


@pytest.mark.parametrize(
    ("condition", "text", "expected"),
    [
        (cond("content", "contains", "refund"), "I want a REFUND now", True),
        (cond("content", "contains", "返金"), "返金してください", True),
        (cond("content", "contains", "ｒｅｆｕｎｄ"), "refund please", True),  # full width alike
        (cond("content", "contains", "refund"), "ｒｅｆｕｎｄ please", True),
        (cond("content", "contains", "refund", "返金"), "hello", False),
        (cond("content", "does_not_contain", "refund"), "hello", True),
        (cond("content", "does_not_contain", "refund"), "refund", False),
        (cond("content", "equal_to", "hi"), "  Hi ", True),
        (cond("content", "not_equal_to", "hi"), "hi there", True),
        (cond("content", "starts_with", "order"), "Order 42 is late", True),
        (cond("content", "starts_with", "order"), "my order", False),
        (cond("content", "matches", r"order\s*#?\d{4,8}"), "about ORDER #12345", True),
        (cond("content", "matches", r"order\s*#?\d{4,8}"), "about order 12", False),
    ],
)
def test_content(condition, text, expected):
    assert holds(rule(condition), facts(text=text)) is expected


def test_matches_looks_at_the_first_thousand_characters_only():
    r = rule(cond("content", "matches", "refund"))
    assert holds(r, facts(text="x" * 990 + " refund"))
    assert not holds(r, facts(text="x" * 1000 + " refund"))


def test_a_conversation_event_without_text_fails_content_conditions():
    r = rule(cond("content", "does_not_contain", "x"), event="conversation_created")
    assert not holds(r, facts(event="conversation_created", text=None))


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (cond("channel", "equal_to", "whatsapp"), True),  # by kind
        (cond("channel", "equal_to", "wa-jp"), True),  # by instance name
        (cond("channel", "equal_to", "email", "sms"), False),
        (cond("channel", "not_equal_to", "email"), True),
        (cond("channel", "not_equal_to", "whatsapp"), False),
    ],
)
def test_channel(condition, expected):
    assert holds(rule(condition), facts()) is expected


@pytest.mark.parametrize(
    ("condition", "language", "expected"),
    [
        (cond("language", "equal_to", "ja"), "ja", True),
        (cond("language", "equal_to", "ja"), "ja-JP", True),
        (cond("language", "equal_to", "ja"), "JA_jp", True),
        (cond("language", "equal_to", "ja"), "en", False),
        (cond("language", "not_equal_to", "ja"), "en", True),
        (cond("language", "is_present"), "", False),
        (cond("language", "is_not_present"), "", True),
    ],
)
def test_contact_language(condition, language, expected):
    assert holds(rule(condition), facts(language=language)) is expected


@pytest.mark.parametrize(
    ("condition", "labels", "expected"),
    [
        (cond("labels", "contains", "vip"), ("VIP", "billing"), True),
        (cond("labels", "contains", "vip"), ("billing",), False),
        (cond("labels", "does_not_contain", "spam"), ("billing",), True),
        (cond("labels", "does_not_contain", "spam"), ("spam",), False),
        (cond("labels", "is_present"), (), False),
        (cond("labels", "is_not_present"), (), True),
    ],
)
def test_labels(condition, labels, expected):
    assert holds(rule(condition), facts(labels=labels)) is expected


def test_priority_and_status():
    assert holds(rule(cond("priority", "equal_to", "high", "urgent")), facts(priority="urgent"))
    assert not holds(rule(cond("priority", "equal_to", "high")), facts(priority="none"))
    assert holds(rule(cond("priority", "not_equal_to", "urgent")), facts(priority="low"))
    assert holds(rule(cond("status", "equal_to", "open")), facts(status="open"))
    assert not holds(rule(cond("status", "not_equal_to", "open")), facts(status="open"))


def test_business_hours_ask_the_callable_with_channel_and_time():
    asked = []

    def closed(channel, at):
        asked.append((channel, at))
        return False

    assert holds(rule(cond("business_hours", "equal_to", "outside")), facts(), closed)
    assert not holds(rule(cond("business_hours", "equal_to", "inside")), facts(), closed)
    assert asked == [("wa-jp", AT), ("wa-jp", AT)]
    assert holds(rule(cond("business_hours", "equal_to", "inside")), facts())  # default: open


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (cond("contact.plan", "equal_to", "enterprise"), True),
        (cond("contact.plan", "equal_to", "free"), False),
        (cond("contact.plan", "contains", "prise"), True),
        (cond("contact.plan", "is_present"), True),
        (cond("contact.region", "is_not_present"), True),
        (cond("contact.region", "equal_to", "eu"), False),
        (cond("contact.region", "not_equal_to", "eu"), False),  # no value: no comparison holds
    ],
)
def test_contact_attribute(condition, expected):
    assert holds(rule(condition), facts(attributes={"plan": "Enterprise"})) is expected


def test_all_needs_every_condition_and_any_needs_one():
    refund = cond("content", "contains", "refund")
    japanese = cond("language", "equal_to", "ja")
    english_refund = facts(text="refund", language="en")
    assert not holds(rule(refund, japanese), english_refund)
    assert holds(rule(refund, japanese, match="any"), english_refund)
    assert not holds(rule(japanese, match="any"), english_refund)
    assert holds(rule(), english_refund)  # no conditions: always
    assert holds(rule(match="any"), english_refund)


def test_only_the_events_rules_and_active_ones_run_in_file_order_with_why():
    book = RuleBook(
        [
            rule(cond("content", "contains", "refund"), name="first"),
            rule(name="on create", event="conversation_created"),
            rule(name="off", active=False),
            rule(cond("labels", "is_not_present"), name="second"),
        ]
    )
    plan = book.plan(facts(text="Refund!"))
    assert [p.rule.name for p in plan] == ["first", "second"]
    assert plan[0].describe() == 'rule first: add_label "hit" (because content contains "refund")'
    assert book.wants("conversation_created") and not book.wants("conversation_resolved")
    assert book.needs_text("message_created") and not book.needs_text("conversation_created")


def test_fold_makes_width_and_case_alike():
    assert fold("ＲＥＦＵＮＤ") == fold("refund") == "refund"
    assert fold("ﾍﾝｷﾝ") == fold("ヘンキン")


def test_assignee():
    assert holds(rule(cond("assignee", "is_not_present")), facts(assignee=None))
    assert not holds(rule(cond("assignee", "is_not_present")), facts(assignee="ben"))
    assert holds(rule(cond("assignee", "equal_to", "ben")), facts(assignee="Ben"))
    assert holds(rule(cond("assignee", "not_equal_to", "ben")), facts(assignee="aiko"))
