"""Chatwoot's JSON to frontdesk's records and back: what maps to what, for untrusted answers.

Everything here reads what a server sent: a field of the wrong type or out of range is read
as absent, text is bounded, and a record without a usable id raises `Unreadable` for the
caller to skip (and log) rather than crash or invent data.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

from frontdesk.chatwoot.state import CannedResponse, SeenState, ServerAgent, ServerInbox
from frontdesk.desk.views import View
from frontdesk.model import (
    Attachment,
    Contact,
    Conversation,
    Delivery,
    Direction,
    EventKind,
    Message,
    MessageKind,
    Priority,
    Status,
)

MAX_TEXT = 100_000
"""Characters of one message body kept; a longer one is cut, saying how much was left out."""
MAX_NAME = 200
_MAX_ID = 2**53  # beyond JSON's exact integers no Chatwoot id lives

STATUS_FROM = {
    "open": Status.OPEN,
    "pending": Status.BOT,  # Chatwoot's "pending" is the bot-held status
    "snoozed": Status.SNOOZED,
    "resolved": Status.RESOLVED,
}
STATUS_TO = {status: name for name, status in STATUS_FROM.items()}
"""frontdesk's statuses Chatwoot has; `Status.PENDING` (waiting on the customer) it has not."""

PRIORITY_FROM = {
    None: Priority.NONE,
    "low": Priority.LOW,
    "medium": Priority.MEDIUM,
    "high": Priority.HIGH,
    "urgent": Priority.URGENT,
}

CHANNEL_KINDS = {
    "Channel::Whatsapp": "whatsapp",
    "Channel::Email": "email",
    "Channel::FacebookPage": "messenger",
    "Channel::Line": "line",
    "Channel::Telegram": "telegram",
    "Channel::Sms": "sms",
    "Channel::TwilioSms": "sms",
    "Channel::Instagram": "instagram",
    "Channel::Api": "api",
    "Channel::WebWidget": "web",
}

DELIVERY_FROM = {
    "sent": Delivery.SENT,
    "delivered": Delivery.DELIVERED,
    "read": Delivery.READ,
    "failed": Delivery.FAILED,
    "progress": Delivery.PENDING,
}

VIEW_QUERIES: dict[View, dict[str, str]] = {
    View.MINE: {"assignee_type": "me", "status": "open"},
    View.UNASSIGNED: {"assignee_type": "unassigned", "status": "open"},
    View.ALL: {"assignee_type": "all", "status": "open"},
    View.ESCALATED: {"assignee_type": "all", "status": "open"},  # narrowed to a team by the desk
    View.SNOOZED: {"assignee_type": "all", "status": "snoozed"},
    View.RESOLVED: {"assignee_type": "all", "status": "resolved"},
    View.BOT: {"assignee_type": "all", "status": "pending"},
}
"""The conversation list query of each view (`GET …/conversations`)."""

COUNT_KEYS = {View.MINE: "mine_count", View.UNASSIGNED: "unassigned_count", View.ALL: "all_count"}
"""The views whose counts the server's list meta gives (for status "open")."""


class Unreadable(ValueError):
    """A record the server sent that cannot be read (no id, not an object)."""


# ---- scalars -------------------------------------------------------------------------------


def record_id(value: Any) -> int:
    """A record's id: a positive integer (Chatwoot also sends some as digit strings)."""
    if isinstance(value, str) and value.isdigit() and len(value) < 17:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < _MAX_ID:
        raise Unreadable(f"no usable id (got {type(value).__name__})")
    return value


def optional_id(value: Any) -> int | None:
    try:
        return record_id(value)
    except Unreadable:
        return None


def text(value: Any, limit: int = MAX_NAME) -> str:
    if not isinstance(value, str):
        return ""
    if len(value) <= limit:
        return value
    return value[:limit] + f"\n… ({len(value) - limit} more characters on the server)"


def when(value: Any) -> datetime | None:
    """A time as Chatwoot writes them: unix seconds (0 means none) or an ISO 8601 string."""
    try:
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float):
            if value <= 0 or value > 32_503_680_000:  # past year 3000: not a time
                return None
            return datetime.fromtimestamp(value, timezone.utc)
        if isinstance(value, str) and value:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def unix(moment: datetime) -> int:
    return int(moment.timestamp())


def _lookup(table: dict[Any, Any], value: Any, default: Any) -> Any:
    """`table[value]` for a text or null value the table knows, else `default` (never hashes a list)."""
    return table.get(value, default) if value is None or isinstance(value, str) else default


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _strings(value: Any, limit: int = 100) -> list[str]:
    if not isinstance(value, list):
        return []
    return [text(v) for v in value[:limit] if isinstance(v, str) and v]


