"""Automation rules, decided without I/O: a trigger's facts → the rules that hold and their actions."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

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


def describe_condition(condition: RuleCondition) -> str:
    """`content contains "refund" or "返金"` — a condition as the thread line shows it."""
    values = " or ".join(_show(v) for v in condition.values)
    return " ".join(part for part in (condition.attribute, condition.operator, values) if part)


class RuleBook:
    """The configured rules by event, with their values folded once (a message costs a lookup
    and the conditions of its event's rules, not a pass over the config)."""

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
        for compiled in self.by_event.get(facts.event, ()):
            because = compiled.holds(facts, open_at)
            if because is not None:
                planned.append(Planned(compiled.rule, compiled.rule.actions, because))
        return planned


class _Compiled:
    """One rule with its condition values folded."""

    __slots__ = ("folded", "needs_text", "rule")

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.folded = [tuple(fold(v) for v in c.values) for c in rule.conditions]
        self.needs_text = any(c.attribute == "content" for c in rule.conditions)

    def holds(self, facts: Facts, open_at: OpenAt) -> tuple[str, ...] | None:
        """The conditions that made the rule hold, or None when it does not."""
        held = []
        any_rule = self.rule.match == "any"
        folded_text = fold(facts.text) if self.needs_text and facts.text is not None else None
        for condition, values in zip(self.rule.conditions, self.folded, strict=True):
            ok = _holds(condition, values, facts, folded_text, open_at)
            if ok:
                held.append(describe_condition(condition))
                if any_rule:
                    return tuple(held)
            elif not any_rule:
                return None
        if any_rule and self.rule.conditions:
            return None
        return tuple(held)


def _holds(
    condition: RuleCondition,
    values: tuple[str, ...],
    facts: Facts,
    folded_text: str | None,
    open_at: OpenAt,
) -> bool:
    attribute, op = condition.attribute, condition.operator
    if attribute == "content":
        if facts.text is None:
            return False
        if op == "matches":
            assert condition.pattern is not None
            return condition.pattern.search(facts.text[:MATCH_TEXT]) is not None
        return _text(op, folded_text or "", values)
    if attribute == "channel":
        names = {fold(facts.channel), fold(facts.channel_kind)}
        return any(v in names for v in values) == (op == "equal_to")
    if attribute == "language":
        return _language(op, facts.language, values)
    if attribute == "labels":
        labels = {fold(label) for label in facts.labels}
        if op in ("is_present", "is_not_present"):
            return bool(labels) == (op == "is_present")
        return any(v in labels for v in values) == (op == "contains")
    if attribute == "priority":
        return (facts.priority in values) == (op == "equal_to")
    if attribute == "status":
        return (facts.status in values) == (op == "equal_to")
    if attribute == "assignee":
        if op in ("is_present", "is_not_present"):
            return bool(facts.assignee) == (op == "is_present")
        return (fold(facts.assignee or "") in values) == (op == "equal_to")
    if attribute == "business_hours":
        inside = open_at(facts.channel, facts.at) if facts.at is not None else True
        return ("inside" if inside else "outside") in values
    key = attribute.removeprefix("contact.")
    value = facts.attributes.get(key)
    if op in ("is_present", "is_not_present"):
        return bool(value and str(value).strip()) == (op == "is_present")
    return value is not None and _text(op, fold(str(value)), values)


def _text(op: str, text: str, values: tuple[str, ...]) -> bool:
    """A text operator on folded text and folded values (any value satisfies it; the negative
    operators hold when none does)."""
    if op == "contains":
        return any(v in text for v in values)
    if op == "does_not_contain":
        return not any(v in text for v in values)
    if op == "equal_to":
        return text.strip() in values
    if op == "not_equal_to":
        return text.strip() not in values
    if op == "starts_with":
        return text.lstrip().startswith(values)
    raise ValueError(f"unknown text operator {op!r}")


def _language(op: str, language: str, values: tuple[str, ...]) -> bool:
    """ "ja" matches a contact whose language is "ja" or "ja-JP"."""
    language = fold(language.strip().replace("_", "-"))
    if op in ("is_present", "is_not_present"):
        return bool(language) == (op == "is_present")
    primary = language.split("-", 1)[0]
    same = any(v in (language, primary) for v in values)
    return same == (op == "equal_to")
