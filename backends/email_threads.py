"""Which thread a mail belongs to: the email channel's bounded thread map."""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any

from frontdesk.backends.email_parse import ParsedMail, is_reply_subject, normalise_subject

THREAD_MAP_SIZE = 20_000
SUBJECT_JOIN_WINDOW = timedelta(days=7)


class ThreadMap:
    """Which thread a Message-ID belongs to, and recent threads by (subject, correspondent).

    Rebuilt from the mailbox headers at start-up (the mailbox is the memory), bounded in size.
    """

    def __init__(self, limit: int = THREAD_MAP_SIZE) -> None:
        self.limit = limit
        self.by_id: OrderedDict[str, str] = OrderedDict()
        self.refs: OrderedDict[str, list[str]] = OrderedDict()
        self.by_subject: OrderedDict[tuple[str, str], tuple[str, datetime]] = OrderedDict()

    def _put(self, table: OrderedDict, key: Any, value: Any) -> None:
        table[key] = value
        table.move_to_end(key)
        while len(table) > self.limit:
            table.popitem(last=False)

    def key_for(self, mail: ParsedMail, correspondent: str) -> str:
        for known in (
            mail.message_id,
            mail.external_id,
            mail.in_reply_to,
            *reversed(mail.references),
        ):
            if known and known in self.by_id:
                return self.by_id[known]
        if mail.references:
            return mail.references[0]
        if mail.in_reply_to:
            return mail.in_reply_to
        subject = normalise_subject(mail.subject)
        hit = self.by_subject.get((subject, correspondent)) if subject else None
        if hit is not None and (
            is_reply_subject(mail.subject) or abs(mail.date - hit[1]) <= SUBJECT_JOIN_WINDOW
        ):
            return hit[0]
        return mail.message_id or mail.external_id

    def learn(self, mail: ParsedMail, thread_key: str, correspondent: str) -> None:
        for mid in (mail.message_id, mail.external_id):
            if mid:
                self._put(self.by_id, mid, thread_key)
        if mail.message_id:
            self._put(
                self.refs,
                mail.message_id,
                [
                    *mail.references,
                    *(
                        [mail.in_reply_to]
                        if mail.in_reply_to and mail.in_reply_to not in mail.references
                        else []
                    ),
                ],
            )
        subject = normalise_subject(mail.subject)
        if subject and correspondent:
            self._put(self.by_subject, (subject, correspondent), (thread_key, mail.date))

    def learn_sent(self, message_id: str, thread_key: str, references: list[str]) -> None:
        self._put(self.by_id, message_id, thread_key)
        self._put(self.refs, message_id, references)

    def references_for(self, thread_key: str, parent: str | None) -> list[str]:
        """References of a reply to `parent` in thread `thread_key`: root first, parent last."""
        chain = [thread_key]
        if parent:
            chain += self.refs.get(parent, [])
            chain.append(parent)
        chain = [c for c in dict.fromkeys(chain) if c.startswith("<") and c.endswith(">")]
        return chain[:1] + chain[-9:] if len(chain) > 10 else chain
