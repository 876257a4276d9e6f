"""What the console knows of a Chatwoot account: the records seen, kept current by answers and events.

One `SeenState` is the Chatwoot desk's memory. REST answers and websocket events put records in
it (always through `put_*`, so a record the console already holds is updated in place and the
rows and threads showing it stay current); the console's reads are answered from it with the
same view rules as the local desk (`desk.views`); the seen cache saves and loads it whole.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field, fields
from typing import Any

from frontdesk.desk.views import View
from frontdesk.model import Contact, Conversation, Direction, Message

THREADS_KEPT = 64
"""Threads kept after they were read (the open one and the last few an agent looked at)."""


@dataclass(slots=True)
class ServerAgent:
    """An agent of the account as Chatwoot lists them."""

    id: int
    user: str  # the console's handle for them: what `Conversation.assignee` holds
    name: str
    availability: str = "offline"  # "online", "busy" or "offline"
    role: str = "agent"  # "agent" or "administrator"


@dataclass(slots=True)
class ServerInbox:
    """An inbox of the account: the console shows it as a channel named `name` of `kind`."""

    id: int
    name: str
    kind: str  # frontdesk's channel kind ("whatsapp", "email", …) or Chatwoot's own ("api", "web")


@dataclass(slots=True)
class CannedResponse:
    """One of the account's canned responses."""

    short_code: str
    content: str


@dataclass(slots=True)
class SeenState:
    """Everything the console holds of one Chatwoot account (saved whole by the seen cache)."""

    me: ServerAgent | None = None
    pubsub_token: str = ""  # never saved: the seen cache leaves it out
    agents: dict[int, ServerAgent] = field(default_factory=dict)
    inboxes: dict[int, ServerInbox] = field(default_factory=dict)
    teams: dict[int, str] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    canned: list[CannedResponse] = field(default_factory=list)
    conversations: dict[int, Conversation] = field(default_factory=dict)
    contacts: dict[int, Contact] = field(default_factory=dict)
    contact_names: dict[int, str] = field(default_factory=dict)
    threads: OrderedDict[int, dict[int, Message]] = field(default_factory=OrderedDict)
    older: dict[int, bool] = field(default_factory=dict)  # thread -> the server has older pages
    server_counts: dict[View, int] = field(default_factory=dict)
    pages: dict[str, int] = field(default_factory=dict)  # list query -> last page loaded
    exhausted: set[str] = field(default_factory=set)  # list queries with no page left

    # ---- agents, inboxes, teams --------------------------------------------------------------

    def agent_by_id(self, agent_id: Any) -> ServerAgent | None:
        return self.agents.get(agent_id) if isinstance(agent_id, int) else None

    def agent_by_user(self, user: str) -> ServerAgent | None:
        for agent in self.agents.values():
            if agent.user == user:
                return agent
        return None

    def inbox_by_name(self, name: str) -> ServerInbox | None:
        for inbox in self.inboxes.values():
            if inbox.name == name:
                return inbox
        return None

    def team_id(self, name: str) -> int | None:
        for team_id, team_name in self.teams.items():
            if team_name == name:
                return team_id
        return None

    def put_agent(self, agent: ServerAgent) -> None:
        _put(self.agents, agent.id, agent)

    def put_inbox(self, inbox: ServerInbox) -> None:
        """Keep `inbox`, its name made unique among the inboxes (two may share one on the server)."""
        taken = {i.name for i in self.inboxes.values() if i.id != inbox.id}
        if inbox.name in taken:
            inbox.name = f"{inbox.name} #{inbox.id}"
        _put(self.inboxes, inbox.id, inbox)

    # ---- conversations and contacts ----------------------------------------------------------

    def put_conversation(self, conv: Conversation) -> Conversation:
        """Keep `conv` (updating the record held for its id in place); the record kept."""
        return _put(self.conversations, conv.id, conv)

    def put_contact(self, contact: Contact) -> Contact:
        self.contact_names[contact.id] = contact.name
        return _put(self.contacts, contact.id, contact)

    def contact_name(self, contact_id: int) -> str:
        name = self.contact_names.get(contact_id)
        return name if name is not None else f"#{contact_id}"

    # ---- threads -----------------------------------------------------------------------------

    def thread(self, conv_id: int) -> list[Message] | None:
        """A kept thread, oldest first (None: never read, or dropped since)."""
        thread = self.threads.get(conv_id)
        if thread is None:
            return None
        self.threads.move_to_end(conv_id)
        return sorted(thread.values(), key=_thread_order)

    def keep_thread(self, conv_id: int, messages: list[Message], older: bool) -> list[Message]:
        """Keep a thread just read from the server, with the local messages not yet sent
        (negative ids) it held; `older`: the server has earlier pages."""
        unsent = {m.id: m for m in (self.threads.get(conv_id) or {}).values() if m.id < 0}
        self.threads[conv_id] = {**{m.id: m for m in messages}, **unsent}
        self.threads.move_to_end(conv_id)
        self.older[conv_id] = older
        while len(self.threads) > THREADS_KEPT:
            dropped, _ = self.threads.popitem(last=False)
            self.older.pop(dropped, None)
        return self.thread(conv_id) or []

    def add_older(self, conv_id: int, messages: list[Message], older: bool) -> None:
        """Earlier messages of a kept thread, read with `before=`."""
        thread = self.threads.get(conv_id)
        if thread is None:
            return
        for message in messages:
            thread.setdefault(message.id, message)
        self.older[conv_id] = older

    def put_message(self, message: Message, echo_id: str | None = None) -> Message | None:
        """Keep `message` in its thread when that thread is kept; one with `echo_id` replaces the
        local unsent message carrying that key (`Message.external_id`). The record kept, or None."""
        thread = self.threads.get(message.conversation_id)
        if thread is None:
            return None
        if echo_id:
            for local_id, local in list(thread.items()):
                if local_id < 0 and local.external_id == echo_id:
                    del thread[local_id]
        return _put(thread, message.id, message)

    def message(self, conv_id: int, message_id: int) -> tuple[bool, Message | None]:
        """(whether the thread is kept, the message if it is there)."""
        thread = self.threads.get(conv_id)
        return (thread is not None, thread.get(message_id) if thread is not None else None)

    def last_inbound(self, conv_id: int) -> Message | None:
        thread = self.threads.get(conv_id) or {}
        inbound = [m for m in thread.values() if m.direction is Direction.IN]
        return max(inbound, key=_thread_order) if inbound else None


def _thread_order(message: Message) -> tuple:
    # local unsent messages (negative ids) sort by time among the server's
    return (message.created_at, message.id if message.id > 0 else float("inf"))


def _put(records: dict, key: Any, fresh: Any) -> Any:
    kept = records.get(key)
    if kept is None:
        records[key] = fresh
        return fresh
    for f in fields(fresh):
        setattr(kept, f.name, getattr(fresh, f.name))
    return kept
