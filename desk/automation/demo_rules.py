"""The rules `frontdesk demo` ships when the config has none: refunds, customers chasing,
Japanese and reopened conversations handled visibly, each act explained by its line in the
thread."""

from __future__ import annotations

from dataclasses import replace

from frontdesk.config import Config
from frontdesk.config.read_rules import Rule, read_rules_text

DEMO_RULES = """
[[rules]]
name = "Refunds to billing"
description = "A customer asking about a refund: billing's, labelled, high priority."
event = "message_created"
conditions = [{ attribute = "content", operator = "contains", values = ["refund", "返金"] }]
actions = [
  { action = "assign_team", params = ["billing"] },
  { action = "add_label", params = ["refund"] },
  { action = "change_priority", params = ["high"] },
]

[[rules]]
name = "Chasing"
description = "A customer asking again for news: a label and a higher priority, once."
event = "message_created"
conditions = [
  { attribute = "content", operator = "contains", values = [
    "any update", "any news", "is anyone there", "hello?",
    "その後いかがでしょうか", "確認していただけましたか", "もしもし",
  ] },
  { attribute = "priority", operator = "equal_to", values = ["none", "low"] },
]
actions = [
  { action = "add_label", params = ["chasing"] },
  { action = "change_priority", params = ["high"] },
]

[[rules]]
name = "Japanese to Chloé"
description = "Unassigned Japanese conversations go to the agent who answers in Japanese (not while the FAQ bot holds one)."
event = "message_created"
conditions = [
  { attribute = "language", operator = "equal_to", values = ["ja"] },
  { attribute = "assignee", operator = "is_not_present" },
  { attribute = "status", operator = "not_equal_to", values = ["bot"] },
]
actions = [{ action = "assign_agent", params = ["Chloé"] }]

[[rules]]
name = "Reopened"
description = "A resolved conversation the customer writes in again is marked for a second look."
event = "conversation_reopened"
actions = [{ action = "add_label", params = ["reopened"] }]
"""


def demo_rules() -> tuple[Rule, ...]:
    return read_rules_text(DEMO_RULES, "the demo's rules")


def with_demo_rules(cfg: Config) -> Config:
    """`cfg` with the demo's rules unless it has rules of its own (then those are tried)."""
    return cfg if cfg.rules else replace(cfg, rules=demo_rules())
