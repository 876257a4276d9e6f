"""CSAT: a satisfaction survey after a resolve, and reading the customer's 1–5 answer.

The survey goes out inside the channel's messaging window (WhatsApp after it closes only
through a configured approved template; any other closed window is skipped with a line
saying why). The answer is read by ingest (`survey_answer`): a rating is stored on the
conversation and does not reopen it; anything else is a new request as usual.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from frontdesk.desk.automation.engine import AutomationDesk
from frontdesk.desk.automation.triggers import Trigger, TriggerKind
from frontdesk.model import Conversation, Status, TemplateSend

NAME = "CSAT"
QUESTIONS = {
    "en": "How did we do? Reply with a number from 1 (poor) to 5 (great).",
    "ja": "今回の対応はいかがでしたか？1（不満）〜5（満足）の数字でお答えください。",
}
"""The survey's question by language (the contact's, else English); `[csat] question` adds or
replaces them."""
ANSWER_DAYS = 7
"""An answer counts this long after the survey; later, a number is a new message like any."""
RESEND_HOURS = 24
"""At most one survey per conversation in this long (resolving twice asks once)."""
MAX_ANSWER_CHARS = 24
"""A longer message is a new request, not a rating."""

_THUMBS = {"👍": 5, "👎": 1}
_STARS = "★⭐🌟"
_EMPTY_STARS = "☆"
_NUMBER = re.compile(r"([1-5])(?:\s*(?:/|out of|of)\s*5)?(?:\s*(?:です|点|stars?))?")
_NOISE = "".join(chr(c) for c in range(0xFE00, 0xFE10)) + "".join(
    chr(c) for c in range(0x1F3FB, 0x1F400)
)  # variation selectors and skin tones


def parse_rating(text: str) -> int | None:
    """The 1–5 rating `text` gives, or None when it is not only a rating.

    Accepted: a digit 1–5 (full-width too: "５"), "4/5", "4 out of 5", "4 stars", "4点",
    "4です"; stars ("★★★★", "⭐⭐⭐", with ☆ for the empty ones: "★★★☆☆" is 3); 👍 = 5 and
    👎 = 1. Punctuation and spaces around it are ignored.
    """
    if len(text) > MAX_ANSWER_CHARS * 4:
        return None
    plain = unicodedata.normalize("NFKC", text).casefold()
    plain = "".join(ch for ch in plain if ch not in _NOISE)
    plain = plain.strip().strip("!.。！、,～~ ").strip()
    if not plain or len(plain) > MAX_ANSWER_CHARS:
        return None
    if plain in _THUMBS:
        return _THUMBS[plain]
    if all(ch in _STARS or ch in _EMPTY_STARS or ch.isspace() for ch in plain):
        filled = sum(ch in _STARS for ch in plain)
        return filled if 1 <= filled <= 5 else None
    match = _NUMBER.fullmatch(plain)
    return int(match.group(1)) if match else None


def survey_answer(conv: Conversation, text: str, at: datetime) -> int | None:
    """The rating a customer's message gives, when it answers this conversation's open survey."""
    if conv.status is not Status.RESOLVED or conv.survey_sent_at is None:
        return None
    if conv.rating is not None and conv.rated_at and conv.rated_at >= conv.survey_sent_at:
        return None  # answered already: a second number is a new message
    if not timedelta(0) <= at - conv.survey_sent_at <= timedelta(days=ANSWER_DAYS):
        return None
    return parse_rating(text)


@dataclass(frozen=True, slots=True)
class SurveyTemplate:
    """The approved WhatsApp template sent once the window closed (no parameters)."""

    name: str
    language: str


@dataclass(frozen=True, slots=True)
class CsatSettings:
    """`[csat]`."""

    channels: frozenset[str] | None = None
    questions: Mapping[str, str] = field(default_factory=lambda: dict(QUESTIONS))
    whatsapp_template: SurveyTemplate | None = None

    def question(self, language: str) -> str:
        tag = language.replace("_", "-").split("-")[0].casefold()
        return self.questions.get(tag) or self.questions.get("en") or QUESTIONS["en"]


class Survey:
    """The automaton: on a resolve, asks how it went (once a day per conversation at most)."""

    name = NAME

    def __init__(self, settings: CsatSettings) -> None:
        self.settings = settings

    async def handle(self, desk: AutomationDesk, trigger: Trigger) -> None:
        if trigger.kind is not TriggerKind.CONVERSATION_RESOLVED:
            return
        conv = await desk.conversation(trigger.conversation_id)
        if not self._due(conv, trigger.at):
            return
        window = await desk.window(conv.id)
        if window is None or not window.closed:
            contact = await desk.contact(conv.contact_id)
            await desk.auto_reply(conv.id, self.settings.question(contact.language))
        elif window.templates and self.settings.whatsapp_template is not None:
            template = self.settings.whatsapp_template
            await desk.send_template(conv.id, TemplateSend(template.name, template.language))
        else:
            why = "no [csat] whatsapp_template is set" if window.templates else window.explanation
            await desk.record_automation(
                conv.id, f"did not send the satisfaction survey: {window.label}; {why}"
            )
            return
        await desk.survey_sent(conv.id)

    def _due(self, conv: Conversation, now: datetime) -> bool:
        if conv.status is not Status.RESOLVED or conv.message_count == 0:
            return False
        if self.settings.channels is not None and conv.channel not in self.settings.channels:
            return False
        sent = conv.survey_sent_at
        return sent is None or now - sent >= timedelta(hours=RESEND_HOURS)
