"""Whatever a server answers to the console's later reads (paging, a conversation, contacts, search,
commands), the desk answers or says why in one DeskError line: never another exception."""

from __future__ import annotations

import asyncio

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.chatwoot.api import ChatwootApi
from frontdesk.chatwoot.desk import ChatwootDesk
from frontdesk.config import DeskConfig
from frontdesk.desk.errors import DeskError
from frontdesk.desk.views import View
from frontdesk.model import Priority, Status

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 2**60) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=25,
)
FIELDS = ["meta", "status", "inbox_id", "labels", "priority", "timestamp", "messages", "payload"]
PLAUSIBLE = st.fixed_dictionaries(
    {"id": st.integers(1, 5), "name": st.text(max_size=10)},
    optional={name: JSON for name in [*FIELDS, "conversation_id", "message_type", "contact"]},
)
ANSWER = (
    JSON
    | PLAUSIBLE
    | st.lists(PLAUSIBLE, max_size=4)
    | st.fixed_dictionaries({"payload": st.lists(PLAUSIBLE | JSON, max_size=4) | PLAUSIBLE})
    | st.fixed_dictionaries(
        {"data": st.fixed_dictionaries({"meta": JSON, "payload": st.lists(PLAUSIBLE, max_size=4)})}
    )
)
ROUTES = [
    "conversations",
    "messages",
    "contacts",
    "search",
    "notes",
    "labels",
    "toggle_status",
    "toggle_priority",
    "assignments",
    "1",
    "2",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(ROUTES), ANSWER))
def test_later_reads_on_any_answers_answer_or_say_why(answers):
    def answer(request: httpx.Request) -> httpx.Response:
        name = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        usual = {"id": 1, "email": "aiko@example.com"} if name == "profile" else {}
        return httpx.Response(200, json=answers.get(name, usual))

    async def run() -> None:
        api = ChatwootApi("https://chat.example.com", 1, "t", transport=httpx.MockTransport(answer))
        config = DeskConfig(kind="chatwoot", url="https://chat.example.com", account_id=1)
        desk = ChatwootDesk(config, "t", "/nonexistent/frontdesk-cache", api=api)
        desk._make_live()
        try:
            await desk._sync()
        except Exception:
            return  # the start's own answers are the other test's
        desk._problem = ""
        calls = [
            lambda: desk.more(View.ALL),
            lambda: desk.conversation(2),
            lambda: desk.thread(2),
            lambda: desk.contact(1),
            lambda: desk.contact_conversations(1),
            lambda: desk.search_conversations("parcel"),
            lambda: desk.find_contacts("ann"),
            lambda: desk.search("parcel"),
            lambda: desk.set_status(2, Status.RESOLVED),
            lambda: desk.set_priority(2, Priority.HIGH),
            lambda: desk.label(2, add=["vip"]),
        ]
        try:
            for call in calls:
                try:
                    await call()
                except DeskError:
                    pass
        finally:
            await api.aclose()

    asyncio.run(run())