def _attributes(value: Any) -> dict[str, str]:
    """Custom attributes as the contact panel shows them: text keys and values."""
    shown: dict[str, str] = {}
    for key, item in list(_obj(value).items())[:100]:
        if isinstance(item, bool | int | float | str) and not isinstance(key, bool):
            shown[text(str(key))] = text(str(item), 1000)
    return shown


# ---- account records -----------------------------------------------------------------------


def agent_user(data: dict[str, Any]) -> str:
    """The console's handle for an agent: their email (unique in an account), else `agent-<id>`."""
    email = text(data.get("email")).strip().lower()
    return email or f"agent-{record_id(data.get('id'))}"


def agent_from(data: Any) -> ServerAgent:
    data = _obj(data)
    name = text(data.get("available_name")) or text(data.get("name"))
    availability = text(data.get("availability_status")) or text(data.get("availability"))
    return ServerAgent(
        id=record_id(data.get("id")),
        user=agent_user(data),
        name=name or agent_user(data),
        availability=availability if availability in ("online", "busy", "offline") else "offline",
        role="administrator" if data.get("role") == "administrator" else "agent",
    )


def inbox_from(data: Any) -> ServerInbox:
    data = _obj(data)
    inbox_id = record_id(data.get("id"))
    channel_type = text(data.get("channel_type"))
    return ServerInbox(
        id=inbox_id,
        name=text(data.get("name")).strip() or f"inbox {inbox_id}",
        kind=CHANNEL_KINDS.get(channel_type, channel_type.removeprefix("Channel::").lower()),
    )


def canned_from(data: Any) -> CannedResponse:
    data = _obj(data)
    code = text(data.get("short_code")).strip()
    if not code:
        raise Unreadable("a canned response without a short code")
    return CannedResponse(short_code=code, content=text(data.get("content"), MAX_TEXT))


def contact_from(data: Any) -> Contact:
    data = _obj(data)
    email, phone = text(data.get("email")), text(data.get("phone_number"))
    extra = _obj(data.get("additional_attributes"))
    return Contact(
        id=record_id(data.get("id")),
        name=text(data.get("name")).strip() or email or phone or "(no name)",
        emails=[email] if email else [],
        phones=[phone] if phone else [],
        language=text(extra.get("language") or extra.get("browser_language"))[:16],
        attributes=_attributes(data.get("custom_attributes")),
    )


# ---- conversations and messages ------------------------------------------------------------


def conversation_from(data: Any, state: SeenState) -> Conversation:
    """A conversation of the list, an event or a show (`meta.sender` is its contact; the contact's
    name is kept in `state` for the rows)."""
    data = _obj(data)
    meta = _obj(data.get("meta"))
    sender = _obj(meta.get("sender"))
    contact_id = record_id(sender.get("id") or data.get("contact_id"))
    name = text(sender.get("name")).strip()
    if name:
        state.contact_names[contact_id] = name
    inbox = state.inboxes.get(optional_id(data.get("inbox_id")) or 0)
    assignee = _assignee(meta, data, state)
    team = _obj(meta.get("team"))
    team_name = text(team.get("name")) or None
    last = _last_message(data)
    status = _lookup(STATUS_FROM, data.get("status"), Status.OPEN)
    activity = when(data.get("last_activity_at")) or when(data.get("timestamp"))
    created = when(data.get("created_at")) or activity
    conv = Conversation(
        id=record_id(data.get("id")),
        channel=inbox.name if inbox is not None else f"inbox {data.get('inbox_id')}",
        contact_id=contact_id,
        thread_key=text(data.get("uuid")) or str(data.get("id")),
        status=status,
        snoozed_until=when(data.get("snoozed_until")) if status is Status.SNOOZED else None,
        priority=_lookup(PRIORITY_FROM, data.get("priority"), Priority.NONE),
        assignee=assignee,
        team=team_name,
        labels=_strings(data.get("labels")),
        preview=text(last.get("content"), 300).replace("\n", " ") if last else "",
        first_reply_at=when(data.get("first_reply_created_at")),
        waiting_since=when(data.get("waiting_since")),
        unread=_count(data.get("unread_count")),
    )
    if created is not None:
        conv.created_at = created
    if activity is not None:
        conv.last_activity_at = activity
    return conv


def _assignee(meta: dict[str, Any], data: dict[str, Any], state: SeenState) -> str | None:
    assignee = _obj(meta.get("assignee"))
    if assignee:
        try:
            agent = agent_from(assignee)
        except Unreadable:
            return None
        known = state.agents.get(agent.id)
        return known.user if known is not None else agent.user
    agent_id = optional_id(_obj(data.get("conversation")).get("assignee_id"))
    known = state.agent_by_id(agent_id)
    return known.user if known is not None else None


