"""The away message and the greeting on a real desk with a fixed clock: when they go, when not."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import FakeChannel, FixedClock

from frontdesk.config import load_config
from frontdesk.desk import Desk
from frontdesk.desk.automation import automation_author
from frontdesk.desk.automation.away import AWAY, GREETING, hours_automata
from frontdesk.desk.canned import CannedLibrary
from frontdesk.model import ContactRef, Direction, EventKind, Inbound, MessageKind
from frontdesk.store import Store

TOKYO = ZoneInfo("Asia/Tokyo")
MONDAY_8PM = datetime(2027, 1, 4, 20, 0, tzinfo=TOKYO)

CANNED = """
[[replies]]
shortcode = "away"
title = "Away"
body = "Hi {contact.first_name}, we are closed now and answer from 09:00."

[[replies]]
shortcode = "away-ja"
title = "Away (ja)"
body = "{contact.name}様、営業時間外です。"

[[replies]]
shortcode = "hi"
title = "Greeting"
body = "Welcome, {contact.first_name}!"
"""

HOURS = """
[hours]
timezone = "Asia/Tokyo"
mon-fri = "09:00-18:00"
sat = "10:00-14:00"
holidays = ["2027-01-01"]
away_reply = {en = "away", ja = "away-ja"}
"""


class Harness:
    """A desk on the fake WhatsApp channel `wa` with [hours] from `hours_toml`."""

    def __init__(self, tmp_path, hours_toml: str = HOURS) -> None:
        (tmp_path / "canned.toml").write_text(CANNED)
        (tmp_path / "config.toml").write_text(hours_toml)
        self.cfg = load_config(tmp_path / "config.toml")
        self.clock = FixedClock(MONDAY_8PM)
        self.channel = FakeChannel("wa")
        self.store_path = tmp_path / "cache"
        self.canned = CannedLibrary(tmp_path / "canned.toml")
        self.n = 0

    async def __aenter__(self) -> Harness:
        self._store = Store.open(self.store_path)
        self.store = self._store.__enter__()
        self.desk = Desk(
            self.store,
            {"wa": self.channel},
            agent="aiko",
            clock=self.clock,
            automata=hours_automata(self.cfg.hours),
            canned=self.canned,
        )
        await self.desk.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.desk.stop()
        self._store.__exit__(None, None, None)

    async def write(
        self,
        body: str = "hello?",
        *,
        who: str = "+8190001",
        name: str = "Kenji Sato",
        language: str = "en",
        age: timedelta = timedelta(0),
        window_expires_at: datetime | None = None,
    ) -> int:
        """A customer writes now (or `age` ago); returns the conversation id once automation ran."""
        self.n += 1
        await self.desk.ingest(
            "wa",
            [
                Inbound(
                    f"m{self.n}",
                    who,
                    ContactRef(who, name=name, language=language),
                    body,
                    created_at=self.clock() - age,
                    window_expires_at=window_expires_at,
                )
            ],
        )
        await self.desk.automation.idle()
        conv = self.store.find_conversation("wa", who)
        return conv.id

    async def automated(self, conv_id: int, name: str = AWAY) -> tuple[list[str], list[str]]:
        """(replies sent by automaton `name`, its thread lines) in the conversation."""
        thread = await self.desk.thread(conv_id)
        author = automation_author(name)
        replies = [
            m.body
            for m in thread
            if m.author == author and m.kind is MessageKind.TEXT and not m.private
        ]
        lines = [m.body for m in thread if m.event is EventKind.AUTOMATION]
        return replies, lines


async def test_a_message_at_8pm_tokyo_gets_the_away_message_once_that_evening(tmp_path) -> None:
    async with Harness(tmp_path) as h:
        conv = await h.write("Where is my order?")
        replies, lines = await h.automated(conv)
        assert replies == ["Hi Kenji, we are closed now and answer from 09:00."]
        assert lines == [
            "⚙ Away message sent /away: outside business hours, open again Tue 09:00 JST"
        ]
        h.clock.advance(hours=1)
        await h.write("Anyone there?")
        assert (await h.automated(conv))[0] == replies
        await h.desk.reply(conv, "Good morning, here is your order status")
        await h.desk.flush_outbox()
        assert [o.body for o in h.channel.sent] == [
            *replies,
            "Good morning, here is your order status",
        ]
        assert [o.automated for o in h.channel.sent] == [True, False]


async def test_a_message_at_10am_gets_nothing_and_the_next_evening_gets_it_again(tmp_path) -> None:
    async with Harness(tmp_path) as h:
        conv = await h.write()
        h.clock.now = datetime(2027, 1, 5, 10, 0, tzinfo=TOKYO)
        await h.write("good morning")
        assert len((await h.automated(conv))[0]) == 1
        h.clock.now = datetime(2027, 1, 5, 19, 0, tzinfo=TOKYO)
        await h.write("still waiting")
        assert len((await h.automated(conv))[0]) == 2


async def test_the_away_reply_leaves_the_customer_waiting_for_a_person(tmp_path) -> None:
    async with Harness(tmp_path) as h:
        conv = await h.write()
        after = await h.desk.conversation(conv)
        assert after.first_reply_at is None and after.waiting_since is not None
        assert after.unread == 1


async def test_no_away_message_when_an_agent_replied_in_the_last_five_minutes(tmp_path) -> None:
    async with Harness(tmp_path) as h:
        h.clock.now = datetime(2027, 1, 4, 17, 58, tzinfo=TOKYO)
        conv = await h.write("quick question")
        await h.desk.reply(conv, "Sure, go ahead")
        h.clock.advance(minutes=4)
        await h.write("what about returns?")
        assert await h.automated(conv) == ([], [])
        h.clock.advance(minutes=2)  # six minutes after the reply, still closed: now it goes
        await h.write("hello?")
        assert len((await h.automated(conv))[0]) == 1


async def test_a_japanese_contact_gets_the_japanese_away_reply(tmp_path) -> None:
    async with Harness(tmp_path) as h:
        conv = await h.write("注文について", name="山田 花子", language="ja-JP")
        replies, lines = await h.automated(conv)
        assert replies == ["山田 花子様、営業時間外です。"]
        assert lines[0].startswith("⚙ Away message sent /away-ja: ")


async def test_machine_mail_and_backlog_get_no_away_message(tmp_path) -> None:
    async with Harness(tmp_path) as h:
        bounce = await h.write("[auto: bounce]\nDelivery failed", who="+8190002")
        old = await h.write("from the first sync", who="+8190003", age=timedelta(hours=3))
        assert await h.automated(bounce) == ([], [])
        assert await h.automated(old) == ([], [])
        assert h.store.outbox() == []


async def test_a_closed_window_is_a_thread_line_not_a_reply_or_a_note(tmp_path) -> None:
    async with Harness(tmp_path) as h:
        conv = await h.write(window_expires_at=h.clock() - timedelta(minutes=1))
        replies, lines = await h.automated(conv)
        assert replies == [] and h.store.outbox() == []
        assert len(lines) == 1
        assert lines[0].startswith("⚙ Away message did not send /away: WhatsApp window closed")
        notes = [m for m in await h.desk.thread(conv) if m.is_note]
        assert notes == []


async def test_a_missing_canned_reply_leaves_a_note_naming_it_and_sends_nothing(tmp_path) -> None:
    async with Harness(tmp_path, HOURS.replace('en = "away"', 'en = "gone"')) as h:
        conv = await h.write()
        notes = [m.body for m in await h.desk.thread(conv) if m.is_note]
        assert len(notes) == 1
        assert notes[0].startswith("Away message did not act: no canned reply /gone in ")
        assert h.store.outbox() == []


async def test_a_channel_switched_off_gets_nothing(tmp_path) -> None:
    async with Harness(tmp_path, HOURS + "\n[hours.channels.wa]\nenabled = false\n") as h:
        conv = await h.write()
        assert await h.automated(conv) == ([], [])


async def test_a_new_conversation_in_hours_gets_the_greeting_and_outside_only_the_away(
    tmp_path,
) -> None:
    async with Harness(tmp_path, HOURS + 'greeting = "hi"\n') as h:
        h.clock.now = datetime(2027, 1, 4, 10, 0, tzinfo=TOKYO)
        day = await h.write(who="+8190010")
        assert (await h.automated(day, GREETING))[0] == ["Welcome, Kenji!"]
        assert (await h.automated(day, GREETING))[1] == [
            "⚙ Greeting sent /hi: a new conversation in business hours"
        ]
        h.clock.now = MONDAY_8PM
        night = await h.write(who="+8190011")
        assert (await h.automated(night, GREETING))[0] == []
        assert len((await h.automated(night, AWAY))[0]) == 1


async def test_a_greeting_always_goes_first_and_the_away_does_not_stack_on_it(tmp_path) -> None:
    text = HOURS + 'greeting = "hi"\ngreeting_when = "always"\n'
    async with Harness(tmp_path, text) as h:
        conv = await h.write()
        thread = await h.desk.thread(conv)
        sent = [m.body for m in thread if m.direction is Direction.OUT and not m.private]
        assert sent == ["Welcome, Kenji!"]


def test_no_hours_section_means_no_automata() -> None:
    assert hours_automata(None) == []


@pytest.mark.parametrize(
    ("extra", "names"),
    [("", [AWAY]), ('greeting = "hi"\n', [GREETING, AWAY])],
)
def test_the_automata_follow_what_hours_names(tmp_path, extra, names) -> None:
    (tmp_path / "config.toml").write_text(HOURS + extra)
    automata = hours_automata(load_config(tmp_path / "config.toml").hours)
    assert [a.name for a in automata] == names


def test_doctor_names_the_config_line_of_a_shortcode_that_is_missing_or_asks(
    tmp_path, capsys
) -> None:
    from frontdesk import cli

    (tmp_path / "canned.toml").write_text(
        CANNED
        + '\n[[replies]]\nshortcode = "order"\ntitle = "Order"\nbody = "Order {ask:number}?"\n'
    )
    (tmp_path / "config.toml").write_text(
        '[agent]\nname = "Aiko"\n'
        + HOURS.replace('ja = "away-ja"', 'ja = "away-jp"')
        + 'greeting = "order"\n'
    )
    given = ["--config", str(tmp_path / "config.toml"), "--data-dir", str(tmp_path / "data")]
    assert cli.main([*given, "doctor"]) == cli.EXIT_FAILURE
    out = capsys.readouterr().out
    assert "config.toml:9: [hours] names /away-jp, which is not a canned reply in " in out
    assert "config.toml:10: [hours] names /order, which asks for {ask:number}" in out
    (tmp_path / "config.toml").write_text('[agent]\nname = "Aiko"\n' + HOURS)
    cli.main([*given, "doctor"])
    assert "ok: hours in Asia/Tokyo" in capsys.readouterr().out


@pytest.mark.parametrize("hour", [0, 5, 13, 20, 23])
def test_the_demo_s_hours_are_closed_now_and_for_three_hours(hour) -> None:
    from frontdesk.desk.automation.demo_hours import demo_hours
    from frontdesk.desk.automation.hours import Hours

    now = datetime(2027, 1, 4, hour, 30, tzinfo=TOKYO)
    hours = Hours(demo_hours(now).default.schedule)
    assert not hours.is_open(now) and not hours.is_open(now + timedelta(hours=2, minutes=29))
    assert hours.next_open(now) == now.replace(minute=0) + timedelta(hours=3)
    assert hours.business_seconds(now, now + timedelta(days=1)) == 8 * 3600


async def test_a_conversation_the_faq_bot_holds_gets_no_away_message(tmp_path) -> None:
    from frontdesk.model import Status

    async with Harness(tmp_path) as h:
        h.clock.advance(days=1, hours=-10)  # Tuesday 10:00: open, nothing sent
        conv = await h.write("hello")
        with h.store.batch():  # as ingest makes a new conversation on a bot channel
            held = h.store.conversation(conv)
            held.status = Status.BOT
            h.store.put_conversation(held)
        h.clock.advance(hours=10)  # 20:00, closed
        await h.write("Where is my order?")
        assert await h.automated(conv) == ([], [])
