"""The Bot view: the conversations the FAQ bot answers, counted apart from those waiting for an
agent; a handoff moves one to the agents' views with the bot's answer and the line in its thread."""

from __future__ import annotations

from datetime import timezone

from frontdesk.config import BotConfig, FaqConfig, FaqEntry
from frontdesk.desk import Desk, View
from frontdesk.desk.automation.bot import FaqBot
from frontdesk.desk.canned import CannedLibrary
from frontdesk.model import ContactRef, Inbound, Status
from frontdesk.tui.notify import NotifySettings
from pilot_helpers import NO_CANNED_FILE, idle, make_app, screen_text, wait_until

SIZE = (140, 40)
FAQ = FaqConfig((FaqEntry("配送状況", ("配送状況",), "faq-haisou"),), BotConfig(channels=("wa",)))


def counts(app) -> dict[View, int]:
    return app._tally.counts()


def header(app) -> str:
    return next(line for line in screen_text(app).splitlines() if "1 Mine" in line)


async def bot_desk(desk_store, channels, workspace, clock) -> Desk:
    """The small workspace's desk with the FAQ bot on `wa`; only automation runs (no channels)."""
    desk = Desk(
        desk_store,
        channels,
        agent="Aiko",
        clock=clock,
        automata=[FaqBot(FAQ)],
        canned=CannedLibrary(NO_CANNED_FILE),
    )
    await desk.load_workspace(workspace.contacts, workspace.conversations, workspace.messages)
    desk.automation.start(desk)
    return desk


class Bells:
    """Stands in for the terminal: counts bells and desktop notifications."""

    def __init__(self) -> None:
        self.bells, self.written = 0, []

    def write(self, sequence: str) -> None:
        self.written.append(sequence)

    def bell(self) -> None:
        self.bells += 1


async def test_the_bot_view_lists_what_the_bot_holds_and_a_handoff_moves_it(
    desk_store, channels, workspace, clock, console
):
    desk = await bot_desk(desk_store, channels, workspace, clock)
    app = console(desk)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        before = counts(app)
        assert "Bot" not in header(app)  # no bot conversation: no tab
        sender = ContactRef("+8190111", name="中村 結衣")
        message = Inbound("bot-1", "+8190111", sender, "配送状況を知りたい", created_at=clock())
        await desk.ingest("wa", [message])
        await desk.automation.idle()
        await wait_until(pilot, lambda: counts(app)[View.BOT] == 1, what="the Bot tab's count")
        assert counts(app)[View.ALL] == before[View.ALL]  # not waiting for an agent
        assert counts(app)[View.UNASSIGNED] == before[View.UNASSIGNED]
        assert "7 Bot 1" in header(app)

        await pilot.press("7")
        await wait_until(
            pilot, lambda: app.view is View.BOT and len(app.conversation_list.conversations) == 1
        )
        (conv,) = app.conversation_list.conversations
        assert conv.status is Status.BOT
        await wait_until(pilot, lambda: "⚙ bot" in screen_text(app), what="the row's bot mark")

        clock.advance(seconds=30)
        handoff = Inbound("bot-2", "+8190111", sender, "担当者と話したい", created_at=clock())
        await desk.ingest("wa", [handoff])
        await desk.automation.idle()
        await wait_until(pilot, lambda: counts(app)[View.BOT] == 0, what="the handoff")
        assert counts(app)[View.ALL] == before[View.ALL] + 1
        assert counts(app)[View.UNASSIGNED] == before[View.UNASSIGNED] + 1
        await pilot.press("3")
        await wait_until(
            pilot, lambda: conv.id in [c.id for c in app.conversation_list.conversations]
        )
        app.conversation_list.select_id(conv.id)
        await app.open_conversation(conv.id)
        await wait_until(
            pilot,
            lambda: "handed this to the agents" in "\n".join(app.thread.plain_lines),
            what="the handoff line in the thread",
        )
        text = "\n".join(app.thread.plain_lines)
        assert "配送状況は" in text and "⚙ FAQ bot sent /faq-haisou" in text
    await desk.automation.stop()


async def test_a_bot_conversation_rings_nobody_until_it_is_handed_over(
    desk_store, channels, workspace, clock
):
    desk = await bot_desk(desk_store, channels, workspace, clock)
    terminal = Bells()
    settings = NotifySettings("mine-and-unassigned", True, "osc9", quiet_seconds=0)
    app = make_app(desk, clock, canned=NO_CANNED_FILE, terminal=terminal, notifications=settings)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        sender = ContactRef("+8190222", name="小林 陽菜")
        await desk.ingest(
            "wa", [Inbound("b-1", "+8190222", sender, "配送状況は？", created_at=clock())]
        )
        await desk.automation.idle()
        await wait_until(pilot, lambda: counts(app)[View.BOT] == 1)
        assert terminal.bells == 0  # the bot answers: nobody is waited for
        clock.advance(seconds=30)
        await desk.ingest(
            "wa", [Inbound("b-2", "+8190222", sender, "人間と話したい", created_at=clock())]
        )
        await desk.automation.idle()
        await wait_until(pilot, lambda: terminal.bells == 1, what="the handoff's alert")
        assert any("人間と話したい" in sequence for sequence in terminal.written)
    await desk.automation.stop()


def test_snapshot_the_bot_view_with_the_bots_answer(snap_compare, make_desk, clock):
    desk = make_desk(automata=[FaqBot(FAQ)], canned=CannedLibrary(NO_CANNED_FILE))
    app = make_app(desk, clock, canned=NO_CANNED_FILE, local_tz=timezone.utc)

    async def bot_answers(pilot):
        desk.automation.start(desk)
        sender = ContactRef("+8190333", name="中村 結衣")
        body = "配送状況を知りたいです"
        await desk.ingest("wa", [Inbound("s-1", "+8190333", sender, body, created_at=clock())])
        await desk.automation.idle()
        await wait_until(pilot, lambda: counts(pilot.app)[View.BOT] == 1)
        await pilot.press("7")
        await wait_until(pilot, lambda: len(pilot.app.conversation_list.conversations) == 1)
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: "answered FAQ" in "\n".join(pilot.app.thread.plain_lines),
            what="the bot's line in the thread",
        )
        await desk.automation.stop()

    assert snap_compare(app, terminal_size=SIZE, run_before=bot_answers)
