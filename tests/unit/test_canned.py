"""Canned replies (file, errors, matcher, filler), the messaging window and SMS length through the desk."""

from __future__ import annotations

import os
import tomllib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from frontdesk.backends.base import WindowRule
from frontdesk.desk import DeskError
from frontdesk.desk.canned import (
    VARIABLES,
    CannedError,
    CannedLibrary,
    CannedReply,
    TemplateError,
    asks,
    fill,
    load_canned,
    rank,
    subsequence_span,
    variables_for,
    write_examples,
)
from frontdesk.desk.limits import short_duration, sms_length, window_state
from frontdesk.model import Contact, Conversation, Delivery

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)
FULL = {name: f"<{name}>" for name in VARIABLES}
"""A value for every variable."""


def reply(shortcode: str, title: str = "", body: str = "", language: str = "") -> CannedReply:
    return CannedReply(shortcode, title or shortcode.title(), body or f"{shortcode} body", language)


# ---- the file ------------------------------------------------------------------------------------------


def test_without_a_file_the_shipped_examples_are_used_in_english_and_japanese(tmp_path):
    canned = load_canned(tmp_path / "canned.toml")
    assert canned.examples and canned.own_path == tmp_path / "canned.toml"
    codes = {r.shortcode for r in canned.replies}
    assert {"hi", "refund", "delay", "reset", "bye", "arigato", "henkin", "chien", "owari"} <= codes
    assert {r.language for r in canned.replies} == {"en", "ja"}
    assert any("お問い合わせ" in r.title for r in canned.replies)
    for r in canned.replies:  # every example fills with a full set of values
        fill(r.body, FULL, dict.fromkeys(asks(r.body), "x"))


def test_pyproject_ships_the_examples_as_package_data():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "*.toml" in data["tool"]["setuptools"]["package-data"]["frontdesk.desk"]
    assert (ROOT / "desk" / "canned_examples.toml").is_file()


def test_the_agents_own_file_replaces_the_examples(tmp_path):
    path = tmp_path / "canned.toml"
    path.write_text(
        '[[replies]]\nshortcode = "/Thanks"\ntitle = "Thanks"\nbody = "Thank you!"\nlanguage = "en"\n'
    )
    canned = load_canned(path)
    assert not canned.examples
    assert canned.replies == (CannedReply("Thanks", "Thanks", "Thank you!", "en", 1),)
    assert canned.find("/thanks") is canned.replies[0] and canned.find("nope") is None
    assert canned.where(canned.replies[0]).endswith("canned.toml:1")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[[replies]]\nshortcode = "a"\ntitle = "A"\nbody = "x\n', r"canned\.toml:4: invalid TOML"),
        (
            '[[replies]]\nshortcode = "a"\ntitle = "A"\nbody = "x"\ncolour = "red"\n',
            r"canned\.toml:5: replies\[0\]\.colour is not a key of a canned reply",
        ),
        (
            '[[replies]]\nshortcode = "a"\ntitle = "A"\nbody = "x"\n\n[[replies]]\nshortcode = "b"\ntitle = "B"\n',
            r"canned\.toml:6: replies\[1\] has no body; add body =",
        ),
        (
            '[[replies]]\nshortcode = "a"\ntitle = "A"\nbody = 3\n',
            r"canned\.toml:4: replies\[0\]\.body must be a string",
        ),
        (
            '[[replies]]\nshortcode = "a"\ntitle = "A"\nbody = "x"\n[[replies]]\nshortcode = "A"\ntitle = "B"\nbody = "y"\n',
            r"canned\.toml:6: replies\[1\]\.shortcode /A is already used by replies\[0\]",
        ),
        (
            '[[replies]]\nshortcode = "two words"\ntitle = "A"\nbody = "x"\n',
            r"canned\.toml:2: replies\[0\]\.shortcode 'two words' must be one word",
        ),
        (
            '[[replies]]\nshortcode = "a"\ntitle = ""\nbody = "x"\n',
            r"canned\.toml:3: replies\[0\]\.title is empty",
        ),
        ('replies = "no"\n', r"canned\.toml:1: replies must be a list"),
        ('[reply]\nshortcode = "a"\n', r"canned\.toml:1: reply is not a known key"),
    ],
)
def test_errors_are_one_line_with_file_line_and_key(tmp_path, text, expected):
    path = tmp_path / "canned.toml"
    path.write_text(text)
    with pytest.raises(CannedError, match=expected) as info:
        load_canned(path)
    assert "\n" not in str(info.value)


