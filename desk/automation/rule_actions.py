"""The rules automaton: a trigger's facts read from the desk, each holding rule's actions run
through the desk's own commands, and one thread line per rule naming it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Protocol

from frontdesk.backends.email_parse import AUTO_PREFIX  # mail a machine sent: never a cause
from frontdesk.config.read_rules import Rule, RuleAction, snooze_seconds
from frontdesk.desk.acting import acting_as
from frontdesk.desk.automation.engine import (
    AutomationDesk,
    automation_author,
    is_automation_author,
)
from frontdesk.desk.automation.rules import Facts, OpenAt, Planned, RuleBook, always_open
from frontdesk.desk.automation.triggers import Trigger
from frontdesk.model import Direction, Message, MessageKind, Priority, Status


class RuleDesk(AutomationDesk, Protocol):
    """The desk as rules use it: what automata use, and team assignment."""

    async def assign_team(self, conv_id: int, team: str | None) -> None: ...


class RuleFailed(Exception):
    """A rule's action failed: says which rule, which action, why, and what ran before it."""


class RulesAutomaton:
    """Runs the `[[rules]]` on live triggers. Each rule acts as "⚙ rule <name>", so every event
    its actions leave names it, and ends with one line saying what it did and why."""

    name = "rules"

    def __init__(self, rules: Iterable[Rule], open_at: OpenAt = always_open) -> None:
        self.book = RuleBook(rules)
        self.open_at = open_at

    async def handle(self, desk: RuleDesk, trigger: Trigger) -> None:
        event = trigger.kind.value
        if not trigger.live or not self.book.wants(event):
            return  # backlog is recorded, never acted on
        facts = await self.facts(desk, trigger)
        if facts is None:
            return
        failures = []
        for planned in self.book.plan(facts, self.open_at):
            try:
                await run_rule(desk, trigger.conversation_id, planned)
            except RuleFailed as exc:
                failures.append(str(exc))
        if failures:
            raise RuleFailed("; ".join(failures))

    async def facts(self, desk: RuleDesk, trigger: Trigger) -> Facts | None:
        """The trigger's facts, or None when it must not cause anything: automation's own
        message, a machine's mail ([auto: …]), anything not from the customer."""
        text = trigger.text
        if text is None and trigger.message_id is not None:  # a trigger not from ingest
            message = await desk.message(trigger.conversation_id, trigger.message_id)
            if message is None or not _from_a_person(message):
                return None
            text = message.body
        if text is not None and text.lstrip().startswith(AUTO_PREFIX):
            return None
        conv = await desk.conversation(trigger.conversation_id)
        contact = await desk.contact(conv.contact_id)
        return Facts(
            event=trigger.kind.value,
            channel=conv.channel,
            channel_kind=desk.channel_kind(conv.channel),
            text=text,
            language=contact.language,
            labels=tuple(conv.labels),
            priority=conv.priority.value,
            status=conv.status.value,
            assignee=conv.assignee,
            attributes=contact.attributes,
            at=trigger.at,
        )


def _from_a_person(message: Message) -> bool:
    return (
        message.direction is Direction.IN
        and message.kind is not MessageKind.ACTIVITY
        and not is_automation_author(message.author)
        and not message.body.lstrip().startswith(AUTO_PREFIX)
    )


async def run_rule(desk: RuleDesk, conv_id: int, planned: Planned) -> None:
    """Run the rule's actions in order as "⚙ rule <name>", then leave its line when they changed
    anything (a label already there says nothing twice); the first action that fails stops the
    rest (RuleFailed says what ran and what did not)."""
    rule = planned.rule
    done: list[str] = []
    before = (await desk.conversation(conv_id)).message_count  # each change adds its event
    with acting_as(automation_author(f"rule {rule.name}")):
        for action in planned.actions:
            try:
                await run_action(desk, conv_id, rule, action)
            except Exception as exc:
                ran = f"; done before it: {', '.join(done)}" if done else "; nothing ran"
                raise RuleFailed(f"rule {rule.name}: {action} failed: {exc}{ran}") from exc
            done.append(str(action))
        if (await desk.conversation(conv_id)).message_count == before:
            return
        why = f" because {'; '.join(planned.because)}" if planned.because else ""
        await desk.record_automation(conv_id, f"ran {', '.join(done)} on {rule.event}{why}")


async def run_action(desk: RuleDesk, conv_id: int, rule: Rule, action: RuleAction) -> None:
    """One action through the desk command an agent would use (each leaves its own event)."""
    params: Sequence[str] = action.params
    match action.name:
        case "assign_agent":
            await desk.assign(conv_id, params[0])
        case "assign_team":
            await desk.assign_team(conv_id, params[0])
        case "add_label":
            await desk.label(conv_id, add=params)
        case "remove_label":
            await desk.label(conv_id, remove=params)
        case "change_priority":
            await desk.set_priority(conv_id, Priority(params[0]))
        case "send_canned_reply":
            await desk.auto_reply(conv_id, await desk.render_canned(conv_id, params[0]))
        case "add_private_note":
            await desk.note(conv_id, params[0])
        case "snooze_conversation":
            seconds = snooze_seconds(params[0]) or 0
            await desk.snooze(conv_id, desk.now() + timedelta(seconds=seconds))
        case "resolve_conversation":
            await desk.set_status(conv_id, Status.RESOLVED)
        case "escalate":
            reason = params[1] if len(params) > 1 else f"rule {rule.name}"
            await desk.escalate(conv_id, params[0], reason)
        case _:
            raise ValueError(f"unknown action {action.name!r}")


def rules_automata(rules: Sequence[Rule], open_at: OpenAt = always_open) -> list[RulesAutomaton]:
    """The rules automaton for `build_desk`, or none when no rule is active."""
    automaton = RulesAutomaton(rules, open_at)
    return [automaton] if automaton.book else []
