"""Search finds what agents search by: contact details (emails, phones, identities) and text
whatever its accents, width or kana."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from frontdesk.model import Contact, ContactRef, Identity, Inbound
from frontdesk.store.search import SearchHit, fold


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
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1), st.text(), st.text())
def test_a_folded_query_finds_its_text_in_any_case_and_form(query, before, after):
    text = before + query + after
    for form in ("NFC", "NFD", "NFKC"):
        assert fold(unicodedata.normalize(form, query)) in fold(unicodedata.normalize(form, text))


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
    assert match.message_id is None and "hanako@example.jp" in match.text  # the detail that matched is shown


async def test_search_folds_accents_width_and_kana_on_both_sides(desk):
    with desk.store.batch():
        desk.store.put_contact(Contact(9, "José Müller", phones=["+1 (312) 934-3528"], identities=[Identity("wa", "+13129343528")]))
    await desk.ingest("wa", [Inbound("k1", "+13129343528", ContactRef("+13129343528", "José Müller"),
                                     "カタカナで書きました ＡＢＣ-123")])
    conv = desk.store.find_conversation("wa", "+13129343528")
    for query in ("jose", "JOSÉ", "muller", "13129343528", "+1 312 934 3528", "かたかな", "ｶﾀｶﾅ", "abc-123", "ＡＢＣ"):
        assert conv.id in [h.conversation_id for h in await desk.search(query)], query
    assert SearchHit(conv.id, None) in await desk.search("jose müller")
    assert [h.message_id for h in await desk.search("katakana") if h.conversation_id == conv.id] == []


async def test_a_merged_contact_is_found_by_the_details_it_gained(desk):
    assert [m.conversation.id for m in await desk.search_conversations("bob@example.com")] == [4]
    assert 1 not in [h.conversation_id for h in await desk.search("hanako@example.jp")]
    await desk.merge_contacts(1, 2)  # Mia gains Hanako's address and phone; conversation 2 moves to her
    found = {h.conversation_id for h in await desk.search("hanako@example.jp")}
    assert found == {1, 2}
    assert {h.conversation_id for h in await desk.search("+81 90 1234 5678")} == {1, 2}
