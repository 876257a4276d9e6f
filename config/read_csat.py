"""Reading `[csat]`: the satisfaction survey after a resolve, its question and WhatsApp template."""

from __future__ import annotations

from typing import Any

from frontdesk.config.checks import Checks
from frontdesk.config.sections import CsatConfig

LANGUAGE = r"[a-z]{2,3}"


class CsatReading(Checks):
    """The reader's part for `[csat]`."""

    def csat(self, raw: Any) -> CsatConfig:
        where = ("csat",)
        raw = self.table(where, raw)
        self.only_known(
            where,
            raw,
            ("enabled", "channels", "question", "whatsapp_template", "whatsapp_template_language"),
        )
        channels = self.typed((*where, "channels"), raw.get("channels"), list[str] | None)
        questions = self.typed((*where, "question"), raw.get("question", {}), dict[str, str])
        for language, text in questions.items():
            if not text.strip():
                self.fail((*where, "question", language), "must not be empty")
        template = self.typed(
            (*where, "whatsapp_template"), raw.get("whatsapp_template"), str | None
        )
        return CsatConfig(
            enabled=self.typed((*where, "enabled"), raw.get("enabled", True), bool),
            channels=tuple(channels) if channels is not None else None,
            questions={language.casefold(): text for language, text in questions.items()},
            whatsapp_template=template,
            whatsapp_template_language=self.typed(
                (*where, "whatsapp_template_language"),
                raw.get("whatsapp_template_language", "en_US"),
                str,
            ),
        )