def test_a_file_that_is_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "canned.toml"
    path.write_bytes(b'[[replies]]\nshortcode = "a"\ntitle = "\xff"\n')
    with pytest.raises(CannedError, match=r"canned\.toml:3: .*not UTF-8"):
        load_canned(path)


def test_the_library_rereads_the_file_when_it_changes(tmp_path):
    path = tmp_path / "canned.toml"
    library = CannedLibrary(path)
    assert library.current().examples
    path.write_text('[[replies]]\nshortcode = "a"\ntitle = "A"\nbody = "first"\n')
    assert library.current().replies[0].body == "first"
    path.write_text('[[replies]]\nshortcode = "a"\ntitle = "A"\nbody = "second!"\n')
    os.utime(path, ns=(1, 1))  # a different stamp even on a coarse clock
    assert library.current().replies[0].body == "second!"


def test_write_examples_copies_them_once(tmp_path):
    path = write_examples(tmp_path / "cfg" / "canned.toml")
    assert not load_canned(path).examples
    assert [r.shortcode for r in load_canned(path).replies] == [
        r.shortcode for r in load_canned(tmp_path / "none").replies
    ]
    with pytest.raises(CannedError, match="already exists"):
        write_examples(path)


# ---- the fuzzy matcher ---------------------------------------------------------------------------------


def test_subsequence_span_is_the_tightest_stretch():
    assert subsequence_span("rfd", "refund") == 6
    assert subsequence_span("ab", "a x a b") == 3
    assert subsequence_span("", "x") == 0
    assert subsequence_span("zz", "z") is None
    assert subsequence_span("返金", "全額の返金手続き") == 2


def test_ranking_puts_shortcode_prefixes_first_then_titles_then_bodies():
    replies = [
        reply("greeting", "Hello", "We refund nothing here"),  # body substring
        reply("ref-policy", "Refund policy"),  # shortcode prefix
        reply("money", "Your refund is on its way"),  # title substring
        reply("r", "Return", "x"),  # shortcode "r" is no prefix of "ref"
        reply("refund", "Refund confirmed"),  # exact shortcode
        reply(
            "rtfd", "Read the docs", "no match"
        ),  # subsequence of the shortcode? no: r-t-f-d lacks e
        reply("x", "Reef find", "y"),  # subsequence of the title
    ]
    ranked = [r.shortcode for r in rank("ref", replies)]
    assert ranked == ["refund", "ref-policy", "money", "x", "greeting"]
    assert [r.shortcode for r in rank("/REF", replies)][:2] == ["refund", "ref-policy"]
    assert rank("zzz", replies) == []


def test_an_empty_query_keeps_file_order_with_the_contacts_language_first():
    replies = [
        reply("a", language="en"),
        reply("b", language="ja"),
        reply("c"),
        reply("d", language="ja"),
    ]
    assert [r.shortcode for r in rank("", replies)] == ["a", "b", "c", "d"]
    assert [r.shortcode for r in rank("", replies, language="ja-JP")] == ["b", "c", "d", "a"]


def test_japanese_titles_match():
    canned = load_canned(Path("/nonexistent/canned.toml"))
    assert rank("返金", canned.replies)[0].shortcode == "henkin"
    assert rank("お問い合わせ", canned.replies)[0].shortcode == "arigato"


