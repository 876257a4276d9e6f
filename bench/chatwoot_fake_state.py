"""The fake Chatwoot's account: its records, Chatwoot's JSON shapes for them, and the rules of
its list, counts and writes (each write returns the cable events Chatwoot would broadcast)."""

from __future__ import annotations

import uuid as uuid_mod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

PAGE_SIZE = 25
"""Conversations a list page holds (Kaminari's per-page in Chatwoot)."""
MESSAGES_PAGE = 20
"""Messages one GET …/messages answers."""
UNREAD_CAP = 10
"""Chatwoot counts at most the last 10 unread incoming messages."""

INCOMING, OUTGOING, ACTIVITY, TEMPLATE = 0, 1, 2, 3
STATUSES = ("open", "resolved", "pending", "snoozed")
PRIORITIES = ("low", "medium", "high", "urgent")
PRIORITY_RANK = {None: -1, "low": 0, "medium": 1, "high": 2, "urgent": 3}
MESSAGE_STATUSES = ("sent", "delivered", "read", "failed")
CHANNEL_TYPES = (
    "Channel::Whatsapp",
    "Channel::Email",
    "Channel::FacebookPage",
    "Channel::Line",
    "Channel::Telegram",
    "Channel::Api",
)

Event = tuple[str, dict[str, Any]]
"""A cable event: its name (`message.created`, …) and its data."""


class NotFound(Exception):
    """A record the route names is not in the account (Chatwoot answers 404)."""


class Invalid(Exception):
    """A write Chatwoot would refuse with 422; the message says why."""


def iso(at: int | float | None) -> str | None:
    """A Rails JSON timestamp (what jbuilder prints for a datetime), or None."""
    if at is None:
        return None
    return datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="milliseconds")[:-6] + "Z"


@dataclass
class Agent:
    id: int
    name: str
    email: str
    role: str = "agent"
    availability_status: str = "online"
    pubsub_token: str = ""

    def push_data(self) -> dict[str, Any]:
        """User#push_event_data: the sender of a message, the assignee in events."""
        return {
            "id": self.id,
            "name": self.name,
            "available_name": self.name,
            "avatar_url": "",
            "type": "user",
            "availability_status": self.availability_status,
            "thumbnail": "",
        }

    def json(self, account_id: int) -> dict[str, Any]:
        """api/v1/models/_agent.json.jbuilder."""
        return {
            "id": self.id,
            "account_id": account_id,
            "availability_status": self.availability_status,
            "auto_offline": True,
            "confirmed": True,
            "email": self.email,
            "provider": "email",
            "available_name": self.name,
            "name": self.name,
            "role": self.role,
            "thumbnail": "",
        }


@dataclass
class Team:
    id: int
    name: str
    description: str = ""
    allow_auto_assign: bool = True
    members: set[int] = field(default_factory=set)

    def json(self, account_id: int, user_id: int | None = None) -> dict[str, Any]:
        """api/v1/models/_team.json.jbuilder."""
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "allow_auto_assign": self.allow_auto_assign,
            "account_id": account_id,
            "is_member": user_id in self.members,
        }


@dataclass
class Inbox:
    id: int
    name: str
    channel_type: str

    def json(self) -> dict[str, Any]:
        """The fields of api/v1/models/_inbox.json.jbuilder a console reads."""
        return {
            "id": self.id,
            "name": self.name,
            "channel_type": self.channel_type,
            "channel_id": self.id,
            "avatar_url": "",
            "greeting_enabled": False,
            "enable_auto_assignment": True,
            "working_hours_enabled": False,
        }


@dataclass
class Contact:
    id: int
    name: str
    email: str | None = None
    phone_number: str | None = None
    identifier: str | None = None
    custom_attributes: dict[str, Any] = field(default_factory=dict)
    additional_attributes: dict[str, Any] = field(default_factory=dict)
    created_at: int = 0
    last_activity_at: int | None = None
    blocked: bool = False

    def push_data(self) -> dict[str, Any]:
        """Contact#push_event_data: a message's sender, a conversation's meta.sender in events."""
        return {
            "additional_attributes": self.additional_attributes,
            "custom_attributes": self.custom_attributes,
            "email": self.email,
            "id": self.id,
            "identifier": self.identifier,
            "name": self.name,
            "phone_number": self.phone_number,
            "thumbnail": "",
            "blocked": self.blocked,
            "type": "contact",
        }

    def json(self) -> dict[str, Any]:
        """api/v1/models/_contact.json.jbuilder."""
        return {
            "additional_attributes": self.additional_attributes,
            "availability_status": "offline",
            "email": self.email,
            "id": self.id,
            "name": self.name,
            "phone_number": self.phone_number,
            "blocked": self.blocked,
            "identifier": self.identifier,
            "thumbnail": "",
            "custom_attributes": self.custom_attributes,
            "last_activity_at": self.last_activity_at,
            "created_at": self.created_at,
        }


