"""The fake Chatwoot's account and its rules: ConversationFinder's filters, counts and sorts,
the message pages, and each write returning the cable events Chatwoot broadcasts for it."""

from __future__ import annotations

import uuid as uuid_mod
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from frontdesk.bench.chatwoot_fake.records import (
    ACTIVITY,
    INCOMING,
    MAX_CONTENT,
    MESSAGE_STATUSES,
    MESSAGES_PAGE,
    OUTGOING,
    PAGE_SIZE,
    PRIORITIES,
    PRIORITY_RANK,
    STATUSES,
    Agent,
    Contact,
    Conversation,
    Event,
    Invalid,
    Message,
    Note,
    NotFound,
    int_or_none,
    params_list,
)
from frontdesk.bench.chatwoot_fake.shapes import Shapes

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


class Account(Shapes):
    """One Chatwoot account in memory: its records, their JSON, and its rules."""

    # ---- reads -------------------------------------------------------------------------------

    def find(self, user_id: int, params: Mapping[str, Any]) -> tuple[list[Conversation], dict]:
        """ConversationFinder: (the conversations of the asked assignee type, sorted, every
        page) and the four counts, taken after the status/inbox/team/labels/q filters and
        before the assignee type, as Chatwoot counts them."""
        convs: Iterable[Conversation] = self.conversations.values()
        inbox_id = params.get("inbox_id")
        if inbox_id is not None:
            wanted = int_or_none(inbox_id)
            convs = [c for c in convs if c.inbox_id == wanted]
        query = params.get("q")
        if not query:
            status = params.get("status") or "open"
            if status != "all":
                convs = [c for c in convs if c.status == status]
        team_id = params.get("team_id")
        if team_id is not None:
            if int_or_none(team_id) not in self.teams:
                raise NotFound(f"team {team_id}")
            convs = [c for c in convs if c.team_id == int(team_id)]
        labels = set(params_list(params, "labels"))
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
        number = max(1, int_or_none(page) or 1)
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

    def search_contacts(self, query: str) -> list[Contact]:
        """Contacts search: name, email, phone number or identifier contains `q`, newest first."""
        q = query.lower()
        found = [
            c
            for c in self.contacts.values()
            if any(f and q in f.lower() for f in (c.name, c.email, c.phone_number, c.identifier))
        ]
        found.sort(key=lambda c: (c.last_activity_at or 0, c.id), reverse=True)
        return found

    def message_page(self, conv: Conversation, before: Any = None, after: Any = None):
        """MessageFinder: the 20 messages before `before` (or the last 20), oldest first."""
        msgs = conv.messages
        if after is not None:
            bound = int_or_none(after) or 0
            return [m for m in msgs if m.id > bound][:100]
        if before is not None:
            bound = int_or_none(before) or 0
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
        None) the contact's incoming message, with its `files` ([(name, bytes)]) and the
        conversation changes it causes."""
        incoming = user_id is None
        if content is not None and not isinstance(content, str):
            raise Invalid("content must be a string")
        if not (content or "").strip() and not options.get("files"):
            raise Invalid("Content can't be blank")
        if len(content or "") > MAX_CONTENT:
            raise Invalid(f"Content is too long (maximum is {MAX_CONTENT} characters)")
        attributes = options.get("content_attributes") or {}
        if not isinstance(attributes, dict) or not isinstance(
            options.get("content_type") or "", str
        ):
            raise Invalid("content_attributes must be an object and content_type a string")
        msg = self.add_message(
            conv,
            content,
            INCOMING if incoming else OUTGOING,
            private=bool(options.get("private")) and not incoming,
            sender_type="Contact" if incoming else "User",
            sender_id=conv.contact_id if incoming else user_id,
            echo_id=options.get("echo_id") or None,
            content_type=options.get("content_type") or "text",
            content_attributes=dict(attributes),
            source_id=options.get("source_id")
            or (f"src-{uuid_mod.uuid4().hex[:12]}" if incoming else None),
        )
        for name, data in options.get("files") or ():
            self.attach(msg, name, data)
        created = ("message.created", self.message_json(msg, echo=True))
        return msg, [created] + self._after_message(conv, msg)

    def _after_message(self, conv: Conversation, msg: Message) -> list[Event]:
        """What a new message changes: an incoming one reopens a snoozed or resolved
        conversation and starts the wait; a first public reply stamps first_reply_created_at."""
        before = (conv.status, conv.first_reply_created_at, conv.waiting_since)
        if msg.message_type == INCOMING:
            if conv.status in ("snoozed", "resolved"):
                conv.status, conv.snoozed_until = "open", None
            if conv.waiting_since is None:
                conv.waiting_since = msg.created_at
            self.contacts[conv.contact_id].last_activity_at = msg.created_at
        elif not msg.private:
            if conv.first_reply_created_at is None:
                conv.first_reply_created_at = msg.created_at
            conv.waiting_since = None
        if (conv.status, conv.first_reply_created_at, conv.waiting_since) == before:
            return []
        self._touch(conv)
        events: list[Event] = []
        if conv.status != before[0]:
            events.append(("conversation.status_changed", self.conversation_event(conv)))
        return events + [("conversation.updated", self.conversation_event(conv))]

    def set_status(
        self, conv: Conversation, user: Agent, status: str | None, snoozed_until: Any = None
    ) -> list[Event]:
        """toggle_status: the asked status (snoozed until a unix time), or open <-> resolved."""
        if status is None:
            status = "resolved" if conv.status == "open" else "open"
        if status not in STATUSES:
            raise Invalid(f"'{status}' is not a valid status")
        previous = (conv.status, conv.snoozed_until)
        conv.status = status
        conv.snoozed_until = int_or_none(snoozed_until) if status == "snoozed" else None
        if status == "resolved":
            conv.waiting_since = None
        if previous == (conv.status, conv.snoozed_until):
            return []
        self._touch(conv)
        events: list[Event] = []
        if previous[0] != status:
            events.append(("conversation.status_changed", self.conversation_event(conv)))
            events += self._activity(conv, _status_line(status, user.name))
        return events + [("conversation.updated", self.conversation_event(conv))]

    def wake_snoozed(self) -> list[Event]:
        """ReopenSnoozedConversationsJob: every conversation snoozed until now or before opens
        again (no activity line: no agent did it)."""
        now = self.now()
        events: list[Event] = []
        for conv in self.conversations.values():
            if conv.status == "snoozed" and conv.snoozed_until and conv.snoozed_until <= now:
                conv.status, conv.snoozed_until = "open", None
                self._touch(conv)
                events.append(("conversation.status_changed", self.conversation_event(conv)))
                events.append(("conversation.updated", self.conversation_event(conv)))
        return events

    def set_priority(self, conv: Conversation, user: Agent, priority: Any) -> list[Event]:
        """toggle_priority: one of low/medium/high/urgent, or none (no priority)."""
        value = priority if priority not in (None, "", "none") else None
        if value is not None and value not in PRIORITIES:
            raise Invalid(f"'{priority}' is not a valid priority")
        if value == conv.priority:
            return []
        old, conv.priority = conv.priority, value
        self._touch(conv)
        return self._activity(conv, _priority_line(user.name, old, value)) + [
            ("conversation.updated", self.conversation_event(conv))
        ]

    def assign_agent(self, conv: Conversation, user: Agent, assignee_id: Any) -> list[Event]:
        """assignments {assignee_id}: the agent; None, blank or an id of nobody in the account
        unassigns, as Conversations::AssignmentService's find_by does."""
        target = int_or_none(assignee_id)
        if target not in self.agents:
            target = None
        if target == conv.assignee_id:
            return []
        conv.assignee_id = target
        self._touch(conv)
        if target is None:
            text = f"Conversation unassigned by {user.name}"
        elif target == user.id:
            text = f"{user.name} self-assigned this conversation"
        else:
            text = f"Assigned to {self.agents[target].name} by {user.name}"
        events = [("assignee.changed", self.conversation_event(conv))]
        events += self._activity(conv, text)
        return events + [("conversation.updated", self.conversation_event(conv))]

    def assign_team(self, conv: Conversation, user: Agent, team_id: Any) -> list[Event]:
        """assignments {team_id}: the team; an assignee outside it is unassigned, as Chatwoot's
        AssignmentHandler#ensure_assignee_is_from_team does."""
        team = self.teams.get(int_or_none(team_id) or 0)
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
        texts = {k: body[k] for k in ("name", "email", "phone_number", "identifier") if k in body}
        merged = {k: body[k] for k in ("custom_attributes", "additional_attributes") if k in body}
        if not all(v is None or isinstance(v, str) for v in texts.values()):
            raise Invalid("name, email, phone_number and identifier must be strings")
        if not all(isinstance(v, dict) for v in merged.values()):
            raise Invalid("custom_attributes and additional_attributes must be objects")
        for key, value in texts.items():
            setattr(contact, key, value)
        for key, value in merged.items():
            setattr(contact, key, {**getattr(contact, key), **value})
        return [("contact.updated", {**contact.push_data(), "account_id": self.id})]

    def add_note(self, contact: Contact, user: Agent, content: Any) -> Note:
        """notes POST: an agent's note on the contact."""
        if not isinstance(content, str) or not content.strip():
            raise Invalid("Content can't be blank")
        return self.notes_by(contact, user.id, content)

    def notes_by(self, contact: Contact, user_id: int, content: str) -> Note:
        note = Note(self.next_id("note"), contact.id, user_id, content, self.now())
        self.notes[note.id] = note
        return note


def _priority_line(name: str, old: str | None, new: str | None) -> str:
    """The activity line Chatwoot writes for a priority change (its en.yml wording)."""
    if new is None:
        return f"{name} removed the priority"
    if old is None:
        return f"{name} set the priority to {new}"
    return f"{name} changed the priority from {old} to {new}"


def _status_line(status: str, name: str) -> str:
    """The activity line Chatwoot writes for a status change (its en.yml wording)."""
    return {
        "open": f"Conversation was reopened by {name}",
        "resolved": f"Conversation was marked resolved by {name}",
        "pending": f"Conversation was marked as pending by {name}",
        "snoozed": f"Conversation was snoozed by {name}",
    }[status]
