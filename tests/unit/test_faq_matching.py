"""FAQ matching: normalised text (full- and half-width alike), words in English, substrings in
Japanese, the best entry or none, and handoff words; hostile text never breaks it."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from frontdesk.desk.automation.faq import (
    MAX_TEXT,
    FaqItem,
    FaqMatcher,
    HandoffWords,
    normalise,
    phrases_of,
)


def item(name: str, *keywords: str, channels=(), language=None) -> FaqItem:
    return FaqItem(name, phrases_of(keywords), f"faq-{name}", frozenset(channels), language)


FAQ = FaqMatcher(
    [
        item("shipping", "配送状況", "where is my order", "tracking", "shipping"),
        item("refund", "refund", "返金", "money back"),
        item("hours", "opening hours", "営業時間"),
        item("password", "password", "パスワード", language="ja"),
    ]
)


def best(text: str, channel: str = "line", language: str | None = None) -> str | None:
    found = FAQ.best(text, channel, language)
    return found.item.name if found else None


def test_normalise_folds_width_case_and_spaces() -> None:
    assert normalise("  ＲＥＦＵＮＤ\u3000please\n\tnow ") == "refund please now"
    assert normalise("ﾊﾟｽﾜｰﾄﾞ") == "パスワード"


def test_english_matches_whole_words_in_any_case_and_width() -> None:
    assert best("Can I get a REFUND?") == "refund"
    assert best("ＲＥＦＵＮＤ please") == "refund"
    assert best("Where   is my\norder?") == "shipping"
    assert best("refunded twice, thanks") is None  # "refund" is not a word of it
    assert best("I want my money back") == "refund"


def test_japanese_matches_without_word_boundaries_full_and_half_width() -> None:
    assert best("配送状況を教えてください") == "shipping"
    assert best("ご注文の返金はいつですか") == "refund"
    assert best("ﾊﾟｽﾜｰﾄﾞを忘れました", language="ja") == "password"
    assert best("パスワードを忘れました") == "password"  # unknown language: every entry


def test_the_entry_with_most_phrases_wins_and_none_without_any() -> None:
    assert best("refund for my shipping? tracking says lost") == "shipping"
    assert best("hello there") is None
    assert best("") is None


def test_channel_and_language_limit_an_entry() -> None:
    only_mail = FaqMatcher([item("refund", "refund", channels=["email"])])
    assert only_mail.best("refund", "line") is None
    assert only_mail.best("refund", "email") is not None
    assert best("password reset", language="en") is None
    assert best("password reset", language="JA") == "password"


def test_handoff_words_defaults_and_configured() -> None:
    words = HandoffWords(["スタッフ", "real person"])
    assert words.asked("担当者と話したい") == "担当者"
    assert words.asked("ｵﾍﾟﾚｰﾀｰをお願いします") == "オペレーター"
    assert words.asked("Can I talk to a HUMAN?") == "human"
    assert words.asked("スタッフさんに代わって") == "スタッフ"
    assert words.asked("the agents are slow") is None  # whole words in English
    assert words.asked("where is my parcel") is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=3 * MAX_TEXT), st.sampled_from(["line", "email", ""]))
def test_matching_never_raises_on_any_text_and_is_bounded(text: str, channel: str) -> None:
    started = time.perf_counter()
    found = FAQ.best(text, channel, None)
    HandoffWords().asked(text)
    assert found is None or found.item in FAQ.items
    assert time.perf_counter() - started < 0.5


@given(st.lists(st.text(max_size=300), max_size=20))
def test_any_configured_phrase_compiles(keywords: list[str]) -> None:
    matcher = FaqMatcher([FaqItem("x", phrases_of(keywords), "faq-x")])
    for phrase in matcher.items[0].phrases:
        assert matcher.best(phrase.text) is not None
