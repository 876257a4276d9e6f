"""The Chatwoot access token: a secret read like a channel's (environment, then keyring), never shown."""

from __future__ import annotations

from frontdesk import credentials
from frontdesk.chatwoot.errors import ChatwootError

OWNER = "chatwoot"
"""The name the token is stored under, as a channel's secrets are (`frontdesk creds`)."""
KEY = "api_access_token"
"""Its key: Chatwoot's own name for it (the header the API reads)."""
WHERE_TO_FIND = "Chatwoot: Profile settings, Access Token"
"""Where an agent copies the token from."""


class TokenMissing(ChatwootError):
    """No token in the environment or the keyring: nothing can be asked of the server."""


def missing_token_line() -> str:
    """One line naming both ways to set the token and where to find it."""
    return (
        f"the Chatwoot access token is not set; run `frontdesk creds set {OWNER} {KEY}` or set "
        f"{credentials.env_name(OWNER, KEY)} ({WHERE_TO_FIND})"
    )


def refused_token_line() -> str:
    """One line for a 401: the token is wrong or revoked, and how to store a new one."""
    return f"token refused: set a new one with `frontdesk creds set {OWNER} {KEY}`"


def read_token() -> str:
    """The token from FRONTDESK_SECRET_CHATWOOT_API_ACCESS_TOKEN, else the keyring; TokenMissing
    (one line, the keyring's trouble appended when it had some) when neither has it."""
    token = credentials.get_secret(OWNER, KEY)
    if token:
        return token.strip()
    trouble = credentials.keyring_problem()
    raise TokenMissing(missing_token_line() + (f" ({trouble})" if trouble else ""))


def stored_token() -> str:
    """The token as stored now, "" when it is not set (read again after a 401)."""
    try:
        return read_token()
    except TokenMissing:
        return ""
