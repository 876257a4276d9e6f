"""The conversation lists of a Chatwoot account: each view's query, its pages, and the server's counts.

The console's views are answered from `SeenState` with `desk.views` rules; this module fills that
state from the server a page (25 conversations) at a time, remembers which page of which query
was read last and which queries have no page left, and keeps the counts the server gives.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from frontdesk.chatwoot.api import ChatwootApi
from frontdesk.chatwoot.mapping import (
    VIEW_QUERIES,
    Unreadable,
    conversation_from,
    counts_from,
    list_payload,
    optional_id,
)
from frontdesk.chatwoot.state import SeenState
from frontdesk.desk.views import Filters, View, ViewTally
from frontdesk.model import Conversation

log = logging.getLogger("frontdesk.chatwoot")

PAGE_SIZE = 25
"""Conversations in one page of Chatwoot's list: a shorter page is its last."""
RESYNC_PAGES = 40
"""Pages of a list read again after a reconnect, as far as the agent had paged it (the rows
around an agent 1,000 rows down stay; deeper, the conversation shown stays and the list
pages in again from the top as the agent scrolls)."""
RESYNC_AT_ONCE = 8
"""Pages read at once when a list is read again."""

Query = tuple[tuple[str, Any], ...]


def view_query(view: View, filters: Filters, state: SeenState) -> Query:
    """The list query that loads `view` narrowed by `filters` as far as the server can narrow it:
    one channel is its inbox, labels are `labels[]`; the rest is narrowed locally."""
    params: list[tuple[str, Any]] = sorted(VIEW_QUERIES[view].items())
    if len(filters.channels) == 1:
        inbox = state.inbox_by_name(next(iter(filters.channels)))
        if inbox is not None:
            params.append(("inbox_id", inbox.id))
    params.extend(("labels[]", label) for label in sorted(filters.labels))
    return tuple(params)


def query_key(query: Query) -> str:
    """A query as `SeenState.pages` and `exhausted` name it."""
    return "&".join(f"{k}={v}" for k, v in query)


def first_queries(state: SeenState) -> list[Query]:
    """Every view's unfiltered query once (Escalated reads the same list as All)."""
    return list(dict.fromkeys(view_query(view, Filters(), state) for view in View))


def note_can_reply(can_reply: dict[int, bool], record: Any) -> None:
    """Keep what a conversation record says of `can_reply` (False: the channel's window closed)."""
    if isinstance(record, dict) and isinstance(record.get("can_reply"), bool):
        conv_id = optional_id(record.get("id"))
        if conv_id is not None:
            can_reply[conv_id] = record["can_reply"]


async def load_page(
    api: ChatwootApi,
    state: SeenState,
    query: Query,
    page: int,
    can_reply: dict[int, bool] | None = None,
) -> list[Conversation]:
    """Read page `page` of `query` into `state`; the conversations kept (a page of unreadable
    records is skipped record by record, never the whole page)."""
    records, meta = list_payload(await api.conversations(query, page))
    kept = []
    for record in records[: PAGE_SIZE * 4]:
        try:
            kept.append(state.put_conversation(conversation_from(record, state)))
        except Unreadable as exc:
            log.warning("skipped a conversation Chatwoot sent: %s", exc)
            continue
        if can_reply is not None:
            note_can_reply(can_reply, record)
    key = query_key(query)
    state.pages[key] = page
    if len(records) < PAGE_SIZE:
        state.exhausted.add(key)
    else:
        state.exhausted.discard(key)
    if _unfiltered(query):
        update_counts(state, counts_from(meta))
    return kept


async def reload_pages(
    api: ChatwootApi,
    state: SeenState,
    query: Query,
    pages: int,
    can_reply: dict[int, bool] | None = None,
) -> list[Conversation]:
    """Read pages 1..`pages` of `query` again (a few at once; the last one alone, after the
    others, so it says whether the list has more); the conversations kept."""
    gate = asyncio.Semaphore(RESYNC_AT_ONCE)

    async def one(page: int) -> list[Conversation]:
        async with gate:
            return await load_page(api, state, query, page, can_reply)

    found = await asyncio.gather(*(one(page) for page in range(1, pages)))
    last = await load_page(api, state, query, max(pages, 1), can_reply)
    return [conv for page in found for conv in page] + last


async def next_page(
    api: ChatwootApi, state: SeenState, query: Query, can_reply: dict[int, bool] | None = None
) -> bool:
    """The next page of `query`, unless its last was read; True when it brought conversations
    the state did not hold."""
    key = query_key(query)
    if key in state.exhausted:
        return False
    before = set(state.conversations)
    kept = await load_page(api, state, query, state.pages.get(key, 0) + 1, can_reply)
    return any(conv.id not in before for conv in kept)


def update_counts(state: SeenState, counts: Mapping[View, int]) -> bool:
    """Take the server's counts in place (the tallies handed out read the same dict); True when
    they changed."""
    changed = any(state.server_counts.get(view) != n for view, n in counts.items())
    state.server_counts.update(counts)
    return changed


def _unfiltered(query: Query) -> bool:
    names = {name for name, _ in query}
    return names <= {"assignee_type", "status"} and ("status", "open") in query


class ServerTally(ViewTally):
    """A view tally whose Mine, Unassigned and All counts are the server's (it counts conversations
    the console has not paged in yet) while no filter is active."""

    def __init__(self, agent: str, filters: Filters, server_counts: Mapping[View, int]) -> None:
        super().__init__(agent, filters)
        self.server_counts = server_counts

    def counts(self) -> dict[View, int]:
        counts = super().counts()
        if not self.filters.active:
            counts.update(self.server_counts)
        return counts
