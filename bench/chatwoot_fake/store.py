"""The fake Chatwoot's account as records: each kind by id, the ids it hands out, its clock."""

from __future__ import annotations

import time
import uuid as uuid_mod
from collections.abc import Callable, Iterable
from typing import Any

from frontdesk.bench.chatwoot_fake.records import (
    Agent,
    Attachment,
    Contact,
    Conversation,
    Inbox,
    Message,
    Note,
    NotFound,
    Team,
    file_type_of,
    int_or_none,
)


class Records:
    """One Chatwoot account's records by id, the ids it hands out, and its clock."""

    def __init__(self, account_id: int = 1, clock: Callable[[], float] | None = None) -> None:
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
        self.blobs: dict[int, Attachment] = {}
        self.base_url = ""
        """Where the server listens: attachments' data_url start with it."""
        self._next: dict[str, int] = {}

    def next_id(self, kind: str) -> int:
        self._next[kind] = self._next.get(kind, 0) + 1
        return self._next[kind]

    def now(self) -> int:
        return int(self.clock())

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

    def attach(self, msg: Message, name: str, data: bytes) -> Attachment:
        """Put a file on `msg` (a customer's photo, an agent's upload)."""
        kind = file_type_of(name)
        size = (1, 1) if kind == "image" else (None, None)
        att = Attachment(self.next_id("attachment"), msg.id, kind, name, data, *size)
        msg.attachments.append(att)
        self.blobs[att.id] = att
        return att

    def conversation(self, conv_id: Any) -> Conversation:
        conv = self.conversations.get(int_or_none(conv_id) or 0)
        if conv is None:
            raise NotFound(f"conversation {conv_id}")
        return conv

    def contact(self, contact_id: Any) -> Contact:
        contact = self.contacts.get(int_or_none(contact_id) or 0)
        if contact is None:
            raise NotFound(f"contact {contact_id}")
        return contact
