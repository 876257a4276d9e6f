"""The loopback fake Chatwoot (frontdesk.bench.chatwoot_fake) answers as Chatwoot does: real
HTTP with httpx and a real ActionCable websocket with aiohttp against the running fake."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import aiohttp
import httpx
import pytest

from frontdesk.bench.chatwoot_fake import FakeChatwoot
from frontdesk.bench.chatwoot_fake.records import ACTIVITY, INCOMING, OUTGOING, PAGE_SIZE

TOKEN = "test-token"
A = "/api/v1/accounts/1"


@pytest.fixture
async def fake():
    """The fake on a free port, pinging every 50 ms, with no history: tests add what they need."""
    async with FakeChatwoot(TOKEN, ping_seconds=0.05) as server:
        yield server


@pytest.fixture
async def api(fake):
    """An httpx client for agent 1 on the fake."""
    async with httpx.AsyncClient(base_url=fake.url, headers={"api_access_token": TOKEN}) as client:
        yield client


class Cable:
    """An ActionCable client on the fake's /cable, as Chatwoot's dashboard speaks it."""

    def __init__(self, fake: FakeChatwoot) -> None:
        self.fake = fake
        self.frames: list[dict] = []

    async def __aenter__(self) -> Cable:
        self.session = aiohttp.ClientSession()
        self.ws = await self.session.ws_connect(
            self.fake.url + "/cable", protocols=("actioncable-v1-json",)
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.ws.close()
        await self.session.close()

    def identifier(self, token: str | None = None, user_id: int = 1) -> str:
        token = self.fake.profile.pubsub_token if token is None else token
        params = {"channel": "RoomChannel", "pubsub_token": token, "account_id": 1}
        return json.dumps({**params, "user_id": user_id})

    async def subscribe(self, identifier: str | None = None) -> dict:
        """Subscribe and return the server's answer (confirm or reject)."""
        identifier = identifier or self.identifier()
        await self.ws.send_json({"command": "subscribe", "identifier": identifier})
        return await self.next(lambda f: f.get("type", "").endswith("_subscription"))

    async def next(self, want, timeout: float = 3.0) -> dict:
        """The next frame `want(frame)` accepts; those skipped stay in `frames`."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.ws.receive_json()
                self.frames.append(frame)
                if want(frame):
                    return frame

    async def event(self, name: str, where=lambda data: True, timeout: float = 3.0) -> dict:
        """The data of the next event called `name` (whose data `where` accepts)."""

        def wanted(frame: dict) -> bool:
            return event_of(frame) == name and where(frame["message"]["data"])

        frame = await self.next(wanted, timeout)
        return frame["message"]["data"]


def event_of(frame: dict) -> str:
    """The event a cable frame carries, or "" (a ping's `message` is its time, not an event)."""
    message = frame.get("message")
    return str(message.get("event", "")) if isinstance(message, dict) else ""


def add(fake: FakeChatwoot, n: int = 1, **fields) -> list[int]:
    """`n` conversations in inbox 1 from new contacts, each with one incoming message."""
    account = fake.account
    ids = []
    for _ in range(n):
        contact = account.add_contact("Kim Lee", email="kim@example.net")
        conv = account.add_conversation(1, contact.id, **fields)
        account.add_message(conv, "my parcel is late", INCOMING, sender_type="Contact")
        ids.append(conv.id)
    return ids


async def test_a_list_pages_25_at_a_time_latest_activity_first(fake, api):
    ids = add(fake, 60)
    for i, conv_id in enumerate(ids):
        fake.account.conversations[conv_id].last_activity_at = 1_000_000 + i * 10

    pages = []
    for page in (1, 2, 3, 4):
        answer = await api.get(f"{A}/conversations", params={"status": "open", "page": page})
        pages.append([c["id"] for c in answer.json()["data"]["payload"]])

    assert [len(p) for p in pages] == [PAGE_SIZE, PAGE_SIZE, 10, 0]
    assert sum(pages, []) == list(reversed(ids))
    assert answer.json()["data"]["meta"]["all_count"] == 60


async def test_counts_follow_status_team_labels_inbox_and_query_before_the_assignee_type(fake, api):
    mine = add(fake, 3, assignee_id=1, team_id=1, labels=["vip"])
    other = add(fake, 2, assignee_id=2, labels=["bug"])
    nobody = add(fake, 4)
    add(fake, 5, status="resolved", assignee_id=1)
    fake.account.add_message(fake.account.conversations[other[0]], "refund please", OUTGOING)

    async def get(path="", **params):
        return (await api.get(f"{A}/conversations{path}", params=params)).json()

    listed = await get(assignee_type="me", status="open")
    assert listed["data"]["meta"] == {
        "mine_count": 3,
        "assigned_count": 5,
        "unassigned_count": 4,
        "all_count": 9,
    }
    assert sorted(c["id"] for c in listed["data"]["payload"]) == mine
    unassigned = await get(assignee_type="unassigned")
    assert sorted(c["id"] for c in unassigned["data"]["payload"]) == nobody
    assert (await get("/meta", status="resolved"))["meta"]["mine_count"] == 5
    assert (await get("/meta", status="all"))["meta"]["all_count"] == 14
    by_team = await get(team_id=1, assignee_type="all")
    assert sorted(c["id"] for c in by_team["data"]["payload"]) == mine
    by_labels = await api.get(
        f"{A}/conversations", params=[("labels[]", "vip"), ("labels[]", "bug")]
    )
    assert by_labels.json()["data"]["meta"]["all_count"] == 5
    assert (await get(inbox_id=2))["data"]["meta"]["all_count"] == 0
    found = await get(q="REFUND")  # q matches message text, whatever the status
    assert [c["id"] for c in found["data"]["payload"]] == [other[0]]
    assert (await get("/search", q="parcel"))["data"]["meta"]["all_count"] == 14


async def test_a_conversation_item_has_chatwoots_shape(fake, api):
    [conv_id] = add(fake, assignee_id=1, team_id=2, priority="high", labels=["vip"])

    item = (await api.get(f"{A}/conversations/{conv_id}")).json()

    assert item["id"] == conv_id and item["inbox_id"] == 1 and item["status"] == "open"
    assert item["meta"]["channel"] == "Channel::Whatsapp"
    assert item["meta"]["sender"]["name"] == "Kim Lee"
    assert item["meta"]["assignee"]["name"] == "Aiko Tanaka"
    assert item["meta"]["team"]["name"] == "Technical"
    assert item["priority"] == "high" and item["labels"] == ["vip"]
    assert item["unread_count"] == 1
    assert item["messages"][0]["message_type"] == INCOMING
    assert isinstance(item["timestamp"], int) and item["snoozed_until"] is None


async def test_messages_page_20_at_a_time_oldest_first_with_before(fake, api):
    [conv_id] = add(fake)
    conv = fake.account.conversations[conv_id]
    for i in range(44):
        fake.account.add_message(conv, f"line {i}", OUTGOING, created_at=2_000_000 + i)
    path = f"{A}/conversations/{conv_id}/messages"

    last = (await api.get(path)).json()["payload"]
    older = (await api.get(path, params={"before": last[0]["id"]})).json()["payload"]
    oldest = (await api.get(path, params={"before": older[0]["id"]})).json()["payload"]

    assert [m["content"] for m in last] == [f"line {i}" for i in range(24, 44)]
    assert [m["content"] for m in older] == [f"line {i}" for i in range(4, 24)]
    assert [m["content"] for m in oldest] == ["my parcel is late"] + [f"line {i}" for i in range(4)]


async def test_posting_labels_replaces_the_whole_set(fake, api):
    [conv_id] = add(fake, labels=["vip", "bug"])
    path = f"{A}/conversations/{conv_id}/labels"

    answer = await api.post(path, json={"labels": ["bug", "refund"]})

    assert answer.json() == {"payload": ["bug", "refund"]}
    assert (await api.get(path)).json() == {"payload": ["bug", "refund"]}


async def test_a_wrong_or_revoked_token_gets_401_and_the_token_is_never_recorded(fake, api):
    async with httpx.AsyncClient(base_url=fake.url, headers={"api_access_token": "x"}) as bad:
        refused = await bad.get("/api/v1/profile")
    assert refused.status_code == 401
    assert refused.json() == {"error": "Invalid Access Token"}
    assert (await api.get("/api/v1/profile")).json()["name"] == "Aiko Tanaka"

    fake.revoke_token()

    assert (await api.get("/api/v1/profile")).status_code == 401
    async with httpx.AsyncClient(base_url=fake.url) as anonymous:
        no_token = await anonymous.get("/api/v1/profile")
    assert (no_token.status_code, list(no_token.json())) == (401, ["errors"])
    assert all(r.headers.get("api_access_token", "[hidden]") == "[hidden]" for r in fake.requests)
    assert TOKEN not in repr(fake.requests)


async def test_another_accounts_routes_refuse_the_user(fake, api):
    other = await api.get("/api/v1/accounts/2/conversations")
    own = await api.get(A)
    unknown = await api.get(f"{A}/reports")

    assert (other.status_code, other.json()) == (
        401,
        {"error": "You are not authorized to access this account"},
    )
    assert own.json()["id"] == 1 and unknown.status_code == 404


async def test_rate_limit_answers_429_with_retry_after_then_serves(fake, api):
    fake.rate_limit(2, retry_after=7)

    answers = [await api.get(f"{A}/agents") for _ in range(3)]

    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].headers["Retry-After"] == "7"
    assert [a["name"] for a in answers[2].json()][:2] == ["Aiko Tanaka", "Ben Okafor"]
    fake.rate_limit(1, retry_after=None)
    assert "Retry-After" not in (await api.get(f"{A}/agents")).headers


