"""The team client's copy of the desk: the snapshot a served desk sends, kept up to date by its pushes.

Reads are answered here with the same rules the in-process Desk applies (`desk.views`), so
a console shows the same lists and counts in both modes. Records that change are updated
in place, as the Desk's store updates its own, so what the console holds stays current.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import msgspec

from frontdesk.desk.changes import Change, ChangeKind
from frontdesk.desk.channel_kinds import ChannelKinds
from frontdesk.desk.presence import TYPING_SECONDS
from frontdesk.desk.presence import Activity, AgentInfo, Presence, PresenceState, roster
from frontdesk.desk.views import (
    Filters,
    Sort,
    View,
    ViewTally,
    labels_in_use,
    select_view,
    tally_of,
)
from frontdesk.model import ChannelStatus, Conversation, Direction, Message
from frontdesk.store import HookJob

THREADS_KEPT = 16
"""Threads kept after their first read (the open one and the last few the agent looked at)."""


@dataclass(frozen=True, slots=True)
class HookInfo:
    """A hook of the served desk as a console sees it: its name (its URL, command and token
    stay with the desk)."""

    name: str
    url: str | None = None
    targets: tuple[str, ...] = ()


def _presence_state(value: Any) -> PresenceState:
    """The desk's presence as sent (a PresenceState, or its fields when the envelope left it untyped)."""
    if value is None:
        return PresenceState()
    return value if isinstance(value, PresenceState) else msgspec.convert(value, PresenceState)


def _update_in_place(kept: Any, fresh: Any) -> None:
    for f in fields(fresh):
        setattr(kept, f.name, getattr(fresh, f.name))


