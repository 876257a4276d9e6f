"""The FAQ bot `frontdesk demo` ships: on for the demo's LINE, answering with the shipped `faq-…` replies."""

from __future__ import annotations

import dataclasses

from frontdesk.config import BotConfig, Config, FaqConfig, FaqEntry

DEMO_BOT_CHANNEL = "line"

DEMO_FAQ = FaqConfig(
    entries=(
        FaqEntry("配送状況", ("配送状況", "配送", "荷物", "届かない"), "faq-haisou", language="ja"),
        FaqEntry("返金", ("返金", "払い戻し"), "faq-henkin", language="ja"),
        FaqEntry(
            "Shipping",
            ("where is my order", "tracking", "shipping", "parcel"),
            "faq-shipping",
            language="en",
        ),
        FaqEntry("Refunds", ("refund", "money back"), "faq-refund", language="en"),
    ),
    bot=BotConfig(channels=(DEMO_BOT_CHANNEL,), fallback_reply="faq-sorry"),
)
"""What the demo's bot knows, as a `[[faq]]` / `[bot]` config would say it."""


def with_demo_faq(cfg: Config) -> Config:
    """`cfg` for the demo: its own FAQ bot when it sets one up, else the demo's."""
    return cfg if cfg.faq.on or cfg.faq.entries else dataclasses.replace(cfg, faq=DEMO_FAQ)