async def test_fail_next_answers_the_status_and_changes_nothing(fake, api):
    [conv_id] = add(fake)
    path = f"{A}/conversations/{conv_id}/messages"
    fake.fail_next("/messages", 503)

    failed = await api.post(path, json={"content": "hello"})
    sent = await api.post(path, json={"content": "hello"})

    assert (failed.status_code, sent.status_code) == (503, 200)
    assert [m.content for m in fake.account.conversations[conv_id].messages].count("hello") == 1


@pytest.mark.parametrize("applied", [False, True])
async def test_hang_next_never_answers_and_applies_only_when_asked(fake, api, applied):
    [conv_id] = add(fake)
    fake.hang_next("/messages", applied=applied)

    with pytest.raises(httpx.ReadTimeout):
        await api.post(f"{A}/conversations/{conv_id}/messages", json={"content": "hi"}, timeout=0.3)

    sent = [m for m in fake.account.conversations[conv_id].messages if m.content == "hi"]
    assert len(sent) == (1 if applied else 0)
    assert fake.requests[-1].json == {"content": "hi"}


async def test_wait_for_request_waits_for_what_comes_and_names_what_came(fake, api):
    waiting = asyncio.ensure_future(
        fake.wait_for_request(lambda r: r.method == "POST" and r.path.endswith("/labels"))
    )
    [conv_id] = add(fake)
    await api.get(f"{A}/agents")
    await api.post(f"{A}/conversations/{conv_id}/labels", json={"labels": ["vip"]})

    seen = await waiting

    assert seen.json == {"labels": ["vip"]}
    with pytest.raises(TimeoutError, match="GET /api/v1/accounts/1/agents"):
        await fake.wait_for_request(lambda r: r.method == "DELETE", timeout=0.05)


