"""Search finds what agents search by: contact details (emails, phones, identities) and text
whatever its accents, width or kana."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from frontdesk.model import Contact, ContactRef, Identity, Inbound
from frontdesk.store.search import SearchHit, find_folded, fold, fold_span


def test_fold_ignores_case_accents_width_and_kana():
    assert fold("José") == fold("JOSE") == fold("jose") == "jose"
    assert fold("Ｍüｌｌｅｒ　ＡＢＣ") == fold("muller abc")
    assert fold("カタカナ") == fold("かたかな") == fold("ｶﾀｶﾅ")
    assert fold("ガイド") == fold("がいど")
    assert fold("Straße") == fold("STRASSE")
    assert fold("日本語 😀") == "日本語 😀"


@settings(max_examples=300, deadline=None)
@given(st.text(), st.text())
def test_fold_is_a_map_of_characters(a, b):
    # folding the parts and the whole agree, so a substring of a text folds to a substring of its fold
    assert fold(a + b) == fold(a) + fold(b)
    assert fold(fold(a)) == fold(a)
    assert not any(unicodedata.combining(c) for c in fold(a))


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1),
    st.text(),
    st.text(),
)
def test_a_folded_query_finds_its_text_in_any_case_and_form(query, before, after):
    text = before + query + after
    for form in ("NFC", "NFD", "NFKC"):
        assert fold(unicodedata.normalize(form, query)) in fold(unicodedata.normalize(form, text))


def test_fold_span_gives_the_original_characters_of_a_folded_match():
    def found(text: str, query: str) -> str:
        at = fold(text).index(fold(query))
        start, end = fold_span(text, at, at + len(fold(query)))
        return text[start:end]

    assert found("Hola José!", "jose") == "José"
    assert found("Jose\u0301 x", "jose") == "Jose\u0301"  # the decomposed accent stays with its e
    assert found("ＡＢＣ-123 ｔｒａｃｋｉｎｇ", "tracking") == "ｔｒａｃｋｉｎｇ"
    assert found("あのカタカナ", "かたかな") == "カタカナ"
    assert found("ｶﾞｲﾄﾞ", "かいと") == "ｶﾞｲﾄﾞ"  # the half-width voicing mark is kept with its ﾄ
    assert (
        found("a ﬁle", "i") == "ﬁ"
    )  # a match inside one character's fold gives the whole character
    assert found("Straße", "s") == "S" and found("Straße", "ss") == "ß"
    assert found("plain ascii", "ASCII") == "ascii"


# texts mixing any characters with ones whose fold is longer, shorter or empty
MIXED_TEXT = st.text(st.one_of(st.characters(), st.sampled_from("ﬁßİ㎒ÉéｶﾞガＡ\u0301\u3099…½ǅ")))


@settings(max_examples=300, deadline=None)
@given(MIXED_TEXT, st.data())
def test_fold_span_maps_any_folded_substring_back_to_text_that_folds_to_it(text, data):
    folded = fold(text)
    if not folded:
        return
    start = data.draw(st.integers(0, len(folded) - 1))
    end = data.draw(st.integers(start + 1, len(folded)))
    query = folded[start:end]
    first, last = fold_span(text, start, end)
    assert 0 <= first < last <= len(text)
    # the original span folds to text holding the query, at the place it was found
    before = len(fold(text[:first]))
    assert before <= start and fold(text[first:last])[start - before : end - before] == query


@settings(max_examples=300, deadline=None)
@given(MIXED_TEXT, st.sampled_from([0, 4090, 4094, 4095, 4096]), st.data())
def test_find_folded_gives_the_first_match_in_original_characters(text, padding, data):
    text = "é" * padding + text  # the padding makes matches cross the pieces the text is folded in
    folded = fold(text)
    if not folded:
        return
    start = data.draw(st.integers(0, len(folded) - 1))
    query = folded[start : data.draw(st.integers(start + 1, min(len(folded), start + 12)))]
    first, last = find_folded(text, query)
    at = folded.find(query)
    before = len(fold(text[:first]))
    assert before <= at and fold(text[first:last])[at - before : at - before + len(query)] == query
    assert (first, last) == fold_span(text, at, at + len(query))
    assert (
        find_folded(text, query + "\u0301") is None and find_folded(text, "") is None
    )  # no fold holds a mark


async def test_search_finds_contacts_by_email_phone_address_and_identity(desk):
    async def found(query: str) -> list[int]:
        return [m.conversation.id for m in await desk.search_conversations(query)]

    assert await found("mia@example.com") == [1]
    assert await found("example.jp") == [2]  # part of an identity's address (hanako@example.jp)
    assert await found("819012345678") == [2]  # the phone +81 90 1234 5678 by its digits
    assert await found("+81 90-1234-5678") == [2]
    assert await found("+15550003") == [3]  # a WhatsApp identity
    assert await found("1 555 0003") == [3]
    assert await found("bob@EXAMPLE.com") == [4]
    assert await found("example.com") == [1, 4]
    match = (await desk.search_conversations("hanako@"))[0]
    assert (
        match.message_id is None and "hanako@example.jp" in match.text
    )  # the detail that matched is shown


async def test_search_folds_accents_width_and_kana_on_both_sides(desk):
    with desk.store.batch():
        desk.store.put_contact(
            Contact(
                9,
                "José Müller",
                phones=["+1 (312) 934-3528"],
                identities=[Identity("wa", "+13129343528")],
            )
        )
    await desk.ingest(
        "wa",
        [
            Inbound(
                "k1",
                "+13129343528",
                ContactRef("+13129343528", "José Müller"),
                "カタカナで書きました ＡＢＣ-123",
            )
        ],
    )
    conv = desk.store.find_conversation("wa", "+13129343528")
    for query in (
        "jose",
        "JOSÉ",
        "muller",
        "13129343528",
        "+1 312 934 3528",
        "かたかな",
        "ｶﾀｶﾅ",
        "abc-123",
        "ＡＢＣ",
    ):
        assert conv.id in [h.conversation_id for h in await desk.search(query)], query
    assert SearchHit(conv.id, None) in await desk.search("jose müller")
    assert [
        h.message_id for h in await desk.search("katakana") if h.conversation_id == conv.id
    ] == []


async def test_a_merged_contact_is_found_by_the_details_it_gained(desk):
    assert [m.conversation.id for m in await desk.search_conversations("bob@example.com")] == [4]
    assert 1 not in [h.conversation_id for h in await desk.search("hanako@example.jp")]
    await desk.merge_contacts(
        1, 2
    )  # Mia gains Hanako's address and phone; conversation 2 moves to her
    found = {h.conversation_id for h in await desk.search("hanako@example.jp")}
    assert found == {1, 2}
    assert {h.conversation_id for h in await desk.search("+81 90 1234 5678")} == {1, 2}
