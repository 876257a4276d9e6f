"""The backend plugin API: the base class every channel implements, and its typed errors."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar, Protocol

from frontdesk.model import ChannelEvent, Outgoing, SendResult


class BackendError(Exception):
    """Base of the errors a backend raises; `str(error)` is shown to the agent."""


class TransientError(BackendError):
    """The message certainly did not reach the channel; retrying is safe."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentError(BackendError):
    """The channel refused the message for good (bad recipient, blocked, too long …)."""


class WindowClosedError(PermanentError):
    """The channel's messaging window is closed; `way_out` says what the agent can do."""

    def __init__(self, reason: str, way_out: str = "") -> None:
        super().__init__(reason)
        self.way_out = way_out


class AmbiguousError(BackendError):
    """The request may have reached the channel (e.g. timeout after sending): never re-send silently."""


class ConfigError(BackendError):
    """A setting or secret of the channel is missing or wrong; the message names it and the fix."""


@dataclass(frozen=True, slots=True)
class WindowRule:
    """How a channel limits replies after the customer's last message, and the way out once it closed."""

    span: timedelta
    """Free replies are accepted for this long after the customer's last message."""
    closed_label: str = "the customer must write first"
    """A few words for the badge once everything closed ("template required")."""
    way_out: str = "wait for the customer to write again, or reach them on another channel"
    """What the agent can do once everything closed, as one sentence."""
    tag: str = ""
    """A message tag that allows replies after the window (Messenger's HUMAN_AGENT)."""
    tag_span: timedelta | None = None
    """How long after the customer's last message the tag is accepted."""


class Sink(Protocol):
    """Where a backend delivers what it reads from its channel (the desk implements it)."""

    async def ingest(self, channel: str, events: Sequence[ChannelEvent], cursor: str | None = None) -> None:
        """Persist `events`, then commit `cursor`, then publish. Returns once persisted."""


class SecretSource(Protocol):
    def __call__(self, key: str) -> str | None: ...


class Backend(ABC):
    """A channel instance. Subclasses declare their capabilities as class attributes."""

    #: the kind of channel shown in the console ("email", "whatsapp", "telegram" …)
    kind: ClassVar[str] = "generic"
    #: True when the backend reads by polling (needs no public URL)
    polling: ClassVar[bool] = True
    supports_attachments: ClassVar[bool] = False
    supports_typing: ClassVar[bool] = False
    supports_read_receipts: ClassVar[bool] = False
    #: how long after the customer's last message the channel accepts free replies
    messaging_window: ClassVar[timedelta | None] = None
    #: a retry of `send` with the same idempotency key cannot create a second message
    idempotent_send: ClassVar[bool] = False
    #: setting name -> type, validated by the config loader
    settings_schema: ClassVar[Mapping[str, type]] = {}
    #: names of the secrets this backend reads from credentials
    secret_names: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        name: str,
        settings: Mapping[str, Any] | None = None,
        secrets: SecretSource | None = None,
        cursor: str | None = None,
    ) -> None:
        self.name = name
        self.settings = dict(settings or {})
        self._secrets = secrets or (lambda key: None)
        self.cursor = cursor

    def secret(self, key: str) -> str:
        """The secret `key` of this channel, or a ConfigError that names the fix."""
        value = self._secrets(key)
        if not value:
            raise ConfigError(
                f"channel {self.name!r}: secret {key!r} is not set — run "
                f"`frontdesk creds set {self.name} {key}`"
            )
        return value

    def redact(self, text: str) -> str:
        """`text` with every secret of this channel replaced by `***` (for logs and reasons)."""
        for key in self.secret_names:
            value = self._secrets(key)
            if value:
                text = text.replace(value, "***")
        return text

    @property
    def channel_kind(self) -> str:
        """The kind shown in the console; a backend serving several kinds overrides it."""
        return self.kind

    @property
    def window_rule(self) -> WindowRule | None:
        """The messaging-window rule of this channel (None: replies are always accepted).

        The default follows `messaging_window`; a backend with a message tag or a template
        requirement overrides it so the console can offer the way out before the agent writes.
        """
        return WindowRule(self.messaging_window) if self.messaging_window else None

    @abstractmethod
    async def run(self, sink: Sink) -> None:
        """Read the channel until cancelled, handing events and cursors to `sink.ingest`.

        Commit a cursor only together with (or after) the events before it, so a restart
        neither loses nor duplicates a message.
        """

    @abstractmethod
    async def send(self, outgoing: Outgoing) -> SendResult:
        """Send one message. Raise TransientError, PermanentError, WindowClosedError or
        AmbiguousError; return the channel's id for the message on success."""

    async def fetch_once(self, sink: Sink) -> None:
        """Fetch what the channel holds now, hand it to `sink`, and return (`sync --once`).

        Polling backends implement `run` as this in a loop; a streaming-only backend
        keeps this default, and `sync --once` reports that it was skipped.
        """
        raise NotImplementedError(f"the {self.kind} backend cannot fetch once; run `frontdesk sync` instead")

    async def fetch_attachment(self, ref: str) -> bytes:
        """The bytes of a received attachment (`Attachment.ref`), downloaded on request."""
        raise NotImplementedError(f"the {self.kind} backend cannot download attachments")

    async def check(self) -> list[str]:
        """Problems found by `frontdesk doctor`, one line each with the fix; [] if healthy."""
        return []

    async def close(self) -> None:
        """Release connections."""
