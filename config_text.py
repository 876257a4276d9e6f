"""TOML text for people: a file's path as typed, syntax errors in one line, where a key is in
the text, and values and types described in an error."""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin


def display_path(path: Path) -> str:
    """The path as the user would type it: under the home directory as ~/…."""
    try:
        return "~/" + path.resolve().relative_to(Path.home().resolve()).as_posix()
    except (ValueError, RuntimeError, OSError):
        return str(path)


def syntax_error(shown: str, text: str, exc: tomllib.TOMLDecodeError) -> str:
    message = _single_line(str(exc))
    found = re.fullmatch(r"(.*) \(at line (\d+), column (\d+)\)", message)
    if found:
        what, line, column = found.groups()
        return f"{shown}:{line}: invalid TOML at column {column}: {_lower_first(what)}; fix the syntax on that line"
    found = re.fullmatch(r"(.*) \(at end of document\)", message)
    if found:
        line = max(1, len(text.splitlines()))
        return f"{shown}:{line}: invalid TOML at the end of the file: {_lower_first(found.group(1))}; fix the syntax (an unclosed string, bracket or table?)"
    return f"{shown}: invalid TOML: {message}; fix the syntax"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _single_line(text: str) -> str:
    return " ".join(text.split())


Where = tuple[str | int, ...]
"""A key's place in the document: ("channels", 1, "imap_port") is channels[1].imap_port."""


def _render(where: Where) -> str:
    out = ""
    for part in where:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return _single_line(out)


def _plain(kind: Any) -> Any:
    """`kind` without Annotated metadata."""
    return get_args(kind)[0] if get_origin(kind) is Annotated else kind


def _matches(value: Any, kind: Any) -> bool:
    kind = _plain(kind)
    if kind is Any or kind is object:
        return True
    origin = get_origin(kind)
    if origin in (Union, UnionType):
        return any(_matches(value, arg) for arg in get_args(kind))
    if origin is not None:
        if not isinstance(value, origin):
            return False
        args = get_args(kind)
        if origin is list and args:
            return all(_matches(item, args[0]) for item in value)
        if origin is dict and len(args) == 2:
            return all(_matches(item, args[1]) for item in value.values())
        return True
    if kind is type(None) or kind is None:
        return value is None
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(kind, type):
        return isinstance(value, kind)
    return True  # an annotation we cannot check (e.g. a string): the backend checks it


_NAMES = {
    str: ("a string", "strings"),
    int: ("an integer", "integers"),
    float: ("a number", "numbers"),
    bool: ("true or false", "booleans"),
    list: ("a list", "lists"),
    dict: ("a table", "tables"),
}


def _describe(kind: Any, plural: bool = False) -> str:
    kind = _plain(kind)
    origin = get_origin(kind)
    if origin in (Union, UnionType):
        return " or ".join(
            _describe(arg, plural) for arg in get_args(kind) if arg is not type(None)
        )
    if origin is list and get_args(kind):
        return f"{'lists' if plural else 'a list'} of {_describe(get_args(kind)[0], plural=True)}"
    if origin is not None:
        kind = origin
    if kind in _NAMES:
        return _NAMES[kind][plural]
    return getattr(kind, "__name__", str(kind))


def _kind_of(value: Any) -> str:
    return next(
        (_NAMES[t][0] for t in (bool, int, float, str, list, dict) if isinstance(value, t)),
        type(value).__name__,
    )


def _show(value: Any) -> str:
    """A short, one-line rendering of a non-secret value for an error message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = json.dumps(value, ensure_ascii=False)
        return shown if len(shown) <= 40 else shown[:36] + '…"'
    if isinstance(value, (int, float)):
        return repr(value)
    return _kind_of(value)


def _did_you_mean(key: Any, known: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(key), list(known), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


_HEADER = re.compile(r"\s*(\[\[?)([^\[\]]*)\]")
_ASSIGN = re.compile(r"""\s*((?:"[^"\n]*"|'[^'\n]*'|[\w.\s-])+?)\s*=""")
_PART = re.compile(r"""\s*("[^"\n]*"|'[^'\n]*'|[^.\s]+)\s*""")


def key_lines(text: str) -> list[tuple[int, Where]]:
    """(line number, place) for every table header and key assignment, found by scanning the text.

    A best effort for naming lines in errors: tomllib does not report where values were.
    Array-of-table entries are counted, so the second `[[channels]]` block is ("channels", 1).
    """
    places: list[tuple[int, Where]] = []
    arrays: dict[Where, int] = {}
    current: Where = ()

    def resolve(parts: list[str]) -> Where:
        out: Where = ()
        for part in parts:
            out = (*out, part)
            if out in arrays:
                out = (*out, arrays[out] - 1)
        return out

    for lineno, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            parts = _split_key(header.group(2))
            if header.group(1) == "[[":
                array = (*resolve(parts[:-1]), parts[-1])
                arrays[array] = arrays.get(array, 0) + 1
                current = (*array, arrays[array] - 1)
            else:
                current = resolve(parts)
            places.append((lineno, current))
            continue
        assign = _ASSIGN.match(line)
        if assign:
            places.append((lineno, (*current, *_split_key(assign.group(1)))))
    return places


def _split_key(key: str) -> list[str]:
    return [
        part.strip()[1:-1] if part.strip()[:1] in "\"'" else part.strip()
        for part in _PART.findall(key)
    ]
