"""Whatever a server answers, the Chatwoot desk reads what it can and never crashes: each answer
of its start drawn from any JSON, the start ends read or with a ChatwootError."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatwoot_desks import scripted_desk
from frontdesk.chatwoot.errors import ChatwootError
from frontdesk.desk.views import View

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=25,
)
PLAUSIBLE = st.fixed_dictionaries(
    {"id": st.integers(1, 50), "name": st.text(max_size=10), "email": st.emails()},
    optional={
        "meta": JSON,
        "status": JSON,
        "inbox_id": JSON,
        "labels": JSON,
        "priority": JSON,
        "timestamp": JSON,
        "messages": JSON,
        "message_type": JSON,
        "conversation_id": JSON,
    },
)
ANSWER = (
    JSON
    | st.lists(PLAUSIBLE, max_size=4)
    | st.fixed_dictionaries({"payload": st.lists(PLAUSIBLE | JSON, max_size=4)})
    | st.fixed_dictionaries(
        {
            "data": st.fixed_dictionaries(
                {"meta": JSON, "payload": st.lists(PLAUSIBLE | JSON, max_size=4)}
            )
        }
    )
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "profile",
                "agents",
                "inboxes",
                "teams",
                "labels",
                "canned_responses",
                "conversations",
                "messages",
            ]
        ),
        ANSWER | PLAUSIBLE,
    )
)
def test_a_start_on_any_answers_reads_them_or_says_why(answers):
    async def run() -> None:
        desk, api = scripted_desk(answers)
        try:
            await desk._sync()
            thread = await desk._read_thread(1)
        except ChatwootError:
            return
        finally:
            await api.aclose()
        assert all(m.conversation_id == 1 for m in thread)
        for view in View:
            await desk.conversations(view)
        (await desk.tally()).counts()
        desk.online()
        await desk.shared_canned()

    asyncio.run(run())