async def test_subscribe_is_confirmed_only_with_the_users_pubsub_token(fake):
    async with Cable(fake) as cable:
        assert (await cable.next(lambda f: True)) == {"type": "welcome"}
        wrong = await cable.subscribe(cable.identifier(token="nope"))
        someone_else = await cable.subscribe(cable.identifier(user_id=2))
        right = await cable.subscribe()

        assert wrong["type"] == someone_else["type"] == "reject_subscription"
        assert right == {"identifier": cable.identifier(), "type": "confirm_subscription"}
        await fake.wait_subscribed(1)
        assert fake.subscribers == 1
        ping = await cable.next(lambda f: f.get("type") == "ping")
        assert isinstance(ping["message"], int)


async def test_unreadable_cable_frames_are_ignored_as_actioncable_does(fake):
    async with Cable(fake) as cable:
        for junk in ("not json", "[1]", '{"command": "subscribe"}', '{"identifier": "{"}'):
            await cable.ws.send_str(junk)

        assert (await cable.subscribe())["type"] == "confirm_subscription"


async def test_update_presence_broadcasts_who_is_online(fake):
    async with Cable(fake) as cable:
        await cable.subscribe()
        await cable.event("presence.update")  # as RoomChannel#subscribed broadcasts
        await cable.ws.send_json(
            {
                "command": "message",
                "identifier": cable.identifier(),
                "data": json.dumps({"action": "update_presence"}),
            }
        )

        presence = await cable.event("presence.update")

    assert presence["account_id"] == 1
    assert presence["users"]["1"] == "online" and "4" not in presence["users"]


