"""WhatsApp's Graph API errors as data: the codes by what they mean, the words, the error classes."""

from __future__ import annotations

import re

from frontdesk.backends.apierrors import SERVER_STATUSES, Failure, Provider, Rule, Verdict
from frontdesk.backends.apierrors import answer_object
from frontdesk.backends.base import PermanentError
from frontdesk.backends.httpchannel import Reply, clip, scrub
from frontdesk.backends.whatsapp_parse import REENGAGEMENT

WAY_OUT = "send an approved template (ctrl+t)"
#: Graph codes: rate limits (retry later), a closed window, and blocks that stop the whole channel
RATE_LIMITED = frozenset({4, 80007, 130429, 131056})
BLOCKED = frozenset({10, 200, 368, 131031, 131042})
SERVER_TROUBLE = frozenset({1, 2, 131000, 131016})


class TokenRejected(PermanentError):
    """Graph refused the access token (401, code 190): the channel is down until it is replaced."""


class AccountBlocked(PermanentError):
    """Meta stops the account from sending (policy block, locked, payment, permission)."""


WHATSAPP = Provider(
    rules=(
        Rule(Verdict.TOKEN, statuses={401}, codes={190}),
        Rule(Verdict.RATE, statuses={429}, codes=RATE_LIMITED),
        Rule(Verdict.WINDOW, codes={REENGAGEMENT}),
        Rule(Verdict.BLOCKED, codes=BLOCKED),
        Rule(Verdict.SERVER, statuses=SERVER_STATUSES, codes=SERVER_TROUBLE),
    ),
    words={
        Verdict.TOKEN: "WhatsApp rejected the access token ({said}): create a permanent token "
        "(Business Settings → System users → Generate token, with whatsapp_business_messaging "
        "and whatsapp_business_management) and run `frontdesk creds set {name} access_token`",
        Verdict.RATE: "WhatsApp {label} rate limit ({said})",
        Verdict.WINDOW: "{said} — the 24-hour window closed",
        Verdict.BLOCKED: "WhatsApp {label}: the account may not send ({said}); fix it in WhatsApp "
        "Manager (Account quality, Payment settings) or Business Settings",
        Verdict.SERVER: "WhatsApp {label} server error ({said})",
        Verdict.UNREADABLE: "WhatsApp {label} answered with something that is not JSON",
        Verdict.REFUSED: "WhatsApp {label} refused: {said}",
    },
    errors={Verdict.TOKEN: TokenRejected, Verdict.BLOCKED: AccountBlocked},
    wait=30.0,
    waits={131056: 60.0},  # a pair rate limit: Meta asks for a longer pause
    way_out=WAY_OUT,
    down=frozenset({Verdict.TOKEN, Verdict.BLOCKED}),
)


def whatsapp_failure(reply: Reply) -> Failure:
    """Graph's `{"error": {message, code, error_data}}`, said as "131026: title — details"."""
    error = answer_object(reply, "error")
    code = error.get("code") if isinstance(error.get("code"), int) else None
    message = scrub(clip(error.get("message"), 300)) if error else ""
    title = re.sub(r"^\(#\d+\)\s*", "", message) or reply.text.strip()[:200]
    details = error.get("error_data")
    detail = scrub(clip(details.get("details"), 300)) if isinstance(details, dict) else ""
    said = f"{code}: {title}" if code is not None else f"HTTP {reply.status}: {title}"
    if detail and detail.rstrip(".") != title.rstrip("."):
        said += f" — {detail}"
    return Failure(reply.status, code, None, said, reply.retry_after() or None)


__all__ = ["WAY_OUT", "WHATSAPP", "AccountBlocked", "TokenRejected", "whatsapp_failure"]
