"""Plain domain types of frontdesk: contacts, conversations, messages and channel events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import StrEnum


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# ---- body conventions: backends write them, the thread view folds on them ------------------

QUOTE_MARKER = "┄┄┄┄ quoted history ┄┄┄┄"
"""On a line of its own in a body: quoted earlier mail follows (the thread view folds it)."""
SIGNATURE_SEPARATOR = "-- "
"""A line that is exactly this starts a signature (RFC 3676)."""


def split_foldable(body: str) -> tuple[str, str, tuple[str, ...]]:
    """(the new text, the signature and quoted history after it, what was folded).

    The folded part starts at the first of: a line that is exactly `SIGNATURE_SEPARATOR`,
    or `QUOTE_MARKER`'s line. Nothing is folded when there would be no new text before it.
    """
    lines = body.split("\n")
    starts = {
        "signature": _line_index(lines, SIGNATURE_SEPARATOR),
        "quoted history": _line_index(lines, QUOTE_MARKER),
    }
    found = {what: i for what, i in starts.items() if i is not None}
    if not found:
        return body, "", ()
    cut = min(found.values())
    head = "\n".join(lines[:cut]).rstrip("\n")
    if not head.strip():
        return body, "", ()
    folded = tuple(what for what, _ in sorted(found.items(), key=lambda item: item[1]))
    return head, "\n".join(lines[cut:]), folded


def _line_index(lines: list[str], wanted: str) -> int | None:
    for i, line in enumerate(lines):
        if line.rstrip("\r") == wanted:
            return i
    return None


class Status(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"
    BOT = "bot"  # the FAQ bot answers it; no agent is waited for until it hands over


class Priority(StrEnum):
    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class MessageKind(StrEnum):
    TEXT = "text"
    ATTACHMENT = "attachment"
    ACTIVITY = "activity"  # an inline thread event: assigned, resolved, labelled …


class Delivery(StrEnum):
    """Where an outgoing message stands; inbound messages stay `RECEIVED`."""

    RECEIVED = "received"
    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    UNCONFIRMED = "unconfirmed"

    @property
    def rank(self) -> int:
        """Order of progress, so a late `delivered` never overwrites `read`."""
        return _DELIVERY_RANK[self]


_DELIVERY_RANK = {
    Delivery.RECEIVED: 0,
    Delivery.PENDING: 1,
    Delivery.UNCONFIRMED: 2,
    Delivery.FAILED: 2,
    Delivery.SENT: 3,
    Delivery.DELIVERED: 4,
    Delivery.READ: 5,
}


class EventKind(StrEnum):
    """Kinds of inline thread events (activity messages)."""

    ASSIGNED = "assigned"
    STATUS = "status"
    SNOOZED = "snoozed"
    PRIORITY = "priority"
    LABELLED = "labelled"
    ESCALATED = "escalated"
    HOOK = "hook"  # an escalation hook opened a ticket, failed, or is retrying
    MERGED = "merged"  # two contacts were merged
    AUTOMATION = "automation"  # the desk acted by itself: the line names the rule or feature
    RATED = "rated"  # the customer answered the satisfaction survey


@dataclass(slots=True)
class Identity:
    """One address of a contact on one channel instance (`whatsapp:+8190…`)."""

    channel: str
    address: str

    def __str__(self) -> str:
        return f"{self.channel}:{self.address}"


@dataclass(slots=True)
class Attachment:
    name: str
    mime: str = "application/octet-stream"
    size: int = 0
    ref: str = ""  # backend-specific handle used to download it on request


@dataclass(slots=True)
class FileUpload:
    """A file an agent attaches to a reply, as bytes: the console reads it as the agent, and the
    desk (solo or served) stores its own copy to send. `name` is the agent's file name."""

    name: str
    mime: str
    data: bytes


@dataclass(slots=True)
class Ticket:
    """A ticket an escalation hook opened elsewhere (helpdesk, tracker): its id and link as replied."""

    hook: str
    id: str = ""
    url: str = ""
    created_at: datetime | None = None


@dataclass(slots=True)
class Contact:
    id: int
    name: str
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    language: str = ""
    notes: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    identities: list[Identity] = field(default_factory=list)
    merged_into: int | None = None


@dataclass(slots=True)
class Conversation:
    id: int
    channel: str  # channel instance name from the config
    contact_id: int
    thread_key: str  # the channel's own key for this thread (chat id, phone, mail root)
    status: Status = Status.OPEN
    snoozed_until: datetime | None = None
    priority: Priority = Priority.NONE
    assignee: str | None = None
    team: str | None = None
    labels: list[str] = field(default_factory=list)
    subject: str = ""
    preview: str = ""
    created_at: datetime = field(default_factory=utcnow)
    first_reply_at: datetime | None = None
    waiting_since: datetime | None = None  # oldest customer message not yet answered
    last_activity_at: datetime = field(default_factory=utcnow)
    unread: int = 0
    window_expires_at: datetime | None = None
    message_count: int = 0
    tickets: list[Ticket] = field(default_factory=list)  # opened by escalation hooks
    survey_sent_at: datetime | None = None  # the satisfaction survey went out (CSAT)
    rating: int | None = None  # the customer's answer to it: 1 (poor) to 5 (great)
    rated_at: datetime | None = None
    # derived by the desk from [sla] whenever the conversation is written, never stored:
    sla_due_at: datetime | None = None  # when the awaited reply is due
    sla_kind: str = ""  # "first" or "next": which response is due
    sla_breached: bool = False  # the desk saw that due time pass (its SLA change alerted)