@dataclass
class Note:
    id: int
    contact_id: int
    user_id: int
    content: str
    created_at: int


@dataclass
class Message:
    id: int
    conversation_id: int  # the display id, as Chatwoot's JSON shows it
    inbox_id: int
    content: str | None
    message_type: int
    created_at: int
    private: bool = False
    status: str = "sent"
    source_id: str | None = None
    content_type: str = "text"
    content_attributes: dict[str, Any] = field(default_factory=dict)
    sender_type: str | None = None  # "User", "Contact" or None (activity)
    sender_id: int | None = None
    echo_id: str | None = None
    updated_at: float = 0.0


@dataclass
class Conversation:
    id: int  # display_id: what routes and JSON call the conversation's id
    inbox_id: int
    contact_id: int
    created_at: int
    last_activity_at: int
    status: str = "open"
    priority: str | None = None
    assignee_id: int | None = None
    team_id: int | None = None
    labels: list[str] = field(default_factory=list)
    snoozed_until: int | None = None
    first_reply_created_at: int | None = None
    waiting_since: int | None = None
    agent_last_seen_at: int | None = None
    assignee_last_seen_at: int | None = None
    contact_last_seen_at: int | None = None
    custom_attributes: dict[str, Any] = field(default_factory=dict)
    additional_attributes: dict[str, Any] = field(default_factory=dict)
    source_id: str = ""
    uuid: str = field(default_factory=lambda: str(uuid_mod.uuid4()))
    messages: list[Message] = field(default_factory=list)
    updated_at: float = 0.0


def _params_list(params: Mapping[str, Any], key: str) -> list[str]:
    """A query value Rails reads as an array (`labels[]=a&labels[]=b`, or `labels=a,b`)."""
    value = params.get(f"{key}[]", params.get(key))
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in value.split(",") if v]
    return [str(v) for v in value]


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


SORTS: dict[str, tuple[Callable[[Conversation], Any], bool]] = {
    "last_activity_at_desc": (lambda c: (c.last_activity_at, c.id), True),
    "last_activity_at_asc": (lambda c: (c.last_activity_at, c.id), False),
    "created_at_desc": (lambda c: (c.created_at, c.id), True),
    "created_at_asc": (lambda c: (c.created_at, c.id), False),
    "priority_desc": (lambda c: (PRIORITY_RANK[c.priority], c.last_activity_at), True),
    "priority_asc": (lambda c: (PRIORITY_RANK[c.priority], c.last_activity_at), False),
    "waiting_since_asc": (lambda c: (c.waiting_since is None, c.waiting_since or 0), False),
    "waiting_since_desc": (lambda c: (c.waiting_since is not None, c.waiting_since or 0), True),
}
"""ConversationFinder's sort_by options (the default is last_activity_at_desc)."""