class Replica(ChannelKinds):
    """Conversations, contact names, agents, channels, hook jobs and customer typing of a served desk."""

    def __init__(self, agent: str, clock=time.monotonic) -> None:
        self.agent = agent
        self._clock = clock
        self._conversations: dict[int, Conversation] = {}
        self._contact_names: dict[int, str] = {}
        self._configured_agents: list[str] = []
        self.agent_names: dict[str, str] = {}
        self.channels: dict[str, Any] = {}  # name -> ChannelInfo(kind, name)
        self.channel_status: dict[str, ChannelStatus] = {}
        self.escalation_targets: list[str] = []
        self.hooks: dict[str, HookInfo] = {}
        self._hook_jobs: list[HookJob] = []
        self.presence = Presence(lambda changes: None, clock)
        self._typing: dict[int, float] = {}
        self._threads: OrderedDict[int, dict[int, Message]] = OrderedDict()

    # ---- filling -------------------------------------------------------------------------

    def load(self, snapshot: Any) -> None:
        """Replace everything with `snapshot` (the welcome's `state`): what was kept is dropped,
        threads too, since pushes may have been missed since they were read."""
        self._conversations = {c.id: c for c in snapshot.conversations}
        self._contact_names = dict(snapshot.contact_names)
        self._configured_agents = list(snapshot.agents)
        self.agent_names = dict(snapshot.agent_names)
        self.channels = dict(snapshot.channels)
        self.channel_status = dict(snapshot.channel_status)
        self.escalation_targets = list(snapshot.escalation_targets)
        self.hooks = {name: HookInfo(name) for name in snapshot.hooks}
        self._hook_jobs = list(snapshot.hook_jobs)
        self.presence.restore(_presence_state(snapshot.presence))
        now = self._clock()
        self._typing = {conv_id: now for conv_id in snapshot.typing}
        self._threads.clear()

    def apply(self, push: Any) -> list[Change]:
        """Take in one push (records first, then what the changes say); its changes, to publish."""
        for conv in push.conversations:
            self.put_conversation(conv)
        for message in push.messages:
            self._put_message(message)
        self._contact_names.update(push.contact_names)
        if push.presence is not None:
            self.presence.restore(_presence_state(push.presence))
        if push.hook_jobs is not None:
            self._hook_jobs = list(push.hook_jobs)
        channel_status = getattr(push, "channel_status", None)
        if channel_status:
            self.channel_status.update(channel_status)
        now = self._clock()
        for change in push.changes:
            if change.kind is ChangeKind.TYPING and change.conversation_id is not None:
                self._typing[change.conversation_id] = now
            elif change.kind is ChangeKind.RESET:
                self._threads.clear()  # the desk's feed fell behind: messages may have been missed
        return list(push.changes)

    def put_conversation(self, conv: Conversation) -> None:
        kept = self._conversations.get(conv.id)
        if kept is None:
            self._conversations[conv.id] = conv
        else:
            _update_in_place(kept, conv)

    def _put_message(self, message: Message) -> None:
        if message.direction is Direction.IN:
            self._typing.pop(message.conversation_id, None)  # as ingest: they sent what they typed
        thread = self._threads.get(message.conversation_id)
        if thread is None:
            return
        kept = thread.get(message.id)
        if kept is None:
            thread[message.id] = message
        else:
            _update_in_place(kept, message)

    # ---- threads read through the socket -------------------------------------------------

    def keep_thread(self, conv_id: int, messages: Iterable[Message]) -> list[Message]:
        """Keep a thread just read from the desk (pushes keep it current from now on); it, by id."""
        self._threads[conv_id] = {m.id: m for m in messages}
        self._threads.move_to_end(conv_id)
        while len(self._threads) > THREADS_KEPT:
            self._threads.popitem(last=False)
        return self.thread(conv_id) or []

    def thread(self, conv_id: int) -> list[Message] | None:
        """A kept thread's messages by id (None: not kept, read it from the desk)."""
        thread = self._threads.get(conv_id)
        if thread is None:
            return None
        self._threads.move_to_end(conv_id)
        return sorted(thread.values(), key=lambda m: m.id)

    def message(self, conv_id: int, message_id: int) -> tuple[bool, Message | None]:
        """(whether the thread is kept, the message if it is there)."""
        thread = self._threads.get(conv_id)
        return (thread is not None, thread.get(message_id) if thread is not None else None)

    # ---- reading, as the Desk reads its store --------------------------------------------

    def conversation(self, conv_id: int) -> Conversation | None:
        return self._conversations.get(conv_id)

    def all_conversations(self) -> list[Conversation]:
        return list(self._conversations.values())

    def conversations(
        self,
        view: View = View.ALL,
        *,
        sort: Sort | None = Sort.ACTIVITY,
        filters: Filters = Filters(),
    ) -> list[Conversation]:
        return select_view(self._conversations.values(), view, self.agent, sort, filters)

    def tally(self, filters: Filters = Filters()) -> ViewTally:
        return tally_of(self._conversations.values(), self.agent, filters)

    def counts(self, filters: Filters = Filters()) -> dict[View, int]:
        return self.tally(filters).counts()

    def labels(self) -> list[str]:
        return labels_in_use(self._conversations.values())

    def channel_names(self) -> list[str]:
        return sorted(set(self.channels) | {conv.channel for conv in self._conversations.values()})

    def contact_conversations(self, contact_id: int) -> list[Conversation]:
        found = [c for c in self._conversations.values() if c.contact_id == contact_id]
        found.sort(key=lambda c: c.last_activity_at, reverse=True)
        return found

    def contact_name(self, contact_id: int) -> str:
        name = self._contact_names.get(contact_id)
        return name if name is not None else f"#{contact_id}"

    @property
    def agents(self) -> list[str]:
        configured = self._configured_agents
        seen = {c.assignee for c in self._conversations.values() if c.assignee}
        return configured + sorted(seen - set(configured))

    def agent_name(self, user: str) -> str:
        return self.agent_names.get(user, user)

    def online(self) -> list[AgentInfo]:
        return roster(
            self.agents, self.agent_names, self.presence.online(), self._conversations.values()
        )

    def activity(self, conv_id: int) -> list[Activity]:
        return [a for a in self.presence.activity(conv_id) if a.agent != self.agent]

    def channel_kind(self, channel: str) -> str:
        info = self.channels.get(channel)
        return info.kind if info is not None else channel

    def is_typing(self, conv_id: int) -> bool:
        since = self._typing.get(conv_id)
        return since is not None and self._clock() - since < TYPING_SECONDS

    def hook_jobs(self, conv_id: int | None = None) -> list[HookJob]:
        return [j for j in self._hook_jobs if conv_id is None or j.conversation_id == conv_id]

    def contact_names(self) -> Mapping[int, str]:
        return self._contact_names
