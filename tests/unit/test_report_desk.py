"""Reports from a real desk: the thread lines it writes (bot handoff, resolve, reopen) are the
facts reports read, the facts are saved and re-read only for conversations that changed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from frontdesk.config import BotConfig, FaqConfig, FaqEntry, load_config
from frontdesk.desk import Desk
from frontdesk.desk.automation.bot import FaqBot
from frontdesk.desk.canned import CannedLibrary
from frontdesk.desk.errors import DeskError
from frontdesk.desk.report import Grouping, Stat
from frontdesk.desk.report.cache import FILE_NAME
from frontdesk.desk_setup import build_desk
from frontdesk.model import ContactRef, Conversation, Direction, Inbound, Message, Status
from frontdesk.store import Store

START = datetime(2027, 3, 1, 11, 0, tzinfo=timezone.utc)
FAQ = FaqConfig(entries=(FaqEntry("Refunds", ("refund",), "faq-refund"),), bot=BotConfig(("line",)))


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def world(tmp_path):
    clock = Clock()
    with Store.open(tmp_path / "cache") as store:
        desk = Desk(
            store,
            agent="aiko",
            agent_names={"aiko": "Aiko"},
            clock=clock,
            canned=CannedLibrary(tmp_path / "none.toml"),
            automata=[FaqBot(FAQ)],
        )
        await desk.start()
        try:
            yield desk, clock
        finally:
            await desk.stop()


_ids = iter(range(1, 10_000))


async def write(desk: Desk, clock: Clock, body: str, thread: str = "U1") -> int:
    event = Inbound(f"m{next(_ids)}", thread, ContactRef(thread, "Kim"), body, created_at=clock.now)
    await desk.ingest("line", [event])
    await desk.automation.idle()
    return desk.store.find_conversation("line", thread).id


async def test_a_handed_over_reopened_conversation_as_the_desk_wrote_it(world):
    desk, clock = world
    conv_id = await write(desk, clock, "hello, a refund please")  # the bot answers
    clock.now += timedelta(minutes=2)
    await write(desk, clock, "I want to talk to a person")  # the bot hands over
    assert (await desk.conversation(conv_id)).status is Status.OPEN
    clock.now += timedelta(minutes=10)
    await desk.reply(conv_id, "Hi Kim, Aiko here")
    clock.now += timedelta(hours=1)
    await desk.set_status(conv_id, Status.RESOLVED)
    clock.now += timedelta(hours=3)
    await write(desk, clock, "it still has not arrived")  # reopens
    clock.now += timedelta(minutes=20)
    await desk.reply(conv_id, "Sorry, sending it again")
    clock.now += timedelta(minutes=40)
    await desk.set_status(conv_id, Status.RESOLVED)

    report = await desk.report(START, clock.now + timedelta(seconds=1), Grouping.AGENT)

    f = report.figures
    assert (f.opened, f.resolved, f.reopened) == (1, 1, 1)
    assert f.first_response.calendar == Stat(1, 600, 600, 600)  # from the handoff, not creation
    assert f.reply.calendar.count == 2 and f.reply.calendar.p90 == 1200
    assert f.resolution.calendar.median == (clock.now - START).total_seconds()
    rows = {row.key: row.figures for row in report.rows}
    assert list(rows) == ["aiko", ""]  # nobody assigned it: what Aiko did counts for her
    assert (rows["aiko"].resolved, rows["aiko"].first_response.calendar.count) == (1, 1)
    assert (rows[""].opened, rows[""].resolved) == (1, 0)


async def test_facts_are_saved_and_read_again_only_where_the_thread_grew(world, monkeypatch):
    desk, clock = world
    first = await write(desk, clock, "hello", thread="U1")
    second = await write(desk, clock, "hello", thread="U2")
    until = clock.now + timedelta(days=1)
    await desk.report(START, until, Grouping.CHANNEL)
    assert (desk.store.root / FILE_NAME).exists()

    read: list[int] = []
    messages = desk.store.messages
    monkeypatch.setattr(desk.store, "messages", lambda i: read.append(i) or messages(i))
    await desk.report(START, until, Grouping.CHANNEL)
    assert read == []
    await write(desk, clock, "again", thread="U2")
    read.clear()  # the bot read it too
    report = await desk.report(START, until, Grouping.CHANNEL)
    assert read == [second] and first != second
    assert report.figures.messages_in == 3


async def test_a_period_the_desk_will_not_report(world):
    desk, clock = world
    with pytest.raises(DeskError, match="before it starts"):
        await desk.report(START, START - timedelta(days=1), Grouping.DAY)
    with pytest.raises(DeskError, match="at most 366 days"):
        await desk.report(START - timedelta(days=400), START, Grouping.DAY)


async def test_a_damaged_facts_file_is_read_again_from_the_threads(world):
    desk, clock = world
    await write(desk, clock, "hello")
    until = clock.now + timedelta(days=1)
    whole = await desk.report(START, until, Grouping.DAY)
    (desk.store.root / FILE_NAME).write_bytes(b"\x93garbage")
    desk._report_facts = None  # as a new process would find it
    again = await desk.report(START, until, Grouping.DAY)
    assert again.figures == whole.figures and again.figures.messages_in == 1


async def test_a_desk_built_from_hours_reports_business_time_in_their_zone(tmp_path):

    path = tmp_path / "config.toml"
    path.write_text(
        '[agent]\nname = "Aiko"\n\n[hours]\ntimezone = "Asia/Tokyo"\nmon-fri = "09:00-18:00"\n',
        encoding="utf-8",
    )

    friday_evening = datetime(2027, 3, 5, 17, 30, tzinfo=timezone.utc)  # Sat 02:30 in Tokyo
    monday = datetime(2027, 3, 8, 0, 30, tzinfo=timezone.utc)  # Mon 09:30 in Tokyo
    with Store.open(tmp_path / "data") as store:
        desk = build_desk(load_config(path), store, {})
        desk.now = lambda: monday + timedelta(hours=1)
        with store.batch():
            store.put_conversation(
                Conversation(1, "sms", 1, "+1", created_at=friday_evening, message_count=2)
            )
            store.put_message(Message(1, 1, Direction.IN, "hi", created_at=friday_evening))
            store.put_message(
                Message(2, 1, Direction.OUT, "hello", author="aiko", created_at=monday)
            )
        report = await desk.report(monday - timedelta(days=7), desk.now(), Grouping.DAY)
    first = report.figures.first_response
    assert report.business_hours and report.timezone == "Asia/Tokyo"
    assert first.calendar.median == (monday - friday_evening).total_seconds()
    assert first.business.median == 30 * 60  # Monday 09:00–09:30 Tokyo
    assert [row.key for row in report.rows] == ["2027-03-06", "2027-03-08"]  # Tokyo days
