"""LINE's error answers as data: their text with details, what each status means, the token error."""

from __future__ import annotations

from frontdesk.backends.apierrors import SERVER_STATUSES, Failure, Provider, Rule, Verdict
from frontdesk.backends.base import PermanentError
from frontdesk.backends.httpchannel import Reply, clip, scrub

#: LINE gives no code for a used-up monthly quota, only a 429 whose message says "monthly"
MONTHLY = "monthly"


class TokenRejected(PermanentError):
    """401: LINE does not accept the channel access token."""


def error_text(reply: Reply) -> str:
    """LINE's error text with its details ("The request body has 1 error(s): text: must …")."""
    data = reply.data if isinstance(reply.data, dict) else {}
    text = (
        scrub(clip(data.get("message"), 300)) or reply.text.strip()[:200] or f"HTTP {reply.status}"
    )
    details = data.get("details")
    if isinstance(details, list):
        parts = [
            f"{clip(d.get('property'), 60)}: {clip(d.get('message'), 200)}".lstrip(": ")
            for d in details[:5]
            if isinstance(d, dict)
        ]
        if parts:
            text += " — " + "; ".join(scrub(p) for p in parts)
    return text


LINE = Provider(
    rules=(
        Rule(Verdict.TOKEN, statuses={401}),
        Rule(Verdict.QUOTA, codes={MONTHLY}),
        Rule(Verdict.RATE, statuses={429}),
        Rule(Verdict.SERVER, statuses=SERVER_STATUSES),
        Rule(Verdict.BLOCKED, statuses={403}),
    ),
    words={
        Verdict.TOKEN: "LINE rejected the channel access token ({said}): issue a long-lived "
        "channel access token in the LINE Developers console (your channel → Messaging API tab) "
        "and run `frontdesk creds set {name} channel_access_token`",
        Verdict.QUOTA: "LINE: the monthly message quota is used up ({said}); replies within a "
        "minute of the customer's message are still free — raise the plan in LINE Official "
        "Account Manager, or wait for next month",
        Verdict.RATE: "LINE rate limit on {label} ({said})",
        Verdict.SERVER: "LINE server error on {label} ({status} {said})",
        Verdict.BLOCKED: "LINE refused {label}: {said} — the channel's plan or settings do not "
        "allow it (LINE Official Account Manager)",
        Verdict.REFUSED: "LINE refused {label}: {said}",
    },
    errors={Verdict.TOKEN: TokenRejected},
    wait=10.0,
    server_may_send=True,  # a reply token cannot be deduplicated: a 5xx may have used it
)


def line_failure(reply: Reply) -> Failure:
    """A LINE error answer: its text with details, the monthly quota told apart from a rate limit."""
    said = error_text(reply)
    code = MONTHLY if reply.status == 429 and MONTHLY in said.lower() else None
    return Failure(reply.status, code, None, said, reply.retry_after() or None)


__all__ = ["LINE", "TokenRejected", "error_text", "line_failure"]
