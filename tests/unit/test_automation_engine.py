"""The automation engine: triggers from ingest and status commands, run in order, failures noted."""

from __future__ import annotations

from datetime import timedelta

import pytest

from frontdesk.desk import Desk
from frontdesk.desk.automation import (
    Trigger,
    TriggerKind,
    automation_author,
    is_automation_author,
)
from frontdesk.model import ContactRef, Inbound, MessageKind, Status, utcnow
from frontdesk.store import Store


class Recorder:
    """An automaton that records what it was handed and who it acted as."""

    name = "recorder"

    def __init__(self) -> None:
        self.seen: list[tuple[TriggerKind, bool, str]] = []

    async def handle(self, desk, trigger: Trigger) -> None:
        self.seen.append((trigger.kind, trigger.live, desk.agent))


class Broken:
    name = "broken rule"

    async def handle(self, desk, trigger: Trigger) -> None:
        raise RuntimeError("the hook 'crm' is down")


def inbound(n: int, thread: str = "t1", age: timedelta = timedelta(0)) -> Inbound:
    return Inbound(f"m{n}", thread, ContactRef("+8190000"), f"hello {n}", created_at=utcnow() - age)


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path) as store:
        yield store


async def test_a_new_conversation_then_a_message_reach_each_automaton_in_order(store) -> None:
    recorder = Recorder()
    desk = Desk(store, agent="aiko", automata=[recorder])
    await desk.start()
    try:
        await desk.ingest("demo", [inbound(1)])
        await desk.ingest("demo", [inbound(2)])
        await desk.automation.idle()
    finally:
        await desk.stop()
    assert recorder.seen == [
        (TriggerKind.CONVERSATION_CREATED, True, automation_author("recorder")),
        (TriggerKind.MESSAGE_CREATED, True, automation_author("recorder")),
        (TriggerKind.MESSAGE_CREATED, True, automation_author("recorder")),
    ]
    assert is_automation_author(recorder.seen[0][2])


async def test_backlog_is_handed_over_as_not_live(store) -> None:
    recorder = Recorder()
    desk = Desk(store, agent="aiko", automata=[recorder])
    await desk.start()
    try:
        await desk.ingest("demo", [inbound(1, age=timedelta(hours=3))])
        await desk.automation.idle()
    finally:
        await desk.stop()
    assert [live for _, live, _ in recorder.seen] == [False, False]


async def test_resolving_and_a_customer_writing_again_are_triggers(store) -> None:
    recorder = Recorder()
    desk = Desk(store, agent="aiko", automata=[recorder])
    await desk.start()
    try:
        await desk.ingest("demo", [inbound(1)])
        conv = (await desk.conversations())[0]
        await desk.set_status(conv.id, Status.RESOLVED)
        await desk.ingest("demo", [inbound(2)])
        await desk.automation.idle()
    finally:
        await desk.stop()
    assert [kind for kind, _, _ in recorder.seen] == [
        TriggerKind.CONVERSATION_CREATED,
        TriggerKind.MESSAGE_CREATED,
        TriggerKind.CONVERSATION_RESOLVED,
        TriggerKind.CONVERSATION_REOPENED,
        TriggerKind.MESSAGE_CREATED,
    ]


async def test_an_automaton_that_fails_leaves_a_note_naming_it_and_the_rest_still_run(
    store,
) -> None:
    recorder = Recorder()
    desk = Desk(store, agent="aiko", automata=[Broken(), recorder])
    await desk.start()
    try:
        await desk.ingest("demo", [inbound(1)])
        await desk.automation.idle()
        conv = (await desk.conversations())[0]
        notes = [m for m in await desk.thread(conv.id) if m.private and m.kind is MessageKind.TEXT]
    finally:
        await desk.stop()
    assert len(recorder.seen) == 2
    assert [n.body for n in notes] == [
        "broken rule did not act: the hook 'crm' is down",
        "broken rule did not act: the hook 'crm' is down",
    ]
    assert all(n.author == automation_author("broken rule") for n in notes)


async def test_a_conversation_flooding_triggers_is_cut_at_the_rate_limit(store) -> None:
    from frontdesk.desk.automation.engine import RATE_LIMIT

    recorder = Recorder()
    desk = Desk(store, agent="aiko", automata=[recorder])
    await desk.start()
    try:
        for n in range(RATE_LIMIT + 5):
            await desk.ingest("demo", [inbound(n)])
        await desk.automation.idle()
    finally:
        await desk.stop()
    assert len(recorder.seen) == RATE_LIMIT
