"""The fake Chatwoot's records (agents, teams, inboxes, contacts, conversations, messages,
attachments, notes), their constants and errors, and the JSON of the simple ones."""

from __future__ import annotations

import uuid as uuid_mod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

PAGE_SIZE = 25
"""Conversations a list page holds (Kaminari's per-page in Chatwoot)."""
MESSAGES_PAGE = 20
"""Messages one GET …/messages answers."""
UNREAD_CAP = 10
"""Chatwoot counts at most the last 10 unread incoming messages."""
MAX_CONTENT = 150_000
"""Message#content's length limit in Chatwoot."""

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
class Attachment:
    """A file on a message, served at `blob_path` (Active Storage's redirect URL)."""

    id: int
    message_id: int
    file_type: str  # image, audio, video, file
    name: str
    data: bytes
    width: int | None = None
    height: int | None = None

    @property
    def blob_path(self) -> str:
        return f"/rails/active_storage/blobs/redirect/{self.id}/{quote(self.name, safe='')}"


FILE_TYPES = {
    "image": ("png", "jpg", "jpeg", "gif", "webp"),
    "audio": ("mp3", "ogg", "oga", "opus", "m4a", "wav"),
    "video": ("mp4", "mov", "webm"),
}


def file_type_of(name: str) -> str:
    """Chatwoot's file_type from the file's extension (what is not media is a `file`)."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return next((kind for kind, exts in FILE_TYPES.items() if extension in exts), "file")


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
    echo_id: str | None = None  # the client's, shown only when the message is created
    updated_at: float = 0.0
    attachments: list[Attachment] = field(default_factory=list)


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


def params_list(params: Mapping[str, Any], key: str) -> list[str]:
    """A query value Rails reads as an array (`labels[]=a&labels[]=b`, or `labels=a,b`)."""
    value = params.get(f"{key}[]", params.get(key))
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in value.split(",") if v]
    return [str(v) for v in value]


def int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
