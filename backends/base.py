"""The backend plugin API: the base class every channel implements, and its typed errors."""

from __future__ import annotations

import math
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, BinaryIO, ClassVar, Protocol, get_args, get_origin

from frontdesk.model import ChannelEvent, MessageTemplate, Outgoing, SendResult


class BackendError(Exception):
    """Base of the errors a backend raises; `str(error)` is shown to the agent."""


#: the longest wait a channel's Retry-After can impose (a larger one is capped to this)
MAX_RETRY_AFTER = 3600.0


class TransientError(BackendError):
    """The message certainly did not reach the channel; retrying is safe.

    `retry_after` is the channel's own wait in seconds; it comes from the network, so a
    negative or NaN one is dropped and one beyond `MAX_RETRY_AFTER` (or infinite) is capped.
    """

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = _sane_wait(retry_after)


def _sane_wait(seconds: float | None) -> float | None:
    try:
        seconds = float(seconds) if seconds is not None else None
    except (TypeError, ValueError, OverflowError):
        return None
    if seconds is None or not seconds >= 0:  # None, negative, NaN
        return None
    return min(seconds, MAX_RETRY_AFTER)


class PermanentError(BackendError):
    """The channel refused the message for good (bad recipient, blocked, too long …)."""


class WindowClosedError(PermanentError):
    """The channel's messaging window is closed; `way_out` says what the agent can do."""

    def __init__(self, reason: str, way_out: str = "") -> None:
        super().__init__(reason)
        self.way_out = way_out


class AmbiguousError(BackendError):
    """The request may have reached the channel (e.g. timeout after sending): never re-send silently."""


class DeadlineError(BackendError):
    """A request ran past its overall deadline: the channel answers too slowly to be used.

    Raised as `TransientDeadline` or `AmbiguousDeadline`; the desk shows the channel down
    with the reason until a request completes in time.
    """


class TransientDeadline(DeadlineError, TransientError):
    """Past the deadline, and the channel certainly did not act on it (or it was only a read)."""


class AmbiguousDeadline(DeadlineError, AmbiguousError):
    """Past the deadline after a send was written: the channel may have acted on it."""


class ConfigError(BackendError):
    """A setting or secret of the channel is missing or wrong; the message names it and the fix."""


