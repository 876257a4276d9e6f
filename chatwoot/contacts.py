"""Contacts, search, canned responses and attachments of a Chatwoot account, as `ChatwootDesk` reads them.

Mixed into `ChatwootDesk`, which provides `_api`, `_state`, `_ask` and `_publish`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from frontdesk.backends.base import PermanentError, safe_filename, write_unique
from frontdesk.chatwoot.canned import canned_replies
from frontdesk.chatwoot.mapping import (
    MAX_TEXT,
    Unreadable,
    contact_from,
    conversation_from,
    list_payload,
    payload,
    text,
)
from frontdesk.desk.attachments import AttachmentData
from frontdesk.desk.canned import CannedReply, variables_for
from frontdesk.desk.contacts import check_edit
from frontdesk.desk.errors import DeskError
from frontdesk.desk.report import Grouping, Report
from frontdesk.desk.search import SearchMatch
from frontdesk.model import Contact, Conversation
from frontdesk.store.search import SearchHit

log = logging.getLogger("frontdesk.chatwoot")

MAX_NOTES = 50
"""A contact's notes read for the contact panel (the newest)."""
CONTACT_FRESH = 60.0
"""Seconds a contact read from the server answers again without asking."""
CONTACTS_TIMED = 10_000


class Contacts:
    """The contact, search and canned reads of `ChatwootDesk`."""

    _contacts_read: dict[int, float]  # contact -> when it was last read from the server

    async def contact(self, contact_id: int) -> Contact:
        """The contact and their notes; one read within `CONTACT_FRESH` seconds is answered from
        what was kept (each conversation opened asks for its contact; live events keep the
        details current meanwhile)."""
        kept = self._state.contacts.get(contact_id)
        if self._problem:
            if kept is None:
                raise DeskError(
                    f"contact #{contact_id} was not read before and {self._api.host} is not answering"
                )
            return kept
        read_at = self._contacts_read.get(contact_id)
        if kept is not None and read_at is not None and time.monotonic() - read_at < CONTACT_FRESH:
            return kept
        what = f"Could not read contact #{contact_id}"
        answer = await self._ask(what, lambda: self._api.contact(contact_id))
        try:
            contact = contact_from(payload(answer))
        except Unreadable:
            raise DeskError(
                f"Chatwoot sent contact #{contact_id} in a form not understood"
            ) from None
        notes = await self._ask(what, lambda: self._api.contact_notes(contact_id))
        contact.notes = _notes_text(notes)
        if len(self._contacts_read) >= CONTACTS_TIMED:
            self._contacts_read.clear()
        self._contacts_read[contact_id] = time.monotonic()
        return self._state.put_contact(contact)

    async def update_contact(
        self,
        contact_id: int,
        *,
        notes: str | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> Contact:
        """`attributes` become the contact's custom attributes (Chatwoot's update merges: the keys
        left out are removed with a second call); notes changed here become a new note on the
        contact (Chatwoot keeps notes as a list): the text added, or the whole text when it was
        rewritten. Checked first, as the local desk checks an edit."""
        notes, attributes = check_edit(notes, attributes)
        contact = await self.contact(contact_id)
        what = f"Could not update contact #{contact_id}"
        if attributes is not None:
            gone = sorted(set(contact.attributes) - set(attributes))
            await self._ask(what, lambda: self._api.update_contact(contact_id, attributes))
            if gone:
                await self._ask(what, lambda: self._api.delete_contact_attributes(contact_id, gone))
            contact.attributes = dict(attributes)
        if notes is not None and notes.strip() != contact.notes.strip():
            old = contact.notes.strip()
            added = notes.strip()[len(old) :].strip() if old and notes.startswith(old) else notes
            if added.strip():
                await self._ask(what, lambda: self._api.add_contact_note(contact_id, added.strip()))
            contact.notes = notes
        return self._state.put_contact(contact)

    async def merge_contacts(self, keep_id: int, other_id: int) -> Contact:
        raise DeskError(self.unsupported["merge_contacts"])

    async def contact_conversations(self, contact_id: int) -> list[Conversation]:
        if not self._problem:
            answer = await self._ask(
                f"Could not read contact #{contact_id}'s conversations",
                lambda: self._api.contact_conversations(contact_id),
            )
            self._put_conversations(payload(answer))
        found = [c for c in self._state.conversations.values() if c.contact_id == contact_id]
        return sorted(found, key=lambda c: c.last_activity_at, reverse=True)

    async def find_contacts(self, query: str, limit: int = 50) -> list[Contact]:
        if not query.strip():
            return []
        answer = await self._ask(
            "Could not search contacts", lambda: self._api.search_contacts(query)
        )
        found = []
        records = payload(answer)
        for record in (records if isinstance(records, list) else [])[:limit]:
            try:
                found.append(self._state.put_contact(contact_from(record)))
            except Unreadable:
                continue
        return found

    async def search(self, query: str, limit: int = 200) -> list[SearchHit]:
        matches = await self.search_conversations(query, limit)
        return [SearchHit(m.conversation.id, None) for m in matches]

    async def search_conversations(self, query: str, limit: int = 50) -> list[SearchMatch]:
        """The server's conversation search (Chatwoot searches messages and contacts)."""
        if not query.strip():
            return []
        answer = await self._ask(
            "Could not search conversations", lambda: self._api.search_conversations(query)
        )
        records, _ = list_payload(answer)
        found = self._put_conversations(records)[:limit]
        return [
            SearchMatch(
                conversation=conv,
                contact_name=self._state.contact_name(conv.contact_id),
                text=conv.preview or self._state.contact_name(conv.contact_id),
                message_id=None,
                hits=1,
            )
            for conv in found
        ]

    def _put_conversations(self, records: Any) -> list[Conversation]:
        kept = []
        for record in (records if isinstance(records, list) else [])[:500]:
            try:
                kept.append(self._state.put_conversation(conversation_from(record, self._state)))
            except Unreadable as exc:
                log.warning("skipped a conversation Chatwoot sent: %s", exc)
        return kept

    # ---- canned replies -------------------------------------------------------------------

    async def shared_canned(self) -> list[CannedReply]:
        """The account's canned responses, in frontdesk's template language."""
        return canned_replies(self._state.canned)

    async def canned_variables(self, conv_id: int) -> dict[str, str]:
        conv = await self.conversation(conv_id)
        contact = self._state.contacts.get(conv.contact_id)
        if contact is None and not self._problem:
            try:
                contact = await self.contact(conv.contact_id)
            except DeskError:
                contact = None
        me = self._state.me
        return variables_for(
            conv, contact, me.name if me is not None else "", self.channel_kind(conv.channel)
        )

    # ---- attachments ----------------------------------------------------------------------

    async def attachment_data(self, conv_id: int, message_id: int, index: int) -> AttachmentData:
        message = await self.message(conv_id, message_id)
        if message is None or not 0 <= index < len(message.attachments):
            raise DeskError(f"no attachment {index + 1} in message {message_id} of #{conv_id}")
        attachment = message.attachments[index]
        if not attachment.ref:
            raise DeskError("Chatwoot gave no address for this attachment: open it in Chatwoot")
        data = await self._ask(
            f"Could not download {attachment.name}", lambda: self._api.download(attachment.ref)
        )
        # the name is the URL's last part, still quoted ("receipt%201.pdf")
        return AttachmentData(name=unquote(attachment.name), data=data)

    async def save_attachment(
        self, conv_id: int, message_id: int, index: int, downloads_dir: str
    ) -> Path:
        got = await self.attachment_data(conv_id, message_id, index)
        try:
            return write_unique(Path(downloads_dir), safe_filename(got.name), got.data)
        except PermanentError as exc:
            raise DeskError(str(exc)) from None

    async def report(self, since: datetime, until: datetime, by: Grouping) -> Report:
        raise DeskError(self.unsupported["report"])


def _notes_text(answer: Any) -> str:
    """A contact's notes as one text, oldest first, as the contact panel shows notes."""
    records = payload(answer)
    if not isinstance(records, list):
        return ""
    notes = [text(r.get("content"), MAX_TEXT) for r in records if isinstance(r, dict)]
    return "\n\n".join(n for n in notes[-MAX_NOTES:] if n.strip())
