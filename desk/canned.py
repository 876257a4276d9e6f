"""Canned replies: the TOML library (the agent's own or the shipped examples), a fuzzy matcher and the template filler.

A library is `canned.toml` next to the config file (`~/.config/frontdesk/canned.toml`):

    [[replies]]
    shortcode = "refund"             # typed as /refund in the composer, then Tab
    title = "Refund confirmed"
    language = "en"                  # optional: ranked first for contacts of that language
    body = \"\"\"Hi {contact.first_name}, your refund for order {ask:order number} is on its way.\"\"\"

Without that file the examples shipped with frontdesk (`canned_examples.toml`) are used.
Placeholders: `{contact.first_name}` and the other names in `VARIABLES`, filled from the
conversation; `{ask:label}` asks the agent for a value when the reply is inserted; `{{` and
`}}` are literal braces. Filling is one pass: a value is never read again for placeholders,
so a contact named "{agent.name}" stays exactly that. Errors are one line naming the file,
the line and the key, like config errors.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

from frontdesk.config import config_path
from frontdesk.config_text import display_path, key_lines, syntax_error
from frontdesk.model import Contact, Conversation

CANNED_FILE = "canned.toml"
EXAMPLES_RESOURCE = "canned_examples.toml"
SHORTCODE = re.compile(r"[\w-]+\Z")
ENTRY_KEYS = ("shortcode", "title", "body", "language")

VARIABLES: dict[str, str] = {
    "contact.name": "the contact's full name",
    "contact.first_name": "the first word of the contact's name",
    "contact.last_name": "the last word of the contact's name",
    "contact.email": "the contact's first email address",
    "contact.phone": "the contact's first phone number",
    "contact.language": "the contact's language code",
    "agent.name": "your name from [agent] name",
    "agent.first_name": "the first word of your name",
    "conversation.id": "the conversation number",
    "conversation.channel": "the channel kind as customers know it (WhatsApp, SMS, email …)",
    "conversation.subject": "the conversation's subject (email)",
}
"""Every variable a canned reply may use, with what it is filled with."""

CHANNEL_NAMES = {
    "whatsapp": "WhatsApp",
    "messenger": "Messenger",
    "sms": "SMS",
    "email": "email",
    "telegram": "Telegram",
    "line": "LINE",
}

# `{{`, `}}`, a placeholder, or a brace that is neither (reported, never sent)
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


class CannedError(Exception):
    """A problem in a canned-replies file; one line naming the file, the line and the key."""


class TemplateError(Exception):
    """A canned reply cannot be filled: unknown or empty variables, a stray brace."""

    def __init__(self, message: str, names: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.names = tuple(names)


@dataclass(frozen=True, slots=True)
class CannedReply:
    """One canned reply: typed as /shortcode, found by title, inserted as body."""

    shortcode: str
    title: str
    body: str
    language: str = ""
    line: int | None = None
    """Where it starts in its file, for error messages."""


@dataclass(frozen=True, slots=True)
class CannedSet:
    """The canned replies in use and where they came from."""

    replies: tuple[CannedReply, ...]
    source: str
    """The file as the agent would type it, or "examples shipped with frontdesk"."""
    own_path: Path
    """Where the agent's own file goes (it may not exist)."""
    examples: bool
    """True when the agent has no file of their own and the shipped examples are used."""

    def find(self, shortcode: str) -> CannedReply | None:
        """The reply with this shortcode (any case, with or without the leading /)."""
        wanted = shortcode.lstrip("/").casefold()
        return next((r for r in self.replies if r.shortcode.casefold() == wanted), None)

    def where(self, reply: CannedReply) -> str:
        """`file:line` of a reply, for messages that point the agent at it."""
        return f"{self.source}:{reply.line}" if reply.line and not self.examples else self.source


# ---- loading --------------------------------------------------------------------------------------


def default_path() -> Path:
    """`canned.toml` next to the config file (by default in `config_dir()`)."""
    return config_path().parent / CANNED_FILE


