"""End to end on the demo workspace: the desk `build_desk` makes from an `[hours]` config, the
demo channels and the shipped canned replies. A message at 20:00 Tokyo gets the away message
once that evening; one at 10:00 gets none."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from conftest import FixedClock

from frontdesk.backends.demo_workspace import generate_workspace
from frontdesk.config import load_config
from frontdesk.desk.automation import automation_author
from frontdesk.desk.automation.away import AWAY
from frontdesk.desk_setup import build_desk, demo_channels
from frontdesk.model import Delivery, Direction, EventKind, Inbound, MessageKind
from frontdesk.store import Store

TOKYO = ZoneInfo("Asia/Tokyo")
HOURS = """
[hours]
timezone = "Asia/Tokyo"
mon-fri = "09:00-18:00"
sat = "10:00-14:00"
holidays = ["2027-01-01", "2027-01-02"]
away_reply = {en = "away", ja = "away-ja"}
"""


async def test_a_demo_customer_at_8pm_tokyo_gets_the_away_message_once(tmp_path) -> None:
    (tmp_path / "config.toml").write_text(HOURS)  # no canned.toml: the shipped examples
    cfg = load_config(tmp_path / "config.toml")
    clock = FixedClock(datetime(2027, 1, 4, 20, 0, tzinfo=TOKYO))  # a Monday evening
    with Store.open(tmp_path / "data") as store:
        channels = demo_channels(store, 1, live=False)
        desk = build_desk(cfg, store, channels, agent="Aiko", agents=["Ben", "Chloé"])
        desk.now = clock
        ws = generate_workspace(1, now=clock())
        await desk.load_workspace(ws.contacts, ws.conversations, ws.messages)
        desk.automation.start(desk)
        try:
            thread = next(t for t in channels["whatsapp"].live_threads() if t.language == "ja")
            n = 0

            async def customer_writes(body: str) -> list:
                nonlocal n
                n += 1
                event = Inbound(
                    f"e2e-{n}", thread.thread_key, thread.sender(), body, created_at=clock()
                )
                await desk.ingest("whatsapp", [event])
                await desk.automation.idle()
                return await desk.thread(thread.conversation_id)

            messages = await customer_writes("こんばんは、注文の件です")
            away = [m for m in messages if m.author == automation_author(AWAY)]
            reply = next(m for m in away if m.kind is MessageKind.TEXT)
            line = next(m for m in away if m.event is EventKind.AUTOMATION)
            assert reply.direction is Direction.OUT and not reply.private
            assert "営業時間外" in reply.body
            assert line.body == (
                "⚙ Away message sent /away-ja: outside business hours, open again Tue 09:00 JST"
            )

            clock.advance(hours=1)
            messages = await customer_writes("まだですか？")
            assert [m for m in messages if m.author == automation_author(AWAY)] == away

            clock.now = datetime(2027, 1, 5, 10, 0, tzinfo=TOKYO)
            messages = await customer_writes("おはようございます")
            assert [m for m in messages if m.author == automation_author(AWAY)] == away

            await desk.flush_outbox()
            sent = await desk.message(thread.conversation_id, reply.id)
            assert sent.delivery is Delivery.SENT
            conv = await desk.conversation(thread.conversation_id)
            assert conv.waiting_since is not None and conv.waiting_since <= clock() - timedelta(
                hours=1
            )
        finally:
            await desk.automation.stop()
