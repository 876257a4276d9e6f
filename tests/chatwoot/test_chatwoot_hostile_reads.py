"""Whatever a server answers to the console's later reads (paging, a conversation, contacts, search,
commands), the desk answers or says why in one DeskError line: never another exception."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.desk.errors import DeskError
from chatwoot_desks import scripted_desk
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
    async def run() -> None:
        desk, api = scripted_desk(answers)
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
        refusals: list[str] = []
        answered = 0
        try:
            for call in calls:
                try:
                    await call()
                    answered += 1
                except DeskError as exc:
                    refusals.append(str(exc))
        finally:
            await api.aclose()
        assert answered + len(refusals) == len(calls)  # every call came back, none raised else
        assert all(line.strip() and "\n" not in line for line in refusals)  # one line each

    asyncio.run(run())
