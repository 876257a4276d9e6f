"""Reading `[[rules]]`: automation rules after Chatwoot's (event, conditions, actions), checked."""

from __future__ import annotations

import re
import re._constants as _constants
import re._parser as _parser  # the parse re.compile does: a pattern's structure, to refuse nesting
from dataclasses import dataclass
from typing import Any

from frontdesk.config.checks import Checks
from frontdesk.config_text import Where, _show

EVENTS = (
    "message_created",
    "conversation_created",
    "conversation_resolved",
    "conversation_reopened",
)
MATCHES = ("all", "any")

_TEXT_OPS = ("equal_to", "not_equal_to", "contains", "does_not_contain", "starts_with")
_PRESENCE = ("is_present", "is_not_present")
OPERATORS: dict[str, tuple[str, ...]] = {
    "channel": ("equal_to", "not_equal_to"),
    "content": (*_TEXT_OPS, "matches"),
    "language": ("equal_to", "not_equal_to", *_PRESENCE),
    "labels": ("contains", "does_not_contain", *_PRESENCE),
    "priority": ("equal_to", "not_equal_to"),
    "status": ("equal_to", "not_equal_to"),
    "assignee": ("equal_to", "not_equal_to", *_PRESENCE),
    "business_hours": ("equal_to",),
    "contact.": (*_TEXT_OPS, *_PRESENCE),  # contact.<attribute>: a contact's custom attribute
}
"""Each condition attribute (Chatwoot's attribute_key) and the operators it takes."""

PRIORITIES = ("none", "low", "medium", "high", "urgent")
STATUSES = ("open", "pending", "snoozed", "resolved", "bot")
HOURS = ("inside", "outside")

ACTIONS: dict[str, tuple[int, int | None, str]] = {
    "assign_agent": (1, 1, 'params = ["aiko"] (the agent\'s user name)'),
    "assign_team": (1, 1, 'params = ["billing"]'),
    "add_label": (1, None, 'params = ["refund"]'),
    "remove_label": (1, None, 'params = ["new"]'),
    "change_priority": (1, 1, 'params = ["high"]'),
    "send_canned_reply": (1, 1, 'params = ["refund-ack"] (a canned reply\'s shortcode)'),
    "add_private_note": (1, 1, 'params = ["Check the order number"]'),
    "snooze_conversation": (1, 1, 'params = ["2h"] (minutes m, hours h or days d)'),
    "resolve_conversation": (0, 0, "no params"),
    "escalate": (1, 2, 'params = ["tier-2", "the reason"]'),
}
"""Each action (Chatwoot's action_name): least and most params, and an example."""

MAX_PATTERN = 200
"""A `matches` regex longer than this is refused: rules are read by people, and short patterns
keep matching cheap."""
MATCH_TEXT = 1_000
"""`matches` looks at a message's first this many characters: where people say what they want,
and with one long repeat the worst case stays a few milliseconds."""
MAX_WAYS = 20 * MATCH_TEXT
"""One open-ended repeat with bounded ones beside it (order\\s*#?\\d{4,8}): the worst hostile
message then costs about MATCH_TEXT * MAX_WAYS steps of the regex engine, milliseconds."""
MAX_RULES = 500
MAX_PER_RULE = 50
DURATION = re.compile(r"\s*(\d{1,5})\s*([mhd])\s*\Z")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}
MAX_SNOOZE = 30 * 86400


@dataclass(frozen=True, slots=True, eq=False)
class RuleCondition:
    """One condition: `attribute operator values` (any of the values satisfies it)."""

    attribute: str
    """"channel", "content", "language", "labels", "priority", "status", "assignee",
    "business_hours" or "contact.<attribute>"."""
    operator: str
    values: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None
    """For `matches`: the regex, compiled once when the config is read."""
    line: int | None = None


