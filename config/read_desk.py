"""Reading `[desk]`: the local desk (the default) or a Chatwoot account's URL and id."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from frontdesk.config.checks import SECRET_KEYS, Checks
from frontdesk.config.sections import DESK_KINDS, DeskConfig
from frontdesk.config_text import _show

URL_EXAMPLE = 'url = "https://chat.example.com"'


class DeskReading(Checks):
    """The reader's part for `[desk]`."""

    def desk(self, raw: Any) -> DeskConfig:
        raw = self.table(("desk",), raw)
        self._refuse_token(raw)
        self.only_known(("desk",), raw, ("kind", "url", "account_id"))
        kind = self.one_of(("desk", "kind"), raw.get("kind", "local"), DESK_KINDS)
        if kind == "local":
            for key in ("url", "account_id"):
                if key in raw:
                    self.fail(
                        ("desk", key),
                        'is read only with kind = "chatwoot"; add kind = "chatwoot" to [desk] '
                        "or remove the line",
                    )
            return DeskConfig()
        for key, example in (("url", URL_EXAMPLE), ("account_id", "account_id = 1")):
            if key not in raw:
                self.fail(
                    ("desk",),
                    f'has kind = "chatwoot" but no {key}; add {example} (the number in your '
                    "dashboard's address, /app/accounts/<id>/…)"
                    if key == "account_id"
                    else f'has kind = "chatwoot" but no {key}; add {example}',
                )
        url = self.chatwoot_url(raw["url"])
        account_id = self.typed(("desk", "account_id"), raw["account_id"], int)
        if account_id < 1:
            self.fail(
                ("desk", "account_id"),
                f"must be a whole number from 1 (got {account_id}): the number in your "
                "dashboard's address, /app/accounts/<id>/…",
            )
        return DeskConfig(kind=kind, url=url, account_id=account_id)

    def chatwoot_url(self, raw: Any) -> str:
        """The server's base URL without a trailing slash, or a failure saying what is wrong."""
        where = ("desk", "url")
        url = self.typed(where, raw, str).strip().rstrip("/")
        problem = url_problem(url)
        if problem:
            # a URL with a user part may carry a password: never repeat it
            shown = f" (got {_show(url)})" if "@" not in url else ""
            self.fail(where, f"{problem}{shown}, e.g. {URL_EXAMPLE}")
        return url

    def _refuse_token(self, raw: dict[str, Any]) -> None:
        for key in raw:
            if isinstance(key, str) and key.lower() in SECRET_KEYS | {"api_access_token"}:
                from frontdesk.credentials import env_name

                self.fail(
                    ("desk", key),
                    "is a secret and secrets do not belong in the config file; delete the line "
                    "and store the token with `frontdesk creds set chatwoot api_access_token` "
                    f"(or set {env_name('chatwoot', 'api_access_token')})",
                )


def url_problem(url: str) -> str | None:
    """Why `url` is not a Chatwoot server's base URL (http/https, a host, an optional path
    prefix for a server behind a proxy, nothing else), or None when it is one."""
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        return "must be a URL without spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "must be the server's http:// or https:// address with a valid host and port"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be the server's http:// or https:// address"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user or password (the token is a secret: `frontdesk creds`)"
    if parts.query or parts.fragment or "?" in url or "#" in url:
        return "must have no query or fragment"
    if port == 0:
        return "must name a port from 1 to 65535 when it names one"
    path = parts.path.rstrip("/")
    if path.endswith("/api") or "/api/v1/" in path + "/":
        return "must be the server's base address, without /api (frontdesk adds the API paths)"
    return None
