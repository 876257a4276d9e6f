"""The demo world's channel kinds and the messaging window of those that have one."""

from __future__ import annotations

from datetime import timedelta

from frontdesk.backends.base import WindowRule

KINDS: tuple[str, ...] = ("email", "whatsapp", "messenger", "sms", "telegram", "line")
#: kinds whose channel only accepts free replies for 24 h after the customer's last message
WINDOW_KINDS = frozenset({"whatsapp", "messenger", "line"})
#: kinds that report when the customer read a message
READ_RECEIPT_KINDS = frozenset({"whatsapp", "messenger", "telegram", "line"})
WINDOW = timedelta(hours=24)


WINDOW_RULES: dict[str, WindowRule] = {
    "whatsapp": WindowRule(
        WINDOW,
        "template required",
        "ctrl+t sends an approved template, or wait for the customer to write again",
    ),
    "messenger": WindowRule(
        WINDOW,
        "the customer must write first",
        "Messenger takes nothing 7 days after the customer's last message; wait for them to write "
        "again, or reach them on another channel",
        tag="HUMAN_AGENT",
        tag_span=timedelta(days=7),
    ),
    "line": WindowRule(
        WINDOW,
        "the customer must write first",
        "wait for the customer to write again, or reach them on another channel",
    ),
}
"""The messaging-window rule of each simulated kind that has one."""


def window_for(kind: str) -> timedelta | None:
    """The messaging window of a channel kind (24 h for WhatsApp, Messenger, LINE)."""
    return WINDOW if kind in WINDOW_KINDS else None
