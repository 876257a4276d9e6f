"""The Store's read API: conversations, contacts (read a bucket at a time), messages, snapshots."""

from __future__ import annotations

from frontdesk.model import Contact, Conversation, Message
from frontdesk.store import records
from frontdesk.store.storage import BUCKET_SIZE, no_gc

OPEN_PARTITIONS = 128


class Reads:
    """What the Store answers from memory, reading a contact bucket or a conversation's messages
    from the files and the journal when first asked (a mixin of `Store`)."""

    def conversations(self) -> list[Conversation]:
        return list(self._conversations.values())

    def conversation(self, conv_id: int) -> Conversation | None:
        return self._conversations.get(conv_id)

    def contacts(self) -> list[Contact]:
        return sorted(self._all_contacts().values(), key=lambda c: c.id)

    def contact(self, contact_id: int) -> Contact | None:
        contact = self._contacts.get(contact_id)
        if contact is None and contact_id // BUCKET_SIZE not in self._contact_buckets:
            self._load_contacts(contact_id // BUCKET_SIZE)
            contact = self._contacts.get(contact_id)
        return contact

    def find_conversation(self, channel: str, thread_key: str) -> Conversation | None:
        conv_id = self._threads.get((channel, thread_key))
        return self._conversations.get(conv_id) if conv_id is not None else None

    def find_contact(self, channel: str, address: str) -> Contact | None:
        contact_id = self._identity_index().get((channel, address))
        return self.contact(contact_id) if contact_id is not None else None

    def messages(self, conv_id: int) -> list[Message]:
        return sorted(self._partition(conv_id).values(), key=lambda m: m.id)

    def message(self, conv_id: int, message_id: int) -> Message | None:
        return self._partition(conv_id).get(message_id)

    def cursor(self, channel: str) -> str | None:
        return self._cursors.get(channel)

    def snapshot(self, conv_id: int) -> tuple[Conversation, Contact | None, list[Message]] | None:
        """One conversation with its contact and messages, all from the same commit.

        A read-only store catches up with the journal and re-reads the files under the
        shared commit lock, so a console writing beside it never shows a half-applied batch.
        """
        if self.readonly:
            with self._commit_lock.hold(exclusive=False):
                self._read_journal()
                self._refresh_for(conv_id)
                return self._snapshot_from_memory(conv_id)
        return self._snapshot_from_memory(conv_id)

    def _snapshot_from_memory(
        self, conv_id: int
    ) -> tuple[Conversation, Contact | None, list[Message]] | None:
        conv = self._conversations.get(conv_id)
        if conv is None:
            return None
        return conv, self.contact(conv.contact_id), self.messages(conv_id)

    def _refresh_for(self, conv_id: int) -> None:
        self._partitions.pop(conv_id, None)
        relpath = f"conversations/{conv_id // BUCKET_SIZE:04d}.json"
        record = (self._read(relpath).get("conversations") or {}).get(str(conv_id))
        if record is None:
            return
        found = self._records(
            relpath, "conversations", records.conversation_from_record, {str(conv_id): record}
        )
        conv = found.get(conv_id) or self._conversations.get(conv_id)
        if conv is None:
            return
        self._conversations[conv_id] = conv
        relpath = f"contacts/{conv.contact_id // BUCKET_SIZE:04d}.json"
        contact = (self._read(relpath).get("contacts") or {}).get(str(conv.contact_id))
        if contact is not None:
            self._contacts.update(
                self._records(
                    relpath,
                    "contacts",
                    records.contact_from_record,
                    {str(conv.contact_id): contact},
                )
            )
        self._partition(conv_id)  # read now, under the lock

    def _partition(self, conv_id: int) -> dict[int, Message]:
        part = self._partitions.get(conv_id)
        if part is not None:
            self._partitions.move_to_end(conv_id)
            return part
        part = self._records(f"messages/{conv_id}.json", "messages", records.message_from_record)
        self._partitions[conv_id] = part
        self._evict()
        return part

    def _evict(self) -> None:
        # safe at any time: a partition read again gets the journal's and the batch's changes
        while len(self._partitions) > OPEN_PARTITIONS:
            self._partitions.popitem(last=False)

    def _load_contacts(self, bucket: int) -> None:
        self._contact_buckets.add(bucket)
        contacts = self._contacts
        for i, contact in self._records(
            f"contacts/{bucket:04d}.json", "contacts", records.contact_from_record
        ).items():
            if i not in contacts:  # one already put (or read) is newer than the file
                contacts[i] = contact

    def _all_contacts(self) -> dict[int, Contact]:
        missing = {
            int(name[len("contacts/") : -len(".json")]) for name in self._bucket_files("contacts")
        }
        missing -= self._contact_buckets
        if missing:
            with no_gc():
                for bucket in sorted(missing):
                    self._load_contacts(bucket)
        return self._contacts

    def _identity_index(self) -> dict[tuple[str, str], int]:
        if self._identities is None:
            self._identities = {
                (ident.channel, ident.address): c.id
                for c in self._all_contacts().values()
                if c.merged_into is None
                for ident in c.identities
            }
        return self._identities
