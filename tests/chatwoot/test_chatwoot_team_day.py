"""A Chatwoot console beside other agents, as one session: a customer writes while the thread is
open, another agent answers in Chatwoot's web app while this agent writes, the live feed drops and
what was missed meanwhile shows after it, and a revoked token is said in the header."""

from __future__ import annotations

import pytest

from frontdesk.bench.chatwoot_fake import FakeChatwoot
from frontdesk.tui.screens.send_anyway import SendAnyway
from chatwoot_desks import TOKEN, seed_customers, synced_desk
from pilot_helpers import idle, make_app, record_notifications, screen_text, wait_until

SIZE = (160, 40)


@pytest.fixture
async def fake():
    async with FakeChatwoot(TOKEN, ping_seconds=0.05) as server:
        seed_customers(server, "Mia Rossi", "Omar Haddad", "Lena Vogel")
        yield server


@pytest.fixture
async def desk(fake, tmp_path):
    desk = await synced_desk(fake, tmp_path)
    await fake.wait_subscribed()
    yield desk
    await desk.stop()


def header(app) -> str:
    """The header's line: the agent's name, then the desk's word."""
    return next((line for line in screen_text(app).splitlines() if " · Chatwoot" in line), "")


async def test_a_day_on_chatwoot_beside_other_agents(fake, desk):
    app = make_app(desk)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        conv_id = app.conversation_list.current_id
        assert conv_id is not None
        await wait_until(pilot, lambda: "where is my order?" in screen_text(app), what="thread")

        # a customer writes while the thread is open: it shows without a key pressed
        await fake.customer_says(conv_id, "Tracking says delivered but nothing here")
        await wait_until(
            pilot, lambda: "nothing here" in screen_text(app), what="the customer's message"
        )

        # this agent writes; another agent answers from the web app meanwhile
        await pilot.press("r", *"Let me check with the courier")
        other = next(a for a in fake.account.agents.values() if a.id != fake.profile.id)
        await fake.agent_acts(other.id, conv_id, "reply", "Refund issued, sorry about that!")
        await wait_until(pilot, lambda: "Refund issued" in screen_text(app), what="their reply")
        mark = len(fake.requests)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, SendAnyway), what="the question")
        assert other.name.split()[0] in screen_text(app)
        await pilot.press("y")
        await fake.wait_for_request(
            lambda r: r.method == "POST" and r.path.endswith(f"/{conv_id}/messages"), after=mark
        )
        posted = [
            r.json["content"]
            for r in fake.requests[mark:]
            if r.method == "POST" and r.path.endswith("/messages")
        ]
        assert posted == ["Let me check with the courier"]

        # the live feed drops; another agent resolves a conversation meanwhile (no replay)
        seen = record_notifications(app)
        gone = next(c.id for c in app.conversation_list.conversations if c.id != conv_id)
        fake.refuse_cable = True
        await fake.drop_sockets()
        await wait_until(pilot, lambda: any("Lost Chatwoot" in s for s in seen), what="lost")
        fake.account.conversations[gone].status = "resolved"  # missed by the feed
        fake.refuse_cable = False
        await wait_until(pilot, lambda: any("Back on Chatwoot" in s for s in seen), what="back")
        await wait_until(
            pilot,
            lambda: gone not in [c.id for c in app.conversation_list.conversations],
            what="the conversation resolved while the feed was down leaving All open",
        )

        # the token is revoked: the next command fails and the header says why
        fake.revoke_token()
        await pilot.press("escape", "e")
        await wait_until(pilot, lambda: "Chatwoot · offline" in header(app), what="offline")
        await wait_until(
            pilot, lambda: "refused the token" in header(app), what="why, in the header"
        )
        assert any("waiting for the new one" in s for s in seen)
