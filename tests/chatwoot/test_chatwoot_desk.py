"""ChatwootDesk against the loopback fake Chatwoot: what the console reads, and each request a command
makes as the fake received it."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import re
import typing
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from chatwoot_desks import FAST as QUICK
from chatwoot_desks import TOKEN, synced_desk
from pilot_helpers import eventually

from frontdesk.bench.chatwoot_fake import FakeChatwoot
from frontdesk.chatwoot import listing
from frontdesk.chatwoot.api import ChatwootApi
from frontdesk.chatwoot.cable import CableTiming
from frontdesk.chatwoot.desk import ChatwootDesk, Timing
from frontdesk.config import DeskConfig
from frontdesk.desk.canned import fill
from frontdesk.desk.changes import ChangeKind
from frontdesk.desk.errors import DeskError
from frontdesk.desk.interface import REMOTE_METHODS, DeskAPI
from frontdesk.desk.views import Filters, View
from frontdesk.model import Delivery, FileUpload, MessageKind, Priority, Status

A = "/api/v1/accounts/1"
FAST = dataclasses.replace(QUICK, cable=CableTiming(silent=1.0, retry_first=0.05, retry_most=0.2))
INCOMING = 0


def add_open(fake: FakeChatwoot, n: int, **fields) -> list[int]:
    """`n` conversations in the WhatsApp inbox (id 1), each with one customer message."""
    ids = []
    for i in range(n):
        contact = fake.account.add_contact(f"Customer {i}")
        conv = fake.account.add_conversation(1, contact.id, **fields)
        fake.account.add_message(conv, f"hello {i}", INCOMING)
        ids.append(conv.id)
    return ids


@pytest.fixture
async def fake():
    async with FakeChatwoot(TOKEN, ping_seconds=0.05) as server:
        yield server


def make_desk(
    fake: FakeChatwoot, cache_dir, url: str | None = None, timing: Timing = FAST
) -> ChatwootDesk:
    config = DeskConfig(kind="chatwoot", url=url or fake.url, account_id=1)
    return ChatwootDesk(config, TOKEN, cache_dir, timing=timing)


@pytest.fixture
async def started(fake, tmp_path):
    """The fake with three open conversations, and a desk synced with it."""
    add_open(fake, 3)
    desk = await synced_desk(fake, tmp_path, FAST)
    yield desk
    await desk.stop()


def requests(fake: FakeChatwoot, method: str, fragment: str) -> list:
    return [r for r in fake.requests if r.method == method and r.path.endswith(fragment)]


async def test_start_reads_the_account_and_each_views_first_page(fake, started):
    desk = started
    assert desk.agent == "aiko@example.com"
    assert desk.agent_name("carla@example.com") == "Carla Mendes"
    assert "WhatsApp Support" in await desk.channel_names()
    assert desk.channel_kind("WhatsApp Support") == "whatsapp"
    assert "Billing" in desk.escalation_targets
    lists = [r.query for r in requests(fake, "GET", f"{A}/conversations")]
    assert {"assignee_type": "me", "status": "open", "page": "1"} in lists
    assert {"assignee_type": "all", "status": "resolved", "page": "1"} in lists
    assert len(await desk.conversations(View.UNASSIGNED)) == 3
    assert desk.link_problem == ""


async def test_counts_are_the_servers_and_more_pages_in_the_rest(fake, tmp_path):
    add_open(fake, 30)
    desk = make_desk(fake, tmp_path)
    await desk.start()
    await asyncio.wait_for(desk.synced.wait(), 10)
    try:
        tally = await desk.tally()
        assert len(await desk.conversations(View.ALL)) == 25  # one page
        assert tally.counts()[View.ALL] == 30  # the server counts what is not paged in yet
        assert await desk.more(View.ALL) is True
        assert len(await desk.conversations(View.ALL)) == 30
        assert await desk.more(View.ALL) is False  # the short page was the last
        pages = [r.query.get("page") for r in requests(fake, "GET", f"{A}/conversations")]
        assert pages.count("2") == 1  # none asked after the last page
        fake.account.add_conversation(1, fake.account.add_contact("Late").id)
        await desk.set_priority(1, Priority.HIGH)  # any command refreshes the counts
        await eventually(lambda: tally.counts()[View.ALL] == 31, what="the count in place")
    finally:
        await desk.stop()


async def test_filters_narrow_the_servers_query(fake, started):
    await started.more(
        View.MINE,
        Filters(channels=frozenset({"WhatsApp Support"}), labels=frozenset({"vip", "bug"})),
    )
    asked = requests(fake, "GET", f"{A}/conversations")[-1].query
    assert asked["inbox_id"] == "1" and asked["labels[]"] == ["bug", "vip"]
    assert asked["assignee_type"] == "me"


async def test_a_reply_and_a_note_post_through_the_outbox(fake, started):
    desk = started
    conv_id = (await desk.conversations(View.ALL))[0].id
    await desk.thread(conv_id)
    reply = await desk.reply(conv_id, "We are on it")
    assert reply.id < 0 and reply.delivery is Delivery.PENDING  # shown at once
    await desk.note(conv_id, "check billing first")
    note = await fake.wait_for_request(lambda r: r.method == "POST" and r.json.get("private"))
    sent = requests(fake, "POST", f"/conversations/{conv_id}/messages")[0]
    assert sent.json["content"] == "We are on it" and sent.json["private"] is False
    assert sent.json["message_type"] == "outgoing" and sent.json["echo_id"]
    assert note.json["content"] == "check billing first"

    async def server_ids() -> bool:
        return all(m.id > 0 for m in await desk.thread(conv_id))

    await eventually(server_ids, what="the server's messages in place of the local ones")
    bodies = [m.body for m in await desk.thread(conv_id)]
    assert bodies[-2:] == ["We are on it", "check billing first"]


async def test_labels_are_sent_as_the_full_set(fake, started):
    conv = fake.account.conversations[1]
    conv.labels = ["billing"]
    await started.label(1, add=["vip"])
    await started.label(1, remove=["billing"])
    posted = [r.json for r in requests(fake, "POST", "/conversations/1/labels")]
    assert posted == [{"labels": ["billing", "vip"]}, {"labels": ["vip"]}]
    assert (await started.conversation(1)).labels == ["vip"]
    await started.label(2, add=["Zebra", "apple"])
    listed = await started.labels()
    assert listed.index("apple") < listed.index("vip") < listed.index("Zebra")  # as locally


async def test_assign_snooze_priority_status(fake, started):
    desk = started
    await desk.assign(1, "carla@example.com")
    await desk.assign(1, None)
    until = datetime(2030, 1, 2, 3, 4, tzinfo=timezone.utc)
    await desk.snooze(2, until)
    await desk.set_priority(2, Priority.URGENT)
    await desk.set_status(3, Status.RESOLVED)
    assert [r.json for r in requests(fake, "POST", "/conversations/1/assignments")] == [
        {"assignee_id": 3},
        {"assignee_id": None},
    ]
    assert requests(fake, "POST", "/conversations/2/toggle_status")[0].json == {
        "status": "snoozed",
        "snoozed_until": int(until.timestamp()),
    }
    assert requests(fake, "POST", "/conversations/2/toggle_priority")[0].json == {
        "priority": "urgent"
    }
    assert requests(fake, "POST", "/conversations/3/toggle_status")[0].json == {
        "status": "resolved"
    }
    assert fake.account.conversations[3].status == "resolved"
    assert (await desk.conversation(2)).status is Status.SNOOZED
    with pytest.raises(DeskError, match="no 'waiting on the customer' status"):
        await desk.set_status(1, Status.PENDING)
    with pytest.raises(DeskError, match="no agent nobody@example.com"):
        await desk.assign(1, "nobody@example.com")


async def test_escalate_is_a_team_a_priority_and_a_note(fake, started):
    assert await started.escalate(1, "Billing", "refund over limit", Priority.HIGH) == []
    assert requests(fake, "POST", "/conversations/1/assignments")[0].json == {"team_id": 1}
    assert requests(fake, "POST", "/conversations/1/toggle_priority")[0].json == {
        "priority": "high"
    }
    note = await fake.wait_for_request(
        lambda r: r.method == "POST" and r.path.endswith("/conversations/1/messages")
    )
    assert note.json["private"] is True
    assert note.json["content"] == "Escalated to Billing: refund over limit"
    assert (await started.conversations(View.ESCALATED))[0].id == 1


async def test_a_refused_token_says_so_and_how_to_fix_it(fake, started):
    feed = started.subscribe()
    fake.revoke_token()
    with pytest.raises(DeskError, match="frontdesk creds set chatwoot api_access_token"):
        await started.set_priority(1, Priority.LOW)
    assert started.link_problem.startswith("Chatwoot refused the token")
    change = await asyncio.wait_for(feed.__anext__(), 5)
    assert change.kind is ChangeKind.LINK and change.failed


async def test_a_new_token_set_after_a_refusal_is_taken_up_without_a_restart(fake, tmp_path):
    """`frontdesk creds set chatwoot api_access_token` in another terminal: the desk reads the
    token again while refused, and works on with the new one (replies held meanwhile go)."""
    add_open(fake, 1)
    stored = {"token": TOKEN}
    config = DeskConfig(kind="chatwoot", url=fake.url, account_id=1)
    desk = ChatwootDesk(
        config,
        TOKEN,
        tmp_path,
        timing=dataclasses.replace(FAST, token_check=0.05),
        token_source=lambda: stored["token"],
    )
    await desk.start()
    try:
        await asyncio.wait_for(desk.synced.wait(), 10)
        await desk.thread(1)
        fake.revoke_token()
        with pytest.raises(DeskError, match="refused the token"):
            await desk.set_priority(1, Priority.LOW)
        await desk.reply(1, "sent once the token is new")
        fake.add_token("a-new-token", fake.profile.id)
        stored["token"] = "a-new-token"
        await fake.wait_for_request(
            lambda r: r.method == "POST" and r.path.endswith("/conversations/1/messages")
        )
        await eventually(lambda: desk.link_problem == "", what="the link back")
        await desk.set_priority(1, Priority.HIGH)
        assert fake.account.conversations[1].priority == "high"
    finally:
        await desk.stop()


async def test_429_is_waited_out_then_sent(fake, started):
    fake.rate_limit(1, retry_after=0.3)
    loop = asyncio.get_running_loop()
    began = loop.time()
    await started.set_priority(1, Priority.MEDIUM)
    assert loop.time() - began >= 0.3
    asked = requests(fake, "POST", "/conversations/1/toggle_priority")
    assert len(asked) == 2  # the first got the 429
    assert fake.account.conversations[1].priority == "medium"


async def test_an_unreachable_server_is_published_and_reconnected(fake, started):
    feed = started.subscribe()
    fake.fail_next("/conversations/1/toggle_priority", 503)
    with pytest.raises(DeskError, match="HTTP 503"):
        await started.set_priority(1, Priority.LOW)
    lost = await asyncio.wait_for(feed.__anext__(), 5)
    assert lost.kind is ChangeKind.LINK and lost.failed
    assert "offline" in lost.detail
    kinds = [(await asyncio.wait_for(feed.__anext__(), 5)).kind for _ in range(2)]
    assert kinds == [ChangeKind.LINK, ChangeKind.RESET]
    assert started.link_problem == ""


async def test_shared_canned_in_frontdesks_placeholders(started):
    canned = {c.shortcode: c.body for c in await started.shared_canned()}
    assert canned["hi"] == "Hi {contact.name}, thanks for reaching out! How can I help?"
    assert canned["ship"].endswith("{ask:tracking}")


async def test_contact_notes_and_attributes(fake, started):
    contact_id = (await started.conversation(1)).contact_id
    contact = await started.update_contact(
        contact_id, notes="prefers email", attributes={"plan": "pro"}
    )
    assert contact.notes == "prefers email" and contact.attributes == {"plan": "pro"}
    assert requests(fake, "POST", f"/contacts/{contact_id}/notes")[0].json == {
        "content": "prefers email"
    }
    assert requests(fake, "PUT", f"/contacts/{contact_id}")[0].json == {
        "custom_attributes": {"plan": "pro"}
    }


async def test_the_next_start_paints_from_what_was_seen(fake, started, tmp_path):
    await started.thread(1)
    await started.stop()  # writes the seen cache
    port_closed = "http://127.0.0.1:9"  # discard: nothing answers
    offline = make_desk(fake, tmp_path, url=port_closed)
    offline._cache = started._cache  # the same account's file
    await offline.start()
    try:
        assert re.match(r"stale: showing what was seen \d+ s ago until", offline.link_problem)
        assert len(await offline.conversations(View.ALL)) == 3
        assert [m.body for m in await offline.thread(1)] == ["hello 0"]
        await eventually(lambda: offline.link_problem.startswith("offline"), what="offline")
        reply = await offline.reply(1, "queued while offline")
        assert reply.delivery is Delivery.PENDING
        with pytest.raises(DeskError, match="not read before"):
            await offline.thread(2)
    finally:
        await offline.stop()


async def test_unsupported_operations_say_what_chatwoot_offers(started):
    assert set(started.unsupported) >= {
        "send_template",
        "templates",
        "retry_hooks",
        "report",
        "merge_contacts",
    }
    with pytest.raises(DeskError, match="Reports page"):
        await started.report(started.now() - timedelta(days=1), started.now(), None)


async def next_change(feed, kind: ChangeKind, timeout: float = 5.0):
    """The next change of `kind` on `feed` (others are passed over)."""
    async with asyncio.timeout(timeout):
        async for change in feed:
            if change.kind is kind:
                return change


async def test_live_events_reach_the_thread_and_the_list(fake, started):
    await fake.wait_subscribed()
    await started.thread(1)
    feed = started.subscribe()
    await fake.customer_says(1, "any news?")
    change = await next_change(feed, ChangeKind.MESSAGE)
    assert change.conversation_id == 1
    assert (await started.thread(1))[-1].body == "any news?"
    assert (await started.conversation(1)).preview == "any news?"


async def test_a_dropped_feed_is_said_and_what_is_shown_read_again(fake, started):
    await fake.wait_subscribed()
    feed = started.subscribe()
    mark = len(fake.requests)
    await fake.drop_sockets()
    lost = await next_change(feed, ChangeKind.LINK)
    assert lost.failed and "live updates paused" in started.link_problem
    back = await next_change(feed, ChangeKind.LINK)
    assert not back.failed and started.link_problem == ""
    await next_change(feed, ChangeKind.RESET)
    await fake.wait_for_request(lambda r: r.path.endswith("/conversations"), after=mark)


async def test_the_feeds_echo_confirms_a_reply(fake, started):
    await fake.wait_subscribed()
    await started.thread(1)
    reply = await started.reply(1, "echo me")
    await eventually(lambda: started._outbox.entry(reply.id) is None, what="the entry sent")
    assert [m.body for m in await started.thread(1) if m.body == "echo me"] == ["echo me"]


async def test_what_was_seen_and_changed_meanwhile_follows_the_server(fake, started, tmp_path):
    await started.stop()  # writes the seen cache with conversations 1-3 open
    fake.account.conversations[2].status = "resolved"
    del fake.account.conversations[3]
    again = make_desk(fake, tmp_path)
    await again.start()
    try:
        assert {c.id for c in await again.conversations(View.ALL)} == {1, 2, 3}  # as seen
        await asyncio.wait_for(again.synced.wait(), 10)
        assert [c.id for c in await again.conversations(View.ALL)] == [1]
        assert [c.id for c in await again.conversations(View.RESOLVED)] == [2]
    finally:
        await again.stop()


async def test_a_long_thread_is_read_back_by_pages_with_before(fake, started):
    conv = fake.account.conversations[1]
    for i in range(44):
        fake.account.add_message(conv, f"line {i}", INCOMING)
    thread = await started.thread(1)
    assert len(thread) == 45 and thread[0].body == "hello 0" and thread[-1].body == "line 43"
    asked = [r.query.get("before") for r in requests(fake, "GET", "/conversations/1/messages")]
    assert asked[0] is None and len(asked) == 3 and all(asked[1:])
    assert await started.thread(1) == thread  # kept: no request more
    assert len(requests(fake, "GET", "/conversations/1/messages")) == 3


async def test_a_thread_longer_than_the_console_reads_says_where_the_rest_is(fake, started):
    conv = fake.account.conversations[1]
    for i in range(249):
        fake.account.add_message(conv, f"line {i}", INCOMING)
    first, *messages = await started.thread(1)
    assert len(messages) == 200 and messages[-1].body == "line 248"  # the latest 200
    assert first.kind is MessageKind.ACTIVITY and first.id == 0
    assert "Earlier messages are on Chatwoot" in first.body
    assert (await started.thread(1))[0].body == first.body  # kept, and still said
    assert first.id not in {m.id for m in messages}


async def test_search_contacts_and_their_conversations_come_from_the_server(fake, started):
    found = await started.search_conversations("hello 1")
    assert [m.conversation.id for m in found] == [2]
    assert requests(fake, "GET", "/conversations/search")[0].query["q"] == "hello 1"
    contact_id = fake.account.conversations[3].contact_id
    assert [c.id for c in await started.contact_conversations(contact_id)] == [3]
    assert requests(fake, "GET", f"/contacts/{contact_id}/conversations")


async def test_find_contacts_asks_the_servers_contact_search(tmp_path):
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        found = [{"id": 9, "name": "Mia Rossi", "email": "mia@example.com"}, {"name": "no id"}]
        return httpx.Response(200, json={"meta": {"count": 2}, "payload": found})

    api = ChatwootApi("https://chat.example.com", 1, TOKEN, transport=httpx.MockTransport(answer))
    config = DeskConfig(kind="chatwoot", url="https://chat.example.com", account_id=1)
    desk = ChatwootDesk(config, TOKEN, tmp_path, api=api, timing=FAST)
    [contact] = await desk.find_contacts("mia")  # the record without an id is skipped
    await api.aclose()
    assert (contact.id, contact.name, contact.emails) == (9, "Mia Rossi", ["mia@example.com"])
    assert seen[0].url.path == "/api/v1/accounts/1/contacts/search"
    assert seen[0].url.params["q"] == "mia"


async def test_read_marks_and_typing_are_told_to_the_server(fake, started):
    await started.mark_read(1)
    await started.set_typing(1, True)
    await started.set_typing(1, False)
    assert len(requests(fake, "POST", "/conversations/1/update_last_seen")) == 1
    typing = [r.json for r in requests(fake, "POST", "/conversations/1/toggle_typing_status")]
    assert typing == [{"typing_status": "on"}, {"typing_status": "off"}]


async def test_the_open_conversation_deleted_meanwhile_does_not_stop_the_reconnect(fake, started):
    feed = started.subscribe()
    await started.thread(3)
    await started.set_viewing(3)
    vip_only = Filters(labels=frozenset({"vip"}))
    await started.more(View.ALL, vip_only)
    vip = listing.query_key(listing.view_query(View.ALL, vip_only, started.state))
    assert started.state.pages[vip] == 1
    del fake.account.conversations[3]
    fake.fail_next("/conversations/1/toggle_priority", 503)
    with pytest.raises(DeskError):
        await started.set_priority(1, Priority.LOW)
    assert (await next_change(feed, ChangeKind.LINK)).failed
    back = await next_change(feed, ChangeKind.LINK)
    assert not back.failed and started.link_problem == ""
    assert 3 not in {c.id for c in await started.conversations(View.ALL)}
    assert vip not in started.state.pages  # a filtered list pages again from its start


async def test_attributes_left_out_are_removed_on_the_server(tmp_path):
    seen: list[tuple[str, str, object]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        seen.append((request.method, request.url.path.split("/contacts/")[1], body))
        if request.url.path.endswith("/notes"):
            return httpx.Response(200, json=[])
        contact = {"id": 5, "name": "Mia", "custom_attributes": {"plan": "pro", "tier": "gold"}}
        return httpx.Response(200, json={"payload": contact})

    api = ChatwootApi("https://chat.example.com", 1, TOKEN, transport=httpx.MockTransport(answer))
    config = DeskConfig(kind="chatwoot", url="https://chat.example.com", account_id=1)
    desk = ChatwootDesk(config, TOKEN, tmp_path, api=api, timing=FAST)
    desk._problem = ""  # as once the server answered
    contact = await desk.update_contact(5, attributes={"plan": "team"})
    await api.aclose()
    assert contact.attributes == {"plan": "team"}
    assert [(m, p, b) for m, p, b in seen if m != "GET"] == [
        ("PUT", "5", {"custom_attributes": {"plan": "team"}}),
        ("POST", "5/destroy_custom_attributes", {"custom_attributes": ["tier"]}),
    ]


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        ({"notes": "n" * 10_001}, "contact notes are 10,001 characters; keep them under 10,000"),
        ({"attributes": {"plan": "a\nb"}}, "attribute 'plan' must be one line"),
    ],
)
async def test_a_contact_edit_the_local_desk_refuses_is_refused_before_any_write(
    fake, started, edit, reason
):
    [conv, *_] = await started.conversations()
    before = len(fake.requests)
    with pytest.raises(DeskError, match=re.escape(reason)):
        await started.update_contact(conv.contact_id, **edit)
    assert [r for r in fake.requests[before:] if r.method != "GET"] == []


async def test_a_reply_written_offline_is_posted_once_the_server_is_back(fake, started):
    port = int(fake.url.rsplit(":", 1)[1])
    await started.thread(1)
    await fake.stop()
    with pytest.raises(DeskError, match="unreachable"):
        await started.set_priority(1, Priority.LOW)
    assert started.link_problem.startswith("offline")
    reply = await started.reply(1, "written offline")
    assert reply.id < 0 and reply.delivery is Delivery.PENDING
    mark = len(fake.requests)
    await fake.start(port=port)
    posted = await fake.wait_for_request(
        lambda r: r.method == "POST" and r.path.endswith("/messages"), after=mark
    )
    assert posted.json["content"] == "written offline"
    await eventually(lambda: started.link_problem == "", what="back online")
    posts = [r for r in fake.requests if r.method == "POST" and r.path.endswith("/messages")]
    assert len(posts) == 1


async def test_a_shared_canned_reply_fills_from_the_conversation(started):
    [hi] = [c for c in await started.shared_canned() if c.shortcode == "hi"]
    values = await started.canned_variables(1)
    assert values["agent.name"] == "Aiko Tanaka" and values["conversation.channel"] == "WhatsApp"
    assert fill(hi.body, values) == "Hi Customer 0, thanks for reaching out! How can I help?"


def test_the_chatwoot_desk_has_everything_the_interface_names_as_it_names_it(tmp_path):
    config = DeskConfig(kind="chatwoot", url="https://chat.example.com", account_id=1)
    desk = ChatwootDesk(config, TOKEN, tmp_path)
    members = [m for m in dir(DeskAPI) if not m.startswith("_")]
    assert [m for m in [*members, *typing.get_type_hints(DeskAPI)] if not hasattr(desk, m)] == []
    for name in REMOTE_METHODS | {"tally", "more", "shared_canned"}:
        ours, theirs = getattr(ChatwootDesk, name), getattr(DeskAPI, name)
        assert inspect.iscoroutinefunction(ours), name
        assert list(inspect.signature(ours).parameters) == list(
            inspect.signature(theirs).parameters
        ), name


async def test_a_closed_window_is_said_until_the_customer_writes_again(fake, started):
    await fake.wait_subscribed()
    assert await started.window(1) is None  # the server's list said it can be replied to
    feed = started.subscribe()
    event = fake.account.conversation_event(fake.account.conversations[1])
    await fake.emit("conversation.updated", {**event, "can_reply": False})
    await next_change(feed, ChangeKind.CONVERSATION)
    window = await started.window(1)
    assert window is not None and window.closed and window.label == "WhatsApp window closed"
    await fake.customer_says(1, "hello again")
    await next_change(feed, ChangeKind.MESSAGE)
    assert await started.window(1) is None


async def test_a_contact_read_a_moment_ago_is_not_asked_again(fake, started):
    contact_id = (await started.conversation(1)).contact_id
    first = await started.contact(contact_id)
    assert await started.contact(contact_id) is first
    assert len(requests(fake, "GET", f"/contacts/{contact_id}")) == 1
    await started.update_contact(contact_id, notes="call after 5pm")
    assert (await started.contact(contact_id)).notes == "call after 5pm"


async def test_the_live_feed_coming_back_ends_the_reconnects_wait(fake, tmp_path):
    add_open(fake, 1)
    slow = dataclasses.replace(FAST, retry_first=60.0, retry_most=60.0)
    desk = make_desk(fake, tmp_path, timing=slow)
    await desk.start()
    try:
        await asyncio.wait_for(desk.synced.wait(), 10)
        await fake.wait_subscribed()
        port = int(fake.url.rsplit(":", 1)[1])
        await fake.stop()
        with pytest.raises(DeskError):
            await desk.set_priority(1, Priority.LOW)  # the next attempt is a minute away
        await fake.start(port=port)
        await eventually(lambda: desk.link_problem == "", timeout=5, what="back long before 60 s")
    finally:
        await desk.stop()


async def test_a_new_pubsub_token_is_read_and_subscribed_with(fake, started):
    await fake.wait_subscribed()
    feed = started.subscribe()
    fake.profile.pubsub_token = "a-new-pubsub-token"  # as when the user's token was reset
    await fake.drop_sockets()
    assert (await next_change(feed, ChangeKind.LINK)).failed
    back = await next_change(feed, ChangeKind.LINK, timeout=10)
    assert not back.failed and started.link_problem == ""
    subscribed = [
        json.loads(c["identifier"])["pubsub_token"]
        for c in fake.cable_received
        if c.get("command") == "subscribe"
    ]
    assert subscribed[-1] == "a-new-pubsub-token"


async def test_a_server_gone_is_said_without_waiting_for_a_command(fake, started):
    await fake.wait_subscribed()
    port = int(fake.url.rsplit(":", 1)[1])
    await fake.stop()
    await eventually(lambda: started.link_problem.startswith("offline"), timeout=5, what="offline")
    await fake.start(port=port)
    await eventually(lambda: started.link_problem == "", timeout=10, what="back")


async def test_an_attachment_downloads_from_the_server(fake, started, tmp_path):
    conv = fake.account.conversations[1]
    message = fake.account.add_message(conv, None, INCOMING)
    fake.account.attach(message, "receipt 1.pdf", b"%PDF-1.4 fake")
    thread = await started.thread(1)
    [index] = [i for i, m in enumerate(thread) if m.attachments]
    got = await started.attachment_data(1, thread[index].id, 0)
    assert (got.name, got.data) == ("receipt 1.pdf", b"%PDF-1.4 fake")
    saved = await started.save_attachment(1, thread[index].id, 0, str(tmp_path / "downloads"))
    assert saved.read_bytes() == b"%PDF-1.4 fake"


async def test_a_reply_with_files_is_uploaded_as_attachments(fake, started):
    await started.thread(1)
    files = [FileUpload("map.png", "image/png", b"\x89PNG fake"), FileUpload("a b.txt", "", b"hi")]
    sent = await started.reply(1, "Here is the map", files)
    assert sent.id > 0 and len(sent.attachments) == 2 and sent.attachments[0].name == "map.png"
    posted = requests(fake, "POST", "/conversations/1/messages")[0]
    assert posted.json["content"] == "Here is the map" and posted.json["private"] == "false"
    stored = fake.account.conversations[1].messages[-1]
    assert [(a.name, a.data) for a in stored.attachments] == [
        ("map.png", b"\x89PNG fake"),
        ("a b.txt", b"hi"),
    ]
    assert await started.file_problem(1, "big.mov", "video/quicktime", 41 << 20)
    assert await started.file_problem(1, "ok.mov", "video/quicktime", 1 << 20) is None


async def test_a_burst_of_events_reads_the_counts_once_per_interval(fake, tmp_path):
    add_open(fake, 3)
    timing = dataclasses.replace(FAST, counts_every=60.0)
    desk = make_desk(fake, tmp_path, timing=timing)
    await desk.start()
    try:
        await asyncio.wait_for(desk.synced.wait(), 10)
        await fake.wait_subscribed()
        meta = lambda r: r.path.endswith("/conversations/meta")  # noqa: E731
        await fake.customer_says(1, "first")
        first = await fake.wait_for_request(meta)
        feed = desk.subscribe()
        for i in range(10):  # while that read runs and after it
            await fake.customer_says(1 + i % 3, f"again {i}")
        for _ in range(10):
            await next_change(feed, ChangeKind.MESSAGE)
        with pytest.raises(TimeoutError):  # one more read waits its turn, a minute here
            await fake.wait_for_request(meta, timeout=0.5, after=fake.requests.index(first) + 1)
    finally:
        await desk.stop()
