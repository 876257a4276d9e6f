"""The console's desk on a Chatwoot account: `ChatwootDesk`, the third implementation of `DeskAPI`.

Reads are answered from what was seen (`SeenState`) with the local desk's view rules; the server
fills that state a page at a time (REST) and keeps it current (live events); commands are REST
calls whose answers update the records in place before a Change is published, as the team client
does with its replica. Losing the server is published at once (LINK failed), the console keeps
showing what was seen, and the desk reconnects by itself with backoff, refetching what the
console shows before it publishes LINK back and a RESET (Chatwoot's websocket has no replay).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from frontdesk.chatwoot import listing
from frontdesk.chatwoot.api import ChatwootApi
from frontdesk.chatwoot.commands import Commands
from frontdesk.chatwoot.contacts import Contacts
from frontdesk.chatwoot.feed import Feed
from frontdesk.chatwoot.link import Link, Timing
from frontdesk.chatwoot.outbox import ChatwootOutbox
from frontdesk.chatwoot.seen_cache import SeenCache, Saver
from frontdesk.chatwoot.sending import Sending
from frontdesk.chatwoot.mapping import Unreadable, conversation_from
from frontdesk.chatwoot.state import SeenState
from frontdesk.chatwoot.threads import Threads
from frontdesk.chatwoot.token import stored_token
from frontdesk.desk.changes import Broker, Change, Subscription
from frontdesk.desk.channel_kinds import ChannelKinds
from frontdesk.desk.errors import DeskError
from frontdesk.desk.presence import AgentInfo, roster
from frontdesk.desk.views import Filters, Sort, View, ViewTally, select_view
from frontdesk.model import Conversation, utcnow

__all__ = ["UNSUPPORTED", "ChatwootDesk", "Timing"]  # Timing: the clocks tests shorten

log = logging.getLogger("frontdesk.chatwoot")


UNSUPPORTED: Mapping[str, str] = MappingProxyType(
    {
        "templates": "approved templates are sent from Chatwoot's dashboard",
        "send_template": "approved templates are sent from Chatwoot's dashboard",
        "retry_hooks": "Chatwoot runs no escalation hooks: use its automation rules and webhooks",
        "report": "reports are on Chatwoot's Reports page",
        "merge_contacts": "contacts are merged in Chatwoot's dashboard (Contacts → Merge)",
    }
)
"""DeskAPI operations a Chatwoot account cannot do from here, each with what Chatwoot offers."""
MORE_PAGES_MOST = 8
"""Pages one `more` reads at most while each brings only conversations held already (opened
from a contact's list, named by live events, or shifted down a page by new ones)."""


class ChatwootDesk(Link, Feed, Sending, Threads, Commands, Contacts, ChannelKinds):
    """The desk of a console working on a Chatwoot account (`mode == "chatwoot"`)."""

    mode = "chatwoot"
    unsupported: Mapping[str, str] = UNSUPPORTED
    hooks: Mapping[str, Any] = MappingProxyType({})
    channel_status: Mapping[str, Any] = MappingProxyType({})

    def __init__(
        self,
        config: Any,
        token: str,
        cache_dir: Path | str,
        *,
        api: ChatwootApi | None = None,
        timing: Timing = Timing(),
        token_source: Callable[[], str] | None = None,
    ) -> None:
        """`token_source` reads the token again after the server refused it (default: the
        environment, then the keyring, as `frontdesk creds set` stores it; "" when unset)."""
        self.config = config
        self.cache_dir = Path(cache_dir)
        self._read_token = token_source or stored_token
        self._api = api if api is not None else ChatwootApi(config.url, config.account_id, token)
        self._timing = timing
        self._state = SeenState()
        self._broker = Broker()
        self._problem = f"stale: showing what was seen until {self._api.host} answers"
        self._connecting: asyncio.Task[None] | None = None
        self._retry_now = asyncio.Event()  # the reconnect's wait ends early when set
        self._closed = False
        self._viewing: int | None = None
        self._drafts: dict[int, dict[str, str]] = {}
        self._contacts_read: dict[int, float] = {}
        self._can_reply: dict[int, bool] = {}  # what the server last said (False: window closed)
        self._cache = SeenCache(self.cache_dir, account=f"{self._api.url}#{self._api.account_id}")
        self._outbox = ChatwootOutbox(
            self._post_entry,
            self._entry_changed,
            timing=timing.outbox,
            persist=lambda: self._cache.keep_outbox(self._outbox.entries),
        )
        self._saver: Saver | None = None
        self._counting: asyncio.Task[None] | None = None
        self._counts_for: int | None = None  # a conversation changed since the counts were read
        self._counts_read_at = float("-inf")  # when they were last asked for (monotonic)
        # set once the server answered (tests and the bench wait on it)
        self.synced = asyncio.Event()

    # ---- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Paint from what was seen; reach the server in the background."""
        self._load_seen()
        self._make_live()
        self._saver = Saver(
            self._cache, lambda: self._state, self._outbox.entries, self._timing.save_delay
        )
        self._outbox.pause()  # until the server answers: replies wait in the outbox
        self._outbox.start()
        self._connecting = asyncio.create_task(self._connect(first=True), name="chatwoot:connect")

    async def stop(self) -> None:
        self._closed = True
        for task in (self._connecting, self._counting):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        await self._stop_feed()
        await self._outbox.close()
        if self._saver is not None:
            await self._saver.close()
        await self._api.aclose()

    def _load_seen(self) -> None:
        """The state and outbox as the last run left them (the console paints from them)."""
        state, entries, problems = self._cache.load()
        for problem in problems:
            log.warning("%s", problem)
        if state is not None:
            self._state = state
            if self._cache.saved_at is not None:
                self._problem = (
                    f"stale: showing what was seen {_age(self.now() - self._cache.saved_at)} ago "
                    f"until {self._api.host} answers"
                )
        self._outbox.load(entries)
        for entry in self._outbox.entries():
            self._entry_changed(entry)

    close = stop

    def _publish(self, *changes: Change) -> None:
        self._broker.publish(list(changes))
        if self._saver is not None:
            self._saver.request()

    # ---- state read locally -----------------------------------------------------------------

    @property
    def state(self) -> SeenState:
        return self._state

    @property
    def link_problem(self) -> str:
        return self._problem or self._live_problem

    @property
    def agent(self) -> str:
        me = self._state.me
        return me.user if me is not None else ""

    @property
    def agents(self) -> list[str]:
        return [a.user for a in self._state.agents.values()]

    @property
    def escalation_targets(self) -> list[str]:
        return sorted(self._state.teams.values())

    def now(self) -> datetime:
        return utcnow()

    def subscribe(self) -> Subscription:
        return self._broker.subscribe()

    def agent_name(self, user: str) -> str:
        agent = self._state.agent_by_user(user)
        return agent.name if agent is not None else user

    def online(self) -> list[AgentInfo]:
        agents = self._state.agents.values()
        return roster(
            [a.user for a in agents],
            {a.user: a.name for a in agents},
            [a.user for a in agents if a.availability == "online"],
            self._state.conversations.values(),
        )

    def channel_kind(self, channel: str) -> str:
        inbox = self._state.inbox_by_name(channel)
        return inbox.kind if inbox is not None else channel

    def contact_name(self, contact_id: int) -> str:
        return self._state.contact_name(contact_id)

    def hook_jobs(self, conv_id: int | None = None) -> list:
        return []

    # ---- lists ------------------------------------------------------------------------------

    async def conversations(
        self,
        view: View = View.ALL,
        *,
        sort: Sort | None = Sort.ACTIVITY,
        filters: Filters = Filters(),
    ) -> list[Conversation]:
        return select_view(self._state.conversations.values(), view, self.agent, sort, filters)

    async def tally(self, filters: Filters = Filters()) -> ViewTally:
        tally = listing.ServerTally(self.agent, filters, self._state.server_counts)
        tally.reset(self._state.conversations.values())
        return tally

    async def counts(self, filters: Filters = Filters()) -> dict[View, int]:
        return (await self.tally(filters)).counts()

    async def more(self, view: View = View.ALL, filters: Filters = Filters()) -> bool:
        """The next page of `view`'s query (narrowed by `filters` where the server can), read on
        past pages holding nothing new; True when conversations came, and the console reads the
        list again (no change is published: a RESET would also re-read the open thread)."""
        if self._problem:
            return False
        query = listing.view_query(view, filters, self._state)
        came = False
        for _ in range(MORE_PAGES_MOST):  # a page of conversations held already reads on
            came = await self._ask(
                f"Could not load more of {view.title}",
                lambda: listing.next_page(self._api, self._state, query, self._can_reply),
            )
            if came or listing.query_key(query) in self._state.exhausted:
                break
        if came and self._saver is not None:
            self._saver.request()
        return came

    async def labels(self) -> list[str]:
        """The account's labels and any in use, sorted without regard to case (as the local desk's)."""
        in_use = {label for c in self._state.conversations.values() for label in c.labels}
        return sorted(set(self._state.labels) | in_use, key=str.casefold)

    async def channel_names(self) -> list[str]:
        return sorted(inbox.name for inbox in self._state.inboxes.values())

    async def conversation(self, conv_id: int) -> Conversation:
        conv = self._state.conversations.get(conv_id)
        if conv is not None:
            return conv
        if self._problem:
            raise DeskError(
                f"conversation #{conv_id} was not seen before and {self._api.host} is not answering"
            )
        answer = await self._ask(
            f"Could not read conversation #{conv_id}", lambda: self._api.conversation(conv_id)
        )
        listing.note_can_reply(self._can_reply, answer)
        try:
            return self._state.put_conversation(conversation_from(answer, self._state))
        except Unreadable:
            raise DeskError(
                f"Chatwoot sent conversation #{conv_id} in a form not understood"
            ) from None


def _age(elapsed: timedelta) -> str:
    """How long ago, as a person says it: "40 s", "12 min", "3 h", "2 days"."""
    seconds = max(0, int(elapsed.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"
