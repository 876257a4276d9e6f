"""Converters between domain dataclasses and the JSON records of the cache (TinyDB's layout)."""

from __future__ import annotations

from dataclasses import astuple, dataclass, field
from datetime import datetime
from typing import Any

from frontdesk.model import (
    Attachment,
    Contact,
    Conversation,
    Delivery,
    Direction,
    EventKind,
    Identity,
    Message,
    MessageKind,
    Priority,
    Status,
    TemplateExtra,
    TemplateSend,
    Ticket,
)


def _ts(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def contact_to_record(c: Contact) -> dict[str, Any]:
    return {
        "name": c.name,
        "emails": c.emails,
        "phones": c.phones,
        "language": c.language,
        "notes": c.notes,
        "attributes": c.attributes,
        "identities": [[i.channel, i.address] for i in c.identities],
        "merged_into": c.merged_into,
    }


def contact_from_record(doc_id: int, r: dict[str, Any]) -> Contact:
    name, language, notes = r["name"], r.get("language", ""), r.get("notes", "")
    if type(name) is not str or type(language) is not str or type(notes) is not str:
        raise TypeError("name, language and notes must be text")
    return Contact(
        id=doc_id,
        name=name,
        emails=list(r.get("emails", [])),
        phones=list(r.get("phones", [])),
        language=language,
        notes=notes,
        attributes=dict(r.get("attributes", {})),
        identities=[Identity(ch, addr) for ch, addr in r.get("identities", [])],
        merged_into=r.get("merged_into"),
    )


def conversation_to_record(c: Conversation) -> dict[str, Any]:
    record: dict[str, Any] = {
        "channel": c.channel,
        "contact_id": c.contact_id,
        "thread_key": c.thread_key,
        "status": c.status.value,
        "snoozed_until": _ts(c.snoozed_until),
        "priority": c.priority.value,
        "assignee": c.assignee,
        "team": c.team,
        "labels": c.labels,
        "subject": c.subject,
        "preview": c.preview,
        "created_at": _ts(c.created_at),
        "first_reply_at": _ts(c.first_reply_at),
        "waiting_since": _ts(c.waiting_since),
        "last_activity_at": _ts(c.last_activity_at),
        "unread": c.unread,
        "window_expires_at": _ts(c.window_expires_at),
        "message_count": c.message_count,
    }
    if c.tickets:  # left out when empty, like a message's optional fields
        record["tickets"] = [_ticket_to_record(t) for t in c.tickets]
    if c.survey_sent_at is not None:
        record["survey_sent_at"] = _ts(c.survey_sent_at)
    if c.rating is not None:
        record["rating"], record["rated_at"] = c.rating, _ts(c.rated_at)
    return record


def _ticket_to_record(t: Ticket) -> dict[str, Any]:
    return {"hook": t.hook, "id": t.id, "url": t.url, "created_at": _ts(t.created_at)}


def _ticket_from_record(r: dict[str, Any]) -> Ticket:
    return Ticket(
        hook=r.get("hook", ""),
        id=r.get("id", ""),
        url=r.get("url", ""),
        created_at=_dt(r.get("created_at")),
    )


_STATUS = {s.value: s for s in Status}  # a dict lookup costs a fraction of Status(value)
_PRIORITY = {p.value: p for p in Priority}
_fromiso = datetime.fromisoformat


def conversation_from_record(doc_id: int, r: dict[str, Any]) -> Conversation:
    # run 10,000 times when the cache opens: plain lookups, no helper calls
    get = r.get
    status, priority, tickets = r["status"], get("priority", "none"), get("tickets")
    created, snoozed, first, waiting = (
        r["created_at"],
        get("snoozed_until"),
        get("first_reply_at"),
        get("waiting_since"),
    )
    last, window = r["last_activity_at"], get("window_expires_at")
    channel, thread_key, subject, preview = (
        r["channel"],
        r["thread_key"],
        get("subject", ""),
        get("preview", ""),
    )
    contact_id, unread, count = r["contact_id"], get("unread", 0), get("message_count", 0)
    # a hand-edited value of another type would be shown as it is and stop the console
    if not (
        type(channel) is str
        and type(thread_key) is str
        and type(subject) is str
        and type(preview) is str
    ):
        raise TypeError("channel, thread_key, subject and preview must be text")
    if not (type(contact_id) is int and type(unread) is int and type(count) is int):
        raise TypeError("contact_id, unread and message_count must be whole numbers")
    return Conversation(
        id=doc_id,
        channel=channel,
        contact_id=contact_id,
        thread_key=thread_key,
        status=_STATUS.get(status) or Status(status),
        snoozed_until=_fromiso(snoozed) if snoozed else None,
        priority=_PRIORITY.get(priority) or Priority(priority),
        assignee=get("assignee"),
        team=get("team"),
        labels=list(get("labels") or ()),
        subject=subject,
        preview=preview,
        created_at=_fromiso(created) if created else None,  # type: ignore[arg-type]
        first_reply_at=_fromiso(first) if first else None,
        waiting_since=_fromiso(waiting) if waiting else None,
        last_activity_at=_fromiso(last) if last else None,  # type: ignore[arg-type]
        unread=unread,
        window_expires_at=_fromiso(window) if window else None,
        message_count=count,
        tickets=[_ticket_from_record(t) for t in tickets] if tickets else [],
        **(_survey_from_record(r) if "survey_sent_at" in r or "rating" in r else {}),
    )


def _survey_from_record(r: dict[str, Any]) -> dict[str, Any]:
    """The CSAT fields; a rating that is not a whole number from 1 to 5 is dropped."""
    rating = r.get("rating")
    valid = type(rating) is int and 1 <= rating <= 5
    return {
        "survey_sent_at": _dt(r.get("survey_sent_at")),
        "rating": rating if valid else None,
        "rated_at": _dt(r.get("rated_at")) if valid else None,
    }


def message_to_record(m: Message) -> dict[str, Any]:
    record: dict[str, Any] = {
        "conversation_id": m.conversation_id,
        "direction": m.direction.value,
        "kind": m.kind.value,
        "body": m.body,
        "private": m.private,
        "external_id": m.external_id,
        "delivery": m.delivery.value,
        "author": m.author,
        "created_at": _ts(m.created_at),
    }
    # optional fields are left out when empty: most messages have none of them
    if m.attachments:
        record["attachments"] = [[a.name, a.mime, a.size, a.ref] for a in m.attachments]
    if m.delivery_reason:
        record["delivery_reason"] = m.delivery_reason
    if m.event is not None:
        record["event"] = m.event.value
    if m.mentions:
        record["mentions"] = m.mentions
    if m.template is not None:
        record["template"] = [m.template.name, m.template.language, list(m.template.parameters)]
        if m.template.extras:  # a header's or buttons' values, kept as plain lists
            record["template"].append([list(astuple(e)) for e in m.template.extras])
    return record


_DIRECTION = {d.value: d for d in Direction}
_KIND = {k.value: k for k in MessageKind}
_DELIVERY = {d.value: d for d in Delivery}


def message_from_record(doc_id: int, r: dict[str, Any]) -> Message:
    # run for every message of a thread when it is first opened (5,000 for a long one):
    # enum members by dict lookup, the constructor (which names any unknown value) only when that misses
    get = r.get
    direction, kind, delivery = r["direction"], get("kind", "text"), get("delivery", "received")
    event, attachments, mentions, created = (
        get("event"),
        get("attachments"),
        get("mentions"),
        r["created_at"],
    )
    body, author, reason = get("body", ""), get("author", ""), get("delivery_reason", "")
    if type(body) is not str or type(author) is not str or type(reason) is not str:
        raise TypeError("body, author and delivery_reason must be text")
    return Message(
        id=doc_id,
        conversation_id=r["conversation_id"],
        direction=_DIRECTION.get(direction) or Direction(direction),
        kind=_KIND.get(kind) or MessageKind(kind),
        body=body,
        private=get("private", False),
        attachments=[Attachment(*a) for a in attachments] if attachments else [],
        external_id=get("external_id"),
        delivery=_DELIVERY.get(delivery) or Delivery(delivery),
        delivery_reason=reason,
        author=author,
        created_at=_fromiso(created) if created else None,  # type: ignore[arg-type]
        event=EventKind(event) if event else None,
        mentions=list(mentions) if mentions else [],
        template=_template(get("template")),
    )


def _template(found: Any) -> TemplateSend | None:
    """A sent template as `message_to_record` wrote it; None when there is none."""
    if not found:
        return None
    name, language, parameters, *rest = found
    extras = [TemplateExtra(*e) for e in rest[0]] if rest else []
    return TemplateSend(str(name), str(language), [str(p) for p in parameters], extras)


@dataclass(slots=True)
class OutboxEntry:
    """A reply waiting to reach its channel. Removed once the message has a final state."""

    message_id: int
    conversation_id: int
    channel: str
    state: str = "pending"  # "pending" (safe to send) or "sending" (handed to the backend)
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str = ""
    created_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def outbox_to_record(e: OutboxEntry) -> dict[str, Any]:
    return {
        "conversation_id": e.conversation_id,
        "channel": e.channel,
        "state": e.state,
        "attempts": e.attempts,
        "next_attempt_at": _ts(e.next_attempt_at),
        "last_error": e.last_error,
        "created_at": _ts(e.created_at),
        "extra": e.extra,
    }


def outbox_from_record(doc_id: int, r: dict[str, Any]) -> OutboxEntry:
    return OutboxEntry(
        message_id=doc_id,
        conversation_id=r["conversation_id"],
        channel=r["channel"],
        state=r.get("state", "pending"),
        attempts=r.get("attempts", 0),
        next_attempt_at=_dt(r.get("next_attempt_at")),
        last_error=r.get("last_error", ""),
        created_at=_dt(r.get("created_at")),
        extra=dict(r.get("extra", {})),
    )


@dataclass(slots=True)
class HookJob:
    """One run of an escalation hook for one conversation, kept until it succeeds or fails for good.

    `payload` is the JSON built when the agent escalated, so a retry after a restart sends
    the same thing; `key` is sent as Idempotency-Key so a receiver can drop a repeat.
    """

    id: int
    conversation_id: int
    hook: str
    payload: dict[str, Any]
    key: str
    state: str = "pending"  # "pending" (due at next_attempt_at), "running", "failed" (for good)
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str = ""
    created_at: datetime | None = None


def hook_job_to_record(j: HookJob) -> dict[str, Any]:
    return {
        "conversation_id": j.conversation_id,
        "hook": j.hook,
        "payload": j.payload,
        "key": j.key,
        "state": j.state,
        "attempts": j.attempts,
        "next_attempt_at": _ts(j.next_attempt_at),
        "last_error": j.last_error,
        "created_at": _ts(j.created_at),
    }


def hook_job_from_record(doc_id: int, r: dict[str, Any]) -> HookJob:
    return HookJob(
        id=doc_id,
        conversation_id=r["conversation_id"],
        hook=r["hook"],
        payload=dict(r.get("payload", {})),
        key=r.get("key", f"frontdesk-hook-{doc_id}"),
        state=r.get("state", "pending"),
        attempts=r.get("attempts", 0),
        next_attempt_at=_dt(r.get("next_attempt_at")),
        last_error=r.get("last_error", ""),
        created_at=_dt(r.get("created_at")),
    )