class Account:
    """One Chatwoot account in memory: records by id, Chatwoot's JSON for each, and its rules."""

    def __init__(self, account_id: int = 1, clock: Callable[[], float] | None = None) -> None:
        import time

        self.id = account_id
        self.name = "Frontdesk Fake"
        self.clock = clock or time.time
        self.agents: dict[int, Agent] = {}
        self.teams: dict[int, Team] = {}
        self.inboxes: dict[int, Inbox] = {}
        self.contacts: dict[int, Contact] = {}
        self.conversations: dict[int, Conversation] = {}
        self.messages: dict[int, Message] = {}
        self.notes: dict[int, Note] = {}
        self.labels: dict[str, dict[str, Any]] = {}
        self.canned: dict[int, dict[str, Any]] = {}
        self.activity_messages = True
        self._next: dict[str, int] = {}

    def next_id(self, kind: str) -> int:
        self._next[kind] = self._next.get(kind, 0) + 1
        return self._next[kind]

    def now(self) -> int:
        return int(self.clock())

    # ---- records -----------------------------------------------------------------------------

    def add_agent(
        self, name: str, email: str, role: str = "agent", status: str = "online"
    ) -> Agent:
        agent = Agent(self.next_id("agent"), name, email, role, status)
        agent.pubsub_token = uuid_mod.uuid4().hex
        self.agents[agent.id] = agent
        return agent

    def add_team(self, name: str, members: Iterable[int] = (), description: str = "") -> Team:
        team = Team(self.next_id("team"), name, description, members=set(members))
        self.teams[team.id] = team
        return team

    def add_inbox(self, name: str, channel_type: str) -> Inbox:
        inbox = Inbox(self.next_id("inbox"), name, channel_type)
        self.inboxes[inbox.id] = inbox
        return inbox

    def add_label(self, title: str, color: str = "#1f93ff", description: str = "") -> None:
        self.labels[title] = {
            "id": self.next_id("label"),
            "title": title,
            "description": description,
            "color": color,
            "show_on_sidebar": True,
        }

    def add_canned(self, short_code: str, content: str) -> dict[str, Any]:
        canned = {
            "id": self.next_id("canned"),
            "account_id": self.id,
            "short_code": short_code,
            "content": content,
        }
        self.canned[canned["id"]] = canned
        return canned

    def add_contact(self, name: str, **fields: Any) -> Contact:
        contact = Contact(self.next_id("contact"), name, created_at=self.now(), **fields)
        self.contacts[contact.id] = contact
        return contact

    def add_conversation(
        self, inbox_id: int, contact_id: int, at: int | None = None, **fields: Any
    ):
        at = self.now() if at is None else at
        conv = Conversation(self.next_id("conversation"), inbox_id, contact_id, at, at, **fields)
        conv.updated_at = float(at)
        self.conversations[conv.id] = conv
        return conv

    def add_message(self, conv: Conversation, content: str | None, message_type: int, **fields):
        """Append a message as Chatwoot stores one: ids grow with time, activity moves the list."""
        at = fields.pop("created_at", None)
        at = self.now() if at is None else at
        msg = Message(self.next_id("message"), conv.id, conv.inbox_id, content, message_type, at)
        for key, value in fields.items():
            setattr(msg, key, value)
        msg.updated_at = float(at)
        conv.messages.append(msg)
        self.messages[msg.id] = msg
        conv.last_activity_at = max(conv.last_activity_at, at)
        return msg

    def conversation(self, conv_id: Any) -> Conversation:
        conv = self.conversations.get(_int_or_none(conv_id) or 0)
        if conv is None:
            raise NotFound(f"conversation {conv_id}")
        return conv

    def contact(self, contact_id: Any) -> Contact:
        contact = self.contacts.get(_int_or_none(contact_id) or 0)
        if contact is None:
            raise NotFound(f"contact {contact_id}")
        return contact

    # ---- Chatwoot's JSON ---------------------------------------------------------------------

    def sender_data(self, msg: Message) -> dict[str, Any] | None:
        if msg.sender_type == "User" and msg.sender_id in self.agents:
            return self.agents[msg.sender_id].push_data()
        if msg.sender_type == "Contact" and msg.sender_id in self.contacts:
            return self.contacts[msg.sender_id].push_data()
        return None

    def unread_count(self, conv: Conversation) -> int:
        seen = conv.agent_last_seen_at
        count = 0
        for msg in reversed(conv.messages):
            if seen is not None and msg.created_at <= seen:
                break
            if msg.message_type == INCOMING:
                count += 1
                if count == UNREAD_CAP:
                    break
        return count

    def message_json(self, msg: Message) -> dict[str, Any]:
        """Message#push_event_data: the REST message and the message.* event data."""
        conv = self.conversations[msg.conversation_id]
        data: dict[str, Any] = {
            "id": msg.id,
            "content": msg.content,
            "account_id": self.id,
            "inbox_id": msg.inbox_id,
            "conversation_id": msg.conversation_id,
            "message_type": msg.message_type,
            "created_at": msg.created_at,
            "updated_at": iso(msg.updated_at),
            "private": msg.private,
            "status": msg.status,
            "source_id": msg.source_id,
            "content_type": msg.content_type,
            "content_attributes": msg.content_attributes,
            "sender_type": msg.sender_type,
            "sender_id": msg.sender_id,
            "external_source_ids": {},
            "additional_attributes": {},
            "processed_message_content": msg.content,
            "sentiment": {},
            "conversation": {
                "assignee_id": conv.assignee_id,
                "unread_count": self.unread_count(conv),
                "last_activity_at": conv.last_activity_at,
                "contact_inbox": {"source_id": conv.source_id},
            },
        }
        if msg.echo_id:
            data["echo_id"] = msg.echo_id
        sender = self.sender_data(msg)
        if sender is not None:
            data["sender"] = sender
        return data

    def _meta(self, conv: Conversation) -> dict[str, Any]:
        meta: dict[str, Any] = {"sender": self.contacts[conv.contact_id].json()}
        meta["channel"] = self.inboxes[conv.inbox_id].channel_type
        if conv.assignee_id in self.agents:
            meta["assignee"] = self.agents[conv.assignee_id].json(self.id)
        if conv.team_id in self.teams:
            meta["team"] = self.teams[conv.team_id].json(self.id)
        meta["hmac_verified"] = False
        return meta

    def conversation_json(self, conv: Conversation) -> dict[str, Any]:
        """api/v1/conversations/partials/_conversation.json.jbuilder (lists, show, search)."""
        last = conv.messages[-1] if conv.messages else None
        last_chat = next(
            (m for m in reversed(conv.messages) if m.message_type != ACTIVITY and not m.private),
            None,
        )
        return {
            "meta": self._meta(conv),
            "id": conv.id,
            "messages": [self.message_json(last)] if last else [],
            "account_id": self.id,
            "uuid": conv.uuid,
            "additional_attributes": conv.additional_attributes,
            "agent_last_seen_at": conv.agent_last_seen_at or 0,
            "assignee_last_seen_at": conv.assignee_last_seen_at or 0,
            "can_reply": True,
            "contact_last_seen_at": conv.contact_last_seen_at or 0,
            "custom_attributes": conv.custom_attributes,
            "inbox_id": conv.inbox_id,
            "labels": list(conv.labels),
            "muted": False,
            "snoozed_until": iso(conv.snoozed_until),
            "status": conv.status,
            "created_at": conv.created_at,
            "updated_at": conv.updated_at,
            "timestamp": conv.last_activity_at,
            "first_reply_created_at": conv.first_reply_created_at or 0,
            "unread_count": self.unread_count(conv),
            "last_non_activity_message": self.message_json(last_chat) if last_chat else None,
            "last_activity_at": conv.last_activity_at,
            "priority": conv.priority,
            "waiting_since": conv.waiting_since or 0,
            "sla_policy_id": None,
        }

    def conversation_event(self, conv: Conversation) -> dict[str, Any]:
        """Conversations::EventDataPresenter#push_data (conversation.* events), with account_id
        as ActionCableListener#broadcast merges it."""
        last_chat = next(
            (m for m in reversed(conv.messages) if m.message_type != ACTIVITY and not m.private),
            None,
        )
        meta = self._meta(conv)
        del meta["channel"]
        meta["sender"] = self.contacts[conv.contact_id].push_data()
        if conv.assignee_id in self.agents:
            meta["assignee"] = self.agents[conv.assignee_id].push_data()
        meta["assignee_type"] = "User" if conv.assignee_id else None
        if conv.team_id in self.teams:
            meta["team"] = {"id": conv.team_id, "name": self.teams[conv.team_id].name}
        return {
            "additional_attributes": conv.additional_attributes,
            "can_reply": True,
            "channel": self.inboxes[conv.inbox_id].channel_type,
            "contact_inbox": {"source_id": conv.source_id, "inbox_id": conv.inbox_id},
            "id": conv.id,
            "inbox_id": conv.inbox_id,
            "messages": [self.message_json(last_chat)] if last_chat else [],
            "labels": list(conv.labels),
            "meta": meta,
            "status": conv.status,
            "custom_attributes": conv.custom_attributes,
            "snoozed_until": iso(conv.snoozed_until),
            "unread_count": self.unread_count(conv),
            "first_reply_created_at": iso(conv.first_reply_created_at),
            "priority": conv.priority,
            "waiting_since": conv.waiting_since or 0,
            "agent_last_seen_at": conv.agent_last_seen_at or 0,
            "contact_last_seen_at": conv.contact_last_seen_at or 0,
            "last_activity_at": conv.last_activity_at,
            "timestamp": conv.last_activity_at,
            "created_at": conv.created_at,
            "updated_at": conv.updated_at,
            "account_id": self.id,
        }

    def note_json(self, note: Note) -> dict[str, Any]:
        """api/v1/accounts/contacts/notes/_note.json.jbuilder."""
        user = self.agents.get(note.user_id)
        return {
            "id": note.id,
            "content": note.content,
            "contact_id": note.contact_id,
            "user": user.json(self.id) if user else None,
            "created_at": note.created_at,
            "updated_at": note.created_at,
        }

    # ---- reads -------------------------------------------------------------------------------

    def find(self, user_id: int, params: Mapping[str, Any]) -> tuple[list[Conversation], dict]:
        """ConversationFinder: (the conversations of the asked assignee type, sorted, every
        page) and the four counts, taken after the status/inbox/team/labels/q filters and
        before the assignee type, as Chatwoot counts them."""
        convs: Iterable[Conversation] = self.conversations.values()
        inbox_id = params.get("inbox_id")
        if inbox_id is not None:
            wanted = _int_or_none(inbox_id)
            convs = [c for c in convs if c.inbox_id == wanted]
        query = params.get("q")
        if not query:
            status = params.get("status") or "open"
            if status != "all":
                convs = [c for c in convs if c.status == status]
        team_id = params.get("team_id")
        if team_id is not None:
            if _int_or_none(team_id) not in self.teams:
                raise NotFound(f"team {team_id}")
            convs = [c for c in convs if c.team_id == int(team_id)]
        labels = set(_params_list(params, "labels"))
        if labels:
            convs = [c for c in convs if labels.intersection(c.labels)]
        if query:
            convs = [c for c in convs if self._says(c, query)]
        convs = list(convs)
        mine = sum(1 for c in convs if c.assignee_id == user_id)
        unassigned = sum(1 for c in convs if c.assignee_id is None)
        counts = {
            "mine_count": mine,
            "assigned_count": len(convs) - unassigned,
            "unassigned_count": unassigned,
            "all_count": len(convs),
        }
        assignee_type = params.get("assignee_type")
        if assignee_type == "me":
            convs = [c for c in convs if c.assignee_id == user_id]
        elif assignee_type == "unassigned":
            convs = [c for c in convs if c.assignee_id is None]
        elif assignee_type == "assigned":
            convs = [c for c in convs if c.assignee_id is not None]
        key, reverse = SORTS.get(str(params.get("sort_by")), SORTS["last_activity_at_desc"])
        convs.sort(key=key, reverse=reverse)
        return convs, counts

    @staticmethod
    def _says(conv: Conversation, query: str) -> bool:
        """A conversation matches `q` when an incoming or outgoing message contains it (ILIKE)."""
        q = query.lower()
        return any(
            m.message_type in (INCOMING, OUTGOING) and m.content and q in m.content.lower()
            for m in conv.messages
        )

    @staticmethod
    def page(convs: list[Conversation], page: Any) -> list[Conversation]:
        number = max(1, _int_or_none(page) or 1)
        return convs[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]

    def search(self, query: str) -> list[Conversation]:
        """SearchService#filter_conversations: display id, contact name/email/phone/identifier."""
        q = query.lower()
        found = []
        for conv in self.conversations.values():
            contact = self.contacts[conv.contact_id]
            fields = (str(conv.id), contact.name, contact.email, contact.phone_number)
            if any(f and q in f.lower() for f in (*fields, contact.identifier)):
                found.append(conv)
        found.sort(key=lambda c: (c.created_at, c.id), reverse=True)
        return found

    def message_page(self, conv: Conversation, before: Any = None, after: Any = None):
        """MessageFinder: the 20 messages before `before` (or the last 20), oldest first."""
        msgs = conv.messages
        if after is not None:
            bound = _int_or_none(after) or 0
            return [m for m in msgs if m.id > bound][:100]
        if before is not None:
            bound = _int_or_none(before) or 0
            msgs = [m for m in msgs if m.id < bound]
        return msgs[-MESSAGES_PAGE:]

    # ---- writes (each returns what the cable broadcasts) -------------------------------------

    def _touch(self, conv: Conversation) -> None:
        conv.updated_at = max(self.clock(), conv.updated_at + 0.001)

    def _activity(self, conv: Conversation, text: str) -> list[Event]:
        """Chatwoot's ActivityMessageHandler: a line in the thread for a change an agent made."""
        if not self.activity_messages:
            return []
        msg = self.add_message(conv, text, ACTIVITY)
        return [("message.created", self.message_json(msg))]

    def create_message(
        self, conv: Conversation, user_id: int | None, content: str | None, **options: Any
    ) -> tuple[Message, list[Event]]:
        """Messages::MessageBuilder + Message callbacks: an agent's reply or note, or (user_id
        None) the contact's incoming message, with the conversation changes they cause."""
        incoming = user_id is None
        msg = self.add_message(
            conv,
            content,
            INCOMING if incoming else OUTGOING,
            private=bool(options.get("private")) and not incoming,
            sender_type="Contact" if incoming else "User",
            sender_id=conv.contact_id if incoming else user_id,
            echo_id=options.get("echo_id") or None,
            content_type=options.get("content_type") or "text",
            content_attributes=dict(options.get("content_attributes") or {}),
            source_id=options.get("source_id")
            or (f"src-{uuid_mod.uuid4().hex[:12]}" if incoming else None),
        )
        events: list[Event] = [("message.created", self.message_json(msg))]
        before = (conv.status, conv.first_reply_created_at, conv.waiting_since)
        if incoming:
            if conv.status in ("snoozed", "resolved"):
                conv.status, conv.snoozed_until = "open", None
            if conv.waiting_since is None:
                conv.waiting_since = msg.created_at
            self.contacts[conv.contact_id].last_activity_at = msg.created_at
        elif not msg.private:
            if conv.first_reply_created_at is None:
                conv.first_reply_created_at = msg.created_at
            conv.waiting_since = None
        if (conv.status, conv.first_reply_created_at, conv.waiting_since) != before:
            self._touch(conv)
            if conv.status != before[0]:
                events.append(("conversation.status_changed", self.conversation_event(conv)))
            events.append(("conversation.updated", self.conversation_event(conv)))
        return msg, events

    def set_status(
        self, conv: Conversation, user: Agent, status: str | None, snoozed_until: Any = None
    ) -> list[Event]:
        """toggle_status: the asked status (snoozed until a unix time), or open <-> resolved."""
        if status is None:
            status = "resolved" if conv.status == "open" else "open"
        if status not in STATUSES:
            raise Invalid(f"'{status}' is not a valid status")
        previous = conv.status
        conv.status = status
        conv.snoozed_until = _int_or_none(snoozed_until) if status == "snoozed" else None
        if status == "resolved":
            conv.waiting_since = None
        if previous == status:
            return []
        self._touch(conv)
        events = [("conversation.status_changed", self.conversation_event(conv))]
        events += self._activity(conv, _status_line(status, user.name))
        events.append(("conversation.updated", self.conversation_event(conv)))
        return events

    def set_priority(self, conv: Conversation, user: Agent, priority: Any) -> list[Event]:
        """toggle_priority: one of low/medium/high/urgent, or none (no priority)."""
        value = priority if priority not in (None, "", "none") else None
        if value is not None and value not in PRIORITIES:
            raise Invalid(f"'{priority}' is not a valid priority")
        if value == conv.priority:
            return []
        conv.priority = value
        self._touch(conv)
        text = (
            f"{user.name} set the priority to {value}"
            if value
            else f"{user.name} removed the priority"
        )
        return self._activity(conv, text) + [
            ("conversation.updated", self.conversation_event(conv))
        ]

    def assign_agent(self, conv: Conversation, user: Agent, assignee_id: Any) -> list[Event]:
        """assignments {assignee_id}: the agent (None/blank: nobody)."""
        target = _int_or_none(assignee_id)
        if target is not None and target not in self.agents:
            raise NotFound(f"agent {assignee_id}")
        if target == conv.assignee_id:
            return []
        conv.assignee_id = target
        self._touch(conv)
        text = (
            f"Assigned to {self.agents[target].name} by {user.name}"
            if target
            else f"Conversation unassigned by {user.name}"
        )
        events = [("assignee.changed", self.conversation_event(conv))]
        events += self._activity(conv, text)
        return events + [("conversation.updated", self.conversation_event(conv))]

    def assign_team(self, conv: Conversation, user: Agent, team_id: Any) -> list[Event]:
        """assignments {team_id}: the team; an assignee outside it is unassigned, as Chatwoot's
        AssignmentHandler#ensure_assignee_is_from_team does."""
        team = self.teams.get(_int_or_none(team_id) or 0)
        target = team.id if team else None
        if target == conv.team_id:
            return []
        old_team = self.teams.get(conv.team_id or 0)
        conv.team_id = target
        events: list[Event] = []
        lost_assignee = team is not None and conv.assignee_id not in team.members
        if lost_assignee and conv.assignee_id is not None:
            conv.assignee_id = None
        else:
            lost_assignee = False
        self._touch(conv)
        if lost_assignee:
            events.append(("assignee.changed", self.conversation_event(conv)))
        events.append(("team.changed", self.conversation_event(conv)))
        if team:
            events += self._activity(conv, f"Assigned to {team.name} by {user.name}")
        elif old_team:
            events += self._activity(conv, f"Unassigned from {old_team.name} by {user.name}")
        return events + [("conversation.updated", self.conversation_event(conv))]

    def set_labels(self, conv: Conversation, user: Agent, labels: Any) -> list[Event]:
        """labels POST: the given list REPLACES the conversation's labels."""
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise Invalid("labels must be a list of strings")
        new = list(dict.fromkeys(x.strip() for x in labels if x.strip()))
        added = [x for x in new if x not in conv.labels]
        removed = [x for x in conv.labels if x not in new]
        conv.labels = new
        if not added and not removed:
            return []
        self._touch(conv)
        events: list[Event] = []
        if added:
            events += self._activity(conv, f"{user.name} added {', '.join(added)}")
        if removed:
            events += self._activity(conv, f"{user.name} removed {', '.join(removed)}")
        return events + [("conversation.updated", self.conversation_event(conv))]

    def mark_seen(self, conv: Conversation, user: Agent) -> None:
        """update_last_seen: the agent's read mark (update_columns: no event, as in Chatwoot)."""
        conv.agent_last_seen_at = self.now()
        if conv.assignee_id == user.id:
            conv.assignee_last_seen_at = conv.agent_last_seen_at

    def contact_read(self, conv: Conversation) -> list[Event]:
        """The customer read the conversation: contact_last_seen_at moves, conversation.read."""
        conv.contact_last_seen_at = self.now()
        self._touch(conv)
        return [("conversation.read", self.conversation_event(conv))]

    def typing(self, conv: Conversation, who: dict[str, Any], on: bool, private: bool) -> Event:
        """Conversations::TypingStatusManager's event for an agent or the contact typing."""
        name = "conversation.typing_on" if on else "conversation.typing_off"
        data = {"conversation": self.conversation_event(conv), "user": who, "is_private": private}
        return name, {**data, "account_id": self.id}

    def update_message_status(self, msg: Message, status: str, error: str | None) -> Event:
        """A channel's delivery report: sent/delivered/read/failed (with its external_error)."""
        if status not in MESSAGE_STATUSES:
            raise Invalid(f"'{status}' is not a message status")
        msg.status = status
        if error:
            msg.content_attributes = {**msg.content_attributes, "external_error": error}
        msg.updated_at = max(self.clock(), msg.updated_at + 0.001)
        return "message.updated", self.message_json(msg)

    def update_contact(self, contact: Contact, body: Mapping[str, Any]) -> list[Event]:
        """PUT contacts/{id}: name/email/phone; custom and additional attributes MERGED."""
        for key in ("name", "email", "phone_number", "identifier"):
            if key in body:
                setattr(contact, key, body[key])
        for key in ("custom_attributes", "additional_attributes"):
            value = body.get(key)
            if value is not None:
                if not isinstance(value, dict):
                    raise Invalid(f"{key} must be an object")
                setattr(contact, key, {**getattr(contact, key), **value})
        return [("contact.updated", {**contact.push_data(), "account_id": self.id})]

    def add_note(self, contact: Contact, user: Agent, content: Any) -> Note:
        if not isinstance(content, str) or not content.strip():
            raise Invalid("content can't be blank")
        note = Note(self.next_id("note"), contact.id, user.id, content, self.now())
        self.notes[note.id] = note
        return note


def _status_line(status: str, name: str) -> str:
    """The activity line Chatwoot writes for a status change (its en.yml wording)."""
    return {
        "open": f"Conversation was reopened by {name}",
        "resolved": f"Conversation was marked resolved by {name}",
        "pending": f"Conversation was marked as pending by {name}",
        "snoozed": f"Conversation was snoozed by {name}",
    }[status]
