"""The real console on a ChatwootDesk against the loopback fake Chatwoot, triaged from the keyboard as a
new user would: open, reply, note, assign, label, resolve, and each request the fake received."""

from __future__ import annotations

import pytest

from frontdesk.bench.chatwoot_fake import FakeChatwoot
from frontdesk.tui.screens.labels_dialog import LabelsDialog
from frontdesk.tui.screens.report_screen import ReportScreen
from chatwoot_desks import TOKEN, seed_customers, synced_desk
from pilot_helpers import idle, make_app, record_notifications, screen_text, wait_until

SIZE = (140, 40)


@pytest.fixture
async def fake():
    async with FakeChatwoot(TOKEN, ping_seconds=0.05) as server:
        seed_customers(server, "Mia Rossi", "Omar Haddad")
        yield server


@pytest.fixture
async def desk(fake, tmp_path):
    desk = await synced_desk(fake, tmp_path)
    yield desk
    await desk.stop()


def writes(fake: FakeChatwoot, after: int) -> list[tuple[str, object]]:
    """The writes the fake received from request `after` on: (the route's last part, the body)."""
    return [
        (r.path.rsplit("/", 1)[-1], r.json)
        for r in fake.requests[after:]
        if r.method in ("POST", "PUT")
        and not r.path.endswith(("update_last_seen", "toggle_typing_status"))
    ]


async def test_triage_a_conversation_on_chatwoot_from_the_keyboard(fake, desk):
    app = make_app(desk)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        conv_id = app.conversation_list.current_id
        assert conv_id is not None
        await wait_until(pilot, lambda: "where is my order?" in screen_text(app), what="the thread")
        start = len(fake.requests)

        await pilot.press("r", *"On its way today", "enter")
        await fake.wait_for_request(lambda r: r.method == "POST" and r.json.get("private") is False)
        await pilot.press("escape", "n", *"checked the courier", "enter")
        await fake.wait_for_request(lambda r: r.method == "POST" and r.json.get("private") is True)
        await pilot.press("escape", "a")
        await fake.wait_for_request(lambda r: r.path.endswith("/assignments"))
        await idle(pilot)
        await pilot.press("l")
        await wait_until(pilot, lambda: isinstance(app.screen, LabelsDialog), what="labels")
        await pilot.press(*"vip", "enter")
        await fake.wait_for_request(lambda r: r.method == "POST" and r.path.endswith("/labels"))
        await idle(pilot)
        await pilot.press("e")
        await fake.wait_for_request(lambda r: r.path.endswith("/toggle_status"))
        await idle(pilot)

        sent = writes(fake, start)
        echo_ids = [body.pop("echo_id") for route, body in sent if route == "messages"]
        assert sent == [
            (
                "messages",
                {"content": "On its way today", "private": False, "message_type": "outgoing"},
            ),
            (
                "messages",
                {"content": "checked the courier", "private": True, "message_type": "outgoing"},
            ),
            ("assignments", {"assignee_id": 1}),
            ("labels", {"labels": ["vip"]}),
            ("toggle_status", {"status": "resolved"}),
        ]
        assert len(set(echo_ids)) == 2 and all(echo_ids)
        server = fake.account.conversations[conv_id]
        assert (server.status, server.assignee_id, server.labels) == ("resolved", 1, ["vip"])
        contents = [m.content for m in server.messages]
        assert contents.index("On its way today") < contents.index("checked the courier")
        await wait_until(
            pilot,
            lambda: conv_id not in [c.id for c in app.conversation_list.conversations],
            what="the resolved conversation leaving the open list",
        )


async def test_the_list_pages_in_from_the_server_as_it_nears_its_end(fake, tmp_path):
    for i in range(58):  # 60 open in all: three pages of the All-open list
        contact = fake.account.add_contact(f"Customer {i}")
        fake.account.add_conversation(1, contact.id, at=1_700_000_000 + i)
    desk = await synced_desk(fake, tmp_path)
    app = make_app(desk)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await idle(pilot)
            await pilot.press("end")  # the first page's end was on screen: page 2 came at once
            await wait_until(
                pilot, lambda: len(app.conversation_list.conversations) == 60, what="all"
            )
    finally:
        await desk.stop()
    pages = [
        r.query.get("page")
        for r in fake.requests
        if r.path.endswith("/conversations")
        and r.query.get("assignee_type") == "all"
        and r.query.get("status") == "open"
    ]
    assert pages[:1] == ["1"] and "2" in pages and "3" in pages and "4" not in pages


async def test_what_chatwoot_does_not_do_is_said_not_opened(desk):
    app = make_app(desk)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        seen = record_notifications(app)
        await pilot.press("R")
        await idle(pilot)
        assert not isinstance(app.screen, ReportScreen)
        assert seen == ["reports are on Chatwoot's Reports page"]