# ---- the template filler ----------------------------------------------------------------------------


def test_fill_replaces_variables_answers_and_literal_braces():
    body = "Hi {contact.first_name}, order {ask:order number} ({ ask: order number }) {{ok}} — {agent.name}"
    assert asks(body) == ["order number"]
    values = {**FULL, "contact.first_name": "Mia", "agent.name": "Aiko"}
    assert fill(body, values, {"order number": "A-1"}) == "Hi Mia, order A-1 (A-1) {ok} — Aiko"


def test_unknown_variables_are_named_and_nothing_is_filled():
    with pytest.raises(TemplateError) as info:
        fill("Hi {contact.nmae} and {foo}", FULL)
    assert info.value.names == ("{contact.nmae}", "{foo}")
    assert (
        str(info.value) == "unknown variable {contact.nmae}, {foo} (did you mean {contact.name}?)"
    )
    with pytest.raises(
        TemplateError, match=r"^unknown variable \{foo\}; known: \{contact.name\}, "
    ):
        fill("Hi {foo}", FULL)


def test_variables_without_a_value_and_missing_answers_are_reported():
    with pytest.raises(TemplateError, match=r"no value for \{contact.email\}"):
        fill("Mail {contact.email}", {**FULL, "contact.email": ""})
    with pytest.raises(TemplateError, match=r"no value for \{ask:order\}"):
        fill("Order {ask:order}", FULL, {"order": "   "})
    with pytest.raises(TemplateError, match=r"lone \{ or \}"):
        fill("a } b", FULL)
    with pytest.raises(TemplateError, match=r"unknown variable \{\}"):
        fill("a {} b", FULL)


def test_variables_for_a_conversation():
    conv = Conversation(7, "wa", 1, "+1", subject="Order\nproblem")
    contact = Contact(1, "  Mia \n Tanaka ", emails=["mia@example.com"], language="en")
    values = variables_for(conv, contact, "Aiko Sato", "whatsapp")
    assert values["contact.first_name"] == "Mia" and values["contact.last_name"] == "Tanaka"
    assert values["contact.name"] == "Mia Tanaka" and values["contact.email"] == "mia@example.com"
    assert values["contact.phone"] == "" and values["agent.first_name"] == "Aiko"
    assert values["conversation.id"] == "7" and values["conversation.channel"] == "WhatsApp"
    assert values["conversation.subject"] == "Order problem"
    assert set(values) == set(VARIABLES)


fragments = st.sampled_from(
    [
        "{agent.name}",
        "{contact.name}",
        "{ask:order}",
        "{{",
        "}}",
        "{",
        "}",
        "[bold]",
        "\x1b[2J",
        "\u202e",
        " ",
        "\n",
        "\t",
        "Mia",
        "山田",
        "🌸",
        "$",
        "%s",
        "\\",
    ]
)
hostile = st.lists(fragments | st.text(max_size=5), max_size=8).map("".join)


@settings(max_examples=300, deadline=None)
@given(name=hostile)
@example(name="{agent.name}")
@example(name="Mallory {{ask:x}} }")
def test_a_hostile_contact_name_is_inserted_verbatim_and_never_expanded(name):
    conv = Conversation(1, "wa", 1, "+1")
    values = variables_for(conv, Contact(1, name), "Aiko", "whatsapp")
    body = "Hi {contact.name} / {contact.first_name}, {agent.name} here"
    if not values["contact.name"]:
        with pytest.raises(TemplateError, match="no value"):
            fill(body, values)
        return
    out = fill(body, values)
    assert out == f"Hi {values['contact.name']} / {values['contact.first_name']}, Aiko here"
    assert "\n" not in out  # one line: a name cannot add lines to a reply