async def test_rest_writes_broadcast_what_chatwoot_does(fake, api):
    [conv_id] = add(fake, assignee_id=2)
    c = f"{A}/conversations/{conv_id}"
    async with Cable(fake) as cable:
        await cable.subscribe()

        await api.post(f"{c}/messages", json={"content": "on it", "echo_id": "e-1"})
        reply = await cable.event("message.created")
        await api.post(f"{c}/messages", json={"content": "vip!", "private": True})
        note = await cable.event("message.created")
        await api.post(f"{c}/toggle_status", json={"status": "snoozed", "snoozed_until": 2e9})
        snoozed = await cable.event("conversation.status_changed")
        await api.post(f"{c}/assignments", json={"assignee_id": 1})
        assigned = await cable.event("assignee.changed")
        await api.post(f"{c}/toggle_priority", json={"priority": "urgent"})
        urgent = await cable.event("conversation.updated", lambda d: d["priority"])

    assert (reply["echo_id"], reply["message_type"], reply["private"]) == ("e-1", OUTGOING, False)
    listed = (await api.get(f"{c}/messages")).json()["payload"]
    assert [m["id"] for m in listed if m.get("echo_id")] == []  # not kept, as in Chatwoot
    assert reply["sender"]["name"] == "Aiko Tanaka" and reply["conversation_id"] == conv_id
    assert (note["private"], note["content"]) == (True, "vip!")
    assert snoozed["status"] == "snoozed"
    assert snoozed["snoozed_until"] == "2033-05-18T03:33:20.000Z"
    assert assigned["meta"]["assignee"]["id"] == 1
    assert urgent["priority"] == "urgent"
    activity = [
        m for m in fake.account.conversations[conv_id].messages if m.message_type == ACTIVITY
    ]
    assert [m.content for m in activity][:1] == ["Conversation was snoozed by Aiko Tanaka"]


async def test_replies_are_reported_delivered_then_read_when_asked(fake, api):
    [conv_id] = add(fake)
    fake.deliver_after = 0.01
    async with Cable(fake) as cable:
        await cable.subscribe()
        sent = await api.post(f"{A}/conversations/{conv_id}/messages", json={"content": "ok"})
        delivered = await cable.event("message.updated")
        read = await cable.event("message.updated")

    assert sent.json()["status"] == "sent"
    assert (delivered["id"], delivered["status"]) == (sent.json()["id"], "delivered")
    assert read["status"] == "read"


async def test_a_snooze_moved_is_an_update_and_an_ended_one_reopens(fake, api):
    [later, ended] = add(fake, 2)
    for conv_id, until in ((later, 4_000_000_000), (ended, 1)):
        await api.post(
            f"{A}/conversations/{conv_id}/toggle_status",
            json={"status": "snoozed", "snoozed_until": until},
        )
    fake.events.clear()

    await api.post(
        f"{A}/conversations/{later}/toggle_status",
        json={"status": "snoozed", "snoozed_until": 4_100_000_000},
    )
    await fake.wake_snoozed()

    assert [(name, data["id"], data["status"]) for name, data in fake.events] == [
        ("conversation.updated", later, "snoozed"),
        ("conversation.status_changed", ended, "open"),
        ("conversation.updated", ended, "open"),
    ]


async def test_assigning_nobody_known_unassigns_as_chatwoot_does(fake, api):
    [conv_id] = add(fake, assignee_id=2)

    answer = await api.post(f"{A}/conversations/{conv_id}/assignments", json={"assignee_id": 99})

    assert answer.json() is None
    assert fake.account.conversations[conv_id].assignee_id is None


async def test_assigning_a_team_drops_an_assignee_outside_it(fake, api):
    [conv_id] = add(fake, assignee_id=2)  # Ben is in Technical (2), not Billing (1)
    async with Cable(fake) as cable:
        await cable.subscribe()

        answer = await api.post(f"{A}/conversations/{conv_id}/assignments", json={"team_id": 1})
        unassigned = await cable.event("assignee.changed")
        team = await cable.event("team.changed")

    assert answer.json()["name"] == "Billing"
    assert "assignee" not in unassigned["meta"]
    assert team["meta"]["team"] == {"id": 1, "name": "Billing"}


