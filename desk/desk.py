"""The desk: the UI-agnostic service between channel backends, the cache and the console.

This facade holds the read API and the conversation commands. The Desk class is made of
the parts beside it: ingest.py (the Sink the backends call), channels.py (running
channels, their status), dispatcher.py (outbox to channel) and hook_runner.py
(escalation hooks), the last two waking on due.py's shared loop; snooze_waker.py,
search.py, contact_commands.py, attachments.py, escalation.py, drafts.py,
replies.py (replies, notes, retries), read_marks.py (unread counts and read receipts),
batches.py (a command's batch with its inline event), reporting.py (reports) and receiver.py (the webhook receiver,
started with the desk when a webhook channel needs it). Commands (reply, note, assign, status …) each write one atomic batch and leave an
inline event in the thread.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from types import MappingProxyType

from frontdesk.backends.base import Backend
from frontdesk.desk.acting import ACTING_AGENT
from frontdesk.desk.attachments import Attachments
from frontdesk.desk.automation import Automation, Automaton, Trigger, TriggerKind
from frontdesk.desk.automation.handoff import BotHandoff
from frontdesk.desk.batches import Batches
from frontdesk.desk.canned import CannedLibrary, CannedReply, variables_for
from frontdesk.desk.changes import Broker, Change, ChangeKind, Subscription
from frontdesk.desk.channel_kinds import ChannelKinds
from frontdesk.desk.channels import ChannelSupervisor
from frontdesk.desk.contact_commands import ContactCommands
from frontdesk.desk.dispatcher import Dispatcher
from frontdesk.desk.drafts import Drafts
from frontdesk.desk.errors import DeskError
from frontdesk.desk.escalation import Escalation
from frontdesk.desk.hook_runner import HookRunner
from frontdesk.desk.hooks import HookSpec
from frontdesk.desk.ingest import Ingest
from frontdesk.desk.outgoing_files import OutgoingFiles
from frontdesk.desk.limits import WindowState, window_state
from frontdesk.desk.presence import TYPING_SECONDS, Activity, AgentInfo, Presence, roster
from frontdesk.desk.read_marks import ReadMarks
from frontdesk.desk.receiver import WebhookReceiver, WebhookReceiving
from frontdesk.desk.reporting import Reporting
from frontdesk.desk.replies import Replies
from frontdesk.desk.search import Searching
from frontdesk.desk.snooze_waker import SnoozeWaker
from frontdesk.desk.surveys import Surveys
from frontdesk.desk.sla import SlaPolicy
from frontdesk.desk.sla_watch import SlaWatching
from frontdesk.desk.team_assignment import TeamAssignment
from frontdesk.desk.templates import Templates
from frontdesk.desk.views import (
    Filters,
    Sort,
    View,
    ViewTally,
    labels_in_use,
    select_view,
    tally_of,
)
from frontdesk.model import (
    ChannelStatus,
    Contact,
    Conversation,
    EventKind,
    Message,
    MessageTemplate,
    Priority,
    Status,
    utcnow,
)
from frontdesk.store import Store
from frontdesk.store.search import SearchIndex

log = logging.getLogger("frontdesk.desk")

_STATUS_VERB = {
    Status.OPEN: "reopened this",
    Status.PENDING: "marked this pending",
    Status.RESOLVED: "resolved this",
    Status.SNOOZED: "snoozed this",
    Status.BOT: "handed this to the FAQ bot",
}


class Desk(
    ChannelSupervisor,
    ChannelKinds,
    Ingest,
    Dispatcher,
    HookRunner,
    Searching,
    SnoozeWaker,
    ContactCommands,
    Attachments,
    OutgoingFiles,
    Escalation,
    Drafts,
    Templates,
    Batches,
    WebhookReceiving,
    Replies,
    ReadMarks,
    Surveys,
    SlaWatching,
    BotHandoff,
    TeamAssignment,
    Reporting,
):
    """The one object the console and the CLI use: the read API and every command."""

    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Backend] | None = None,
        *,
        agent: str = "agent",
        agents: Iterable[str] = (),
        clock: Callable[[], datetime] = utcnow,
        escalation_targets: Iterable[str] = (),
        hooks: Iterable[HookSpec] = (),
        agent_names: Mapping[str, str] | None = None,
        webhook_listen: tuple[str, int] | None = None,
        automata: Iterable[Automaton] = (),
        canned: CannedLibrary | None = None,
        sla: SlaPolicy | None = None,
    ) -> None:
        self.store = store
        self.escalation_targets = list(dict.fromkeys(escalation_targets))
        self.hooks = {spec.name: spec for spec in hooks}
        self.channels: dict[str, Backend] = dict(channels or {})
        self._configured_agent = agent
        self._agents = [agent, *[a for a in agents if a != agent]]
        self._agent_names = dict(agent_names or {})
        self.now = clock
        self.channel_status: dict[str, ChannelStatus] = {}
        self._broker = Broker()
        self.automation = Automation(automata)
        self.presence = Presence(self._presence_changed)
        self._typing: dict[int, float] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._wake_outbox = asyncio.Event()
        self._wake_hooks = asyncio.Event()
        self._senders: dict[str, asyncio.Task[None]] = {}
        self._send_locks: dict[str, asyncio.Lock] = {}
        self._hook_runs: dict[str, asyncio.Task[None]] = {}
        self._receipts: set[asyncio.Task[None]] = set()
        self._overdue: set[str] = set()
        self._template_lists: dict[str, tuple[datetime, list[MessageTemplate]]] = {}
        self._search: SearchIndex | None = None
        self.webhook_listen = webhook_listen
        self.receiver: WebhookReceiver | None = None
        self.canned = canned or CannedLibrary()  # what automation answers with
        self.sla = sla
        self._start_sla_clock()

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Start every channel, the webhook receiver when a channel needs it, the outbox
        dispatcher, the hook runner and the snooze clock.

        The configured agent is online while the desk runs (a solo console is theirs).
        A webhook channel the receiver cannot serve stays down with the reason, not started.
        """
        self.presence.join(self._configured_agent)
        self._recover_outbox()
        self._prune_outgoing()
        self._recover_hooks()
        deaf = await self._start_receiver()
        for name, backend in self.channels.items():
            if name in deaf:
                continue
            self._tasks.append(
                asyncio.create_task(self._run_channel(name, backend), name=f"channel:{name}")
            )
        self._tasks.append(asyncio.create_task(self._dispatch_forever(), name="outbox"))
        self._tasks.append(asyncio.create_task(self._run_hooks_forever(), name="hooks"))
        self._tasks.append(asyncio.create_task(self._wake_snoozed_forever(), name="snooze"))
        self.automation.start(self)
        if self.sla is not None:
            self._tasks.append(asyncio.create_task(self._watch_sla_forever(), name="sla"))

    async def stop(self) -> None:
        await self._stop_receiver()  # no request is accepted once the channels stop
        await self.automation.stop()
        self.presence.leave(self._configured_agent)
        workers = [
            *self._tasks,
            *self._senders.values(),
            *self._hook_runs.values(),
            *self._receipts,
        ]
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self._tasks.clear()
        self._senders.clear()
        self._hook_runs.clear()
        for backend in self.channels.values():
            try:
                await backend.close()
            except Exception:
                log.exception("closing channel %s", backend.name)

    # ---- agents and presence ---------------------------------------------------------------

    def _presence_changed(self, changes: list[Change]) -> None:
        self._broker.publish(changes)
        if any(change.kind is ChangeKind.PRESENCE for change in changes):
            self.automation.agents_changed()  # someone may now take what waits unassigned

    @property
    def agent(self) -> str:
        """Who the current command is authored by: the acting agent (a served console's Unix
        user, `desk.acting.acting_as`), else the configured agent."""
        return ACTING_AGENT.get() or self._configured_agent

    mode = "solo"
    """"solo": this desk runs inside the console; the team client says "team"."""

    unsupported: Mapping[str, str] = MappingProxyType({})
    link_problem = ""  # the desk runs in this process: what it shows is current
    """Nothing: this desk does all the console asks (a Chatwoot server does not)."""

    async def more(self, view: View = View.ALL, filters: Filters = Filters()) -> bool:
        """Every conversation is in the store already: no page to load."""
        return False

    async def shared_canned(self) -> list[CannedReply]:
        """Canned replies are the agent's own canned.toml here: none shared by a server."""
        return []

    def agent_name(self, user: str) -> str:
        """The agent's display name (`[team.agents.<user>].name`), else the user name itself."""
        return self._agent_names.get(user, user)

    def online(self) -> list[AgentInfo]:
        """Every known agent with their display name, whether online, and their open count."""
        return roster(
            self.agents, self._agent_names, self.presence.online(), self.store.conversations()
        )

    def activity(self, conv_id: int) -> list[Activity]:
        """Who else (not the acting agent) views or types in the conversation now."""
        return [a for a in self.presence.activity(conv_id) if a.agent != self.agent]

    async def set_viewing(self, conv_id: int | None) -> None:
        """The acting agent opened `conv_id` (None: closed it)."""
        self.presence.view(self.agent, conv_id)

    async def set_typing(self, conv_id: int, typing: bool) -> None:
        """The acting agent is typing in `conv_id` (renew within TYPING_SECONDS), or stopped."""
        self.presence.type(self.agent, conv_id, typing)

    # ---- reading ---------------------------------------------------------------------------

    @property
    def agents(self) -> list[str]:
        seen = {c.assignee for c in self.store.conversations() if c.assignee}
        return self._agents + sorted(seen - set(self._agents))

    def channel_kind(self, channel: str) -> str:
        backend = self.channels.get(channel)
        return backend.channel_kind if backend is not None else channel

    async def window(self, conv_id: int) -> WindowState | None:
        """Where the conversation stands in its channel's messaging window (None: no window)."""
        conv = await self.conversation(conv_id)
        backend = self.channels.get(conv.channel)
        rule = backend.window_rule if backend is not None else None
        state = window_state(
            rule, self.channel_name(conv.channel), conv.window_expires_at, self.now()
        )
        if state is not None and state.closed and backend is not None:
            return replace(state, templates=backend.supports_templates)
        return state

    async def canned_variables(self, conv_id: int) -> dict[str, str]:
        """The values canned replies fill in for this conversation (`desk.canned.VARIABLES`)."""
        conv = await self.conversation(conv_id)
        contact = self.store.contact(conv.contact_id)
        return variables_for(conv, contact, self.agent, self.channel_kind(conv.channel))

    def is_typing(self, conv_id: int) -> bool:
        since = self._typing.get(conv_id)
        return since is not None and time.monotonic() - since < TYPING_SECONDS

    def subscribe(self) -> Subscription:
        return self._broker.subscribe()

    async def conversations(
        self,
        view: View = View.ALL,
        *,
        sort: Sort | None = Sort.ACTIVITY,
        filters: Filters = Filters(),
    ) -> list[Conversation]:
        """The conversations of `view` that match `filters`, in the order of `sort` (None: any order)."""
        return select_view(self.store.conversations(), view, self.agent, sort, filters)

    async def counts(self, filters: Filters = Filters()) -> dict[View, int]:
        """How many conversations each view holds (those matching `filters`)."""
        return (await self.tally(filters)).counts()

    async def tally(self, filters: Filters = Filters()) -> ViewTally:
        """View counts over every conversation, for a console to keep up to date from the change feed."""
        return tally_of(self.store.conversations(), self.agent, filters)

    async def labels(self) -> list[str]:
        """Every label in use on any conversation, sorted."""
        return labels_in_use(self.store.conversations())

    async def channel_names(self) -> list[str]:
        """The configured channel instances and any other channel a cached conversation came from."""
        return sorted(set(self.channels) | {conv.channel for conv in self.store.conversations()})

    async def conversation(self, conv_id: int) -> Conversation:
        conv = self.store.conversation(conv_id)
        if conv is None:
            raise DeskError(f"no conversation #{conv_id}")
        return conv

    async def thread(self, conv_id: int) -> list[Message]:
        return self.store.messages(conv_id)

    async def message(self, conv_id: int, message_id: int) -> Message | None:
        """One message of a conversation (a reply, note or event too); None when there is none."""
        return self.store.message(conv_id, message_id)

    async def contact(self, contact_id: int) -> Contact:
        contact = self.store.contact(contact_id)
        if contact is None:
            raise DeskError(f"no contact #{contact_id}")
        return contact

    def contact_name(self, contact_id: int) -> str:
        """The contact's name as stored ("#id" when it is gone): cheap enough to ask per row drawn."""
        contact = self.store.contact(contact_id)
        return contact.name if contact is not None else f"#{contact_id}"

    async def contact_conversations(self, contact_id: int) -> list[Conversation]:
        found = [c for c in self.store.conversations() if c.contact_id == contact_id]
        found.sort(key=lambda c: c.last_activity_at, reverse=True)
        return found

    # ---- commands ----------------------------------------------------------------------------

    async def assign(self, conv_id: int, agent: str | None) -> None:
        conv = await self.conversation(conv_id)
        if conv.assignee == agent:
            return
        text = (
            f"assigned this to {'themself' if agent == self.agent else self.agent_name(agent)}"
            if agent
            else "unassigned this"
        )
        await self._change(conv, EventKind.ASSIGNED, text, lambda c: setattr(c, "assignee", agent))

    async def set_status(self, conv_id: int, status: Status) -> None:
        if status is Status.SNOOZED:
            raise DeskError("use snooze() with a time to snooze a conversation")
        conv = await self.conversation(conv_id)
        if conv.status is status:
            return

        def apply(c: Conversation) -> None:
            c.status, c.snoozed_until = status, None
            if status is Status.RESOLVED:
                c.unread, c.waiting_since = 0, None

        was = conv.status
        await self._change(conv, EventKind.STATUS, _STATUS_VERB[status], apply)
        if status is Status.RESOLVED:
            self.automation.submit(
                [Trigger(TriggerKind.CONVERSATION_RESOLVED, conv_id, self.now())]
            )
        elif status is Status.OPEN and was in (Status.RESOLVED, Status.SNOOZED):
            self.automation.submit(
                [Trigger(TriggerKind.CONVERSATION_REOPENED, conv_id, self.now())]
            )

    async def snooze(self, conv_id: int, until: datetime) -> None:
        conv = await self.conversation(conv_id)
        if until <= self.now():
            raise DeskError("snooze until a time in the future")

        def apply(c: Conversation) -> None:
            c.status, c.snoozed_until = Status.SNOOZED, until

        await self._change(
            conv, EventKind.SNOOZED, f"snoozed this until {until:%a %d %b %H:%M} UTC", apply
        )

    async def set_priority(self, conv_id: int, priority: Priority) -> None:
        conv = await self.conversation(conv_id)
        if conv.priority is priority:
            return
        await self._change(
            conv,
            EventKind.PRIORITY,
            f"set priority to {priority.value}",
            lambda c: setattr(c, "priority", priority),
        )

    async def label(
        self, conv_id: int, add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> None:
        conv = await self.conversation(conv_id)
        added = [lbl for lbl in dict.fromkeys(add) if lbl not in conv.labels]
        removed = [lbl for lbl in dict.fromkeys(remove) if lbl in conv.labels]
        if not added and not removed:
            return
        parts = [f"added {', '.join(added)}"] if added else []
        parts += [f"removed {', '.join(removed)}"] if removed else []

        def apply(c: Conversation) -> None:
            c.labels = [lbl for lbl in c.labels if lbl not in removed] + added

        await self._change(conv, EventKind.LABELLED, "label " + "; ".join(parts), apply)
