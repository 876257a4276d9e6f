"""The demo backend: a seeded, simulated support workspace with live customers and no network.

Two parts:

- `generate_workspace(seed, …)` (demo_workspace) builds a deterministic world of contacts, conversations and
  messages (English and Japanese customers on email, WhatsApp, Messenger, SMS, Telegram
  and LINE). It is pure: same seed and same `now` give identical objects, and `now` only
  shifts timestamps (every random draw is independent of it).
- `DemoBackend` simulates one channel kind of that world: customers of its open/pending
  conversations write now and then (`run`), and replies get receipts and an answer
  (`send`).

How the desk matches live events to the seeded history: the workspace sets
`conversation.channel` to the channel *kind* ("whatsapp"), so a demo channel instance must
be named after its kind (see `demo_channels`). Inbound events carry the conversation's
`thread_key` (the address for chat channels, a Message-ID-like root for email) and the
contact's address on that channel, both unique per channel in the generated world.

The rest of the demo: demo_kinds (channel kinds, windows), demo_phrases (names and phrase
pools), demo_people (customers), demo_live (what live customers write).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Mapping
from datetime import timedelta
from typing import Any, ClassVar

from frontdesk.backends.base import (
    Backend,
    ConfigError,
    PermanentError,
    SecretSource,
    Sink,
    WindowRule,
    integer,
    number,
    setting_problem,
)
from frontdesk.backends.demo_kinds import KINDS, READ_RECEIPT_KINDS, WINDOW_RULES, window_for
from frontdesk.backends.demo_live import answer_line, catalog, follow_up_line, guess_language
from frontdesk.backends.demo_newcomer import NEWCOMER_KIND, Newcomer, newcomers
from frontdesk.backends.demo_templates import TEMPLATES, line_allowance
from frontdesk.backends.demo_workspace import LiveThread
from frontdesk.model import (
    ChannelStatus,
    Delivery,
    DeliveryUpdate,
    Inbound,
    MessageTemplate,
    Outgoing,
    SendResult,
    Status,
    Typing,
    utcnow,
)

log = logging.getLogger(__name__)


LIVE_INTERVAL = 120.0
"""Mean seconds between one channel's unprompted customer messages: the six channels of the
demo write about three a minute between them, a busy but human shift (much faster and the
bell never stops). Answers to the agent's replies come within seconds."""


