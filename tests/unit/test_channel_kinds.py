"""The reads every desk answers from a channel's kind: its name for customers, an SMS's length."""

from __future__ import annotations

import pytest

from frontdesk.chatwoot.desk import ChatwootDesk
from frontdesk.desk import Desk
from frontdesk.desk.channel_kinds import ChannelKinds
from frontdesk.team.replica import Replica


class Kinds(ChannelKinds):
    def channel_kind(self, channel: str) -> str:
        return {"text-us": "sms", "wa": "whatsapp"}.get(channel, channel)


def test_a_known_kind_is_named_as_customers_know_it_and_an_unknown_one_as_it_is():
    assert Kinds().channel_name("wa") == "WhatsApp"
    assert Kinds().channel_name("text-us") == "SMS"
    assert Kinds().channel_name("carrier-pigeon") == "carrier-pigeon"


def test_only_an_sms_channel_counts_segments():
    length = Kinds().sms_length("text-us", "x" * 161)
    assert length is not None and length.segments == 2 and not length.over_limit
    assert Kinds().sms_length("wa", "x" * 161) is None


@pytest.mark.parametrize("desk", [Desk, Replica, ChatwootDesk])
def test_every_desk_answers_by_the_same_rule(desk):
    assert desk.channel_name is ChannelKinds.channel_name
    assert desk.sms_length is ChannelKinds.sms_length
    assert desk.channel_kind is not ChannelKinds.channel_kind  # each says how it knows a kind
