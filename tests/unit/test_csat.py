"""CSAT: reading a 1–5 answer, the survey after a resolve, the answer kept without reopening."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import FakeChannel
from hypothesis import given
from hypothesis import strategies as st
from template_channel import TemplateChannel

from frontdesk.desk import Desk
from frontdesk.desk.automation import automation_author
from frontdesk.desk.automation.csat import (
    QUESTIONS,
    CsatSettings,
    Survey,
    SurveyTemplate,
    parse_rating,
)
from frontdesk.model import ContactRef, EventKind, Inbound, Status, utcnow
from frontdesk.store import Store
from frontdesk.tui.widgets.contact_panel import satisfaction


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("5", 5),
        (" 4 ", 4),
        ("５", 5),
        ("3/5", 3),
        ("2 out of 5", 2),
        ("4 stars!", 4),
        ("4点", 4),
        ("５です。", 5),
        ("★★★★", 4),
        ("⭐⭐⭐", 3),
        ("★★★☆☆", 3),
        ("👍", 5),
        ("👍🏽", 5),
        ("👎", 1),
        ("1.", 1),
    ],
)
def test_a_rating_is_read_in_the_documented_shapes(text: str, rating: int) -> None:
    assert parse_rating(text) == rating


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "6",
        "10",
        "45",
        "",
        "   ",
        "★★★★★★",
        "☆☆",
        "thanks!",
        "5 but my parcel is still missing",
    ],
)
def test_anything_else_is_not_a_rating(text: str) -> None:
    assert parse_rating(text) is None


@given(st.text(max_size=400))
def test_reading_never_fails_and_only_gives_1_to_5(text: str) -> None:
    assert parse_rating(text) in (None, 1, 2, 3, 4, 5)


def inbound(n: int, body: str, thread: str = "t1", language: str = "") -> Inbound:
    sender = ContactRef("+8190000", name="Kenji Sato", language=language)
    return Inbound(f"m{n}", thread, sender, body, created_at=utcnow())


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path) as store:
        yield store


async def resolved_with_survey(desk: Desk, channel: str, language: str = "") -> int:
    await desk.ingest(channel, [inbound(1, "my parcel is late", language=language)])
    conv = (await desk.conversations())[0]
    await desk.reply(conv.id, "It arrives tomorrow.")
    await desk.set_status(conv.id, Status.RESOLVED)
    await desk.automation.idle()
    return conv.id


async def test_a_resolve_sends_the_survey_and_the_answer_is_kept_without_reopening(store) -> None:
    wa = FakeChannel("wa")
    desk = Desk(store, {"wa": wa}, agent="aiko", automata=[Survey(CsatSettings())])
    await desk.start()
    try:
        conv_id = await resolved_with_survey(desk, "wa", language="ja")
        await desk.ingest("wa", [inbound(2, "５")])
        conv = await desk.conversation(conv_id)
        thread = await desk.thread(conv_id)
    finally:
        await desk.stop()
    survey = [m for m in thread if m.author == automation_author("CSAT") and not m.private][0]
    assert survey.body == QUESTIONS["ja"]
    assert conv.status is Status.RESOLVED and conv.unread == 0
    assert (conv.rating, conv.survey_sent_at is not None) == (5, True)
    lines = [m.body for m in thread if m.event in (EventKind.AUTOMATION, EventKind.RATED)]
    assert lines == ["⚙ CSAT sent the satisfaction survey", "Kenji Sato rated this 5/5"]
    assert str(satisfaction(conv)).startswith("\nSatisfaction\n  ★★★★★ 5/5")


async def test_words_after_the_survey_reopen_the_conversation_as_usual(store) -> None:
    desk = Desk(store, {"wa": FakeChannel("wa")}, agent="aiko", automata=[Survey(CsatSettings())])
    await desk.start()
    try:
        conv_id = await resolved_with_survey(desk, "wa")
        await desk.ingest("wa", [inbound(2, "5 but my parcel is still missing")])
        conv = await desk.conversation(conv_id)
    finally:
        await desk.stop()
    assert conv.status is Status.OPEN and conv.rating is None


async def test_a_closed_whatsapp_window_sends_the_configured_template(store) -> None:
    settings = CsatSettings(whatsapp_template=SurveyTemplate("welcome_back", "es"))
    desk = Desk(store, {"wa": TemplateChannel("wa")}, agent="aiko", automata=[Survey(settings)])
    await desk.start()
    try:
        old = utcnow() - timedelta(days=2)
        await desk.ingest("wa", [Inbound("m1", "t1", ContactRef("+1"), "hi", created_at=old)])
        conv = (await desk.conversations())[0]
        await desk.set_status(conv.id, Status.RESOLVED)
        await desk.automation.idle()
        thread = await desk.thread(conv.id)
        after = await desk.conversation(conv.id)
    finally:
        await desk.stop()
    assert [(m.template.name, m.author) for m in thread if m.template is not None] == [
        ("welcome_back", automation_author("CSAT"))
    ]
    assert after.survey_sent_at is not None
    assert after.first_reply_at is None  # automation's template answers nobody


async def test_without_a_template_a_closed_window_is_a_line_saying_why(store) -> None:
    desk = Desk(
        store, {"wa": TemplateChannel("wa")}, agent="aiko", automata=[Survey(CsatSettings())]
    )
    await desk.start()
    try:
        old = utcnow() - timedelta(days=2)
        await desk.ingest("wa", [Inbound("m1", "t1", ContactRef("+1"), "hi", created_at=old)])
        conv = (await desk.conversations())[0]
        await desk.set_status(conv.id, Status.RESOLVED)
        await desk.automation.idle()
        lines = [m.body for m in await desk.thread(conv.id) if m.event is EventKind.AUTOMATION]
        after = await desk.conversation(conv.id)
    finally:
        await desk.stop()
    assert len(lines) == 1
    assert lines[0].startswith("⚙ CSAT did not send the satisfaction survey: WhatsApp window")
    assert lines[0].endswith("no [csat] whatsapp_template is set")
    assert after.survey_sent_at is None


async def test_other_channels_are_left_alone_and_a_second_resolve_asks_once(store) -> None:
    settings = CsatSettings(channels=frozenset({"wa"}))
    channels = {"wa": FakeChannel("wa"), "mail": FakeChannel("mail", "email")}
    desk = Desk(store, channels, agent="aiko", automata=[Survey(settings)])
    await desk.start()
    try:
        conv_id = await resolved_with_survey(desk, "wa")
        await desk.set_status(conv_id, Status.OPEN)
        await desk.set_status(conv_id, Status.RESOLVED)
        await desk.ingest("mail", [inbound(5, "hello", thread="m")])
        mail = [c for c in await desk.conversations() if c.channel == "mail"][0]
        await desk.set_status(mail.id, Status.RESOLVED)
        await desk.automation.idle()
        wa_surveys = [
            m for m in await desk.thread(conv_id) if m.author == automation_author("CSAT")
        ]
        mail_after = await desk.conversation(mail.id)
    finally:
        await desk.stop()
    assert len([m for m in wa_surveys if not m.private]) == 1
    assert mail_after.survey_sent_at is None


async def test_the_survey_and_rating_survive_a_restart(tmp_path) -> None:
    with Store.open(tmp_path) as store:
        desk = Desk(
            store, {"wa": FakeChannel("wa")}, agent="aiko", automata=[Survey(CsatSettings())]
        )
        await desk.start()
        try:
            conv_id = await resolved_with_survey(desk, "wa")
            await desk.ingest("wa", [inbound(2, "★★★★")])
        finally:
            await desk.stop()
    with Store.open(tmp_path) as store:
        conv = store.conversation(conv_id)
    assert conv is not None
    assert (conv.rating, conv.rated_at is not None, conv.survey_sent_at is not None) == (
        4,
        True,
        True,
    )


def test_the_config_section_turns_the_survey_on(tmp_path) -> None:
    from frontdesk.config import ConfigError, load_config
    from frontdesk.desk_setup import build_automata

    path = tmp_path / "config.toml"
    path.write_text(
        "[csat]\nchannels = ['wa']\nwhatsapp_template = 'csat_survey'\n"
        "[csat.question]\nen = 'Rate us 1-5'\n"
    )
    (survey,) = build_automata(load_config(path))
    assert isinstance(survey, Survey)
    assert survey.settings.question("en-GB") == "Rate us 1-5"
    assert survey.settings.question("ja") == QUESTIONS["ja"]
    assert survey.settings.whatsapp_template == SurveyTemplate("csat_survey", "en_US")
    path.write_text("[csat]\nquestion = 'one text'\n")
    with pytest.raises(ConfigError, match=r"config\.toml:2.*question"):
        load_config(path)
    path.write_text("")
    assert build_automata(load_config(path)) == []