@dataclass(frozen=True, slots=True)
class RuleAction:
    """One action with its params, as written."""

    name: str
    params: tuple[str, ...] = ()
    line: int | None = None

    def __str__(self) -> str:
        return " ".join((self.name, *(_show(p) for p in self.params)))


@dataclass(frozen=True, slots=True, eq=False)
class Rule:
    """One `[[rules]]` block: on `event`, when `all`/`any` conditions hold, run the actions in order."""

    name: str
    event: str
    match: str = "all"
    conditions: tuple[RuleCondition, ...] = ()
    actions: tuple[RuleAction, ...] = ()
    active: bool = True
    """False keeps the rule in the file but it never runs."""
    line: int | None = None
    """The line of its `[[rules]]` header."""
    description: str = ""
    """What the rule is for, for people reading the config."""


def snooze_seconds(text: str) -> int | None:
    """ "30m", "2h", "1d" as seconds; None when it is not such a duration."""
    found = DURATION.match(text)
    return int(found.group(1)) * _UNIT_SECONDS[found.group(2)] if found else None


def pattern_problem(pattern: str) -> str | None:
    """Why a `matches` regex is refused, or None. Python's re cannot be stopped once it runs, so
    what makes it backtrack without bound is refused before it sees a message: a repeat around a
    repeat or an alternation ((a+)+, (a|ab)*: exponential), and repeats whose ways to split the
    text multiply past MAX_WAYS (two open-ended ones: the text's length squared per start)."""
    if len(pattern) > MAX_PATTERN:
        return f"is {len(pattern)} characters long; keep a pattern under {MAX_PATTERN}"
    try:
        tree = _parser.parse(pattern)
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        return f"is not a valid regular expression ({exc}); fix the pattern"
    walk = _Walk()
    walk.visit(list(tree), inside_repeat=False)
    if walk.nested:
        return (
            "repeats a group that itself repeats or has alternatives, which can take exponential "
            'time on a hostile message; write it without nesting, e.g. "refund(ed)?" or two conditions'
        )
    if walk.ways > MAX_WAYS:
        return (
            "has too many ways to match (more than one *, + or {n,}, or wide {m,n} ranges beside "
            "one), each multiplying the time on a hostile message; split it into two conditions"
        )
    return None


class _Walk:
    """The ways a parsed pattern's repeats can split a text (an open-ended one: MATCH_TEXT
    ways), multiplied, and whether a repeat is nested in a repeat."""

    def __init__(self) -> None:
        self.nested = False
        self.ways = 1

    def visit(self, items: list[Any], inside_repeat: bool) -> None:
        for op, arg in items:
            if op in (_constants.MAX_REPEAT, _constants.MIN_REPEAT, _constants.POSSESSIVE_REPEAT):
                low, high, body = arg
                repeats = high != low and high > 1
                self.nested |= repeats and inside_repeat
                self.ways *= min(high, MATCH_TEXT) - low + 1
                self.visit(list(body), inside_repeat or repeats)
            elif op is _constants.BRANCH:
                self.nested |= inside_repeat
                for branch in arg[1]:
                    self.visit(list(branch), inside_repeat)
            elif isinstance(arg, tuple) and arg and isinstance(arg[-1], _parser.SubPattern):
                self.visit(list(arg[-1]), inside_repeat)  # a group or a lookaround


