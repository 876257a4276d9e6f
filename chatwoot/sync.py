"""The account's own records read from the server: the profile, agents, inboxes, teams, labels, canned.

What every list, picker and name on screen needs, read at start and after each reconnect.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from frontdesk.chatwoot.api import ChatwootApi
from frontdesk.chatwoot.errors import Refused
from frontdesk.chatwoot.mapping import (
    Unreadable,
    agent_from,
    canned_from,
    inbox_from,
    payload,
    record_id,
    text,
)
from frontdesk.chatwoot.state import SeenState

log = logging.getLogger("frontdesk.chatwoot")

MAX_RECORDS = 5_000
"""Records of one account list read (agents, inboxes, teams, labels, canned responses)."""


async def account_records(api: ChatwootApi, state: SeenState) -> None:
    """Read the profile and the account's lists into `state` (replacing what was seen of them)."""
    (
        profile,
        agents_answer,
        inboxes_answer,
        teams_answer,
        labels_answer,
        canned_answer,
    ) = await asyncio.gather(
        api.profile(),
        api.agents(),
        api.inboxes(),
        api.teams(),
        api.labels(),
        api.canned_responses(),
    )  # at once: a server far away costs one round trip here, not six
    try:
        me = agent_from(profile)
    except Unreadable:
        raise Refused(
            f"the profile Chatwoot at {api.host} sent has no usable id: is [desk] url the "
            "Chatwoot server itself?",
            0,
        ) from None
    token = profile.get("pubsub_token") if isinstance(profile, dict) else None
    state.pubsub_token = token if isinstance(token, str) else ""
    agents = _records(agents_answer, agent_from)
    inboxes = _records(inboxes_answer, inbox_from)
    teams = _records(teams_answer, _team)
    labels = _records(labels_answer, _label)
    canned = _records(canned_answer, canned_from)
    for agent in agents:
        state.put_agent(agent)
    known = state.agents.get(me.id)
    if known is None:
        state.put_agent(me)
    state.me = state.agents[me.id]
    for inbox in inboxes:
        state.put_inbox(inbox)
    state.teams = dict(teams)
    state.labels = sorted(set(labels))
    state.canned = canned


def _records(answer: Any, read: Callable[[Any], Any]) -> list[Any]:
    records = payload(answer)
    if not isinstance(records, list):
        return []
    found = []
    for record in records[:MAX_RECORDS]:
        try:
            found.append(read(record))
        except Unreadable as exc:
            log.warning("skipped a record Chatwoot sent: %s", exc)
    return found


def _team(data: Any) -> tuple[int, str]:
    if not isinstance(data, dict):
        raise Unreadable("a team that is not an object")
    team_id = record_id(data.get("id"))
    return team_id, text(data.get("name")).strip() or f"team {team_id}"


def _label(data: Any) -> str:
    title = text(data.get("title")).strip() if isinstance(data, dict) else ""
    if not title:
        raise Unreadable("a label without a title")
    return title