def load_canned(path: Path | None = None) -> CannedSet:
    """The agent's canned replies at `path` (default `default_path()`), else the shipped examples."""
    path = Path(path).expanduser() if path is not None else default_path()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        text = (
            resources.files("frontdesk.desk")
            .joinpath(EXAMPLES_RESOURCE)
            .read_text(encoding="utf-8")
        )
        source = "examples shipped with frontdesk"
        return CannedSet(parse_canned(text, source), source, path, examples=True)
    except OSError as exc:
        raise CannedError(
            f"{display_path(path)}: cannot read the canned replies ({exc.strerror or exc}); fix its permissions"
        ) from None
    shown = display_path(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CannedError(
            f"{shown}:{line}: the canned replies are not UTF-8 text; save the file as UTF-8"
        ) from None
    return CannedSet(parse_canned(text, shown), shown, path, examples=False)


def parse_canned(text: str, shown: str) -> tuple[CannedReply, ...]:
    """The replies of one canned-replies TOML text; `shown` names the file in errors."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CannedError(syntax_error(shown, text, exc)) from None
    places = key_lines(text)
    entry_lines = first_line_of_each_entry(places)

    def fail(where: tuple[str | int, ...], problem: str) -> NoReturn:
        line = next((n for n, place in places if place[: len(where)] == where), None)
        if line is None and len(where) > 2:
            line = next((n for n, place in places if place[:2] == where[:2]), None)
        at = f"{shown}:{line}" if line else shown
        key = "".join(
            f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(where)
        )
        raise CannedError(" ".join(f"{at}: {key} {problem}".split()))

    for key in raw:
        if key != "replies":
            fail(
                (key,),
                "is not a known key; write each canned reply as a [[replies]] block with shortcode, title and body",
            )
    entries = raw.get("replies", [])
    if not isinstance(entries, list):
        fail(("replies",), "must be a list of [[replies]] blocks")
    replies: list[CannedReply] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        where: tuple[str | int, ...] = ("replies", index)
        if not isinstance(entry, dict):
            fail(where, "must be a table: write each canned reply as a [[replies]] block")
        for key in entry:
            if key not in ENTRY_KEYS:
                fail(
                    (*where, key),
                    f"is not a key of a canned reply; remove it (keys: {', '.join(ENTRY_KEYS)})",
                )
        values: dict[str, Any] = {}
        for key in ENTRY_KEYS:
            value = entry.get(key, "")
            if not isinstance(value, str):
                fail((*where, key), "must be a string")
            if key != "language" and not value.strip():
                example = {
                    "shortcode": '"refund"',
                    "title": '"Refund confirmed"',
                    "body": '"Hi {contact.first_name} …"',
                }[key]
                fail(
                    (*where, key) if key in entry else where,
                    f"{'is empty' if key in entry else f'has no {key}'}; add {key} = {example}",
                )
            values[key] = value
        shortcode = values["shortcode"].strip().lstrip("/")
        if not SHORTCODE.match(shortcode):
            fail(
                (*where, "shortcode"),
                f"{shortcode!r} must be one word of letters, digits, - or _ (it is typed as /{shortcode.split()[0] if shortcode.split() else 'refund'})",
            )
        folded = shortcode.casefold()
        if folded in seen:
            fail(
                (*where, "shortcode"),
                f"/{shortcode} is already used by replies[{seen[folded]}]; shortcodes must be unique",
            )
        seen[folded] = index
        line = entry_lines.get(index)
        replies.append(
            CannedReply(
                shortcode, values["title"].strip(), values["body"], values["language"].strip(), line
            )
        )
    return tuple(replies)


def first_line_of_each_entry(places: Iterable[tuple[int, tuple[str | int, ...]]]) -> dict[int, int]:
    """{entry index: its first line} for the [[replies]] blocks, from one pass over `key_lines`."""
    lines: dict[int, int] = {}
    for line, place in places:
        if len(place) >= 2 and place[0] == "replies" and isinstance(place[1], int):
            lines.setdefault(place[1], line)
    return lines


def write_examples(path: Path | None = None) -> Path:
    """Copy the shipped examples to `path` (default `default_path()`) for the agent to edit; never overwrites."""
    path = Path(path).expanduser() if path is not None else default_path()
    text = resources.files("frontdesk.desk").joinpath(EXAMPLES_RESOURCE).read_text(encoding="utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as out:
            out.write(text)
    except FileExistsError:
        raise CannedError(
            f"{display_path(path)} already exists; edit it, or move it away to start again from the examples"
        ) from None
    except OSError as exc:
        raise CannedError(
            f"{display_path(path)}: cannot write the examples ({exc.strerror or exc}); check the folder's permissions"
        ) from None
    return path


class CannedLibrary:
    """The canned replies of one file, re-read when the file changes (edits apply without a restart)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_path()
        self._stamp: tuple[int, int] | None = None
        self._set: CannedSet | None = None

    def current(self) -> CannedSet:
        """The replies as the file holds them now; raises CannedError for a broken file."""
        try:
            stat = self.path.stat()
            stamp: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            stamp = None
        if self._set is None or stamp != self._stamp:
            self._set = load_canned(self.path)
            self._stamp = stamp
        return self._set


# ---- the fuzzy matcher -----------------------------------------------------------------------------


def subsequence_span(query: str, text: str) -> int | None:
    """Length of the shortest stretch of `text` holding `query`'s characters in order, or None."""
    if not query:
        return 0
    best: int | None = None
    start = text.find(query[0])
    while start != -1:
        position = start
        for char in query[1:]:
            position = text.find(char, position + 1)
            if position == -1:
                return best
        span = position - start + 1
        if best is None or span < best:
            best = span
        start = text.find(query[0], start + 1)
    return best


def match_score(query: str, reply: CannedReply) -> tuple[int, int] | None:
    """How well `query` matches `reply` (lower is better), or None when it does not match.

    Tiers: 0 the shortcode, 1 a shortcode prefix, 2 a substring of the title, 3 a
    subsequence of the shortcode or title, 4 a substring of the body, 5 a subsequence of
    the body; inside a tier a tighter match wins.
    """
    q = query.strip().lstrip("/").casefold()
    if not q:
        return (0, 0)
    code, title, body = reply.shortcode.casefold(), reply.title.casefold(), reply.body.casefold()
    if code == q:
        return (0, 0)
    if code.startswith(q):
        return (1, len(code))
    if q in title:
        return (2, title.index(q))
    spans = [s for s in (subsequence_span(q, code), subsequence_span(q, title)) if s is not None]
    if spans:
        return (3, min(spans))
    if q in body:
        return (4, body.index(q))
    span = subsequence_span(q, body)
    return (5, span) if span is not None else None


def rank(query: str, replies: Iterable[CannedReply], language: str = "") -> list[CannedReply]:
    """The replies matching `query`, best first; ties go to `language`, then to file order."""
    lang = language.casefold().split("-")[0]
    scored = []
    for index, reply in enumerate(replies):
        score = match_score(query, reply)
        if score is not None:
            other_language = (
                bool(lang)
                and bool(reply.language)
                and reply.language.casefold().split("-")[0] != lang
            )
            scored.append((score[0], other_language, score[1], index, reply))
    scored.sort(key=lambda item: item[:4])
    return [item[-1] for item in scored]


# ---- the template filler ---------------------------------------------------------------------------


def asks(body: str) -> list[str]:
    """The labels of the `{ask:…}` placeholders of `body`, each once, in order."""
    found: list[str] = []
    for match in _TOKEN.finditer(body):
        name = (match.group(1) or "").strip()
        if name.startswith("ask:"):
            label = name[4:].strip()
            if label and label not in found:
                found.append(label)
    return found


def fill(body: str, variables: Mapping[str, str], answers: Mapping[str, str] | None = None) -> str:
    """`body` with every placeholder replaced, in one pass; raises TemplateError naming what is missing.

    Unknown variables, known ones with no value here (a contact without email …), `{ask:…}`
    without an answer and stray braces are all reported together; nothing is half-filled.
    """
    answers = answers or {}
    out: list[str] = []
    unknown: list[str] = []
    empty: list[str] = []
    stray = False
    position = 0
    for match in _TOKEN.finditer(body):
        out.append(body[position : match.start()])
        position = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            out.append(token[0])
            continue
        if match.group(1) is None:
            stray = True
            continue
        name = match.group(1).strip()
        if name.startswith("ask:"):
            label = name[4:].strip()
            value = answers.get(label, "")
            if not label or not value.strip():
                empty.append(f"{{ask:{label}}}")
            out.append(value)
        elif name not in VARIABLES:
            unknown.append(f"{{{name}}}")
        elif not variables.get(name, "").strip():
            empty.append(f"{{{name}}}")
        else:
            out.append(variables[name])
    out.append(body[position:])
    if unknown:
        raise TemplateError(
            f"unknown variable {', '.join(dict.fromkeys(unknown))}{_suggestion(unknown)}", unknown
        )
    if empty:
        raise TemplateError(
            f"no value for {', '.join(dict.fromkeys(empty))} in this conversation", empty
        )
    if stray:
        raise TemplateError("a lone { or } (write {{ or }} for a literal brace)")
    return "".join(out)


def template_problems(canned: CannedSet) -> list[str]:
    """One line per reply whose body cannot be filled anywhere: unknown variables, lone braces (for `doctor`)."""
    problems = []
    for reply in canned.replies:
        try:
            fill(reply.body, dict.fromkeys(VARIABLES, "x"), dict.fromkeys(asks(reply.body), "x"))
        except TemplateError as exc:
            problems.append(f"{canned.where(reply)}: /{reply.shortcode}: {exc}")
    return problems


def _suggestion(unknown: Sequence[str]) -> str:
    """` (did you mean {contact.name}?)` for the first unknown name close to a known one, else the known names."""
    for name in unknown:
        close = difflib.get_close_matches(name.strip("{}"), list(VARIABLES), n=1)
        if close:
            return f" (did you mean {{{close[0]}}}?)"
    return "; known: " + ", ".join(f"{{{v}}}" for v in VARIABLES)


def variables_for(
    conversation: Conversation, contact: Contact | None, agent: str, channel_kind: str
) -> dict[str, str]:
    """The values of `VARIABLES` for one conversation; each is one line (whitespace folded)."""
    name = _one_line(contact.name) if contact else ""
    words = name.split()
    me = _one_line(agent)
    values = {
        "contact.name": name,
        "contact.first_name": words[0] if words else "",
        "contact.last_name": words[-1] if words else "",
        "contact.email": contact.emails[0] if contact and contact.emails else "",
        "contact.phone": contact.phones[0] if contact and contact.phones else "",
        "contact.language": contact.language if contact else "",
        "agent.name": me,
        "agent.first_name": me.split()[0] if me.split() else "",
        "conversation.id": str(conversation.id),
        "conversation.channel": CHANNEL_NAMES.get(channel_kind, channel_kind),
        "conversation.subject": _one_line(conversation.subject),
    }
    return {key: _one_line(value) for key, value in values.items()}


def _one_line(text: str) -> str:
    return " ".join(text.split())


__all__ = [
    "CANNED_FILE",
    "VARIABLES",
    "CannedError",
    "CannedLibrary",
    "CannedReply",
    "CannedSet",
    "TemplateError",
    "asks",
    "default_path",
    "fill",
    "load_canned",
    "match_score",
    "parse_canned",
    "rank",
    "subsequence_span",
    "template_problems",
    "variables_for",
    "write_examples",
]
