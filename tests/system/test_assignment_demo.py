"""End to end on the demo workspace: the desk `build_desk` makes from a config with
`[assignment] auto` and three `[team.agents]`, the demo channels and history. A burst of 50 new
conversations is spread over the three online agents by their room and language."""

from __future__ import annotations

from collections import Counter

from frontdesk.backends.demo_workspace import generate_workspace
from frontdesk.config import load_config
from frontdesk.desk.automation import automation_author
from frontdesk.desk_setup import build_desk, demo_channels
from frontdesk.model import ContactRef, EventKind, Inbound, Status
from frontdesk.store import Store

ROOM = {"aiko": 20, "ben": 15, "chloe": 15}  # new conversations each can take on top of today's


def config(open_now: Counter) -> str:
    """Each agent's max_open is what they hold now plus their ROOM."""
    languages = {"aiko": '["ja", "en"]', "ben": '["en"]', "chloe": '["en", "ko"]'}
    tables = [
        f"[team.agents.{user}]\nlanguages = {languages[user]}\nmax_open = {open_now[user] + room}\n"
        for user, room in ROOM.items()
    ]
    return "[team]\n" + "\n".join(tables) + "\n[assignment]\nauto = true\n"


async def test_a_burst_of_50_is_spread_by_room_and_language(tmp_path) -> None:
    ws = generate_workspace(1)
    rename = {"Aiko": "aiko", "Ben": "ben", "Chloé": "chloe"}  # the demo's agents, as Unix users
    for conv in ws.conversations:
        conv.assignee = rename.get(conv.assignee or "", conv.assignee)
    open_now = Counter(c.assignee for c in ws.conversations if c.status is not Status.RESOLVED)
    (tmp_path / "config.toml").write_text(config(open_now))
    cfg = load_config(tmp_path / "config.toml")
    with Store.open(tmp_path / "data") as store:
        channels = demo_channels(store, 1, live=False)
        desk = build_desk(cfg, store, channels, agent="desk", agents=list(ROOM))
        await desk.load_workspace(ws.contacts, ws.conversations, ws.messages)
        desk.automation.start(desk)
        for user in ROOM:
            desk.presence.join(user)
        try:
            burst = [
                Inbound(
                    f"burst-{n}",
                    f"burst-{n:03d}",
                    ContactRef(f"burst-{n:03d}", f"Customer {n}", "ja" if n % 5 == 0 else "en"),
                    "ご注文について" if n % 5 == 0 else "Question about my order",
                )
                for n in range(50)
            ]
            await desk.ingest("whatsapp", burst)
            await desk.automation.idle()
            new = [c for c in await desk.conversations() if c.thread_key.startswith("burst-")]
            languages = {c.id: (await desk.contact(c.contact_id)).language for c in new}
            first = await desk.thread(new[0].id)
        finally:
            await desk.stop()
    assert len(new) == 50
    assert Counter(c.assignee for c in new) == ROOM  # each filled exactly to max_open
    assert {c.assignee for c in new if languages[c.id] == "ja"} == {"aiko"}
    line = next(m for m in first if m.event is EventKind.ASSIGNED)
    assert line.author == automation_author("Auto-assignment")
