"""What a provider's failed HTTP answer means: the verdict, the error the agent reads, the status.

Every HTTP backend reads its provider's error body into a `Failure` and keeps its codes and
words as a `Provider` table in its own module (WhatsApp's 131047 = closed window, Messenger's
551, LINE's monthly quota …); `Provider.judge` is the one place that turns the two into the
plugin API's error (transient, permanent, window closed, ambiguous) and says whether the
channel shows down. Transport failures (no connection, a timeout) are typed before an answer
exists, by `HTTPClient.request`.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from frontdesk.backends.base import (
    AmbiguousError,
    BackendError,
    PermanentError,
    TransientError,
    WindowClosedError,
)
from frontdesk.backends.httpchannel import Reply, clip, scrub

#: HTTP statuses of server trouble (and any higher number a provider puts in its error code)
SERVER_STATUSES = range(500, 1000)
MAY_HAVE_SENT = "; the message may have been sent"


class Verdict(enum.Enum):
    """What a failed answer means for the message and the channel."""

    TOKEN = "credentials refused"  # the channel is down until the secret is replaced
    QUOTA = "quota used up"
    RATE = "rate limited"  # retried after the provider's wait
    WINDOW = "messaging window closed"
    RECIPIENT = "recipient cannot receive now"
    CONFLICT = "another client holds the channel"
    SERVER = "server trouble"  # retried
    BLOCKED = "the account may not do this"
    UNREADABLE = "accepted, but the answer is unreadable"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed answer, read into what a verdict looks at."""

    status: int
    #: the provider's error code (None when it gave none) and subcode
    code: Any = None
    subcode: Any = None
    #: the provider's words for the agent, scrubbed and cut
    said: str = ""
    #: the provider's own wait before a retry, in seconds, when it named one
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    """A verdict for the answers with one of these HTTP statuses or provider codes (a code, or
    a (code, subcode) pair)."""

    verdict: Verdict
    statuses: Collection[int] = ()
    codes: Collection[Any] = ()

    def matches(self, failure: Failure) -> bool:
        return (
            failure.status in self.statuses
            or failure.code in self.codes
            or (failure.code, failure.subcode) in self.codes
        )


class Judged(NamedTuple):
    """A failure's verdict, the error to raise, and whether the channel shows down with it."""

    verdict: Verdict
    error: BackendError
    down: bool


@dataclass(frozen=True)
class Provider:
    """One provider's error table, as data.

    `rules` are tried in order; an answer no rule matches is UNREADABLE when its status is 2xx,
    else REFUSED. `words` are format strings over `said`, `label`, `status`, `code` and what the
    caller adds (`name` …); a verdict without words counts as REFUSED. `errors` names the class
    raised for a verdict where the provider has its own (TokenRejected …). `wait` (or `waits` per
    code) is the pause after a rate limit whose answer names none.
    """

    rules: tuple[Rule, ...]
    words: Mapping[Verdict, str]
    errors: Mapping[Verdict, type[BackendError]] = field(default_factory=dict)
    wait: float | None = None
    waits: Mapping[Any, float] = field(default_factory=dict)
    #: what the agent can do once the window closed
    way_out: str = ""
    #: a server error in answer to a send may have sent it (never re-sent silently)
    server_may_send: bool = False
    #: the verdicts that show the channel down until a call succeeds
    down: frozenset[Verdict] = frozenset({Verdict.TOKEN})

    def verdict(self, failure: Failure) -> Verdict:
        found = next((rule.verdict for rule in self.rules if rule.matches(failure)), None)
        if found is None:
            found = Verdict.UNREADABLE if 200 <= failure.status < 300 else Verdict.REFUSED
        return found if found in self.words else Verdict.REFUSED

    def judge(
        self,
        failure: Failure,
        *,
        label: str = "",
        sending: bool = False,
        wait: float | None = None,
        **fields: Any,
    ) -> Judged:
        """The verdict on `failure` with its error; `sending`: the request created a message, so
        an answer that may mean it went out is ambiguous; `wait` overrides the table's."""
        verdict = self.verdict(failure)
        text = self.words[verdict].format(
            said=failure.said, label=label, status=failure.status, code=failure.code, **fields
        )
        error = self._error(verdict, text, failure, sending, wait)
        return Judged(verdict, error, verdict in self.down)

    def _error(
        self, verdict: Verdict, text: str, failure: Failure, sending: bool, wait: float | None
    ) -> BackendError:
        if verdict is Verdict.RATE:
            if failure.retry_after is not None:
                wait = failure.retry_after
            elif wait is None:
                wait = self.waits.get(failure.code, self.wait)
            return TransientError(text, retry_after=wait)
        if verdict is Verdict.WINDOW:
            return WindowClosedError(text, self.way_out)
        if verdict is Verdict.SERVER:
            if sending and self.server_may_send:
                return AmbiguousError(text + MAY_HAVE_SENT)
            return TransientError(text)
        if verdict is Verdict.UNREADABLE:
            return AmbiguousError(text + MAY_HAVE_SENT) if sending else TransientError(text)
        return self.errors.get(verdict, PermanentError)(text)


def answer_object(reply: Reply, key: str | None = None) -> dict[str, Any]:
    """The answer's JSON object (or its `key` object, e.g. Graph's "error"); {} when there is none."""
    data = reply.data if isinstance(reply.data, dict) else {}
    if key is None:
        return data
    inner = data.get(key)
    return inner if isinstance(inner, dict) else {}


def words_of(reply: Reply, message: Any) -> str:
    """The provider's message for the agent (scrubbed, cut), else the start of the body; may be ""."""
    return scrub(clip(message, 300)) or reply.text.strip()[:200]


__all__ = [
    "SERVER_STATUSES",
    "Failure",
    "Judged",
    "Provider",
    "Rule",
    "Verdict",
    "answer_object",
    "words_of",
]
