"""The demo WhatsApp account's approved message templates (data), and the demo LINE channel's push quota line."""

from __future__ import annotations

from frontdesk.model import MessageTemplate, TemplateExtra

TEMPLATES: tuple[MessageTemplate, ...] = (
    MessageTemplate(
        "order_update",
        "en_US",
        "UTILITY",
        "Hi {{1}}, your order {{2}} has shipped. Track it here: {{3}}",
        ("1", "2", "3"),
    ),
    MessageTemplate(
        "order_update",
        "ja",
        "UTILITY",
        "{{1}}様、ご注文 {{2}} を発送しました。配送状況: {{3}}",
        ("1", "2", "3"),
    ),
    MessageTemplate(
        "appointment_reminder",
        "en_US",
        "UTILITY",
        "Reminder: your appointment with {{1}} is on {{2}}. Reply here to change it.",
        ("1", "2"),
    ),
    MessageTemplate(
        "appointment_reminder",
        "ja",
        "UTILITY",
        "{{1}}とのご予約は{{2}}です。変更はこちらにご返信ください。",
        ("1", "2"),
    ),
    MessageTemplate(
        "payment_failed",
        "en_US",
        "UTILITY",
        "Hi {{1}}, the payment for order {{2}} did not go through. Please update your card "
        "to keep the order.",
        ("1", "2"),
    ),
    MessageTemplate(
        "follow_up",
        "en_US",
        "UTILITY",
        "Hi {{1}}, we are following up on your question about {{2}}. Reply to this message "
        "and we will pick it up.",
        ("1", "2"),
    ),
    MessageTemplate(
        "follow_up",
        "ja",
        "UTILITY",
        "{{1}}様、{{2}}についてのお問い合わせの件でご連絡しました。こちらにご返信ください。",
        ("1", "2"),
    ),
    MessageTemplate(
        "winter_sale",
        "en_US",
        "MARKETING",
        "Our winter sale starts today: 20% off everything until Sunday.",
        (),
    ),
    MessageTemplate(
        "spring_offer",
        "en_US",
        "MARKETING",
        "Hi {{1}}, spring is here: your code takes 15% off until the end of the month.",
        ("1",),
        (
            TemplateExtra("header", "image", "image"),
            TemplateExtra("button", "url", "See the offer", 0, "https://shop.example/offer/{{1}}"),
            TemplateExtra("button", "copy_code", "Copy code", 1),
        ),
    ),
)
"""What WhatsApp Manager would list for the demo business: a few utility templates in English
and Japanese (the demo's two languages), one marketing template without values and one whose
header and buttons take values too."""

LINE_PUSH_QUOTA = 500
"""The demo LINE account's monthly push messages (the free plan's)."""
LINE_PUSHES_USED = 88
"""Push messages the demo LINE account has sent this month before the demo starts."""


def line_allowance(pushes_sent: int) -> str:
    """The LINE composer line: the quota left after the demo's own pushes."""
    left = max(0, LINE_PUSH_QUOTA - LINE_PUSHES_USED - pushes_sent)
    return f"push quota: {left} of {LINE_PUSH_QUOTA} left this month"
