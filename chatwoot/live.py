"""Chatwoot's live events applied to what the console holds (`SeenState`), as the desk's changes.

`Live.apply(event, data)` takes one event of the feed (`chatwoot.cable.EVENTS`), updates the
state through its `put_*` (records the console shows are updated in place) and returns the
`Change`s to publish. It also keeps what Chatwoot sends but never stores: who is typing.
A payload it cannot read changes nothing (a debug log says so); it never raises.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from frontdesk.chatwoot.cable import CONVERSATION_EVENTS
from frontdesk.chatwoot.mapping import (
    Unreadable,
    agent_user,
    contact_from,
    conversation_from,
    echo_id_of,
    message_from,
    optional_id,
    when,
)
from frontdesk.chatwoot.state import SeenState
from frontdesk.desk.changes import Change, ChangeKind
from frontdesk.desk.presence import TYPING, TYPING_SECONDS, Activity
from frontdesk.model import Direction, Message, MessageKind

log = logging.getLogger("frontdesk.chatwoot")

AGENT_TYPING_SECONDS = 30.0
"""How long another agent's typing shows without news: Chatwoot's dashboard ends it after 30 s too."""
PREVIEW_CHARS = 200
AVAILABILITY = ("online", "busy", "offline")


class Live:
    """The feed's events applied to `state`.

    `on_echo(echo_id, data)` hears each message the server created for a reply this console
    sent with that key (the outbox confirms it); `on_missing(conv_id)` hears of a message in a
    conversation the state does not hold (the desk may fetch it to list it)."""

    def __init__(
        self,
        state: SeenState,
        *,
        on_echo: Callable[[str, dict[str, Any]], None] | None = None,
        on_missing: Callable[[int], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.state = state
        self._on_echo, self._on_missing, self._clock = on_echo, on_missing, clock
        self._customer_typing: dict[int, float] = {}  # conversation -> when it lapses
        self._agent_typing: dict[str, tuple[int, float]] = {}  # agent -> (conversation, lapse)
        self._handlers: dict[str, Callable[[dict[str, Any]], list[Change]]] = {
            "message.created": self._message_created,
            "message.updated": self._message_updated,
            "conversation.typing_on": lambda data: self._typing(data, True),
            "conversation.typing_off": lambda data: self._typing(data, False),
            "presence.update": self._presence,
            "contact.updated": self._contact,
            **dict.fromkeys(CONVERSATION_EVENTS, self._conversation),
        }

    def apply(self, event: str, data: dict[str, Any]) -> list[Change]:
        """Apply one event; the changes to publish ([] for one that changes nothing)."""
        handler = self._handlers.get(event)
        if handler is None:
            log.debug("skipped the %r event, which the console does not follow", event[:64])
            return []
        try:
            return handler(data if isinstance(data, dict) else {})
        except Unreadable as exc:
            log.debug("skipped a %s event from Chatwoot: %s", event, exc)
            return []

    # ---- what Chatwoot sends but never stores -----------------------------------------------

    def is_typing(self, conv_id: int) -> bool:
        """The customer of `conv_id` is typing (until they stop, send, or TYPING_SECONDS pass)."""
        until = self._customer_typing.get(conv_id)
        return until is not None and self._clock() < until

    def activity(self, conv_id: int) -> list[Activity]:
        """The other agents typing in `conv_id` (Chatwoot says nothing of who is viewing)."""
        now = self._clock()
        return [
            Activity(agent, TYPING)
            for agent, (conv, until) in self._agent_typing.items()
            if conv == conv_id and now < until
        ]

    def lost(self) -> list[Change]:
        """The feed is lost: who was typing is unknown now (their stop would not reach us)."""
        changes = [Change(ChangeKind.TYPING, conv) for conv in sorted(self._customer_typing)]
        changes += [
            Change(ChangeKind.ACTIVITY, conv, agent=agent)
            for agent, (conv, _) in sorted(self._agent_typing.items())
        ]
        self._customer_typing.clear()
        self._agent_typing.clear()
        return changes

    # ---- conversations ----------------------------------------------------------------------

    def _conversation(self, data: dict[str, Any]) -> list[Change]:
        conv = self.state.put_conversation(conversation_from(data, self.state))
        return [Change(ChangeKind.CONVERSATION, conv.id)]

    def _contact(self, data: dict[str, Any]) -> list[Change]:
        """A contact edited on the server: their name on the rows, their details in the panel
        (the notes the console read stay: this event does not carry them)."""
        fresh = contact_from(data)
        self.state.contact_names[fresh.id] = fresh.name
        held = self.state.contacts.get(fresh.id)
        if held is not None:
            held.name, held.emails, held.phones = fresh.name, fresh.emails, fresh.phones
            held.language, held.attributes = fresh.language or held.language, fresh.attributes
        convs = self.state.conversations.values()
        return [Change(ChangeKind.CONVERSATION, c.id) for c in convs if c.contact_id == fresh.id]

    # ---- messages ---------------------------------------------------------------------------

    def _message_created(self, data: dict[str, Any]) -> list[Change]:
        message = message_from(data, self.state)
        conv_id = message.conversation_id
        kept_thread, known = self.state.message(conv_id, message.id)
        echo_id = echo_id_of(data)
        replaced = echo_id is not None and self._holds_echo(conv_id, echo_id)
        kept = self.state.put_message(message, echo_id) or message
        if echo_id is not None and self._on_echo is not None:
            self._on_echo(echo_id, data)
        changes = self._touch_conversation(kept, data, new=known is None)
        if kept.direction is Direction.IN and self._customer_typing.pop(conv_id, None) is not None:
            changes.append(Change(ChangeKind.TYPING, conv_id))  # they sent what they typed
        if replaced:  # the thread shows the local copy under its own id: read it again
            return [c for c in changes if c.kind is not ChangeKind.MESSAGE]
        return [Change(ChangeKind.MESSAGE, conv_id, kept.id), *changes]

    def _message_updated(self, data: dict[str, Any]) -> list[Change]:
        message = message_from(data, self.state)
        kept = self.state.put_message(message, echo_id_of(data))
        if kept is None:  # a thread not kept is read whole when it is opened
            return []
        return [Change(ChangeKind.MESSAGE, kept.conversation_id, kept.id)]

    def _holds_echo(self, conv_id: int, echo_id: str) -> bool:
        thread = self.state.threads.get(conv_id) or {}
        return any(m.id < 0 and m.external_id == echo_id for m in thread.values())

    def _touch_conversation(
        self, message: Message, data: dict[str, Any], new: bool
    ) -> list[Change]:
        """A message's effect on its conversation's row: activity, unread count, preview."""
        conv = self.state.conversations.get(message.conversation_id)
        if conv is None:
            if self._on_missing is not None:
                self._on_missing(message.conversation_id)
            return []
        summary = data.get("conversation")
        summary = summary if isinstance(summary, dict) else {}
        conv.last_activity_at = max(
            conv.last_activity_at, when(summary.get("last_activity_at")) or message.created_at
        )
        unread = summary.get("unread_count")
        if isinstance(unread, int) and not isinstance(unread, bool) and unread >= 0:
            conv.unread = unread
        if message.kind is not MessageKind.ACTIVITY:
            conv.preview = _preview(message) or conv.preview
        if new:
            conv.message_count += 1
        return [Change(ChangeKind.CONVERSATION, conv.id)]

    # ---- typing and presence ----------------------------------------------------------------

    def _typing(self, data: dict[str, Any], on: bool) -> list[Change]:
        conversation = data.get("conversation")
        conv_id = optional_id(conversation.get("id") if isinstance(conversation, dict) else None)
        if conv_id is None or conv_id not in self.state.conversations:
            return []  # only for rows the console can show: a stranger's id grows nothing
        user = data.get("user")
        user = user if isinstance(user, dict) else {}
        kind = user.get("type")
        if kind is None:  # older servers: a private note is only ever an agent's
            kind = "user" if data.get("is_private") is True else "contact"
        if kind == "contact":
            return self._customer_types(conv_id, on)
        if kind == "user":
            return self._agent_types(user, conv_id, on)
        return []  # a bot typing is not a person at work

    def _customer_types(self, conv_id: int, on: bool) -> list[Change]:
        if on:
            self._customer_typing[conv_id] = self._clock() + TYPING_SECONDS
        elif self._customer_typing.pop(conv_id, None) is None:
            return []
        return [Change(ChangeKind.TYPING, conv_id)]

    def _agent_types(self, user: dict[str, Any], conv_id: int, on: bool) -> list[Change]:
        known = self.state.agent_by_id(optional_id(user.get("id")))
        agent = known.user if known is not None else agent_user(user)
        me = self.state.me
        if me is not None and agent == me.user:
            return []  # this console's own typing, from another of its sessions
        before = self._agent_typing.pop(agent, None)
        touched = {before[0]} if before is not None else set()
        if on:
            self._agent_typing[agent] = (conv_id, self._clock() + AGENT_TYPING_SECONDS)
            touched.add(conv_id)
        return [Change(ChangeKind.ACTIVITY, conv, agent=agent) for conv in sorted(touched)]

    def _presence(self, data: dict[str, Any]) -> list[Change]:
        """Who is available: `users` maps agent ids (as text) to a status; absent means offline."""
        users = data.get("users")
        if not isinstance(users, dict):
            return []
        changes = []
        for agent in self.state.agents.values():
            status = users.get(str(agent.id))
            status = status if status in AVAILABILITY else ("online" if status else "offline")
            if agent.availability != status:
                agent.availability = status
                changes.append(Change(ChangeKind.PRESENCE, agent=agent.user))
            me = self.state.me
            if me is not None and me.id == agent.id:
                me.availability = status
        return changes


def _preview(message: Message) -> str:
    first = next((line for line in message.body.splitlines() if line.strip()), "")
    if not first and message.attachments:
        first = "📎 " + message.attachments[0].name
    return first[:PREVIEW_CHARS]