class DemoBackend(Backend):
    """One simulated channel of the demo world: live customers, receipts and answers.

    Settings: `kind` (the channel kind it simulates; defaults to the instance name when
    that is a kind), `seed`, `live` (unsolicited customer messages on/off), `interval`
    (mean seconds between them), `speed` (multiplier on every delay), `conversations`
    (size of the seeded world it shares with the desk, default 60), `newcomer` (a new customer
    writes soon after start and answers the first reply: demo_newcomer).

    `messaging_window` stays None at class level because one class serves every kind;
    WhatsApp, Messenger and LINE instances put the 24 h window on each Inbound
    (`window_expires_at`) instead, and `window` gives it per instance.
    """

    kind: ClassVar[str] = "demo"
    polling: ClassVar[bool] = True
    supports_attachments: ClassVar[bool] = True
    supports_typing: ClassVar[bool] = True
    supports_read_receipts: ClassVar[bool] = True
    messaging_window: ClassVar[timedelta | None] = None
    idempotent_send: ClassVar[bool] = True
    settings_schema: ClassVar[Mapping[str, Any]] = {
        "kind": str,
        "seed": integer(-(2**63), 2**63 - 1),
        "live": bool,
        "interval": number(0.01, 86400, "seconds"),
        "speed": number(0.0001, 1000),
        "conversations": integer(0, 100_000),
        "newcomer": bool,
    }

    def __init__(
        self,
        name: str,
        settings: Mapping[str, Any] | None = None,
        secrets: SecretSource | None = None,
        cursor: str | None = None,
    ) -> None:
        super().__init__(name, settings, secrets, cursor)
        s = self.settings
        for key, kind in self.settings_schema.items():
            if s.get(key) is not None and (problem := setting_problem(s[key], kind)):
                raise ConfigError(f"channel {name!r}: setting {key} {problem}")
        self._kind = str(s.get("kind") or (name if name in KINDS else ""))
        if self._kind not in KINDS:
            raise ConfigError(f"channel {name!r}: setting 'kind' must be one of {', '.join(KINDS)}")
        self.seed = int(s.get("seed", 1))
        self.live = bool(s.get("live", True))
        self.interval = float(s.get("interval", LIVE_INTERVAL))
        self.speed = float(s.get("speed", 1.0))
        self.world_size = int(s.get("conversations", 60))
        self.newcomer = bool(s.get("newcomer", False))
        self._newcomers: dict[str, Newcomer] = {}
        if self.interval <= 0 or self.speed <= 0:
            raise ConfigError(f"channel {name!r}: 'interval' and 'speed' must be greater than 0")
        self._counter = _parse_cursor(cursor)
        self._sink: Sink | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._sent: set[str] = set()
        self._lock = asyncio.Lock()

    @property
    def channel_kind(self) -> str:
        return self._kind

    @property
    def window(self) -> timedelta | None:
        return window_for(self._kind)

    @property
    def window_rule(self) -> WindowRule | None:
        """The rule of the simulated kind, as the real channels apply it."""
        return WINDOW_RULES.get(self._kind)

    @property  # type: ignore[override]
    def supports_templates(self) -> bool:  # one class serves every kind: WhatsApp has templates
        return self._kind == "whatsapp"

    async def templates(self) -> list[MessageTemplate]:
        """The demo business's approved templates (WhatsApp only)."""
        if self._kind != "whatsapp":
            return await super().templates()
        return list(TEMPLATES)

    async def allowance(self) -> str | None:
        """LINE's push quota left this month, less the demo's own replies."""
        return line_allowance(len(self._sent)) if self._kind == "line" else None

    # -- the world this instance simulates

    def threads(self) -> list[LiveThread]:
        """Every seeded conversation of this kind."""
        return [t for t in catalog(self.seed, self.world_size) if t.channel == self._kind]

    def live_threads(self) -> list[LiveThread]:
        """The open/pending conversations whose customers write live, by conversation id."""
        return [t for t in self.threads() if t.status in (Status.OPEN, Status.PENDING)]

    def _thread_for(self, outgoing: Outgoing) -> LiveThread:
        if outgoing.thread_key in self._newcomers:
            return self._newcomers[outgoing.thread_key].thread
        for thread in self.threads():
            if thread.thread_key == outgoing.thread_key:
                return thread
        address = outgoing.to or outgoing.thread_key
        return LiveThread(
            0,
            self._kind,
            outgoing.thread_key,
            0,
            "",
            guess_language(outgoing.body),
            address,
            Status.OPEN,
            subject=outgoing.subject,
        )

    # -- reading

    async def run(self, sink: Sink) -> None:
        """Simulate customers until cancelled: a pause, Typing, then an Inbound."""
        self._sink = sink
        await sink.ingest(self.name, [ChannelStatus("ok", f"simulated {self._kind}")])
        if self.live and self.newcomer:
            for person in newcomers(self._kind, self._counter + 1):
                self._newcomers[person.thread.thread_key] = person
                self._spawn(self._newcomer(sink, person))
        targets = self.live_threads() or self.threads()
        if not self.live or not targets:
            await asyncio.Event().wait()
        rng = random.Random(f"{self.seed}:{self._kind}:live:{self._counter}")
        while True:
            await self.wait(self._pause(rng))
            thread = rng.choice(targets)
            await sink.ingest(self.name, [Typing(thread.thread_key)])
            await self.wait(rng.uniform(1.0, 3.0))
            await self._deliver(sink, thread, follow_up_line(rng, thread))

    async def _newcomer(self, sink: Sink, person: Newcomer) -> None:
        """A new customer writes soon after start (`newcomer` setting), in a conversation of
        their own; replies get their next lines (`_after_send`)."""
        await self.wait(person.after)
        await sink.ingest(self.name, [Typing(person.thread.thread_key)])
        await self.wait(2.0)
        await self._deliver(sink, person.thread, person.next_line() or "")

    async def fetch_once(self, sink: Sink) -> None:
        """A simulation holds nothing to fetch: report the channel healthy and return."""
        await sink.ingest(self.name, [ChannelStatus("ok", f"simulated {self._kind}")])

    def _pause(self, rng: random.Random) -> float:
        return min(
            max(rng.expovariate(1.0 / self.interval), 0.2 * self.interval), 4.0 * self.interval
        )

    async def wait(self, seconds: float) -> None:
        """Let `seconds` of the demo's time pass (scaled by its speed) before the next event."""
        await asyncio.sleep(seconds * self.speed)

    async def _deliver(self, sink: Sink, thread: LiveThread, body: str) -> None:
        """Ingest one customer message with the next counter as external id and cursor."""
        async with self._lock:
            self._counter += 1
            counter = self._counter
            now = utcnow()
            event = Inbound(
                external_id=f"{self._kind}-in-{counter}",
                thread_key=thread.thread_key,
                sender=thread.sender(),
                body=body,
                created_at=now,
                subject=f"Re: {thread.subject}" if thread.subject else "",
                window_expires_at=now + self.window if self.window else None,
            )
            await sink.ingest(self.name, [event], cursor=str(counter))
            self.cursor = str(counter)

    # -- sending

    def attachment_problem(self, name: str, mime: str, size: int) -> str | None:
        """Files go on every simulated channel but SMS, as on the real ones."""
        if self._kind == "sms":
            return f"channel {self.name!r} (sms) cannot send files: share a link in the text"
        return None

    async def fetch_attachment(self, ref: str) -> bytes:
        """A simulated file: a short text naming it (the demo world has no real files)."""
        if not ref.startswith("demo:"):
            raise PermanentError("not a demo attachment")
        return f"frontdesk demo attachment: {ref.removeprefix('demo:')}\n".encode()

    async def send(self, outgoing: Outgoing) -> SendResult:
        """Accept the reply; receipts and the customer's answer follow in the background."""
        if not (outgoing.to or outgoing.thread_key):
            raise PermanentError("no recipient: the conversation has no address on this channel")
        external_id = f"{self._kind}-out-{outgoing.message_id}"
        if self._sink is not None and external_id not in self._sent:
            self._sent.add(external_id)
            self._spawn(self._after_send(self._sink, outgoing, external_id))
        return SendResult(external_id=external_id, delivery=Delivery.SENT)

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("demo %s: simulated receipt failed: %s", self.name, task.exception())

    async def _after_send(self, sink: Sink, outgoing: Outgoing, external_id: str) -> None:
        """DELIVERED at ~1 s, READ at ~3 s (chat kinds), the customer answers at ~4–8 s."""
        rng = random.Random(f"{self.seed}:{self._kind}:answer:{outgoing.message_id}")
        await self.wait(1.0)
        await sink.ingest(self.name, [DeliveryUpdate(external_id, Delivery.DELIVERED)])
        await self.wait(2.0)
        if self._kind in READ_RECEIPT_KINDS:
            await sink.ingest(self.name, [DeliveryUpdate(external_id, Delivery.READ)])
        thread = self._thread_for(outgoing)
        person = self._newcomers.get(thread.thread_key)
        scripted = person.next_line() if person is not None else None
        if person is not None and scripted is None:  # said all they had to: waits for a person
            return
        await self.wait(rng.uniform(1.0, 3.0))
        await sink.ingest(self.name, [Typing(thread.thread_key)])
        await self.wait(rng.uniform(1.0, 2.0))
        await self._deliver(sink, thread, scripted or answer_line(rng, thread.language))

    async def close(self) -> None:
        """Stop pending receipts and answers."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._sink = None


def _parse_cursor(cursor: str | None) -> int:
    try:
        return max(0, int(cursor or 0))
    except ValueError:
        log.warning("demo: ignoring unreadable cursor %r", cursor)
        return 0


def demo_channels(
    seed: int = 1,
    *,
    live: bool = True,
    interval: float = LIVE_INTERVAL,
    speed: float = 1.0,
    conversations: int = 60,
    cursors: Mapping[str, str | None] | None = None,
    newcomer: bool = False,
) -> dict[str, DemoBackend]:
    """One DemoBackend per kind, each named after its kind as the generated workspace expects;
    `newcomer`: a new customer writes on LINE soon after start (for the demo's FAQ bot)."""
    settings = {
        "seed": seed,
        "live": live,
        "interval": interval,
        "speed": speed,
        "conversations": conversations,
    }
    return {
        kind: DemoBackend(
            kind,
            {**settings, "kind": kind, "newcomer": newcomer and kind == NEWCOMER_KIND},
            cursor=(cursors or {}).get(kind),
        )
        for kind in KINDS
    }


__all__ = ["LIVE_INTERVAL", "DemoBackend", "demo_channels"]