literal = st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=12)
placeholder = st.sampled_from(sorted(VARIABLES))


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(st.tuples(literal, placeholder), max_size=6),
    tail=literal,
    values=st.dictionaries(placeholder, st.text(min_size=1, max_size=10).filter(str.strip)),
)
def test_fill_is_one_pass_substitution(parts, tail, values):
    template = "".join(f"{text}{{{name}}}" for text, name in parts) + tail
    full = {**FULL, **values}
    assert fill(template, full) == "".join(text + full[name] for text, name in parts) + tail


@settings(max_examples=300, deadline=None)
@given(body=st.text(max_size=60))
def test_fill_either_fills_or_raises_template_error(body):
    try:
        out = fill(body, FULL, dict.fromkeys(asks(body), "v"))
    except TemplateError as exc:
        assert str(exc)
    else:
        assert "{" not in out.replace("{{", "") or "{{" in body  # only escaped braces remain


# ---- the messaging window and SMS length --------------------------------------------------------------


def test_short_duration():
    assert [
        short_duration(timedelta(**kw))
        for kw in (
            {"hours": 3, "minutes": 59},
            {"minutes": 45},
            {"seconds": 20},
            {"days": 1, "hours": 4},
            {"days": 6, "hours": 23},
        )
    ] == ["3h", "45m", "<1m", "1d 4h", "6d"]


def test_window_states_open_tag_and_closed():
    rule = WindowRule(
        timedelta(hours=24),
        "template required",
        "send an approved template",
        tag="HUMAN_AGENT",
        tag_span=timedelta(days=7),
    )
    expires = NOW + timedelta(hours=3, minutes=10)
    free = window_state(rule, "Messenger", expires, NOW)
    assert free.label == "free reply · Messenger window 3h left"
    assert free.explanation == (
        "Messenger accepts free replies for 3h more (24 h after the customer's last message); "
        "then they go out with the HUMAN_AGENT tag."
    )
    tag = window_state(rule, "Messenger", NOW - timedelta(hours=1), NOW)
    assert (
        tag.label == "sent with the HUMAN_AGENT tag, 5d left" and not tag.closed
    )  # window opened 25 h ago: 7d - 25h
    assert tag.explanation.startswith(
        "The Messenger window closed; this reply goes out with the HUMAN_AGENT tag, accepted for 5d"
    )
    closed = window_state(rule, "Messenger", NOW - timedelta(days=6, hours=2), NOW)
    assert closed.closed and closed.label == "Messenger window closed — template required"
    assert "send an approved template" in closed.explanation
    assert window_state(None, "SMS", expires, NOW) is None
    assert window_state(rule, "WhatsApp", None, NOW) is None


def test_sms_length_counts_gsm7_and_ucs2_segments():
    assert (
        (s := sms_length("a" * 160)).segments == 1
        and s.encoding == "GSM-7"
        and "1 SMS (GSM-7 160/160)" in str(s)
    )
    assert sms_length("a" * 161).segments == 2 and "2 SMS parts (GSM-7 161/306)" in str(
        sms_length("a" * 161)
    )
    assert (u := sms_length("こ" * 70)).encoding == "UCS-2" and u.segments == 1
    assert sms_length("こ" * 71).segments == 2 and sms_length("😊" * 35).units == 70
    assert sms_length("€" * 80).units == 160  # extended GSM characters count double
    over = sms_length("a" * 1601)
    assert over.over_limit and "over the 1,600-character SMS limit" in str(over)


