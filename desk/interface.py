"""The desk as the console sees it: one interface for the in-process Desk, the team client and
the Chatwoot client.

`tui/` uses only what `DeskAPI` names. Async methods may be remote calls (a served desk
answers them over the socket); plain attributes and sync methods are answered locally
(the team client's replica). `REMOTE_METHODS` lists the calls a console may make of a
served desk; the protocol codec reads each one's argument and return types with
`typing.get_type_hints(getattr(DeskAPI, name))`, so every annotation here must resolve
at run time (no names imported only for type checking).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol

from frontdesk.desk.attachments import AttachmentData
from frontdesk.desk.canned import CannedReply
from frontdesk.desk.changes import Subscription
from frontdesk.desk.hooks import HookSpec
from frontdesk.desk.limits import SmsLength, WindowState
from frontdesk.desk.presence import Activity, AgentInfo
from frontdesk.desk.report import Grouping, Report
from frontdesk.desk.search import SearchMatch
from frontdesk.desk.views import Filters, Sort, View, ViewTally
from frontdesk.model import (
    ChannelStatus,
    Contact,
    Conversation,
    FileUpload,
    Message,
    MessageTemplate,
    Priority,
    Status,
    TemplateSend,
)
from frontdesk.store.records import HookJob
from frontdesk.store.search import SearchHit


class DeskAPI(Protocol):
    """Everything the console uses of a desk, in solo (the Desk) and team (the desk client) mode."""

    # ---- state the console reads as attributes ------------------------------------------------

    escalation_targets: list[str]
    hooks: Mapping[str, HookSpec]
    channel_status: Mapping[str, ChannelStatus]
    unsupported: Mapping[str, str]
    """Operations this desk cannot do, by the name of their DeskAPI method, each with its one-line
    reason (a Chatwoot server runs no escalation hooks): the console greys them in its help and
    palette and answers their keys with the reason. Empty for the local desk and the team client."""

    @property
    def agent(self) -> str:
        """The agent this console acts as (a Unix user in team mode)."""
        ...

    @property
    def agents(self) -> list[str]: ...

    @property
    def link_problem(self) -> str:
        """Why what the console shows may be out of date, in one line ("" when the desk is
        reachable): a team client that lost its desk, a Chatwoot client painting from its cache
        before the server answers or while it is unreachable. LINK changes say when it moves."""
        ...

    @property
    def mode(self) -> str:
        """ "solo", "team" or "chatwoot"."""
        ...

    # ---- local reads ---------------------------------------------------------------------------

    def now(self) -> datetime:
        """The desk's clock (UTC), which the console's times follow."""
        ...

    def subscribe(self) -> Subscription: ...

    def agent_name(self, user: str) -> str: ...

    def online(self) -> list[AgentInfo]: ...

    def activity(self, conv_id: int) -> list[Activity]: ...

    def channel_kind(self, channel: str) -> str: ...

    def channel_name(self, channel: str) -> str: ...

    def sms_length(self, channel: str, text: str) -> SmsLength | None: ...

    def is_typing(self, conv_id: int) -> bool: ...

    def contact_name(self, contact_id: int) -> str: ...

    def hook_jobs(self, conv_id: int | None = None) -> list[HookJob]: ...

    # ---- reads that may be calls ---------------------------------------------------------------

    async def window(self, conv_id: int) -> WindowState | None: ...

    async def canned_variables(self, conv_id: int) -> dict[str, str]: ...

    async def shared_canned(self) -> list[CannedReply]:
        """Canned replies the desk's server keeps for everyone (a Chatwoot account's canned
        responses), listed beside the agent's own canned.toml; [] for the local desk."""
        ...

    async def conversations(
        self,
        view: View = View.ALL,
        *,
        sort: Sort | None = Sort.ACTIVITY,
        filters: Filters = Filters(),
    ) -> list[Conversation]: ...

    async def counts(self, filters: Filters = Filters()) -> dict[View, int]: ...

    async def more(self, view: View = View.ALL, filters: Filters = Filters()) -> bool:
        """Load the next page of `view` from a server that pages its lists (Chatwoot), as the
        list scrolls near its end; True when more came. The local desk and the team client hold
        every conversation already: False."""
        ...

    async def tally(self, filters: Filters = Filters()) -> ViewTally: ...

    async def labels(self) -> list[str]: ...

    async def channel_names(self) -> list[str]: ...

    async def conversation(self, conv_id: int) -> Conversation: ...

    async def thread(self, conv_id: int) -> list[Message]: ...

    async def message(self, conv_id: int, message_id: int) -> Message | None: ...

    async def contact(self, contact_id: int) -> Contact: ...

    async def contact_conversations(self, contact_id: int) -> list[Conversation]: ...

    async def draft(self, conv_id: int) -> dict[str, str]: ...

    async def search(self, query: str, limit: int = 200) -> list[SearchHit]: ...

    async def search_conversations(self, query: str, limit: int = 50) -> list[SearchMatch]: ...

    async def find_contacts(self, query: str, limit: int = 50) -> list[Contact]: ...

    # ---- commands ------------------------------------------------------------------------------

    async def reply(self, conv_id: int, body: str, files: Sequence[FileUpload] = ()) -> Message: ...

    async def file_problem(self, conv_id: int, name: str, mime: str, size: int) -> str | None:
        """Why this file cannot go with a reply here, in one line; None when it can."""
        ...

    async def note(self, conv_id: int, body: str) -> Message: ...

    async def templates(self, conv_id: int) -> list[MessageTemplate]:
        """The approved templates the conversation's channel can send (DeskError: none)."""
        ...

    async def send_template(self, conv_id: int, send: TemplateSend) -> Message:
        """Queue an approved template with its values, also once the window closed."""
        ...

    async def allowance(self, conv_id: int) -> str | None:
        """The channel's line on what sending costs now (LINE's push quota); None: nothing."""
        ...

    async def assign(self, conv_id: int, agent: str | None) -> None: ...

    async def set_status(self, conv_id: int, status: Status) -> None: ...

    async def snooze(self, conv_id: int, until: datetime) -> None: ...

    async def set_priority(self, conv_id: int, priority: Priority) -> None: ...

    async def label(
        self, conv_id: int, add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> None: ...

    async def escalate(
        self, conv_id: int, team: str, reason: str, priority: Priority | None = None
    ) -> list[HookJob]: ...

    async def retry_hooks(self, conv_id: int) -> list[HookJob]: ...

    async def mark_read(self, conv_id: int) -> None: ...

    async def save_draft(self, conv_id: int, texts: Mapping[str, str]) -> None: ...

    async def retry(self, conv_id: int, message_id: int) -> None: ...

    async def update_contact(
        self,
        contact_id: int,
        *,
        notes: str | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> Contact: ...

    async def merge_contacts(self, keep_id: int, other_id: int) -> Contact: ...

    async def save_attachment(
        self, conv_id: int, message_id: int, index: int, downloads_dir: str
    ) -> Path: ...

    async def attachment_data(
        self, conv_id: int, message_id: int, index: int
    ) -> AttachmentData: ...

    async def set_viewing(self, conv_id: int | None) -> None: ...

    async def set_typing(self, conv_id: int, typing: bool) -> None: ...

    # ---- supervisors ---------------------------------------------------------------------------

    async def report(self, since: datetime, until: datetime, by: Grouping) -> Report:
        """The figures of [since, until) whole, by `by` and per day or hour (desk.report); a
        served desk answers only its owner and supervisors."""
        ...


REMOTE_METHODS: frozenset[str] = frozenset(
    {
        "window",
        "canned_variables",
        "conversations",
        "counts",
        "labels",
        "channel_names",
        "conversation",
        "thread",
        "message",
        "contact",
        "contact_conversations",
        "draft",
        "search",
        "search_conversations",
        "find_contacts",
        "reply",
        "file_problem",
        "note",
        "templates",
        "send_template",
        "allowance",
        "assign",
        "set_status",
        "snooze",
        "set_priority",
        "label",
        "escalate",
        "retry_hooks",
        "mark_read",
        "save_draft",
        "retry",
        "update_contact",
        "merge_contacts",
        "attachment_data",
        "set_viewing",
        "set_typing",
        "report",
    }
)
"""The async methods a console may call on a served desk. Not `tally` (a live counter the
client builds from its replica), nor start/stop or anything internal."""

SUPERVISOR_METHODS: frozenset[str] = frozenset({"report"})
"""Remote calls a served desk answers only for its owner and `[team.agents]` supervisors."""
