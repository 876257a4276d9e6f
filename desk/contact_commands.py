"""The agent's contact commands: find, edit notes and attributes, merge two contacts."""

from __future__ import annotations

import re
from collections.abc import Mapping

from frontdesk.desk.changes import Broker, Change, ChangeKind
from frontdesk.desk.contacts import check_edit, merged_contact
from frontdesk.desk.errors import DeskError
from frontdesk.model import Contact, EventKind
from frontdesk.store import Store


class ContactCommands:
    """The part of the Desk that changes contacts (with the desk's `contact` and `_add_event`)."""

    store: Store
    agent: str
    _broker: Broker

    async def find_contacts(self, query: str, limit: int = 50) -> list[Contact]:
        """Contacts (not merged away) whose name, email or phone contains `query`, any case.

        Phone numbers also match on their digits alone ("+81 90-1234" finds "819012…").
        """
        needle = query.strip().casefold()
        digits = re.sub(r"\D", "", needle)
        found: list[Contact] = []
        for contact in sorted(self.store.contacts(), key=lambda c: c.name.casefold()):
            if contact.merged_into is not None:
                continue
            texts = [
                contact.name,
                *contact.emails,
                *contact.phones,
                *(i.address for i in contact.identities),
            ]
            hit = not needle or any(needle in t.casefold() for t in texts)
            if not hit and len(digits) >= 3:
                hit = any(
                    digits in re.sub(r"\D", "", p)
                    for p in [*contact.phones, *(i.address for i in contact.identities)]
                )
            if hit:
                found.append(contact)
                if len(found) >= limit:
                    break
        return found

    async def update_contact(
        self,
        contact_id: int,
        *,
        notes: str | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> Contact:
        """Replace the contact's free-form notes and/or custom attributes (checked first)."""
        contact = await self.contact(contact_id)
        if contact.merged_into is not None:
            raise DeskError(
                f"contact #{contact_id} was merged into #{contact.merged_into}; edit that one"
            )
        notes, attributes = check_edit(notes, attributes)
        new_notes = notes if notes is not None else contact.notes
        new_attributes = attributes if attributes is not None else contact.attributes
        if (new_notes, new_attributes) == (contact.notes, contact.attributes):
            return contact
        with self.store.batch():
            contact.notes, contact.attributes = new_notes, dict(new_attributes)
            self.store.put_contact(contact)
        self._publish_contact(contact.id)
        return contact

    async def merge_contacts(self, keep_id: int, other_id: int) -> Contact:
        """Merge contact `other_id` into `keep_id`: identities, emails, phones, notes and
        attributes join the kept contact (its own values win), every conversation of the
        other moves to it with an inline event, and the other is marked `merged_into`.
        A new message from any of the other's identities then lands on the kept contact.
        """
        if keep_id == other_id:
            raise DeskError("a contact cannot be merged with itself")
        keep, other = await self.contact(keep_id), await self.contact(other_id)
        for contact in (keep, other):
            if contact.merged_into is not None:
                raise DeskError(
                    f"{contact.name} was already merged into contact #{contact.merged_into}"
                )
        changes: list[Change] = []
        with self.store.batch():
            merged = merged_contact(keep, other)
            other.merged_into = keep.id
            self.store.put_contact(other)
            self.store.put_contact(merged)  # after the other: its identities now point here
            text = f"{self.agent_name(self.agent)} merged contact {other.name} into {keep.name}"
            for conv in self.store.conversations():
                if conv.contact_id in (keep.id, other.id):
                    conv.contact_id = keep.id
                    self._add_event(conv, EventKind.MERGED, text, changes)
                    self.store.put_conversation(conv)
                    changes.append(Change(ChangeKind.CONVERSATION, conv.id))
        self._broker.publish(changes)
        return merged

    def _publish_contact(self, contact_id: int) -> None:
        self._broker.publish(
            [
                Change(ChangeKind.CONVERSATION, c.id)
                for c in self.store.conversations()
                if c.contact_id == contact_id
            ]
        )
