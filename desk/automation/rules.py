"""Automation rules, decided without I/O: a trigger's facts → the rules that hold and their actions."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from frontdesk.config.read_rules import MATCH_TEXT, Rule, RuleAction, RuleCondition
from frontdesk.config_text import _show

OpenAt = Callable[[str, datetime], bool]
"""Whether `channel` is inside business hours at `at` (business hours' own module answers)."""


def always_open(channel: str, at: datetime) -> bool:
    """Business hours when none are configured: always inside."""
    return True


def fold(text: str) -> str:
    """Text as rules compare it: full-width and half-width alike (NFKC), any case."""
    return unicodedata.normalize("NFKC", text).casefold()


@dataclass(frozen=True, slots=True)
class Facts:
    """What rules can look at when something happens in a conversation."""

    event: str
    """The trigger's kind: "message_created", "conversation_created" …"""
    channel: str
    """The channel instance's name."""
    channel_kind: str = ""
    """Its backend's kind ("whatsapp", "email" …); a rule may name either."""
    text: str | None = None
    """The customer's message (None for conversation events without one)."""
    language: str = ""
    labels: tuple[str, ...] = ()
    priority: str = "none"
    status: str = "open"
    assignee: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)
    """The contact's custom attributes."""
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Planned:
    """A rule that holds: the actions to run in order and the conditions that made it hold."""

    rule: Rule
    actions: tuple[RuleAction, ...]
    because: tuple[str, ...]

    def describe(self) -> str:
        """What the rule would do, in one line: "rule <name>: actions (because …)"."""
        why = f" (because {'; '.join(self.because)})" if self.because else ""
        return f"rule {self.rule.name}: {', '.join(map(str, self.actions))}{why}"


def describe_condition(condition: RuleCondition, text: str | None = None) -> str:
    """`content contains "refund" or "返金"` — a condition as the thread line shows it; with the
    folded `text` it held on, a `contains` names only the words found."""
    values = condition.values
    if condition.operator == "contains" and condition.attribute == "content" and text:
        values = tuple(v for v in values if fold(v) in text) or values
    shown = " or ".join(_show(v) for v in values)
    return " ".join(part for part in (condition.attribute, condition.operator, shown) if part)


class RuleBook:
    """The configured rules by event, each condition compiled once into a test with its values
    folded: a message costs its event's rules' tests on facts folded once, not a pass over the
    config."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.by_event: dict[str, list[_Compiled]] = {}
        for rule in rules:
            if rule.active:
                self.by_event.setdefault(rule.event, []).append(_Compiled(rule))

    def __bool__(self) -> bool:
        return bool(self.by_event)

    def wants(self, event: str) -> bool:
        return event in self.by_event

    def needs_text(self, event: str) -> bool:
        """Whether a rule of `event` looks at the message's text."""
        return any(c.needs_text for c in self.by_event.get(event, ()))

    def plan(self, facts: Facts, open_at: OpenAt = always_open) -> list[Planned]:
        """The rules of the facts' event that hold, in file order, with their actions."""
        planned = []
        seen = _Seen(facts, open_at)
        for compiled in self.by_event.get(facts.event, ()):
            because = compiled.holds(seen)
            if because is not None:
                planned.append(Planned(compiled.rule, compiled.rule.actions, because))
        return planned


class _Seen:
    """The facts as the tests read them, each folded once and only when a test asks."""

    def __init__(self, facts: Facts, open_at: OpenAt) -> None:
        self.facts, self.open_at = facts, open_at
        self._folded: dict[str, object] = {}

    def get(self, key: str) -> Any:
        try:
            return self._folded[key]
        except KeyError:
            value = self._folded[key] = _FOLDS[key](self.facts, self.open_at)
            return value


def _language_forms(facts: Facts, open_at: OpenAt) -> frozenset[str]:
    language = fold(facts.language.strip().replace("_", "-"))
    return frozenset((language, language.split("-", 1)[0])) if language else frozenset()


