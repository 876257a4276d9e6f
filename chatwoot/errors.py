"""What can go wrong talking to a Chatwoot server, typed by what the console and the outbox do next."""

from __future__ import annotations


class ChatwootError(Exception):
    """One line for the agent naming what failed and the fix."""


class Unreachable(ChatwootError):
    """The request certainly did not take effect (connect refused, DNS, TLS, 5xx before any
    effect): safe to send again later."""


class RateLimited(ChatwootError):
    """429: the server asks to wait `retry_after` seconds before the next request."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TokenRefused(ChatwootError):
    """401: the api_access_token is wrong or revoked; nothing works until a new one is set."""


class Refused(ChatwootError):
    """Another 4xx: the server read the request and said no (its reason in the message); sending
    the same again would fail the same way."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class Unconfirmed(ChatwootError):
    """The request went out and no answer came (a timeout after sending): it may have taken
    effect. A reply in this state is never sent again by itself."""
