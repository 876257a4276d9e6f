"""The checks every section's reader shares: file:line failures, types, known keys, secrets."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping
from typing import Annotated, Any, NoReturn, get_args, get_origin

from frontdesk.config.errors import ConfigError
from frontdesk.config_text import (
    Where,
    _describe,
    _did_you_mean,
    _kind_of,
    _matches,
    _plain,
    _render,
    _show,
    _single_line,
    key_lines,
)

#: key names that hold a secret: refused anywhere in a channel, never echoed
SECRET_KEYS = frozenset({"password", "token", "auth_token", "secret", "api_key", "access_token"})
CHANNEL_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*\Z")
UNIX_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\Z")

SchemaLookup = Callable[[str], Mapping[str, type] | None]


class Checks:
    """The reader's state (the file as shown, where each key is) and the checks on one value."""

    def __init__(
        self,
        shown: str,
        text: str,
        backend_schemas: SchemaLookup | None,
        themes: Callable[[], Collection[str]] | None = None,
    ) -> None:
        self.shown = shown
        self.text = text
        self.places = key_lines(text)
        self.backend_schemas = backend_schemas
        self.themes = themes

    def fail(self, where: Where, problem: str) -> NoReturn:
        """Raise the one-line error for `where`: "file:line: key problem"."""
        line = self.line_of(where)
        at = f"{self.shown}:{line}" if line else self.shown
        raise ConfigError(_single_line(f"{at}: {_render(where)} {problem}"))

    def line_of(self, where: Where) -> int | None:
        """The line of `where`, else of the nearest enclosing table that can be found."""
        while where:
            for lineno, place in self.places:
                if place[: len(where)] == where:
                    return lineno
            where = where[:-1]
        return None

    def one_of(self, where: Where, value: Any, choices: tuple[str, ...]) -> str:
        """`value` if it is one of the strings `choices`, else fail listing them."""
        value = self.typed(where, value, str)
        if value not in choices:
            self.fail(
                where, f"must be one of {', '.join(map(json.dumps, choices))} (got {_show(value)})"
            )
        return value

    def refuse_secrets(self, where: Where, raw: Any, channel: str) -> None:
        """Fail on a secret-named key anywhere in a channel block, without repeating its value."""
        items = (
            raw.items()
            if isinstance(raw, dict)
            else enumerate(raw)
            if isinstance(raw, list)
            else ()
        )
        for key, value in items:
            if isinstance(key, str) and key.lower() in SECRET_KEYS:
                from frontdesk.credentials import env_name

                self.fail(
                    (*where, key),
                    f"is a secret and secrets do not belong in the config file; delete the line and store it in "
                    f"the keyring with `frontdesk creds set {channel} {key}` (or set {env_name(channel, key)})",
                )
            self.refuse_secrets((*where, key), value, channel)

    def only_known(
        self, where: Where, raw: dict[str, Any], known: tuple[str, ...], what: str = "key"
    ) -> None:
        for key in raw:
            if key not in known:
                inside = f" in [{_render(where)}]" if where else ""
                self.fail(
                    (*where, key),
                    f"is not a known {what}{inside}{_did_you_mean(key, known)}; remove it (known: {', '.join(known)})",
                )

    def table(self, where: Where, value: Any) -> dict[str, Any]:
        return self.typed(where, value, dict)

    def typed(self, where: Where, value: Any, kind: Any) -> Any:
        """`value` if it is of `kind` (an int counts as a float), else fail naming the expected type."""
        if not _matches(value, kind):
            key = where[-1]
            secret = isinstance(key, str) and any(
                word in key.lower() for word in ("pass", "token", "secret", "key", "credential")
            )
            got = _kind_of(value) if secret else _show(value)
            self.fail(where, f"must be {_describe(kind)} (got {got})")
        for meta in get_args(kind)[1:] if get_origin(kind) is Annotated else ():
            problem = meta.problem(value) if callable(getattr(meta, "problem", None)) else None
            if problem:  # a range a backend declares (backends.base.Bounds)
                self.fail(where, problem)
        if _plain(kind) is float and isinstance(value, int):
            try:
                return float(value)
            except OverflowError:
                self.fail(
                    where,
                    f"must be a number of a sensible size (got {len(str(abs(value)))} digits)",
                )
        return value