async def test_the_desk_gives_the_window_and_refuses_a_reply_once_it_closed(desk, clock, channels):
    assert clock() == NOW
    conv = await desk.conversation(1)
    conv.window_expires_at = NOW + timedelta(hours=2)
    with desk.store.batch():
        desk.store.put_conversation(conv)
    assert (await desk.window(1)).label == "WhatsApp window 2h left"
    assert await desk.window(2) is None  # email: no window
    clock.advance(hours=3)
    window = await desk.window(1)
    assert (
        window.closed and window.label == "WhatsApp window closed — the customer must write first"
    )
    before = len(await desk.thread(1))
    with pytest.raises(
        DeskError, match="WhatsApp window closed .* wait for the customer to write again"
    ):
        await desk.reply(1, "Hello?")
    assert len(await desk.thread(1)) == before and desk.store.outbox() == []
    await desk.reply(2, "tracking soon")  # email has no window: queued
    msg = next(m for m in await desk.thread(1) if m.body == "Checking with the warehouse.")
    msg.private, msg.delivery = False, Delivery.FAILED
    with desk.store.batch():
        desk.store.put_message(msg)
    with pytest.raises(DeskError, match="WhatsApp window closed"):
        await desk.retry(1, msg.id)  # a retry would be refused by the channel too
    await desk.note(1, "window closed, ask Ben")  # notes are never blocked
    await desk.flush_outbox()
    assert channels["wa"].sent == []


async def test_the_desk_counts_sms_only_on_sms_channels(desk, channels):
    desk.channels["sms"] = type(channels["wa"])("sms", "sms")  # conftest's FakeChannel
    assert str(desk.sms_length("sms", "Hi 😊")) == "4 chars · 1 SMS (UCS-2 5/70)"
    assert desk.sms_length("wa", "Hi") is None


async def test_canned_variables_come_from_the_conversation(desk):
    values = await desk.canned_variables(2)
    assert (
        values["contact.name"] == "山田 花子 🌸" and values["contact.phone"] == "+81 90 1234 5678"
    )
    assert values["agent.name"] == "Aiko" and values["conversation.channel"] == "email"
    assert values["conversation.subject"] == "注文について"


def test_doctor_reports_canned_replies_that_cannot_be_filled(tmp_path, capsys):
    from frontdesk.doctor import check_canned

    path = tmp_path / "canned.toml"
    assert check_canned(path) == []  # the shipped examples all fill
    assert "the shipped examples" in capsys.readouterr().out
    path.write_text(
        '[[replies]]\nshortcode = "ok"\ntitle = "Ok"\nbody = "Hi {ask:x}"\n\n'
        '[[replies]]\nshortcode = "x"\ntitle = "X"\nbody = "Hi {contact.nmae}"\n'
    )
    assert check_canned(path) == [
        f"{path}:6: /x: unknown variable {{contact.nmae}} (did you mean {{contact.name}}?)"
    ]
    path.write_text('[[replies]]\nshortcode = "x"\n')
    assert check_canned(path) == [
        f'{path}:1: replies[0] has no title; add title = "Refund confirmed"'
    ]


async def test_a_note_mentions_agents_even_before_punctuation_and_is_never_sent(desk, channels):
    note = await desk.note(1, "Thanks @ben. Ask @Aiko, not @nobody or mia@example.com")
    assert note.mentions == ["Ben", "Aiko"] and note.private
    await desk.flush_outbox()
    assert channels["wa"].sent == [] and desk.store.outbox() == []


def canned_text(entries: int) -> str:
    return "".join(
        f'[[replies]]\nshortcode = "r{i}"\ntitle = "Reply {i}"\nbody = "Hi {{contact.first_name}} #{i}"\n\n'
        for i in range(entries)
    )


def traced_lines(call) -> int:
    """Python lines executed by `call()`: a count of work that does not depend on the machine's speed."""
    import sys

    count = 0

    def tracer(frame, event, arg):
        nonlocal count
        count += event == "line"
        return tracer

    sys.settrace(tracer)
    try:
        call()
    finally:
        sys.settrace(None)
    return count


def test_loading_canned_replies_grows_linearly_with_the_file():
    from frontdesk.desk.canned import parse_canned

    small, large = canned_text(300), canned_text(1200)
    work_small = traced_lines(lambda: parse_canned(small, "canned.toml"))
    work_large = traced_lines(lambda: parse_canned(large, "canned.toml"))
    assert work_large < 4.6 * work_small, (
        work_small,
        work_large,
    )  # 4x the entries: 4x the work, not 16x
