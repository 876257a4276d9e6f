"""Search: contacts and messages matching a query, and the conversations they belong to."""

from __future__ import annotations

from dataclasses import dataclass

from frontdesk.model import Conversation
from frontdesk.store import Store
from frontdesk.store.search import SearchHit, SearchIndex, matching_detail


@dataclass(frozen=True, slots=True)
class SearchMatch:
    """A conversation found by a search, with the text that matched.

    `text` is untrusted and uncleaned: clean it first, then cut it with `views.snippet`, so
    escape sequences never count towards (or get cut into) what is shown.
    """

    conversation: Conversation
    contact_name: str
    text: str  # the newest matching message (body and attachment names), or the contact's name
    message_id: int | None  # None: the contact's name matched
    hits: int  # how many of its messages (and its name) matched


class Searching:
    """The part of the Desk that searches (its index is built on the first search)."""

    store: Store
    _search: SearchIndex | None

    async def search(self, query: str, limit: int = 200) -> list[SearchHit]:
        """Contacts (name, emails, phones, addresses) and messages (replies and notes too) containing
        `query`, folded for case, accents, width and kana (store/search.py).

        Newest conversation first; a name match comes before that conversation's messages.
        The index is built in a thread on the first search (it reads every message file)
        and then re-reads only conversations whose message count changed (store/search.py).
        """
        if self._search is None:
            self._search = SearchIndex(self.store)
        await self._search.ready()
        return self._search.search(query, limit)

    async def search_conversations(self, query: str, limit: int = 50) -> list[SearchMatch]:
        """Conversations whose contact or messages contain `query`, one entry each.

        In the order of `search` (newest conversation first), each with the text of its
        newest matching message, or the contact's name (and the email, phone or address
        that matched) when the contact matched.
        """
        if not query.strip():
            return []
        hits = await self.search(query, limit=max(200, limit * 4))
        grouped: dict[int, list[SearchHit]] = {}
        for hit in hits:
            grouped.setdefault(hit.conversation_id, []).append(hit)
        matches: list[SearchMatch] = []
        for conv_id, conv_hits in grouped.items():
            conv = self.store.conversation(conv_id)
            if conv is None:
                continue
            contact = self.store.contact(conv.contact_id)
            name = contact.name if contact else f"#{conv.contact_id}"
            first = conv_hits[0]
            message = (
                self.store.message(conv_id, first.message_id)
                if first.message_id is not None
                else None
            )
            text = (
                name
                if message is None
                else "\n".join([message.body, *(a.name for a in message.attachments)])
            )
            detail = (
                matching_detail(contact, query) if contact is not None and message is None else None
            )
            if detail is not None and detail != name:
                text = f"{name} · {detail}"  # found by an email, phone or address: show which
            matches.append(
                SearchMatch(conv, name, text, first.message_id if message else None, len(conv_hits))
            )
            if len(matches) >= limit:
                break
        return matches
