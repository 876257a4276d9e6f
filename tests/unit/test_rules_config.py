"""`[[rules]]` in the config: event, conditions and actions read, and bad lines named."""

from __future__ import annotations


import pytest

from frontdesk.config import load_config
from frontdesk.config.read_rules import pattern_problem, snooze_seconds
from config_files import write, error

GOOD = """
[agent]
name = "aiko"

[[rules]]
name = "Refunds to billing"
event = "message_created"
match = "any"
conditions = [
  { attribute = "content", operator = "contains", values = ["refund", "返金"] },
  { attribute = "content", operator = "matches", values = "order\\\\s*#?\\\\d{4,8}" },
]
actions = [
  { action = "assign_agent", params = ["aiko"] },
  { action = "add_label", params = ["refund", "billing"] },
]

[[rules]]
name = "VIP first"
event = "conversation_created"

[[rules.conditions]]
attribute = "contact.plan"
operator = "equal_to"
values = ["enterprise"]

[[rules.actions]]
action = "change_priority"
params = ["urgent"]

[[rules.actions]]
action = "snooze_conversation"
params = ["2h"]
"""


def test_no_rules_means_an_empty_tuple(tmp_path):
    assert load_config(write(tmp_path, '[agent]\nname = "Aiko"\n')).rules == ()


def test_rules_are_read_in_file_order_with_their_lines(tmp_path):
    rules = load_config(write(tmp_path, GOOD)).rules
    assert [r.name for r in rules] == ["Refunds to billing", "VIP first"]
    refunds, vip = rules
    assert (refunds.event, refunds.match, refunds.line) == ("message_created", "any", 4)
    assert [c.line for c in refunds.conditions] == [9, 10]
    assert refunds.conditions[0].values == ("refund", "返金")
    assert refunds.conditions[1].pattern.search("my ORDER #12345 is late")
    assert [str(a) for a in refunds.actions] == [
        'assign_agent "aiko"',
        'add_label "refund" "billing"',
    ]
    assert [a.line for a in refunds.actions] == [13, 14]
    assert (vip.match, vip.line, vip.conditions[0].attribute) == ("all", 17, "contact.plan")
    assert [a.line for a in vip.actions] == [26, 30]


@pytest.mark.parametrize(
    ("block", "line", "says"),
    [
        ('name = "x"\nevent = "message_sent"', 2, 'must be one of "message_created"'),
        ('name = "x"', 0, "has no event"),
        ('event = "message_created"', 0, "has no name"),
        ('name = "x"\nevent = "message_created"', 0, "has no actions"),
        (
            'name = "x"\nevent = "message_created"\nactions = [\n  { action = "add_label", params = ["a"] },\n  { action = "assign_robot", params = ["a"] },\n]',
            5,
            "rules[0].actions[1].action must be one of",
        ),
        (
            'name = "x"\nevent = "message_created"\nactions = [{ action = "change_priority", params = ["asap"] }]',
            3,
            "a priority is one of none, low",
        ),
        (
            'name = "x"\nevent = "message_created"\nactions = [{ action = "snooze_conversation", params = ["soon"] }]',
            3,
            "snooze for 1m to 30d",
        ),
        (
            'name = "x"\nevent = "message_created"\nactions = [{ action = "resolve_conversation", params = ["now"] }]',
            3,
            "resolve_conversation takes no params",
        ),
        (
            'name = "x"\nevent = "conversation_resolved"\nactions = [{ action = "add_label", params = ["a"] }]\nconditions = [{ attribute = "content", operator = "contains", values = ["a"] }]',
            4,
            "content is a message's text",
        ),
        (
            'name = "x"\nevent = "message_created"\nactions = [{ action = "add_label", params = ["a"] }]\nconditions = [{ attribute = "mood", operator = "equal_to", values = ["a"] }]',
            4,
            '"mood" is not a condition attribute',
        ),
        (
            'name = "x"\nevent = "message_created"\nactions = [{ action = "add_label", params = ["a"] }]\nconditions = [{ attribute = "labels", operator = "matches", values = ["a"] }]',
            4,
            "rules[0].conditions[0].operator must be one of",
        ),
        (
            'name = "x"\nevent = "message_created"\nactions = [{ action = "add_label", params = ["a"] }]\nconditions = [{ attribute = "priority", operator = "equal_to", values = ["asap"] }]',
            4,
            "priority is one of none",
        ),
        (
            'name = "x"\nevent = "message_created"\nactions = [{ action = "add_label", params = ["a"] }]\nconditions = [{ attribute = "content", operator = "matches", values = ["(a+)+$"] }]',
            4,
            "exponential",
        ),
        (
            'name = "x"\nevent = "message_created"\nactions = [{ action = "add_label", params = ["a"] }]\nconditions = [{ attribute = "language", operator = "is_present", values = ["ja"] }]',
            4,
            "is not used with is_present",
        ),
        (
            'name = "x"\nevent = "message_created"\nactions = [{ action = "add_label", params = ["a"] }]\nconditions = [{ attribute = "language", operator = "equal_to" }]',
            4,
            "needs values for language equal_to",
        ),
        ('name = "x"\nevent = "message_created"\ncolour = "red"', 3, "colour is not a known key"),
        ('name = "a\\nb"\nevent = "message_created"', 1, "printable characters on one line"),
    ],
)
def test_a_bad_rule_is_one_line_naming_file_line_and_fix(tmp_path, block, line, says):
    path = write(tmp_path, '[agent]\nname = "aiko"\n\n[[rules]]\n' + block + "\n")
    message = error(path)
    assert message.startswith(f"{path}:{line + 4}:"), message
    assert says in message, message


def test_the_second_rule_with_a_problem_is_named_by_its_own_line(tmp_path):
    good = '[[rules]]\nname = "a"\nevent = "message_created"\nactions = [{ action = "resolve_conversation" }]\n'
    bad = '[[rules]]\nname = "A"\nevent = "message_created"\nactions = [{ action = "resolve_conversation" }]\n'
    message = error(write(tmp_path, good + "\n" + bad))
    assert message.startswith(f"{tmp_path / 'config.toml'}:7:"), message
    assert "already used by rules[0]" in message


@pytest.mark.parametrize(
    "pattern",
    ["(a+)+", "(a|ab)*", "(?:x*y)*", r"\s*\s*x", ".*a.*b", "x" * 201, "(unclosed"],
)
def test_patterns_that_can_run_away_are_refused(pattern):
    assert pattern_problem(pattern)


@pytest.mark.parametrize(
    "pattern", ["refund(ed)?", "re.*fund", r"order\s*#?\d{4,8}", r"\d{3}-\d{4}", "返金|refund"]
)
def test_ordinary_patterns_are_accepted(pattern):
    assert pattern_problem(pattern) is None


def test_durations():
    assert snooze_seconds("30m") == 1800
    assert snooze_seconds(" 2h") == 7200
    assert snooze_seconds("1d") == 86400
    assert snooze_seconds("2 weeks") is None