class RulesReading(Checks):
    """The reader's part for `[[rules]]`."""

    def rules(self, raw: Any) -> tuple[Rule, ...]:
        if not isinstance(raw, list):
            self.fail(("rules",), "must be a list of [[rules]] blocks")
        if len(raw) > MAX_RULES:
            self.fail(("rules",), f"has {len(raw)} rules; at most {MAX_RULES} are read")
        rules: list[Rule] = []
        seen: dict[str, int] = {}
        for index, block in enumerate(raw):
            rule = self.rule(index, block)
            if rule.name.casefold() in seen:
                self.fail(
                    ("rules", index, "name"),
                    f"{_show(rule.name)} is already used by rules[{seen[rule.name.casefold()]}]; rule names must be unique",
                )
            seen[rule.name.casefold()] = index
            rules.append(rule)
        return tuple(rules)

    def rule(self, index: int, raw: Any) -> Rule:
        where: Where = ("rules", index)
        if not isinstance(raw, dict):
            self.fail(where, "must be a table: write each rule as a [[rules]] block")
        known = ("name", "description", "event", "match", "active", "conditions", "actions")
        self.only_known(where, raw, known)
        if "name" not in raw:
            self.fail(where, 'has no name; add name = "Refunds to billing"')
        name = self.typed((*where, "name"), raw["name"], str).strip()
        if not name or len(name) > 80 or not name.isprintable():
            self.fail(
                (*where, "name"),
                "must be 1 to 80 printable characters on one line; name what the rule does",
            )
        if "event" not in raw:
            self.fail(
                where,
                f'(rule {_show(name)}) has no event; add event = "message_created" (or one of {", ".join(EVENTS[1:])})',
            )
        event = self.one_of((*where, "event"), raw["event"], EVENTS)
        match = self.one_of((*where, "match"), raw.get("match", "all"), MATCHES)
        conditions_raw = self.typed((*where, "conditions"), raw.get("conditions", []), list)
        actions_raw = self.typed((*where, "actions"), raw.get("actions", []), list)
        for key, items in (("conditions", conditions_raw), ("actions", actions_raw)):
            if len(items) > MAX_PER_RULE:
                self.fail((*where, key), f"has {len(items)} entries; at most {MAX_PER_RULE}")
        if not actions_raw:
            self.fail(
                where,
                f'(rule {_show(name)}) has no actions; add actions = [{{ action = "add_label", params = ["refund"] }}]',
            )
        conditions = tuple(
            self.rule_condition((*where, "conditions", n), item, event)
            for n, item in enumerate(conditions_raw)
        )
        actions = tuple(
            self.rule_action((*where, "actions", n), item) for n, item in enumerate(actions_raw)
        )
        return Rule(
            name=name,
            event=event,
            match=match,
            conditions=conditions,
            actions=actions,
            active=self.typed((*where, "active"), raw.get("active", True), bool),
            line=self.line_of(where),
            description=self.typed((*where, "description"), raw.get("description", ""), str),
        )

    def rule_condition(self, where: Where, raw: Any, event: str) -> RuleCondition:
        if not isinstance(raw, dict):
            self.fail(
                where,
                'must be a table, e.g. { attribute = "content", operator = "contains", values = ["refund"] }',
            )
        self.only_known(where, raw, ("attribute", "operator", "values"))
        if "attribute" not in raw or "operator" not in raw:
            self.fail(
                where, "needs attribute and operator (and values unless is_present/is_not_present)"
            )
        attribute = self.typed((*where, "attribute"), raw["attribute"], str).strip()
        family = "contact." if attribute.startswith("contact.") else attribute
        if family not in OPERATORS or attribute == "contact.":
            self.fail(
                (*where, "attribute"),
                f"{_show(attribute)} is not a condition attribute; use one of {', '.join(a if a != 'contact.' else 'contact.<key>' for a in OPERATORS)}",
            )
        operator = self.one_of((*where, "operator"), raw["operator"], OPERATORS[family])
        values = self._strings((*where, "values"), raw.get("values", []))
        if operator in _PRESENCE:
            if values:
                self.fail((*where, "values"), f"is not used with {operator}; remove it")
        elif not values:
            self.fail(where, f'needs values for {attribute} {operator}, e.g. values = ["…"]')
        if attribute == "content" and event not in ("message_created", "conversation_created"):
            self.fail(
                (*where, "attribute"),
                f"content is a message's text: use it with event message_created or conversation_created (not {event})",
            )
        choices = {"priority": PRIORITIES, "status": STATUSES, "business_hours": HOURS}.get(family)
        for value in values if choices else ():
            if value not in choices:
                self.fail(
                    (*where, "values"),
                    f"has {_show(value)}; {attribute} is one of {', '.join(choices)}",
                )
        pattern = None
        if operator == "matches":
            if len(values) != 1:
                self.fail((*where, "values"), "takes one regular expression for matches")
            problem = pattern_problem(values[0])
            if problem:
                self.fail((*where, "values"), f"{_show(values[0])} {problem}")
            pattern = re.compile(values[0], re.IGNORECASE)
        return RuleCondition(attribute, operator, values, pattern, self.line_of(where))

    def rule_action(self, where: Where, raw: Any) -> RuleAction:
        if not isinstance(raw, dict):
            self.fail(where, 'must be a table, e.g. { action = "add_label", params = ["refund"] }')
        self.only_known(where, raw, ("action", "params"))
        if "action" not in raw:
            self.fail(where, f'has no action; add action = "…" (one of {", ".join(ACTIONS)})')
        name = self.one_of((*where, "action"), raw["action"], tuple(ACTIONS))
        params = self._strings((*where, "params"), raw.get("params", []))
        least, most, example = ACTIONS[name]
        if len(params) < least or (most is not None and len(params) > most):
            self.fail(where, f"{name} takes {example}")
        if any(not p.strip() for p in params):
            self.fail((*where, "params"), f"has an empty value; {name} takes {example}")
        if name == "change_priority" and params[0] not in PRIORITIES:
            self.fail(
                (*where, "params"),
                f"has {_show(params[0])}; a priority is one of {', '.join(PRIORITIES)}",
            )
        if name == "snooze_conversation":
            seconds = snooze_seconds(params[0])
            if seconds is None or not 0 < seconds <= MAX_SNOOZE:
                self.fail(
                    (*where, "params"),
                    f'has {_show(params[0])}; snooze for 1m to 30d, e.g. params = ["2h"]',
                )
        return RuleAction(name, tuple(p.strip() for p in params), self.line_of(where))

    def _strings(self, where: Where, value: Any) -> tuple[str, ...]:
        """A string or a list of strings, as a tuple."""
        value = self.typed(where, value, str | list[str])
        return (value,) if isinstance(value, str) else tuple(value)

    def line_of(self, where: Where) -> int | None:
        """As `Checks.line_of`, and a condition or action written inline in a multi-line list is
        found on its own line (tomllib keeps no positions; key_lines sees only the list's key)."""
        if len(where) >= 4 and where[0] == "rules" and where[2] in ("conditions", "actions"):
            item = self._inline_item_line(where[:4])
            if item is not None:
                return item
        return super().line_of(where)

    def _inline_item_line(self, where: Where) -> int | None:
        """The n-th line opening an inline table after `conditions = [` / `actions = [`, or
        None when the item has its own [[…]] header or cannot be found."""
        *key, n = where
        if not isinstance(n, int) or any(p[: len(where)] == where for _, p in self.places):
            return None
        start = super().line_of(tuple(key))
        if start is None or tuple(key) not in {p for _, p in self.places}:
            return None
        rows = self.text.splitlines()[start - 1 :]
        ends = next(
            (i for i, row in enumerate(rows[1:], 1) if row.lstrip().startswith("[")), len(rows)
        )
        opened = [i for i, row in enumerate(rows[:ends]) if "{" in row.split("#", 1)[0]]
        return start + opened[n] if n < len(opened) else None


def read_rules_text(text: str, shown: str) -> tuple[Rule, ...]:
    """The `[[rules]]` of a TOML text (the demo's, a test's), checked as the config's are."""
    import tomllib

    from frontdesk.config.errors import ConfigError
    from frontdesk.config_text import syntax_error

    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(syntax_error(shown, text, exc)) from None
    return RulesReading(shown, text, None).rules(raw.get("rules", []))