def _last_message(data: dict[str, Any]) -> dict[str, Any]:
    for key in ("last_non_activity_message", "messages"):
        value = data.get(key)
        if isinstance(value, list) and value:
            value = value[-1]
        if isinstance(value, dict):
            return value
    return {}


def message_from(data: Any, state: SeenState) -> Message:
    """A message of a thread page or an event (`message_type` 0 in, 1 out, 2 activity, 3 template)."""
    data = _obj(data)
    kind_code = data.get("message_type")
    direction = Direction.IN if kind_code in (0, "incoming") else Direction.OUT
    activity = kind_code in (2, "activity")
    body = text(data.get("content"), MAX_TEXT)
    attributes = _obj(data.get("content_attributes"))
    delivery = Delivery.RECEIVED
    reason = ""
    if direction is Direction.OUT and not activity and not data.get("private"):
        delivery = _lookup(DELIVERY_FROM, data.get("status"), Delivery.SENT)
        if delivery is Delivery.FAILED:
            reason = text(attributes.get("external_error"), 500) or "the channel refused it"
    attachments = [_attachment(a) for a in _list(data.get("attachments"))[:20]]
    message = Message(
        id=record_id(data.get("id")),
        conversation_id=record_id(data.get("conversation_id")),
        direction=direction,
        body=body,
        kind=MessageKind.ACTIVITY
        if activity
        else (MessageKind.ATTACHMENT if attachments and not body else MessageKind.TEXT),
        private=bool(data.get("private")) or activity,
        attachments=attachments,
        external_id=text(data.get("source_id")) or None,
        delivery=delivery,
        delivery_reason=reason,
        author=_author(data, state),
        event=_event_of(body, state) if activity else None,
    )
    created = when(data.get("created_at"))
    if created is not None:
        message.created_at = created
    return message


def echo_id_of(data: Any) -> str | None:
    """The key the console sent with a reply, as the server's event returns it."""
    value = _obj(data).get("echo_id")
    return value if isinstance(value, str) and 0 < len(value) <= 100 else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _attachment(data: Any) -> Attachment:
    data = _obj(data)
    url = text(data.get("data_url"), 2000)
    name = unquote(url.rsplit("/", 1)[-1].split("?", 1)[0])[:MAX_NAME] if url else ""
    file_type = text(data.get("file_type")) or "file"
    extension = text(data.get("extension"))
    return Attachment(
        name=name or f"{file_type}{'.' + extension if extension else ''}",
        mime=_MIMES.get(file_type, "application/octet-stream"),
        size=_count(data.get("file_size")),
        ref=url,
    )


_MIMES = {
    "image": "image/*",
    "audio": "audio/*",
    "video": "video/*",
    "file": "application/octet-stream",
}


def _author(data: dict[str, Any], state: SeenState) -> str:
    sender = _obj(data.get("sender"))
    if sender.get("type") == "user":
        agent = state.agent_by_id(optional_id(sender.get("id")))
        if agent is not None:
            return agent.user
        try:
            return agent_user(sender)
        except Unreadable:
            return ""
    return text(sender.get("available_name")) or text(sender.get("name"))


_EVENT_WORDS = (
    ("snooze", EventKind.SNOOZED),
    ("priority", EventKind.PRIORITY),
    ("assign", EventKind.ASSIGNED),
    (" added ", EventKind.LABELLED),  # "Aiko Tanaka added vip, refund" (Chatwoot's wording)
    (" removed ", EventKind.LABELLED),
)


def _event_of(body: str, state: SeenState) -> EventKind:
    lowered = body.lower()
    if lowered.startswith("assigned to "):  # "Assigned to <agent or team> by <agent>"
        target = body[len("assigned to ") :].rsplit(" by ", 1)[0].strip()
        if target and target in state.teams.values():
            return EventKind.ESCALATED
    for word, kind in _EVENT_WORDS:
        if word in lowered:
            return kind
    return EventKind.STATUS


def counts_from(meta: Any) -> dict[View, int]:
    """The server's view counts from a list answer's `meta` (only the views it counts)."""
    meta = _obj(meta)
    counts = {}
    for view, key in COUNT_KEYS.items():
        value = meta.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            counts[view] = value
    return counts


def list_payload(answer: Any) -> tuple[list[Any], dict[str, Any]]:
    """(the records, the meta) of a conversation list answer: `{"data": {"meta", "payload"}}`."""
    data = _obj(_obj(answer).get("data")) or _obj(answer)
    return _list(data.get("payload")), _obj(data.get("meta"))


def payload(answer: Any) -> Any:
    """The `payload` of an answer that wraps its records in one (else the answer itself)."""
    if isinstance(answer, dict) and "payload" in answer:
        return answer["payload"]
    return answer
