"""What automation writes: replies that answer nobody, canned text filled in, the thread line."""

from __future__ import annotations

import pytest

from frontdesk.desk import Desk
from frontdesk.desk.acting import acting_as
from frontdesk.desk.automation import automation_author
from frontdesk.desk.canned import CannedLibrary
from frontdesk.desk.errors import DeskError
from frontdesk.model import ContactRef, Delivery, EventKind, Inbound, MessageKind
from frontdesk.store import Store

CANNED = """
[[replies]]
shortcode = "away"
title = "Away"
body = "Hi {contact.first_name}, we are closed now; {agent.first_name} answers tomorrow."

[[replies]]
shortcode = "mail-me"
title = "Needs an email"
body = "We will write to {contact.email}."
"""


@pytest.fixture
async def desk(tmp_path):
    path = tmp_path / "canned.toml"
    path.write_text(CANNED)
    with Store.open(tmp_path / "cache") as store:
        desk = Desk(
            store, agent="aiko", agent_names={"aiko": "Aiko Tanaka"}, canned=CannedLibrary(path)
        )
        await desk.ingest("demo", [Inbound("m1", "t1", ContactRef("+81", name="Kenji Sato"), "hi")])
        yield desk


async def test_an_automated_reply_is_queued_but_the_customer_still_waits(desk) -> None:
    conv = (await desk.conversations())[0]
    with acting_as(automation_author("Away message")):
        message = await desk.auto_reply(conv.id, "We are closed")
    after = await desk.conversation(conv.id)
    assert message.delivery is Delivery.PENDING
    assert message.author == automation_author("Away message")
    assert after.first_reply_at is None
    assert after.waiting_since == conv.waiting_since is not None
    assert after.unread == 1


async def test_a_canned_reply_is_filled_in_with_the_agent_and_contact(desk) -> None:
    conv = (await desk.conversations())[0]
    with acting_as(automation_author("Away message")):
        text = await desk.render_canned(conv.id, "/away")
    assert text == "Hi Kenji, we are closed now; Aiko answers tomorrow."


async def test_a_missing_shortcode_or_value_is_an_error_naming_it(desk) -> None:
    conv = (await desk.conversations())[0]
    with pytest.raises(DeskError, match=r"no canned reply /gone in .*canned\.toml"):
        await desk.render_canned(conv.id, "gone")
    with pytest.raises(DeskError, match=r"/mail-me .*no value for \{contact\.email\}"):
        await desk.render_canned(conv.id, "mail-me")


async def test_the_thread_line_names_the_automation(desk) -> None:
    conv = (await desk.conversations())[0]
    with acting_as(automation_author("Away message")):
        await desk.record_automation(conv.id, "sent /away: outside business hours")
    line = (await desk.thread(conv.id))[-1]
    assert line.kind is MessageKind.ACTIVITY and line.event is EventKind.AUTOMATION
    assert line.body == "⚙ Away message sent /away: outside business hours"
