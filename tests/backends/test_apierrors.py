"""The one mapping from a provider's failed HTTP answer to the plugin API's error, and the tables."""

from __future__ import annotations

import httpx
import pytest

from frontdesk.backends.apierrors import Failure, Provider, Rule, Verdict
from frontdesk.backends.base import (
    AmbiguousError,
    PermanentError,
    TransientError,
    WindowClosedError,
)
from frontdesk.backends.httpchannel import Reply
from frontdesk.backends.line_errors import LINE, line_failure
from frontdesk.backends.messenger_errors import MESSENGER, TokenRejected, messenger_failure
from frontdesk.backends.whatsapp_errors import WHATSAPP, AccountBlocked, whatsapp_failure

TABLE = Provider(
    rules=(
        Rule(Verdict.TOKEN, statuses={401}),
        Rule(Verdict.RATE, statuses={429}, codes={7}),
        Rule(Verdict.WINDOW, codes={(10, 99)}),
        Rule(Verdict.SERVER, statuses=range(500, 600)),
    ),
    words={
        Verdict.TOKEN: "token for {name} ({said})",
        Verdict.RATE: "slow down on {label}",
        Verdict.WINDOW: "window ({said})",
        Verdict.SERVER: "server ({status})",
        Verdict.UNREADABLE: "unreadable",
        Verdict.REFUSED: "refused {label}: {said}",
    },
    wait=30.0,
    waits={7: 60.0},
    way_out="write a template",
)


def reply(status: int, data=None, headers=None) -> Reply:
    return Reply(status, httpx.Headers(headers or {}), data, "")


def test_rules_are_tried_in_order_and_a_pair_matches_code_and_subcode():
    assert TABLE.verdict(Failure(401, code=7)) is Verdict.TOKEN
    assert TABLE.verdict(Failure(400, code=7)) is Verdict.RATE
    assert TABLE.verdict(Failure(400, code=10, subcode=99)) is Verdict.WINDOW
    assert TABLE.verdict(Failure(400, code=10, subcode=98)) is Verdict.REFUSED
    assert TABLE.verdict(Failure(503)) is Verdict.SERVER
    assert TABLE.verdict(Failure(200)) is Verdict.UNREADABLE


def test_a_verdict_the_provider_has_no_words_for_is_refused():
    quiet = Provider(rules=(), words={Verdict.REFUSED: "no: {said}"})
    judged = quiet.judge(Failure(200, said="<html>"))
    assert judged.verdict is Verdict.REFUSED and str(judged.error) == "no: <html>"
    assert type(judged.error) is PermanentError and not judged.down


def test_the_error_types_and_the_channel_status():
    token = TABLE.judge(Failure(401, said="bad"), name="wa")
    assert type(token.error) is PermanentError and str(token.error) == "token for wa (bad)"
    assert token.down
    window = TABLE.judge(Failure(400, 10, 99, said="24 h")).error
    assert isinstance(window, WindowClosedError) and window.way_out == "write a template"
    refused = TABLE.judge(Failure(400, said="nope"), label="send").error
    assert type(refused) is PermanentError and str(refused) == "refused send: nope"


def test_an_answer_that_may_mean_the_message_went_out_is_ambiguous_only_for_a_send():
    assert type(TABLE.judge(Failure(200)).error) is TransientError
    sent = TABLE.judge(Failure(200), sending=True).error
    assert isinstance(sent, AmbiguousError) and "may have been sent" in str(sent)
    # a 5xx is retried unless the provider says it may have sent (LINE's reply token)
    assert type(TABLE.judge(Failure(502), sending=True).error) is TransientError
    line = LINE.judge(line_failure(reply(502, {"message": "Bad gateway"})), sending=True)
    assert isinstance(line.error, AmbiguousError)


def test_the_wait_after_a_rate_limit_is_the_providers_then_the_callers_then_the_tables():
    assert TABLE.judge(Failure(429, retry_after=12.0)).error.retry_after == 12.0
    assert TABLE.judge(Failure(429), wait=5.0).error.retry_after == 5.0
    assert TABLE.judge(Failure(429)).error.retry_after == 30.0
    assert TABLE.judge(Failure(400, code=7)).error.retry_after == 60.0


@pytest.mark.parametrize(
    ("answer", "verdict", "error"),
    [
        (reply(400, {"error": {"code": 131047, "message": "Re-engagement"}}), Verdict.WINDOW, None),
        (
            reply(400, {"error": {"code": 368, "message": "blocked"}}),
            Verdict.BLOCKED,
            AccountBlocked,
        ),
        (reply(400, {"error": {"code": 131056}}), Verdict.RATE, TransientError),
        (reply(503, {"error": {"code": 131016}}), Verdict.SERVER, TransientError),
    ],
)
def test_whatsapps_codes(answer, verdict, error):
    judged = WHATSAPP.judge(whatsapp_failure(answer), label="send", name="wa")
    assert judged.verdict is verdict
    assert isinstance(judged.error, error or WindowClosedError)
    assert judged.down is (verdict is Verdict.BLOCKED)


def test_messengers_and_lines_codes():
    window = messenger_failure(reply(400, {"error": {"code": 10, "error_subcode": 2018278}}))
    assert MESSENGER.verdict(window) is Verdict.WINDOW
    permission = messenger_failure(reply(400, {"error": {"code": 10, "error_subcode": 1}}))
    assert MESSENGER.verdict(permission) is Verdict.BLOCKED
    token = MESSENGER.judge(messenger_failure(reply(400, {"error": {"code": 190}})), name="fb")
    assert isinstance(token.error, TokenRejected) and "creds set fb page_access_token" in str(
        token.error
    )
    gone = messenger_failure(reply(400, {"error": {"code": 551, "message": "away"}}))
    assert MESSENGER.verdict(gone) is Verdict.RECIPIENT
    quota = line_failure(reply(429, {"message": "You have reached your monthly limit."}))
    assert LINE.verdict(quota) is Verdict.QUOTA
    assert LINE.verdict(line_failure(reply(429, {"message": "Too many"}))) is Verdict.RATE
