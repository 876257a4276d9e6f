"""Reading `[[faq]]` (questions the FAQ bot answers with a canned reply) and `[bot]` (where it runs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from frontdesk.config.checks import CHANNEL_NAME, Checks
from frontdesk.config_text import Where, _show

MAX_FAQ = 500
MAX_KEYWORDS = 100
MAX_PHRASE = 200
MAX_MISSES = 10


@dataclass(frozen=True, slots=True)
class FaqEntry:
    """One `[[faq]]` block: the phrases of a question and the canned reply that answers it."""

    name: str
    """Shown in the thread line the bot leaves (default: the reply's shortcode)."""
    keywords: tuple[str, ...]
    """Words or phrases; English ones match whole words, Japanese ones anywhere in the text."""
    reply: str
    """The shortcode of the canned reply sent as the answer (without the slash)."""
    channels: tuple[str, ...] = ()
    """Only on these channel instances (empty: on every channel the bot runs on)."""
    language: str | None = None
    """Only for contacts of this language (e.g. "ja"); a contact of unknown language matches."""
    line: int | None = None
    """Where the block starts in the config file (for doctor's messages)."""


@dataclass(frozen=True, slots=True)
class BotConfig:
    """`[bot]`: the channels whose new conversations the FAQ bot answers first, and its handoff."""

    channels: tuple[str, ...] = ()
    """Channel instances the bot is on for (none: the bot is off)."""
    handoff_words: tuple[str, ...] = ()
    """Added to the defaults "agent", "human", "person", "人間", "担当者", "オペレーター"."""
    misses: int = 2
    """Hand over after this many customer messages in a row the bot cannot answer."""
    fallback_reply: str | None = None
    """Shortcode of the canned reply sent when the bot cannot answer and keeps the conversation."""
    line: int | None = None


@dataclass(frozen=True, slots=True)
class FaqConfig:
    """`[[faq]]` and `[bot]` together: the FAQ bot's knowledge and where it acts."""

    entries: tuple[FaqEntry, ...] = ()
    bot: BotConfig = field(default_factory=BotConfig)

    @property
    def on(self) -> bool:
        return bool(self.bot.channels)


class FaqReading(Checks):
    """The reader's part for `[[faq]]` and `[bot]`."""

    def faq(self, raw_faq: Any, raw_bot: Any) -> FaqConfig:
        if not isinstance(raw_faq, list):
            self.fail(("faq",), "must be a list of [[faq]] tables")
        if len(raw_faq) > MAX_FAQ:
            self.fail(("faq",), f"has {len(raw_faq)} entries; keep at most {MAX_FAQ}")
        entries = tuple(self.faq_entry(index, block) for index, block in enumerate(raw_faq))
        return FaqConfig(entries, self.bot(raw_bot))

    def faq_entry(self, index: int, raw: Any) -> FaqEntry:
        where: Where = ("faq", index)
        if not isinstance(raw, dict):
            self.fail(where, "must be a table: write each entry as a [[faq]] block")
        self.only_known(where, raw, ("name", "keywords", "reply", "channels", "language"))
        if "reply" not in raw:
            self.fail(where, 'has no reply; add reply = "faq-shipping" (a canned reply shortcode)')
        reply = self.shortcode((*where, "reply"), raw["reply"])
        keywords = self.phrases((*where, "keywords"), raw.get("keywords"), required=True)
        name = self.typed((*where, "name"), raw.get("name", reply), str).strip() or reply
        language = self.typed((*where, "language"), raw.get("language"), str | None)
        return FaqEntry(
            name=name[:80],
            keywords=keywords,
            reply=reply,
            channels=self.channel_names((*where, "channels"), raw.get("channels", [])),
            language=language.strip().casefold() or None if language else None,
            line=self.line_of(where),
        )

    def bot(self, raw: Any) -> BotConfig:
        where: Where = ("bot",)
        raw = self.table(where, raw)
        self.only_known(where, raw, ("channels", "handoff_words", "misses", "fallback_reply"))
        misses = self.typed((*where, "misses"), raw.get("misses", 2), int)
        if not 1 <= misses <= MAX_MISSES:
            self.fail(
                (*where, "misses"),
                f"must be from 1 to {MAX_MISSES} (got {_show(misses)}): the bot hands over after that many unanswered messages in a row",
            )
        fallback = raw.get("fallback_reply")
        return BotConfig(
            channels=self.channel_names((*where, "channels"), raw.get("channels", [])),
            handoff_words=self.phrases((*where, "handoff_words"), raw.get("handoff_words", [])),
            misses=misses,
            fallback_reply=None
            if fallback is None
            else self.shortcode((*where, "fallback_reply"), fallback),
            line=self.line_of(where) if raw else None,
        )

    def shortcode(self, where: Where, value: Any) -> str:
        code = self.typed(where, value, str).strip().lstrip("/")
        if not code or any(ch.isspace() for ch in code):
            self.fail(
                where,
                f'must be a canned reply shortcode with no spaces (got {_show(value)}), e.g. "faq-shipping"',
            )
        return code

    def phrases(self, where: Where, value: Any, *, required: bool = False) -> tuple[str, ...]:
        phrases = self.typed(where, [] if value is None else value, list[str])
        cleaned = tuple(dict.fromkeys(p.strip() for p in phrases if p.strip()))
        if required and not cleaned:
            self.fail(
                where, 'must list at least one word or phrase, e.g. keywords = ["refund", "返金"]'
            )
        if len(cleaned) > MAX_KEYWORDS:
            self.fail(where, f"has {len(cleaned)} phrases; keep at most {MAX_KEYWORDS}")
        for phrase in cleaned:
            if len(phrase) > MAX_PHRASE:
                self.fail(
                    where, f"has a phrase of {len(phrase)} characters; keep each under {MAX_PHRASE}"
                )
        return cleaned

    def channel_names(self, where: Where, value: Any) -> tuple[str, ...]:
        names = self.typed(where, value, list[str])
        for name in names:
            if not CHANNEL_NAME.match(name):
                self.fail(
                    where,
                    f'{_show(name)} is not a channel name; use the name of a [[channels]] block, e.g. "line"',
                )
        return tuple(dict.fromkeys(names))
