"""Messenger's Graph API errors: the codes by what they mean, and the rejected-token error."""

from __future__ import annotations

from frontdesk.backends.httpchannel import PollRefused

#: Graph error codes of the rate limits (application, user, calls to this API)
RATE_LIMIT_CODES = {4, 17, 32, 613}
WINDOW_SUBCODES = {2018278, 2018065}


class TokenRejected(PollRefused):
    """190: Meta does not accept the Page access token (wrong, expired or revoked)."""


__all__ = ["RATE_LIMIT_CODES", "WINDOW_SUBCODES", "TokenRejected"]
