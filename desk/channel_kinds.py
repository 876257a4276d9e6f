"""What every desk answers from a channel's kind: the name customers know it by, an SMS's length."""

from __future__ import annotations

from frontdesk.desk.canned import CHANNEL_NAMES
from frontdesk.desk.limits import SMS_KINDS, SmsLength, sms_length


class ChannelKinds:
    """The reads that follow from `channel_kind` alone, the same rule on every desk (in-process,
    the team's replica, a Chatwoot account); each desk says how it knows a channel's kind."""

    def channel_kind(self, channel: str) -> str:
        raise NotImplementedError

    def channel_name(self, channel: str) -> str:
        """The channel kind as customers know it: "WhatsApp", "SMS", "email" …"""
        kind = self.channel_kind(channel)
        return CHANNEL_NAMES.get(kind, kind)

    def sms_length(self, channel: str, text: str) -> SmsLength | None:
        """Characters and SMS segments of `text` on an SMS channel; None on other channels."""
        return sms_length(text) if self.channel_kind(channel) in SMS_KINDS else None