_FOLDS: dict[str, Callable[[Facts, OpenAt], Any]] = {
    "text": lambda f, _: fold(f.text) if f.text is not None else None,
    "channel": lambda f, _: frozenset((fold(f.channel), fold(f.channel_kind))),
    "language": _language_forms,
    "labels": lambda f, _: frozenset(fold(label) for label in f.labels),
    "assignee": lambda f, _: fold(f.assignee) if f.assignee else "",
    "hours": lambda f, open_at: "inside" if f.at is None or open_at(f.channel, f.at) else "outside",
}

Test = Callable[[_Seen], bool]


class _Compiled:
    """One rule with each condition compiled into a test."""

    __slots__ = ("any", "needs_text", "rule", "tests")

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.any = rule.match == "any"
        self.tests: list[tuple[Test, RuleCondition]] = [(_compile(c), c) for c in rule.conditions]
        self.needs_text = any(c.attribute == "content" for c in rule.conditions)

    def holds(self, seen: _Seen) -> tuple[str, ...] | None:
        """The conditions that made the rule hold, or None when it does not."""
        if self.any:
            for test, condition in self.tests:
                if test(seen):
                    return (describe_condition(condition, seen.get("text")),)
            return None if self.tests else ()
        for test, _ in self.tests:
            if not test(seen):
                return None
        return tuple(describe_condition(c, seen.get("text")) for _, c in self.tests)


def _compile(condition: RuleCondition) -> Test:
    """The condition as a test on the seen facts; its values folded now (full/half width and
    case alike). Several values: any of them satisfies it; a negative operator: none does."""
    attribute, op = condition.attribute, condition.operator
    values = tuple(fold(v) for v in condition.values)
    wanted = frozenset(values)
    negative = op in ("not_equal_to", "does_not_contain", "is_not_present")
    if attribute == "content":
        if op == "matches":
            pattern = condition.pattern or re.compile(condition.values[0], re.IGNORECASE)
            return lambda seen: (
                seen.facts.text is not None
                and pattern.search(seen.facts.text[:MATCH_TEXT]) is not None
            )
        text_test = _text_test(op, values)
        return lambda seen: (text := seen.get("text")) is not None and text_test(text)
    if attribute.startswith("contact."):
        key = attribute.removeprefix("contact.")
        if op in ("is_present", "is_not_present"):
            return lambda seen: _present(seen.facts.attributes.get(key)) != negative
        attr_test = _text_test(op, values)
        return lambda seen: (
            (value := seen.facts.attributes.get(key)) is not None and attr_test(fold(str(value)))
        )
    if attribute == "priority":
        return lambda seen: (seen.facts.priority in wanted) != negative
    if attribute == "status":
        return lambda seen: (seen.facts.status in wanted) != negative
    if attribute == "business_hours":
        return lambda seen: seen.get("hours") in wanted
    if op in ("is_present", "is_not_present"):  # language, labels, assignee
        return lambda seen: bool(seen.get(attribute)) != negative
    if attribute == "assignee":
        return lambda seen: (seen.get("assignee") in wanted) != negative
    # channel (name or kind), language (as written or its primary subtag), labels: any shared
    return lambda seen: bool(wanted & seen.get(attribute)) != negative


def _present(value: object) -> bool:
    return bool(value is not None and str(value).strip())


def _text_test(op: str, values: tuple[str, ...]) -> Callable[[str], bool]:
    """A text operator on folded text against folded values."""
    if op == "contains":
        return lambda text: any(v in text for v in values)
    if op == "does_not_contain":
        return lambda text: not any(v in text for v in values)
    if op == "equal_to":
        return lambda text: text.strip() in values
    if op == "not_equal_to":
        return lambda text: text.strip() not in values
    if op == "starts_with":
        return lambda text: text.lstrip().startswith(values)
    raise ValueError(f"unknown text operator {op!r}")
