"""Messenger's Graph API errors as data: the codes by what they mean, the words, the token error."""

from __future__ import annotations

from frontdesk.backends.apierrors import SERVER_STATUSES, Failure, Provider, Rule, Verdict
from frontdesk.backends.apierrors import answer_object, words_of
from frontdesk.backends.httpchannel import PollRefused, Reply

#: Graph error codes of the rate limits (application, user, calls to this API)
RATE_LIMIT_CODES = {4, 17, 32, 613}
WINDOW_SUBCODES = {2018278, 2018065}


class TokenRejected(PollRefused):
    """190: Meta does not accept the Page access token (wrong, expired or revoked)."""


MESSENGER = Provider(
    rules=(
        Rule(Verdict.TOKEN, statuses={401}, codes={190}),
        Rule(Verdict.RATE, codes=RATE_LIMIT_CODES),
        Rule(Verdict.WINDOW, codes={(10, subcode) for subcode in WINDOW_SUBCODES}),
        Rule(Verdict.RECIPIENT, codes={551}),
        Rule(Verdict.SERVER, statuses=SERVER_STATUSES, codes={1, 2}),
        Rule(Verdict.BLOCKED, statuses={403}, codes={10, 200, 230}),
    ),
    words={
        Verdict.TOKEN: "Messenger rejected the Page access token {said}: create a new one (Meta "
        "app → Messenger → Access tokens) and run `frontdesk creds set {name} page_access_token`",
        Verdict.RATE: "Messenger rate limit on {label} {said}",
        Verdict.WINDOW: "Messenger refused the reply: it is outside the allowed window {said}",
        Verdict.RECIPIENT: "Messenger: this person is not available right now {said}",
        Verdict.SERVER: "Messenger server error on {label} {said}",
        Verdict.BLOCKED: "Messenger refused {label}: the app lacks a permission {said}; check the "
        "app's pages_messaging permission and that the token belongs to this Page",
        Verdict.REFUSED: "Messenger refused {label} {said}",
    },
    errors={Verdict.TOKEN: TokenRejected},
    way_out="the customer wrote more than 7 days ago (or the HUMAN_AGENT tag is not approved "
    "for this app); wait for them to write again, or reach them on another channel",
)


def messenger_failure(reply: Reply) -> Failure:
    """Graph's error object, said as "(code/subcode message)"; the HTTP status stands in for a
    missing code. Meta's Retry-After is not read: the wait is the `rate_limit_wait` setting."""
    error = answer_object(reply, "error")
    code = error.get("code") if isinstance(error.get("code"), int) else reply.status
    subcode = error.get("error_subcode")
    text = words_of(reply, error.get("message"))
    said = f"({code}{f'/{subcode}' if subcode else ''} {text or f'HTTP {reply.status}'})"
    return Failure(reply.status, code, subcode, said)


__all__ = ["MESSENGER", "TokenRejected", "messenger_failure"]
