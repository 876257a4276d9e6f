"""FAQ matching without I/O: normalised text, phrases found in it, the best entry or none."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MAX_TEXT = 4_000
"""Characters of a customer's message that are matched: a question fits, a pasted log is cut."""
MAX_PHRASE = 200
"""Characters of one configured phrase (the config reader refuses longer ones)."""
DEFAULT_HANDOFF_WORDS = ("agent", "human", "person", "人間", "担当者", "オペレーター")
"""What a customer writes to ask for a person; `[bot] handoff_words` adds to these."""

_SPACES = re.compile(r"\s+")
_LATIN = "0-9a-z\u00c0-\u024f"
"""Letters and digits that make a word in the scripts written with spaces between words."""


def normalise(text: str) -> str:
    """`text` as matching sees it: NFKC (full- and half-width alike: ＲＥＦＵＮＤ is refund,
    ｶﾀｶﾅ is カタカナ), case folded, every run of spaces one space, at most MAX_TEXT characters."""
    text = unicodedata.normalize("NFKC", text[: MAX_TEXT * 2]).casefold()
    return _SPACES.sub(" ", text).strip()[:MAX_TEXT]


def _spaced(text: str) -> bool:
    """True when `text` is written with spaces between words (Latin letters or digits only):
    it must match whole words; Japanese has no word boundaries, so it matches anywhere."""
    return all(re.match(f"[{_LATIN} '’-]", ch) for ch in text)


@dataclass(frozen=True, slots=True)
class Phrase:
    """One keyword or phrase, normalised, and how it is found in normalised text."""

    text: str
    pattern: re.Pattern[str] | None  # whole words; None: a substring
    first: str = ""  # the first word: when it is not in the text, the pattern cannot match

    @classmethod
    def of(cls, raw: str) -> Phrase | None:
        text = normalise(raw[:MAX_PHRASE])
        if not text:
            return None
        if not _spaced(text):
            return cls(text, None)
        words = r"\s+".join(re.escape(word) for word in text.split(" "))
        pattern = re.compile(f"(?<![{_LATIN}]){words}(?![{_LATIN}])")
        return cls(text, pattern, text.split(" ", 1)[0])

    def found_in(self, normalised: str) -> bool:
        if self.pattern is None:
            return self.text in normalised
        return self.first in normalised and self.pattern.search(normalised) is not None


def phrases_of(raw: Iterable[str]) -> tuple[Phrase, ...]:
    found = (Phrase.of(text) for text in raw)
    return tuple(dict.fromkeys(p for p in found if p is not None))


@dataclass(frozen=True, slots=True)
class FaqItem:
    """One FAQ entry as matching needs it: its name, phrases, reply and where it applies."""

    name: str
    phrases: tuple[Phrase, ...]
    reply: str
    channels: frozenset[str] = frozenset()
    language: str | None = None

    def applies(self, channel: str, language: str | None) -> bool:
        if self.channels and channel not in self.channels:
            return False
        return not (self.language and language and self.language != language.casefold())


@dataclass(frozen=True, slots=True)
class FaqMatch:
    """The entry that answers a message and the phrases of it the message holds."""

    item: FaqItem
    matched: tuple[str, ...]


class FaqMatcher:
    """The FAQ entries in file order; `best` picks the one a message asks about."""

    def __init__(self, items: Sequence[FaqItem]) -> None:
        self.items = tuple(items)

    def best(self, text: str, channel: str = "", language: str | None = None) -> FaqMatch | None:
        """The entry with the most of its phrases in `text` (then the longest phrases matched,
        then the first in the file), among those that apply to `channel` and `language`
        (an unknown language matches every entry); None when no phrase is found."""
        normalised = normalise(text)
        if not normalised:
            return None
        best: tuple[int, int] = (0, 0)
        chosen: FaqMatch | None = None
        for item in self.items:
            if not item.applies(channel, language):
                continue
            matched = [p.text for p in item.phrases if p.found_in(normalised)]
            if not matched:
                continue
            score = (len(matched), sum(map(len, matched)))
            if score > best:
                best, chosen = score, FaqMatch(item, tuple(matched))
        return chosen


class HandoffWords:
    """The words a customer asks for a person with: the defaults and the configured ones."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        self.phrases = phrases_of((*DEFAULT_HANDOFF_WORDS, *extra))

    def asked(self, text: str) -> str | None:
        """The handoff word `text` holds (normalised), or None."""
        normalised = normalise(text)
        return next((p.text for p in self.phrases if p.found_in(normalised)), None)
