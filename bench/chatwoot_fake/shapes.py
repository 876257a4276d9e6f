"""Chatwoot's JSON for the fake's messages and conversations: the REST partials and the
`push_event_data` the cable events carry."""

from __future__ import annotations

from typing import Any

from frontdesk.bench.chatwoot_fake.records import (
    ACTIVITY,
    INCOMING,
    UNREAD_CAP,
    Attachment,
    Conversation,
    Message,
    Note,
    iso,
)
from frontdesk.bench.chatwoot_fake.store import Records


class Shapes(Records):
    """The account's records as Chatwoot prints them."""

    def attachment_json(self, att: Attachment) -> dict[str, Any]:
        """Attachment#push_event_data."""
        url = self.base_url + att.blob_path
        return {
            "id": att.id,
            "message_id": att.message_id,
            "file_type": att.file_type,
            "account_id": self.id,
            "extension": att.name.rsplit(".", 1)[-1] if "." in att.name else None,
            "data_url": url,
            "thumb_url": url if att.file_type == "image" else "",
            "file_size": len(att.data),
            "width": att.width,
            "height": att.height,
        }

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

    def message_json(self, msg: Message, echo: bool = False) -> dict[str, Any]:
        """Message#push_event_data: the REST message and the message.* event data; `echo`:
        with the echo_id the client sent, which only the creating request's answer and its
        message.created carry (Chatwoot keeps it in memory, not in the database)."""
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
        if echo and msg.echo_id:
            data["echo_id"] = msg.echo_id
        if msg.attachments:
            data["attachments"] = [self.attachment_json(a) for a in msg.attachments]
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