async def test_test_helpers_speak_for_customers(fake):
    [conv_id] = add(fake, status="resolved")
    async with Cable(fake) as cable:
        await cable.subscribe()

        said = await fake.customer_says(conv_id, "still broken")
        created = await cable.event("message.created")
        reopened = await cable.event("conversation.status_changed")
        await fake.customer_typing(conv_id, True)
        typing = await cable.event("conversation.typing_on")
        opened = await fake.new_conversation("hello there", inbox_id=2, name="Ada")
        new = await cable.event("conversation.created")

    assert created["id"] == said["id"] and created["message_type"] == INCOMING
    assert reopened["status"] == "open"
    assert typing["conversation"]["id"] == conv_id and typing["user"]["type"] == "contact"
    assert new["id"] == opened["id"] and new["meta"]["sender"]["name"] == "Ada"


async def test_drop_sockets_cuts_the_link_and_a_client_can_come_back(fake):
    async with Cable(fake) as cable:
        await cable.subscribe()
        await fake.drop_sockets()
        async with asyncio.timeout(3):
            async for frame in cable.ws:  # what was sent before the cut, then the end
                assert frame.type == aiohttp.WSMsgType.TEXT
        assert cable.ws.closed
    await fake.wait_sockets(0)
    assert fake.subscribers == 0

    async with Cable(fake) as again:
        assert (await again.subscribe())["type"] == "confirm_subscription"


async def test_a_reply_with_a_file_is_uploaded_as_multipart_and_served_back(fake, api):
    [conv_id] = add(fake)
    form = {"content": "here is the label", "private": "false", "echo_id": "e-9"}
    files = [("attachments[]", ("label 7/8.pdf", b"%PDF-1.4 tiny", "application/pdf"))]

    sent = (await api.post(f"{A}/conversations/{conv_id}/messages", data=form, files=files)).json()
    [attachment] = sent["attachments"]
    download = await api.get(attachment["data_url"], headers={"api_access_token": ""})

    assert (sent["content"], sent["private"], attachment["file_type"]) == (
        "here is the label",
        False,
        "file",
    )
    assert download.content == b"%PDF-1.4 tiny"
    assert fake.requests[-2].json["attachments[]"] == [{"filename": "label 7/8.pdf", "size": 13}]


async def test_an_empty_or_malformed_reply_is_refused_with_422(fake, api):
    [conv_id] = add(fake)

    path = f"{A}/conversations/{conv_id}/messages"

    blank = await api.post(path, json={"content": " "})
    odd = await api.post(path, json={"content": "x", "content_attributes": [1]})
    not_json = await api.post(path, content=b"{", headers={"Content-Type": "application/json"})

    assert [a.status_code for a in (blank, odd, not_json)] == [422, 422, 422]
    assert "blank" in blank.json()["error"]
    assert len(fake.account.conversations[conv_id].messages) == 1


async def test_contacts_show_update_merges_attributes_conversations_and_notes(fake, api):
    [conv_id] = add(fake)
    contact_id = fake.account.conversations[conv_id].contact_id
    p = f"{A}/contacts/{contact_id}"
    fake.account.contacts[contact_id].custom_attributes = {"plan": "pro"}

    updated = await api.put(p, json={"custom_attributes": {"order": "A-17"}})
    shown = (await api.get(p)).json()["payload"]
    convs = (await api.get(f"{p}/conversations")).json()["payload"]
    await api.post(f"{p}/notes", json={"content": "prefers email"})
    notes = (await api.get(f"{p}/notes")).json()
    found = (await api.get(f"{A}/contacts/search", params={"q": "KIM"})).json()

    assert updated.json()["payload"]["custom_attributes"] == {"plan": "pro", "order": "A-17"}
    assert shown["name"] == "Kim Lee" and shown["custom_attributes"]["order"] == "A-17"
    assert [c["id"] for c in convs] == [conv_id]
    assert [(n["content"], n["user"]["id"]) for n in notes] == [("prefers email", 1)]
    assert found["meta"]["count"] == 1 and found["payload"][0]["id"] == contact_id


