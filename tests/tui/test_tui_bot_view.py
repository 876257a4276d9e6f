"""The Bot view: the conversations the FAQ bot answers, counted apart from those waiting for an
agent; a handoff moves one to the agents' views with the bot's answer and the line in its thread."""

from __future__ import annotations

from frontdesk.config import BotConfig, FaqConfig, FaqEntry
from frontdesk.desk import Desk, View
from frontdesk.desk.automation.bot import FaqBot
from frontdesk.desk.canned import CannedLibrary
from frontdesk.model import ContactRef, Inbound, Status
from pilot_helpers import NO_CANNED_FILE, idle, screen_text, wait_until

SIZE = (140, 40)
FAQ = FaqConfig((FaqEntry("配送状況", ("配送状況",), "faq-haisou"),), BotConfig(channels=("wa",)))


def counts(app) -> dict[View, int]:
    return app._tally.counts()


def header(app) -> str:
    return next(line for line in screen_text(app).splitlines() if "1 Mine" in line)


async def test_the_bot_view_lists_what_the_bot_holds_and_a_handoff_moves_it(
    desk_store, channels, workspace, clock, console
):
    desk = Desk(
        desk_store,
        channels,
        agent="Aiko",
        clock=clock,
        automata=[FaqBot(FAQ)],
        canned=CannedLibrary(NO_CANNED_FILE),
    )
    await desk.load_workspace(workspace.contacts, workspace.conversations, workspace.messages)
    desk.automation.start(desk)  # only automation: the console's tests run no channels
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
