"""Chatwoot's canned responses in frontdesk's template language, for any content a server sends."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from frontdesk.chatwoot.canned import canned_reply
from frontdesk.chatwoot.state import CannedResponse
from frontdesk.desk.canned import SHORTCODE, VARIABLES, asks, fill


def test_variables_frontdesk_knows_become_its_placeholders_the_rest_ask():
    reply = canned_reply(
        CannedResponse(
            "thx!",
            "Hi {{ contact.first_name }}, order {{order_id}} {ok} #{{conversation.display_id}}",
        )
    )
    assert reply.shortcode == "thx-"
    assert reply.body == "Hi {contact.first_name}, order {ask:order_id} {{ok}} #{conversation.id}"
    assert asks(reply.body) == ["order_id"]


@given(st.text(max_size=200), st.text(min_size=1, max_size=30))
def test_any_content_fills_whole_without_a_stray_brace(content, code):
    reply = canned_reply(CannedResponse(code, content))
    assert SHORTCODE.match(reply.shortcode)
    filled = fill(reply.body, dict.fromkeys(VARIABLES, "x"), dict.fromkeys(asks(reply.body), "x"))
    assert filled.count("{") <= content.count("{")  # braces stay literal, none is added