async def test_the_account_lists_answer_in_chatwoots_shapes(fake, api):
    agents = (await api.get(f"{A}/agents")).json()
    teams = (await api.get(f"{A}/teams")).json()
    inboxes = (await api.get(f"{A}/inboxes")).json()["payload"]
    labels = (await api.get(f"{A}/labels")).json()["payload"]
    canned = (await api.get(f"{A}/canned_responses", params={"search": "refund"})).json()
    profile = (await api.get("/api/v1/profile")).json()

    assert {a["availability_status"] for a in agents} == {"online", "busy", "offline"}
    assert [t["name"] for t in teams] == ["Billing", "Technical"]
    assert {i["channel_type"] for i in inboxes} >= {"Channel::Whatsapp", "Channel::Email"}
    assert "vip" in [label["title"] for label in labels]
    assert [c["short_code"] for c in canned] == ["refund"]
    assert (profile["id"], profile["email"]) == (1, "aiko@example.com")
    assert profile["pubsub_token"] == fake.profile.pubsub_token
    assert profile["accounts"][0]["id"] == 1


async def test_update_last_seen_clears_the_unread_count_without_an_event(fake, api):
    [conv_id] = add(fake)
    before = (await api.get(f"{A}/conversations/{conv_id}")).json()["unread_count"]

    seen = await api.post(f"{A}/conversations/{conv_id}/update_last_seen")

    assert (before, seen.status_code) == (1, 204)
    assert (await api.get(f"{A}/conversations/{conv_id}")).json()["unread_count"] == 0
    assert fake.events == []


async def test_an_agents_typing_reaches_the_other_agents_not_the_typist(fake, api):
    [conv_id] = add(fake)
    fake.add_token("ben-token", 2)
    ben = fake.account.agents[2]
    async with Cable(fake) as aiko, Cable(fake) as ben_cable:
        await aiko.subscribe()
        await ben_cable.subscribe(ben_cable.identifier(token=ben.pubsub_token, user_id=2))
        await api.post(
            f"{A}/conversations/{conv_id}/toggle_typing_status",
            json={"typing_status": "on", "is_private": True},
        )
        typing = await ben_cable.event("conversation.typing_on")
        await fake.customer_says(conv_id, "hello?")
        await aiko.event("message.created")

    assert typing["user"]["id"] == 1 and typing["is_private"] is True
    assert not [f for f in aiko.frames if "typing" in event_of(f)]


def test_ten_thousand_conversations_seed_with_their_messages():
    fake = FakeChatwoot()

    fake.seed(10_000, messages=4, rng_seed=7)

    convs = fake.account.conversations
    assert len(convs) == 10_000 and list(convs) == list(range(1, 10_001))
    assert len(fake.account.messages) >= 30_000
    assert {c.status for c in convs.values()} == {"open", "resolved", "pending", "snoozed"}
    assert {fake.account.inboxes[c.inbox_id].channel_type for c in convs.values()} >= {
        "Channel::Whatsapp",
        "Channel::Email",
        "Channel::Line",
    }


def test_the_script_serves_and_logs_each_request_on_one_line():
    script = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "frontdesk.bench.chatwoot_fake",
            "--port",
            "0",
            "--token",
            "tok-4f9a",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        banner = script.stdout.readline()
        url = banner.split()[3]
        setup = list(iter(script.stdout.readline, "\n"))  # the config to paste, to a blank line
        answer = httpx.post(
            f"{url}{A}/conversations/1/labels",
            json={"labels": ["vip"]},
            headers={"api_access_token": "tok-4f9a"},
        )
        httpx.get(f"{url}{A}/conversations", params=[("labels[]", "a"), ("labels[]", "b")])
        logged = [script.stdout.readline(), script.stdout.readline()]
    finally:
        script.terminate()
        ended = script.wait(5)

    assert banner.startswith("fake Chatwoot at http://127.0.0.1:")
    assert f'url = "{url}"\n' in setup and "tok-4f9a" not in "".join(setup)
    assert answer.status_code == 200
    assert logged == [
        f'POST {A}/conversations/1/labels {{"labels": ["vip"]}}\n',
        f"GET {A}/conversations?labels[]=a&labels[]=b\n",
    ]
    assert ended == 0  # SIGTERM stops it cleanly
