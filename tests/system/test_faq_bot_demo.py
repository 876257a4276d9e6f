"""End to end on the demo workspace: the desk `frontdesk demo` builds (build_desk, the demo's FAQ
bot, the simulated channels with their newcomers) keeps one LINE newcomer with the bot, answered,
and hands the one who writes "担当者と話したい" to the agents."""

from __future__ import annotations

from frontdesk.backends.demo import demo_channels
from frontdesk.backends.demo_workspace import generate_workspace
from frontdesk.config import Config
from frontdesk.desk import View
from frontdesk.desk.automation import Trigger, TriggerKind
from frontdesk.desk.automation.demo_faq import with_demo_faq
from frontdesk.desk.canned import CannedLibrary
from frontdesk.desk_setup import build_desk
from frontdesk.model import Direction, EventKind, Status
from frontdesk.store import Store
from pilot_helpers import eventually


class Opened:
    name = "assignment"

    def __init__(self) -> None:
        self.opened: list[int] = []

    async def handle(self, desk, trigger: Trigger) -> None:
        if trigger.kind is TriggerKind.CONVERSATION_OPENED:
            self.opened.append(trigger.conversation_id)


async def test_the_demo_bot_answers_one_newcomer_and_hands_the_other_to_an_agent(tmp_path):
    cfg = with_demo_faq(Config(path=tmp_path / "config.toml"))
    opened = Opened()
    with Store.open(tmp_path / "demo") as store:
        # only the newcomers write: the other customers' first pause is hours of demo time away
        channels = demo_channels(1, live=True, speed=0.002, interval=86_400, newcomer=True)
        desk = build_desk(cfg, store, channels, agent="Aiko", agents=["Ben", "Chloé"])
        desk.canned = CannedLibrary(tmp_path / "canned.toml")  # none: the shipped examples
        desk.automation.automata.append(opened)
        ws = generate_workspace(1)
        await desk.load_workspace(ws.contacts, ws.conversations, ws.messages)
        await desk.start()
        try:

            def newcomer(name: str):
                for conv in store.conversations():
                    contact = store.contact(conv.contact_id)
                    if contact is not None and contact.name == name:
                        return conv
                return None

            def handed_over() -> bool:
                conv = newcomer("中村 結衣")
                return conv is not None and conv.status is Status.OPEN and bool(opened.opened)

            await eventually(handed_over, timeout=20, what="中村 結衣 handed to the agents")
            await desk.automation.idle()
            kept, handed = newcomer("小林 陽菜"), newcomer("中村 結衣")
            assert kept.status is Status.BOT and kept.channel == handed.channel == "line"
            assert opened.opened == [handed.id]
            lines = [
                m.body for m in await desk.thread(handed.id) if m.event is EventKind.AUTOMATION
            ]
            assert lines == [
                "⚙ FAQ bot answers this first: the bot is on for line",
                "⚙ FAQ bot sent /faq-haisou: answered FAQ '配送状況' (matched '配送状況', '配送', '荷物')",
                "⚙ FAQ bot handed this to the agents: the customer asked for a person ('担当者')",
            ]
            answers = [
                m
                for m in await desk.thread(kept.id)
                if m.direction is Direction.OUT and not m.private
            ]
            assert [m.author for m in answers] == ["⚙ FAQ bot"]
            assert answers[0].body.startswith("返金は、確認後")
            counts = (await desk.tally()).counts()
            assert counts[View.BOT] == 1
            assert kept.id not in [c.id for c in await desk.conversations(View.ALL, sort=None)]
            assert handed.id in [c.id for c in await desk.conversations(View.UNASSIGNED, sort=None)]
        finally:
            await desk.stop()
