"""The rules automaton on a real desk: each action through the desk's commands, its events
naming the rule, one line per rule, failures noted with what ran, loops and backlog refused."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta

import pytest

from frontdesk.config import load_config
from frontdesk.desk import Desk
from frontdesk.desk.automation.rule_actions import RulesAutomaton, rules_automata
from frontdesk.desk.canned import CannedLibrary
from frontdesk.model import (
    ContactRef,
    Delivery,
    Direction,
    EventKind,
    Inbound,
    MessageKind,
    Priority,
    Status,
)
from frontdesk.store import Store

START = datetime(2027, 1, 4, 2, 0, tzinfo=UTC)

CANNED = """
[[replies]]
shortcode = "refund-ack"
title = "Refund received"
body = "Hi {contact.first_name}, we got your refund request."

[[replies]]
shortcode = "needs-mail"
title = "Needs an email"
body = "We will write to {contact.email}."
"""


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def rules_from(tmp_path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_config(path).rules


@pytest.fixture
def clock():
    return Clock()


async def run_desk(tmp_path, clock, rules, *, open_at=None, body="I want a refund", **kw):
    """A desk with the rules, one customer message in, automation settled; the desk stopped."""
    data = tmp_path / f"data-{len(list(tmp_path.glob('data-*')))}"
    with Store.open(data) as store:
        return await _run(store, tmp_path, clock, rules, open_at, body, **kw)


async def _run(store, tmp_path, clock, rules, open_at, body, **kw):
    canned = tmp_path / "canned.toml"
    canned.write_text(CANNED, encoding="utf-8")
    automaton = RulesAutomaton(rules) if open_at is None else RulesAutomaton(rules, open_at)
    desk = Desk(
        store,
        agent="aiko",
        agents=["ben"],
        clock=clock,
        escalation_targets=["billing", "tier-2"],
        automata=[automaton],
        canned=CannedLibrary(canned),
    )
    await desk.start()
    try:
        await desk.ingest(
            "whatsapp",
            [
                Inbound(
                    "m1",
                    "+8190",
                    ContactRef("+8190", "Kenji Sato", kw.pop("language", "ja")),
                    body,
                    created_at=clock.now - kw.pop("age", timedelta(0)),
                )
            ],
        )
        await desk.automation.idle()
        conv = next(iter(store.conversations()))  # any view: it may be snoozed or resolved
        return desk, await desk.conversation(conv.id), await desk.thread(conv.id)
    finally:
        await desk.stop()


def events(thread):
    return [(m.event, m.author, m.body) for m in thread if m.kind is MessageKind.ACTIVITY]


def notes(thread):
    return [m.body for m in thread if m.private and m.kind is MessageKind.TEXT]


REFUND = """
[[rules]]
name = "Refunds"
event = "message_created"
conditions = [{ attribute = "content", operator = "contains", values = ["refund", "返金"] }]
actions = [
  { action = "assign_agent", params = ["ben"] },
  { action = "add_label", params = ["refund", "billing"] },
]
"""


async def test_a_rule_assigns_and_labels_and_says_why_in_its_own_name(tmp_path, clock):
    _, conv, thread = await run_desk(tmp_path, clock, rules_from(tmp_path, REFUND))
    assert conv.assignee == "ben" and conv.labels == ["refund", "billing"]
    assert events(thread) == [
        (EventKind.ASSIGNED, "⚙ rule Refunds", "⚙ rule Refunds assigned this to ben"),
        (EventKind.LABELLED, "⚙ rule Refunds", "⚙ rule Refunds label added refund, billing"),
        (
            EventKind.AUTOMATION,
            "⚙ rule Refunds",
            '⚙ rule Refunds ran assign_agent "ben", add_label "refund" "billing" on '
            'message_created because content contains "refund"',  # the word found
        ),
    ]


async def test_a_rule_whose_conditions_fail_does_nothing(tmp_path, clock):
    _, conv, thread = await run_desk(
        tmp_path, clock, rules_from(tmp_path, REFUND), body="where is my parcel"
    )
    assert conv.assignee is None and conv.labels == [] and events(thread) == []


async def test_backlog_and_machine_mail_cause_nothing(tmp_path, clock):
    rules = rules_from(tmp_path, REFUND)
    _, conv, _ = await run_desk(tmp_path, clock, rules, age=timedelta(hours=2))
    assert conv.assignee is None
    _, conv, _ = await run_desk(
        tmp_path, clock, rules, body="[auto: auto-replied]\nrefund office closed"
    )
    assert conv.assignee is None
    _, conv, _ = await run_desk(tmp_path, clock, rules)  # the same message, live: it acts
    assert conv.assignee == "ben"


async def test_each_action_goes_through_the_desk(tmp_path, clock):
    rules = rules_from(
        tmp_path,
        """
        [[rules]]
        name = "Everything"
        event = "message_created"
        actions = [
          { action = "assign_team", params = ["billing"] },
          { action = "add_label", params = ["a", "b"] },
          { action = "remove_label", params = ["a"] },
          { action = "change_priority", params = ["high"] },
          { action = "send_canned_reply", params = ["refund-ack"] },
          { action = "add_private_note", params = ["check the order"] },
          { action = "escalate", params = ["tier-2"] },
          { action = "snooze_conversation", params = ["2h"] },
        ]
        """,
    )
    desk, conv, thread = await run_desk(tmp_path, clock, rules)
    assert conv.team == "tier-2"  # escalation hands it on after the team assignment
    assert conv.labels == ["b"] and conv.priority is Priority.HIGH
    assert conv.status is Status.SNOOZED and conv.snoozed_until == START + timedelta(hours=2)
    reply = next(m for m in thread if m.direction is Direction.OUT and not m.private)
    assert reply.body == "Hi Kenji, we got your refund request."
    assert reply.author == "⚙ rule Everything"
    assert reply.delivery in (Delivery.PENDING, Delivery.FAILED)  # queued; this desk has no channel
    assert conv.first_reply_at is None  # an automated reply answers nobody
    assert notes(thread) == ["check the order", "Escalated to tier-2: rule Everything"]
    kinds = [kind for kind, _, _ in events(thread)]
    assert kinds == [
        EventKind.ASSIGNED,
        EventKind.LABELLED,
        EventKind.LABELLED,
        EventKind.PRIORITY,
        EventKind.ESCALATED,
        EventKind.SNOOZED,
        EventKind.AUTOMATION,
    ]


async def test_resolve_runs_and_the_resolved_event_reaches_rules(tmp_path, clock):
    rules = rules_from(
        tmp_path,
        """
        [[rules]]
        name = "Thanks closes"
        event = "message_created"
        conditions = [{ attribute = "content", operator = "equal_to", values = ["thanks"] }]
        actions = [{ action = "resolve_conversation" }]

        [[rules]]
        name = "Tag resolved"
        event = "conversation_resolved"
        actions = [{ action = "add_label", params = ["done"] }]
        """,
    )
    _, conv, thread = await run_desk(tmp_path, clock, rules, body="Thanks")
    assert conv.status is Status.RESOLVED and conv.labels == ["done"]
    assert [a for _, a, _ in events(thread)] == [
        "⚙ rule Thanks closes",
        "⚙ rule Thanks closes",
        "⚙ rule Tag resolved",
        "⚙ rule Tag resolved",
    ]


async def test_a_failing_action_stops_its_rule_says_what_ran_and_other_rules_still_act(
    tmp_path, clock
):
    rules = rules_from(
        tmp_path,
        """
        [[rules]]
        name = "Ask for mail"
        event = "message_created"
        actions = [
          { action = "assign_agent", params = ["ben"] },
          { action = "send_canned_reply", params = ["needs-mail"] },
          { action = "add_label", params = ["asked"] },
        ]

        [[rules]]
        name = "Label all"
        event = "message_created"
        actions = [{ action = "add_label", params = ["seen"] }]
        """,
    )
    _, conv, thread = await run_desk(tmp_path, clock, rules)
    assert conv.assignee == "ben" and conv.labels == ["seen"]
    [note] = notes(thread)
    assert note.startswith(
        'rules did not act: rule Ask for mail: send_canned_reply "needs-mail" failed:'
    )
    assert "no value for {contact.email}" in note
    assert note.endswith('; done before it: assign_agent "ben"')
    assert not any(m.direction is Direction.OUT and not m.private for m in thread)
    lines = [b for k, _, b in events(thread) if k is EventKind.AUTOMATION]
    assert lines == ['⚙ rule Label all ran add_label "seen" on message_created']


async def test_an_unknown_team_fails_with_the_teams_named(tmp_path, clock):
    rules = rules_from(
        tmp_path,
        """
        [[rules]]
        name = "Sales"
        event = "conversation_created"
        actions = [{ action = "assign_team", params = ["sales"] }]
        """,
    )
    _, conv, thread = await run_desk(tmp_path, clock, rules)
    assert conv.team is None
    assert notes(thread) == [
        "rules did not act: rule Sales: assign_team \"sales\" failed: 'sales' is not a team; "
        "choose one of [escalation] targets: billing, tier-2; nothing ran"
    ]


async def test_business_hours_come_from_the_callable(tmp_path, clock):
    rules = rules_from(
        tmp_path,
        """
        [[rules]]
        name = "After hours"
        event = "conversation_created"
        conditions = [{ attribute = "business_hours", operator = "equal_to", values = "outside" }]
        actions = [{ action = "add_label", params = ["after-hours"] }]
        """,
    )
    asked = []

    def closed(channel, at):
        asked.append((channel, at))
        return False

    _, conv, _ = await run_desk(tmp_path, clock, rules, open_at=closed)
    assert conv.labels == ["after-hours"] and asked == [("whatsapp", START)]


async def test_contact_language_and_attribute_conditions_read_the_contact(tmp_path, clock):
    rules = rules_from(
        tmp_path,
        """
        [[rules]]
        name = "Japanese"
        event = "conversation_created"
        conditions = [{ attribute = "language", operator = "equal_to", values = "ja" }]
        actions = [{ action = "add_label", params = ["ja"] }]
        """,
    )
    _, conv, _ = await run_desk(tmp_path, clock, rules)
    assert conv.labels == ["ja"]


def test_no_active_rule_means_no_automaton(tmp_path):
    assert rules_automata(()) == []
    assert [a.name for a in rules_automata(rules_from(tmp_path, REFUND))] == ["rules"]


async def test_a_rule_that_changes_nothing_leaves_no_line(tmp_path, clock):
    rules = rules_from(
        tmp_path,
        """
        [[rules]]
        name = "Label"
        event = "message_created"
        actions = [{ action = "add_label", params = ["seen"] }]
        """,
    )
    canned = tmp_path / "canned.toml"
    canned.write_text(CANNED, encoding="utf-8")
    with Store.open(tmp_path / "data") as store:
        desk = Desk(store, agent="aiko", clock=clock, automata=[RulesAutomaton(rules)])
        await desk.start()
        try:
            for n in (1, 2):
                sender = ContactRef("+8190", "Kenji Sato")
                await desk.ingest(
                    "whatsapp", [Inbound(f"m{n}", "+8190", sender, "hi", created_at=clock.now)]
                )
            await desk.automation.idle()
            thread = await desk.thread(next(iter(store.conversations())).id)
        finally:
            await desk.stop()
    assert [k for k, _, _ in events(thread)] == [EventKind.LABELLED, EventKind.AUTOMATION]


async def test_assign_only_the_unassigned(tmp_path, clock):
    rules = rules_from(
        tmp_path,
        """
        [[rules]]
        name = "Japanese to ben"
        event = "message_created"
        conditions = [
          { attribute = "language", operator = "equal_to", values = ["ja"] },
          { attribute = "assignee", operator = "is_not_present" },
        ]
        actions = [{ action = "assign_agent", params = ["ben"] }]
        """,
    )
    _, conv, _ = await run_desk(tmp_path, clock, rules)
    assert conv.assignee == "ben"


async def test_a_new_conversation_rule_sees_its_first_message(tmp_path, clock):
    rules = rules_from(
        tmp_path,
        """
        [[rules]]
        name = "New refunds"
        event = "conversation_created"
        conditions = [{ attribute = "content", operator = "contains", values = ["refund"] }]
        actions = [{ action = "add_label", params = ["refund"] }]
        """,
    )
    _, conv, _ = await run_desk(tmp_path, clock, rules)
    assert conv.labels == ["refund"]


async def test_a_trigger_without_text_reads_its_message_and_ignores_automations_own(
    tmp_path, clock
):
    from frontdesk.desk.acting import acting_as
    from frontdesk.desk.automation import Trigger, TriggerKind, automation_author

    automaton = RulesAutomaton(rules_from(tmp_path, REFUND))
    with Store.open(tmp_path / "data") as store:
        desk = Desk(store, agent="aiko", clock=clock)
        sender = ContactRef("+8190", "Kenji Sato")
        await desk.ingest(
            "whatsapp", [Inbound("m1", "+8190", sender, "refund?", created_at=clock.now)]
        )
        conv = next(iter(store.conversations()))
        customer = (await desk.thread(conv.id))[0]
        with acting_as(automation_author("bot")):
            own = await desk.note(conv.id, "refund noted")
        at = clock.now
        facts = await automaton.facts(
            desk, Trigger(TriggerKind.MESSAGE_CREATED, conv.id, at, customer.id)
        )
        assert facts is not None and facts.text == "refund?"
        assert (
            await automaton.facts(desk, Trigger(TriggerKind.MESSAGE_CREATED, conv.id, at, own.id))
            is None
        )
