"""End to end on the demo workspace: the demo's rules, wired as `frontdesk demo` wires them,
route a new WhatsApp conversation asking for a refund, and the thread says which rule did it."""

from __future__ import annotations

from frontdesk.backends.demo_workspace import generate_workspace
from frontdesk.config import Config
from frontdesk.desk.automation.demo_rules import with_demo_rules
from frontdesk.desk_setup import DEMO_TARGETS, build_desk, demo_channels
from frontdesk.model import ContactRef, EventKind, Inbound, MessageKind, Priority, utcnow
from frontdesk.store import Store


async def test_a_new_whatsapp_refund_is_routed_labelled_and_explained(tmp_path):
    cfg = with_demo_rules(Config(path=tmp_path / "none.toml"))
    with Store.open(tmp_path / "demo-1") as store:
        desk = build_desk(
            cfg,
            store,
            demo_channels(store, 1, live=False),
            agent="Aiko",
            agents=["Ben", "Chloé"],
            default_targets=DEMO_TARGETS,
        )
        ws = generate_workspace(1)
        await desk.load_workspace(ws.contacts, ws.conversations, ws.messages)
        await desk.start()
        try:
            before = {c.id for c in store.conversations()}
            sender = ContactRef("+81 90 5555 0101", "Haruto Mori", "ja")
            text = "注文 #4821 の返金をお願いします"
            await desk.ingest(
                "whatsapp",
                [Inbound("wamid.new-1", sender.address, sender, text, created_at=utcnow())],
            )
            await desk.automation.idle()
            [new] = [c for c in store.conversations() if c.id not in before]
            conv = await desk.conversation(new.id)
            thread = await desk.thread(new.id)
        finally:
            await desk.stop()
    assert (conv.team, conv.assignee) == ("billing", "Chloé")
    assert conv.labels == ["refund"] and conv.priority is Priority.HIGH
    lines = [
        m.body for m in thread if m.kind is MessageKind.ACTIVITY and m.event is EventKind.AUTOMATION
    ]
    assert lines == [
        '⚙ rule Refunds to billing ran assign_team "billing", add_label "refund", '
        'change_priority "high" on message_created because content contains "返金"',
        '⚙ rule Japanese to Chloé ran assign_agent "Chloé" on message_created because '
        'language equal_to "ja"; assignee is_not_present; status not_equal_to "bot"',
    ]
    authors = {m.author for m in thread if m.kind is MessageKind.ACTIVITY}
    assert authors == {"⚙ rule Refunds to billing", "⚙ rule Japanese to Chloé"}


def test_a_config_with_rules_of_its_own_keeps_them(tmp_path):
    from frontdesk.desk.automation.demo_rules import demo_rules

    cfg = Config(path=tmp_path / "c.toml", rules=demo_rules()[:1])
    assert with_demo_rules(cfg).rules == cfg.rules


async def test_a_customer_chasing_in_the_demo_gets_a_label_and_priority_once(tmp_path):
    cfg = with_demo_rules(Config(path=tmp_path / "none.toml"))
    with Store.open(tmp_path / "demo-1") as store:
        desk = build_desk(cfg, store, {}, agent="Aiko", default_targets=DEMO_TARGETS)
        await desk.start()
        try:
            sender = ContactRef("+1555", "Ava", "en")
            for n, text in enumerate(["Hi", "Any update on this?", "Hello? 👋"]):
                await desk.ingest(
                    "telegram", [Inbound(f"t{n}", "+1555", sender, text, created_at=utcnow())]
                )
            await desk.automation.idle()
            conv = next(iter(store.conversations()))
            thread = await desk.thread(conv.id)
        finally:
            await desk.stop()
    assert conv.labels == ["chasing"] and conv.priority is Priority.HIGH
    lines = [m.body for m in thread if m.event is EventKind.AUTOMATION]
    assert lines == [
        '⚙ rule Chasing ran add_label "chasing", change_priority "high" on message_created '
        'because content contains "any update"; priority equal_to "none" or "low"'
    ]
