"""Rules of the conversation list: sorting, filtering, search snippets and snooze times (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frontdesk.desk.snooze import SnoozeTimeError, parse_snooze, presets
from frontdesk.desk.views import (
    Filters,
    Snippet,
    Sort,
    View,
    ViewTally,
    filter_conversations,
    in_view,
    snippet,
    sort_conversations,
    sort_key,
)
from frontdesk.model import Conversation, Priority, Status

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)  # a Monday
TOKYO = ZoneInfo("Asia/Tokyo")


def conv(
    id: int,
    *,
    activity: int,
    waiting: int | None = None,
    channel: str = "wa",
    labels: tuple[str, ...] = (),
    priority: Priority = Priority.NONE,
) -> Conversation:
    """A conversation last active `activity` minutes ago, its customer waiting `waiting` minutes."""
    return Conversation(
        id,
        channel,
        id,
        f"t{id}",
        labels=list(labels),
        priority=priority,
        last_activity_at=NOW - timedelta(minutes=activity),
        waiting_since=None if waiting is None else NOW - timedelta(minutes=waiting),
    )


def ids(conversations) -> list[int]:
    return [c.id for c in conversations]


def test_sort_by_activity_is_newest_first():
    convs = [conv(1, activity=30), conv(2, activity=5), conv(3, activity=60)]
    assert ids(sort_conversations(convs, Sort.ACTIVITY)) == [2, 1, 3]


def test_sort_by_waiting_puts_the_longest_waiting_customer_first_then_answered_by_activity():
    convs = [
        conv(1, activity=1, waiting=5),
        conv(2, activity=2),  # answered, recent
        conv(3, activity=50, waiting=90),  # waiting longest
        conv(4, activity=40),  # answered, older
        conv(5, activity=10, waiting=20),
    ]
    assert ids(sort_conversations(convs, Sort.WAITING)) == [3, 5, 1, 2, 4]


def test_sort_ties_keep_id_order():
    convs = [conv(3, activity=5), conv(1, activity=5), conv(2, activity=5)]
    assert ids(sort_conversations(convs, Sort.ACTIVITY)) == [1, 2, 3]
    assert ids(sort_conversations(convs, Sort.WAITING)) == [1, 2, 3]


def test_sort_toggles_and_has_titles():
    assert Sort.WAITING.toggled is Sort.ACTIVITY and Sort.ACTIVITY.toggled is Sort.WAITING
    assert "waiting" in Sort.WAITING.title and "activity" in Sort.ACTIVITY.title


CONVS = [
    conv(1, activity=1, channel="wa", labels=("vip",), priority=Priority.URGENT),
    conv(2, activity=2, channel="mail", labels=("refund", "vip")),
    conv(3, activity=3, channel="mail", priority=Priority.HIGH),
    conv(4, activity=4, channel="sms", labels=("refund",), priority=Priority.URGENT),
]


def test_no_filter_keeps_everything_and_is_inactive():
    assert ids(filter_conversations(CONVS, Filters())) == [1, 2, 3, 4]
    assert not Filters().active and Filters().describe() == ""


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (Filters(channels=frozenset({"mail"})), [2, 3]),
        (Filters(channels=frozenset({"mail", "sms"})), [2, 3, 4]),  # alternatives within a facet
        (Filters(labels=frozenset({"vip"})), [1, 2]),
        (Filters(labels=frozenset({"vip", "refund"})), [1, 2, 4]),
        (Filters(priorities=frozenset({Priority.URGENT})), [1, 4]),
        (Filters(priorities=frozenset({Priority.NONE})), [2]),
        (
            Filters(channels=frozenset({"mail"}), labels=frozenset({"refund"})),
            [2],
        ),  # all facets must hold
        (Filters(channels=frozenset({"wa"}), priorities=frozenset({Priority.HIGH})), []),
    ],
)
def test_filters(filters, expected):
    assert filters.active
    assert ids(filter_conversations(CONVS, filters)) == expected


def test_filter_description_names_each_facet_in_a_stable_order():
    filters = Filters(
        frozenset({"wa", "mail"}), frozenset({"vip"}), frozenset({Priority.LOW, Priority.URGENT})
    )
    assert filters.describe() == "channel mail, wa · label vip · priority low, urgent"


def test_snippet_centres_on_the_match_and_folds_whitespace():
    text = "word " * 40 + "the Parcel\n\narrived broken " + "tail " * 40
    s = snippet(text, "parcel", width=40)
    assert (
        "Parcel arrived" in s.text
        and s.text.startswith("…")
        and s.text.endswith("…")
        and len(s.text) == 40
    )
    assert [s.text[a:b] for a, b in s.matches] == ["Parcel"]
    assert snippet("short  text\nhere", "text") == Snippet("short text here", ((6, 10),))
    assert snippet("x" * 100, "nomatch", width=10) == Snippet("x" * 9 + "…", ())


@pytest.mark.parametrize(
    ("text", "query", "shown"),
    [
        ("Hola, soy José de Madrid", "jose", "José"),
        (
            "Hola, soy Jose\u0301 de Madrid",
            "JOSÉ",
            "Jose\u0301",
        ),  # decomposed: the mark stays with its e
        ("the ｔｒａｃｋｉｎｇ number", "tracking", "ｔｒａｃｋｉｎｇ"),
        ("これはカタカナです", "かたかな", "カタカナ"),
        ("ﬁle not found", "file", "ﬁle"),
        ("Straße 5", "strasse", "Straße"),
    ],
)
def test_snippet_finds_and_marks_a_folded_match_in_the_original_characters(text, query, shown):
    long = "word " * 40 + text + " tail" * 40
    s = snippet(long, query, width=40)
    assert [s.text[a:b] for a, b in s.matches] == [shown]
    assert s.text.index(shown) in range(8, 14)  # centred on it, not the start of the text


def test_snippet_marks_a_phone_found_by_its_digits():
    s = snippet("José Müller · +1 (312) 934-3528", "+1 312 934 3528")
    assert [s.text[a:b] for a, b in s.matches] == ["1 (312) 934-3528"]
    assert snippet("call 312 934", "13129").matches == ()


def test_snippet_marks_every_match_it_shows_and_the_visible_part_of_a_cut_one():
    s = snippet("word " * 20 + "José y jose y JOSE" + " tail" * 20, "jose", width=40)
    assert [s.text[a:b] for a, b in s.matches] == ["José", "jose", "JOSE"]
    s = snippet("x" * 50 + "Ｊｏｓé Ｍüｌｌｅｒ" + "y" * 50, "jose muller", width=9)
    assert s.text == "…xＪｏｓé Ｍ…" and [s.text[a:b] for a, b in s.matches] == ["Ｊｏｓé Ｍ"]


def test_snooze_presets_in_local_time():
    one_hour, tomorrow, monday = presets(NOW, TOKYO)  # 19:00 Monday in Tokyo
    assert one_hour.until == NOW + timedelta(hours=1)
    assert tomorrow.until == datetime(2026, 11, 3, 9, 0, tzinfo=TOKYO)
    assert monday.until == datetime(
        2026, 11, 9, 9, 0, tzinfo=TOKYO
    )  # today is Monday: the next one
    assert tomorrow.until.tzinfo is timezone.utc
    sunday_night = datetime(2026, 11, 8, 20, 0, tzinfo=timezone.utc)
    assert presets(sunday_night, timezone.utc)[2].until == datetime(
        2026, 11, 9, 9, 0, tzinfo=timezone.utc
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", NOW + timedelta(hours=2)),
        ("30m", NOW + timedelta(minutes=30)),
        (" 3D ", NOW + timedelta(days=3)),
        ("2026-11-05 14:30", datetime(2026, 11, 5, 14, 30, tzinfo=TOKYO)),
    ],
)
def test_custom_snooze_times(text, expected):
    assert parse_snooze(text, NOW, TOKYO) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "type a time"),
        ("tomorrow", "cannot read 'tomorrow'"),
        ("2 weeks", "cannot read"),
        ("1.5h", "cannot read"),
        ("0m", "more than zero"),
        ("2026-02-30 10:00", "not a real date"),
        ("2026-11-02 18:00", "already passed"),  # 18:00 Tokyo is 09:00 UTC, before NOW
        ("2026-11-02", "cannot read"),
    ],
)
def test_custom_snooze_rejects_with_a_clear_message(text, message):
    with pytest.raises(SnoozeTimeError, match=message):
        parse_snooze(text, NOW, TOKYO)


# ---- the desk applies them ----------------------------------------------------------------


async def test_desk_sorts_and_filters_a_view(desk):
    from frontdesk.desk import View

    assert ids(await desk.conversations(View.ALL)) == [1, 2, 3]
    assert ids(await desk.conversations(View.ALL, sort=Sort.WAITING)) == [1, 2, 3]
    await desk.label(3, add=["vip"])
    await desk.set_priority(2, Priority.URGENT)
    assert ids(await desk.conversations(View.ALL, filters=Filters(labels=frozenset({"vip"})))) == [
        3
    ]
    assert ids(
        await desk.conversations(View.ALL, filters=Filters(channels=frozenset({"mail"})))
    ) == [2]
    urgent = Filters(priorities=frozenset({Priority.URGENT}))
    assert ids(await desk.conversations(View.ALL, filters=urgent)) == [2]
    counts = await desk.counts(urgent)
    assert counts[View.ALL] == 1 and counts[View.MINE] == 1 and counts[View.UNASSIGNED] == 0
    assert (await desk.counts())[View.ALL] == 3
    assert await desk.labels() == ["vip"]
    assert await desk.channel_names() == ["mail", "wa"]


async def test_desk_search_conversations_gives_one_match_per_conversation_with_a_snippet(desk):
    matches = await desk.search_conversations("order")
    assert [m.conversation.id for m in matches] == [1]
    assert matches[0].text == "Where is my order #1234?\nreceipt.pdf" and matches[0].hits == 2
    assert matches[0].contact_name == "Mia Tanaka" and matches[0].message_id == 2
    by_name = await desk.search_conversations("tanaka")
    assert by_name[0].message_id is None and by_name[0].text == "Mia Tanaka"
    assert await desk.search_conversations("   ") == []


FACTS = st.tuples(
    st.sampled_from(list(Status)),
    st.sampled_from([None, "Aiko", "Ben", "aiko"]),
    st.sampled_from([None, "billing"]),
    st.sampled_from(["wa", "sms"]),
)


@given(
    st.lists(FACTS, max_size=30),
    st.lists(st.tuples(st.integers(1, 35), st.none() | FACTS), max_size=30),
    st.booleans(),
)
def test_view_tally_kept_one_conversation_at_a_time_matches_the_view_rules(
    start, edits, filtered
) -> None:
    filters = Filters(channels=frozenset({"wa"})) if filtered else Filters()

    def make(i, facts):
        status, assignee, team, channel = facts
        return Conversation(i, channel, i, f"t{i}", status=status, assignee=assignee, team=team)

    current = {i: make(i, facts) for i, facts in enumerate(start, start=1)}
    tally = ViewTally("Aiko", filters)
    tally.reset(current.values())
    for conv_id, facts in edits:  # None: the conversation went away (merged)
        if facts is None:
            current.pop(conv_id, None)
            tally.remove(conv_id)
        else:
            current[conv_id] = make(conv_id, facts)
            tally.update(current[conv_id])
    expected = {
        view: sum(1 for c in current.values() if filters.matches(c) and in_view(c, view, "Aiko"))
        for view in View
    }
    assert tally.counts() == expected


@given(
    st.lists(st.tuples(st.integers(0, 50), st.none() | st.integers(0, 50)), max_size=30),
    st.sampled_from(list(Sort)),
)
def test_sort_key_orders_as_the_view_sort(times, sort) -> None:
    conversations = [conv(i, activity=a, waiting=w) for i, (a, w) in enumerate(times, start=1)]
    assert ids(sorted(conversations, key=sort_key(sort))) == ids(
        sort_conversations(conversations, sort)
    )


def test_a_bot_conversation_is_only_in_the_bot_view_and_not_counted_as_waiting_for_an_agent():
    bot = conv(1, activity=1, waiting=1)
    bot.status = Status.BOT
    handed = conv(2, activity=1, waiting=1)
    tally = ViewTally("aiko")
    tally.reset([bot, handed])
    assert [v for v in View if in_view(bot, v, "aiko")] == [View.BOT]
    counts = tally.counts()
    assert counts[View.BOT] == 1
    assert counts[View.ALL] == counts[View.UNASSIGNED] == 1  # only the conversation handed over
    handed.status = Status.BOT
    tally.update(handed)
    assert tally.counts()[View.BOT] == 2 and tally.counts()[View.ALL] == 0