@dataclass(slots=True)
class Message:
    id: int
    conversation_id: int
    direction: Direction
    body: str = ""
    kind: MessageKind = MessageKind.TEXT
    private: bool = False  # True: an internal note, never sent to the channel
    attachments: list[Attachment] = field(default_factory=list)
    external_id: str | None = None
    delivery: Delivery = Delivery.RECEIVED
    delivery_reason: str = ""
    author: str = ""
    created_at: datetime = field(default_factory=utcnow)
    event: EventKind | None = None  # set for kind ACTIVITY
    mentions: list[str] = field(default_factory=list)
    template: TemplateSend | None = None  # a sent approved template: `body` shows it rendered

    @property
    def is_note(self) -> bool:
        return self.private and self.kind is not MessageKind.ACTIVITY


# ---- what backends hand to the desk -------------------------------------------------


@dataclass(slots=True)
class ContactRef:
    """Who wrote, as the channel names them."""

    address: str
    name: str = ""
    language: str = ""
    email: str = ""
    phone: str = ""


@dataclass(slots=True)
class Inbound:
    """A message the customer (or the agent from another client) sent on the channel."""

    external_id: str
    thread_key: str
    sender: ContactRef
    body: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    created_at: datetime = field(default_factory=utcnow)
    subject: str = ""
    direction: Direction = Direction.IN
    window_expires_at: datetime | None = None


@dataclass(slots=True)
class DeliveryUpdate:
    """The channel reports progress of a message we sent."""

    external_id: str
    delivery: Delivery
    reason: str = ""


@dataclass(slots=True)
class Typing:
    """The customer is typing in a thread (not persisted)."""

    thread_key: str


@dataclass(slots=True)
class ChannelStatus:
    """Health of a channel instance as the console shows it (not persisted)."""

    state: str  # "ok", "connecting", "down"
    detail: str = ""


@dataclass(slots=True)
class Unparsable:
    """Something the channel sent that the backend could not read: kept in quarantine."""

    reason: str
    payload: str


@dataclass(slots=True)
class ContactProfile:
    """What the channel's profile lookup says of a sender, learnt after their message was stored.

    The desk fills the contact's name (and language) only where the channel had given none,
    so a name an agent typed is never overwritten.
    """

    address: str
    name: str = ""
    language: str = ""


ChannelEvent = Inbound | DeliveryUpdate | Typing | ChannelStatus | Unparsable | ContactProfile


@dataclass(frozen=True, slots=True)
class TemplateExtra:
    """A value a template takes outside its body: its header's, or one of its buttons'."""

    part: str  # "header" or "button"
    kind: str  # header: "text", "image", "video" or "document"; button: "url" or "copy_code"
    label: str  # a text header's placeholder ("1" or a name); else the button's or media's name
    index: int = 0  # a button's position among the template's buttons (counted from 0)
    text: str = ""  # the header's text or the button's URL, with its {{…}}
    value: str = ""  # what the agent filled in (empty in the channel's list)


@dataclass(frozen=True, slots=True)
class MessageTemplate:
    """A message template the channel approved (WhatsApp), as the template picker lists it."""

    name: str
    language: str
    category: str = ""
    body: str = ""  # the body text with its {{1}} … placeholders
    parameters: tuple[str, ...] = ()  # the body's placeholders, in order ("1", "2" or named)
    extras: tuple[TemplateExtra, ...] = ()  # the header's and buttons' values it takes


@dataclass(slots=True)
class TemplateSend:
    """A template to send instead of free text, with a value for each of its parameters."""

    name: str
    language: str
    parameters: list[str] = field(default_factory=list)
    extras: list[TemplateExtra] = field(default_factory=list)  # with their values filled


@dataclass(slots=True)
class Outgoing:
    """A message handed to a backend for sending."""

    message_id: int
    conversation_id: int
    thread_key: str
    to: str  # the contact's address on this channel
    body: str
    attachments: list[Attachment] = field(default_factory=list)
    subject: str = ""
    idempotency_key: str = ""  # stable across retries of the same message
    reply_to_external_id: str | None = None
    tag: str = ""  # the message tag to send with once the free window closed (HUMAN_AGENT)
    template: TemplateSend | None = None  # send this approved template instead of `body`
    automated: bool = False  # written by automation (an away message): mail marks it auto-replied


@dataclass(slots=True)
class SendResult:
    external_id: str
    delivery: Delivery = Delivery.SENT
