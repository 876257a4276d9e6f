"""The FAQ bot: takes new live conversations on its channels, answers FAQs with canned replies,
hands over (asked for a person, unanswered twice, a person acting) with a line and a trigger."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from frontdesk.config import BotConfig, FaqConfig, FaqEntry
from frontdesk.desk import Desk
from frontdesk.desk.automation import Trigger, TriggerKind
from frontdesk.desk.automation.bot import FaqBot
from frontdesk.desk.canned import CannedLibrary
from frontdesk.desk.views import View
from frontdesk.model import ContactRef, Direction, EventKind, Inbound, MessageKind, Status
from frontdesk.store import Store

START = datetime(2027, 3, 1, 11, 0, tzinfo=timezone.utc)

FAQ = FaqConfig(
    entries=(
        FaqEntry("配送状況", ("配送状況", "配送"), "faq-haisou"),
        FaqEntry("Refunds", ("refund",), "faq-refund"),
        FaqEntry("Broken", ("broken",), "faq-gone"),
    ),
    bot=BotConfig(channels=("line",), fallback_reply="faq-sorry"),
)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


class Opened:
    """Records the CONVERSATION_OPENED triggers that reach automata after the bot."""

    name = "assignment"

    def __init__(self) -> None:
        self.opened: list[int] = []

    async def handle(self, desk, trigger: Trigger) -> None:
        if trigger.kind is TriggerKind.CONVERSATION_OPENED:
            self.opened.append(trigger.conversation_id)


@pytest.fixture
async def world(tmp_path):
    clock, opened = Clock(), Opened()
    with Store.open(tmp_path / "cache") as store:
        desk = Desk(
            store,
            agent="aiko",
            agent_names={"aiko": "Aiko"},
            clock=clock,
            canned=CannedLibrary(tmp_path / "none.toml"),  # the shipped examples
            automata=[FaqBot(FAQ), opened],
        )
        await desk.start()
        try:
            yield desk, clock, opened
        finally:
            await desk.stop()


_counter = iter(range(1, 10_000))


async def write(desk, clock, body, channel="line", thread="U1", age=timedelta(0)):
    clock.now += timedelta(seconds=30)
    n = next(_counter)
    event = Inbound(
        f"m{n}", thread, ContactRef(thread, name="中村 結衣"), body, created_at=clock.now - age
    )
    await desk.ingest(channel, [event])
    await desk.automation.idle()
    (conv,) = desk.store.conversations()  # each test has one conversation
    return conv


async def lines(desk, conv_id):
    return [m.body for m in await desk.thread(conv_id) if m.event is EventKind.AUTOMATION]


async def test_a_new_conversation_on_a_bot_channel_is_the_bots_and_not_waiting_for_an_agent(world):
    desk, clock, _ = world
    conv = await write(desk, clock, "こんにちは")
    assert conv.status is Status.BOT
    assert (await lines(desk, conv.id))[0] == "⚙ FAQ bot answers this first: the bot is on for line"
    counts = (await desk.tally()).counts()
    assert counts[View.BOT] == 1 and counts[View.ALL] == counts[View.UNASSIGNED] == 0


async def test_a_question_it_knows_is_answered_with_the_canned_reply_and_a_line(world):
    desk, clock, opened = world
    conv = await write(desk, clock, "ﾊｲｿｳ? いえ、配送状況を知りたいです")
    thread = await desk.thread(conv.id)
    answer = next(m for m in thread if m.direction is Direction.OUT and not m.private)
    assert answer.body.startswith("配送状況は、ご注文確認メール")
    assert answer.author == "⚙ FAQ bot"
    assert (await lines(desk, conv.id))[-1] == (
        "⚙ FAQ bot sent /faq-haisou: answered FAQ '配送状況' (matched '配送状況', '配送')"
    )
    after = await desk.conversation(conv.id)
    assert after.status is Status.BOT and after.first_reply_at is None and not opened.opened


async def test_asking_for_a_person_hands_over_with_a_line_and_a_trigger(world):
    desk, clock, opened = world
    await write(desk, clock, "配送状況を教えて")
    conv = await write(desk, clock, "担当者と話したい")
    assert conv.status is Status.OPEN
    assert (await lines(desk, conv.id))[-1] == (
        "⚙ FAQ bot handed this to the agents: the customer asked for a person ('担当者')"
    )
    assert opened.opened == [conv.id]
    counts = (await desk.tally()).counts()
    assert counts[View.BOT] == 0 and counts[View.UNASSIGNED] == 1
    texts = [m.body for m in await desk.thread(conv.id) if m.kind is MessageKind.TEXT]
    assert any(t.startswith("配送状況は") for t in texts)  # the agent sees what the bot said


async def test_two_unanswered_messages_in_a_row_hand_over_after_one_fallback(world):
    desk, clock, opened = world
    conv = await write(desk, clock, "hello")
    assert conv.status is Status.BOT
    assert (await lines(desk, conv.id))[-1] == (
        "⚙ FAQ bot sent /faq-sorry: could not answer (1 of 2 before handing over)"
    )
    conv = await write(desk, clock, "the box, the cat")
    assert conv.status is Status.OPEN and opened.opened == [conv.id]
    assert (await lines(desk, conv.id))[-1] == (
        "⚙ FAQ bot handed this to the agents: it could not answer 2 messages in a row"
    )


async def test_an_answer_in_between_starts_the_count_again(world):
    desk, clock, _ = world
    await write(desk, clock, "hello")
    await write(desk, clock, "refund?")
    conv = await write(desk, clock, "thanks")
    assert conv.status is Status.BOT


@pytest.mark.parametrize(
    ("act", "says"),
    [
        (lambda desk, c: desk.reply(c, "Hi, Aiko here"), "Aiko replied"),
        (lambda desk, c: desk.note(c, "checking"), "Aiko wrote a note"),
        (lambda desk, c: desk.assign(c, "aiko"), "Aiko assigned this to themself"),
        (lambda desk, c: desk.set_status(c, Status.RESOLVED), "Aiko resolved this"),
    ],
)
async def test_any_agent_action_hands_over_in_the_same_batch(world, act, says):
    desk, clock, opened = world
    conv = await write(desk, clock, "hello")
    await act(desk, conv.id)
    await desk.automation.idle()
    after = await desk.conversation(conv.id)
    assert after.status is not Status.BOT
    assert f"⚙ FAQ bot handed this to the agents: {says}" in await lines(desk, conv.id)
    assert opened.opened == [conv.id]


async def test_a_reply_it_cannot_send_hands_over_instead_of_saying_nothing(world):
    desk, clock, opened = world
    conv = await write(desk, clock, "it arrived broken")
    assert conv.status is Status.OPEN and opened.opened == [conv.id]
    assert (await lines(desk, conv.id))[-1].startswith(
        "⚙ FAQ bot handed this to the agents: it could not send /faq-gone: no canned reply /faq-gone"
    )


async def test_backlog_is_left_alone(world):
    desk, clock, _ = world
    old = await write(desk, clock, "配送状況", age=timedelta(hours=2))
    assert old.status is Status.OPEN and await lines(desk, old.id) == []


async def test_another_channel_is_not_the_bots(world):
    desk, clock, _ = world
    conv = await write(desk, clock, "配送状況", channel="sms")
    assert conv.status is Status.OPEN and await lines(desk, conv.id) == []


async def test_an_auto_reply_is_never_answered(world):
    desk, clock, _ = world
    conv = await write(desk, clock, "[auto: auto-replied]\n配送状況 out of office")
    assert conv.status is Status.BOT
    assert [
        m for m in await desk.thread(conv.id) if m.direction is Direction.OUT and not m.private
    ] == []


async def test_auto_assignment_leaves_the_bots_conversation_and_assigns_it_on_handoff(tmp_path):
    from frontdesk.desk.automation.assign import AutoAssign, Candidate

    clock = Clock()
    with Store.open(tmp_path / "cache") as store:
        desk = Desk(
            store,
            agent="desk",
            agents=["ben"],
            clock=clock,
            canned=CannedLibrary(tmp_path / "none.toml"),
            automata=[FaqBot(FAQ), AutoAssign([Candidate("ben", languages=("ja",))])],
        )
        await desk.start()
        desk.presence.leave("desk")
        desk.presence.join("ben")
        try:
            conv = await write(desk, clock, "配送状況は？")
            assert conv.status is Status.BOT and conv.assignee is None
            conv = await write(desk, clock, "担当者と話したい")
            assert (conv.status, conv.assignee) == (Status.OPEN, "ben")
        finally:
            await desk.stop()