# ---- numeric settings with a range ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bounds:
    """Schema metadata of a numeric setting: a finite number from `low` to `high`, both included.

    Use it through `number`, `integer` and `PORT`; the config loader checks it at load (with
    the file and line) and so does a backend reading its settings, so a value that passes
    the loader cannot fail later (0, negative, nan, inf, 400 digits, a port of 99999).
    """

    low: float
    high: float
    unit: str = ""

    def problem(self, value: Any) -> str | None:
        """Why `value` is out of range, as a phrase with the fix; None when it is fine."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None  # the type check names a wrong type
        finite = isinstance(value, int) or math.isfinite(value)
        if finite and self.low <= value <= self.high:
            return None
        unit = f" {self.unit}" if self.unit else ""
        return f"must be from {self.low:g} to {self.high:g}{unit} (got {_shown_number(value)}); set it in that range"


def _shown_number(value: float) -> str:
    text = repr(value)
    return text if len(text) <= 20 else f"a {len(text.lstrip('-'))}-digit number"


def number(low: float, high: float, unit: str = "") -> Any:
    """A float setting (an int is accepted) from `low` to `high`."""
    return Annotated[float, Bounds(low, high, unit)]


def integer(low: int, high: int, unit: str = "") -> Any:
    """An int setting from `low` to `high`."""
    return Annotated[int, Bounds(low, high, unit)]


PORT = Annotated[int, Bounds(1, 65535)]
"""A TCP port setting."""


def base_kind(kind: Any) -> Any:
    """The type of a schema entry without its `Bounds` (`number(0, 1)` -> float)."""
    return get_args(kind)[0] if get_origin(kind) is Annotated else kind


def setting_problem(value: Any, kind: Any) -> str | None:
    """Why `value` breaks the `Bounds` of schema entry `kind` (None: in range, or unbounded)."""
    if get_origin(kind) is not Annotated:
        return None
    for meta in get_args(kind)[1:]:
        if isinstance(meta, Bounds) and (problem := meta.problem(value)):
            return problem
    return None


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

    async def ingest(
        self, channel: str, events: Sequence[ChannelEvent], cursor: str | None = None
    ) -> None:
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
    #: bytes all files of one message may come to (None: only `attachment_problem`'s per-file rule)
    attachments_total_limit: ClassVar[int | None] = None
    supports_typing: ClassVar[bool] = False
    supports_read_receipts: ClassVar[bool] = False
    #: the channel sends approved templates outside its window (`templates`, Outgoing.template)
    supports_templates: ClassVar[bool] = False
    #: each reply names the customer's last message as its parent (mail's In-Reply-To); on a chat
    #: channel a named message shows as a quote, so only a reply aimed at one names it
    replies_name_last_inbound: ClassVar[bool] = False
    #: True for a channel fed by the desk's webhook receiver (see backends/webhook.py)
    webhook: ClassVar[bool] = False
    #: how long after the customer's last message the channel accepts free replies
    messaging_window: ClassVar[timedelta | None] = None
    #: how long after a reply is sent the channel may still fetch its files from the desk (LINE
    #: takes pictures by URL when the customer opens them); None: `send` handed over the bytes
    sent_files_fetched_for: ClassVar[timedelta | None] = None
    #: a retry of `send` with the same idempotency key cannot create a second message
    idempotent_send: ClassVar[bool] = False
    #: setting name -> type (or `number(lo, hi)`, `integer(lo, hi)`, `PORT`), validated by the config loader
    settings_schema: ClassVar[Mapping[str, Any]] = {}
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

    @property
    def required_secrets(self) -> tuple[str, ...]:
        """The secrets this instance cannot work without in its settings (doctor asks for these);
        a backend whose mode needs fewer than `secret_names` overrides it."""
        return self.secret_names

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
        raise NotImplementedError(
            f"the {self.kind} backend cannot fetch once; run `frontdesk sync` instead"
        )

    async def fetch_attachment(self, ref: str) -> bytes:
        """The bytes of a received attachment (`Attachment.ref`), downloaded on request."""
        raise NotImplementedError(f"the {self.kind} backend cannot download attachments")

    async def download_attachment(self, ref: str, into: BinaryIO) -> int:
        """Write the bytes of attachment `ref` to `into`, returning how many; a backend that can
        stream overrides this so a large file never sits in memory whole."""
        data = await self.fetch_attachment(ref)
        into.write(data)
        return len(data)

    async def save_attachment(
        self, ref: str, downloads_dir: str | os.PathLike[str], name: str = ""
    ) -> Path:
        """Download attachment `ref` into `downloads_dir` as `name` (made safe, never overwriting);
        returns the path, which is always inside `downloads_dir`. A failed download leaves no file."""
        path, out = open_unique(Path(downloads_dir), safe_filename(name))
        try:
            with out:
                await self.download_attachment(ref, out)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path

    def attachment_problem(self, name: str, mime: str, size: int) -> str | None:
        """Why this channel cannot send a file `name` of type `mime` and `size` bytes, as one
        sentence with the fix; None when it can. Checked before a reply with files is queued."""
        if not self.supports_attachments:
            return f"channel {self.name!r} ({self.kind}) cannot send files"
        return None

    def content_problem(self, name: str, mime: str, data: bytes) -> str | None:
        """Why this channel cannot send these bytes, when name, type and size do not tell (LINE
        needs an audio file's length); one sentence with the fix, checked before the reply is
        queued. None when it can."""
        return None

    async def templates(self) -> list[MessageTemplate]:
        """The approved templates the agent may send outside the window (`supports_templates`)."""
        raise NotImplementedError(f"the {self.kind} backend has no message templates")

    async def mark_read(self, thread_key: str, external_ids: Sequence[str]) -> None:
        """Tell the channel the agent has read these inbound messages (`supports_read_receipts`);
        the desk calls it in the background when the agent opens the conversation."""

    async def allowance(self) -> str | None:
        """One line on what sending costs now ("LINE push quota: 412 of 500 left this month"),
        shown in the composer; None when nothing is worth saying."""
        return None

    async def check(self) -> list[str]:
        """Problems found by `frontdesk doctor`, one line each with the fix; [] if healthy."""
        return []

    async def close(self) -> None:
        """Release connections."""


# ---- saving what a customer sent ------------------------------------------------------------------

#: longest file name written, in UTF-8 bytes: well under the 255 of common file systems,
#: with room for the " (n)" that `write_unique` adds
FILE_NAME_BYTES = 150
#: an "extension" longer than this is part of the name
_EXT_BYTES = 16
_SUPERSCRIPTS = "\u00b9\u00b2\u00b3"
_RESERVED = {
    "con",
    "prn",
    "aux",
    "nul",
    "conin$",
    "conout$",
    *(f"{dev}{n}" for dev in ("com", "lpt") for n in ("0123456789" + _SUPERSCRIPTS)),
}


def safe_filename(name: str, fallback: str = "attachment") -> str:
    """A file name safe to create in the downloads dir, from one a customer chose: no folders,
    no traversal, no control/bidi/invisible characters, no reserved device names (CON,
    NUL.txt …), no leading dot, at most FILE_NAME_BYTES bytes of UTF-8 with its extension kept."""
    name = name.replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"|?*')
    name = name.strip().strip(".").strip()
    if not name:
        name = fallback
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext.encode()) > _EXT_BYTES or ext != ext.strip():
        stem, ext = name, ""
    if stem.split(".")[0].rstrip(" .").lower() in _RESERVED:
        stem = "_" + stem
    room = FILE_NAME_BYTES - (len(ext.encode()) + 1 if ext else 0)
    stem = stem.encode()[:room].decode("utf-8", "ignore").rstrip(" .") or "_"
    return f"{stem}.{ext}" if ext else stem


def write_unique(folder: Path, name: str, data: bytes) -> Path:
    """Write `data` to a new file `name` in `folder` (`name (1).ext` … when taken); never follows links
    or leaves the folder. A file-system failure is a PermanentError naming the file and the folder."""
    path, out = open_unique(folder, name)
    with out:
        out.write(data)
    return path


def open_unique(folder: Path, name: str) -> tuple[Path, BinaryIO]:
    """Create a new file `name` in `folder` (`name (1).ext` … when taken) and open it for writing;
    never follows links or leaves the folder. A file-system failure is a PermanentError naming
    the file and the folder."""
    folder = folder.expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PermanentError(
            f"cannot create the downloads folder {folder}: {exc.strerror or exc}"
        ) from None
    root = folder.resolve()
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    for n in range(1000):
        candidate = name if n == 0 else (f"{stem} ({n}).{ext}" if ext else f"{stem} ({n})")
        path = root / candidate
        if path.parent != root or candidate in ("", ".", ".."):
            raise PermanentError("unsafe attachment name")
        try:
            fd = os.open(
                path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644
            )
        except FileExistsError:
            continue
        except OSError as exc:
            raise PermanentError(
                f"cannot save {candidate!r} in {root}: {exc.strerror or exc}"
            ) from None
        return path, os.fdopen(fd, "wb")
    raise PermanentError(f"too many files named {name!r} in {root}")
