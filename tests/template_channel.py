"""A fake WhatsApp-like channel with approved templates, a closed-window rule and an allowance line."""

from __future__ import annotations

from datetime import timedelta

from frontdesk.backends.base import WindowRule
from frontdesk.model import MessageTemplate
from conftest import FakeChannel

TEMPLATES = [
    MessageTemplate(
        "order_update",
        "en_US",
        "UTILITY",
        "Hi {{1}}, your order {{2}} has shipped.",
        ("1", "2"),
    ),
    MessageTemplate(
        "appointment_reminder",
        "en_US",
        "UTILITY",
        "Reminder: your appointment is on {{1}}.",
        ("1",),
    ),
    MessageTemplate("welcome_back", "es", "MARKETING", "¡Hola de nuevo!", ()),
]


class TemplateChannel(FakeChannel):
    """`FakeChannel` (records sends) that lists `TEMPLATES`, says the way out names ctrl+t, and
    raises the exceptions in `failures` from its next sends, one each."""

    supports_templates = True

    def __init__(self, name: str = "wa", kind: str = "whatsapp") -> None:
        super().__init__(name, kind)
        self.failures: list[Exception] = []
        self.allowance_line: str | None = None
        self.allowance_error: Exception | None = None
        self.listed = TEMPLATES  # what `templates` answers (a test may add or withdraw some)
        self.lists = 0  # how often the list was read from the channel

    @property
    def window_rule(self) -> WindowRule:
        return WindowRule(
            timedelta(hours=24),
            "template required",
            "ctrl+t sends an approved template, or wait for the customer to write again",
        )

    async def templates(self) -> list[MessageTemplate]:
        self.lists += 1
        return list(self.listed)

    async def allowance(self) -> str | None:
        if self.allowance_error is not None:
            raise self.allowance_error
        return self.allowance_line

    async def send(self, outgoing):
        if self.failures:
            self.sent.append(outgoing)
            raise self.failures.pop(0)
        return await super().send(outgoing)
