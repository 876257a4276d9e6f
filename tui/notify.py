"""New-message alerts: the bell, OSC 9 / OSC 777 desktop notifications and the unread count in the title.

Customer text is hostile: every piece that goes into an escape sequence is cleaned of
control and escape characters (an ESC or BEL in a name would end the sequence early and
let the rest act on the terminal), bounded in length, and OSC 777's field separator `;`
is replaced. The formatting functions are pure; `Notifier` reads the desk and decides;
`Notices` is the App's side: the alerts for a burst, and the notices it shows on screen.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rich.markup import escape

from frontdesk.desk import Change, ChangeKind, DeskError, View
from frontdesk.desk.interface import DeskAPI
from frontdesk.model import Conversation, Direction, MessageKind, Status
from frontdesk.tui.safe import clean_line

SCOPES = ("mine", "mine-and-unassigned", "all", "off")
DESKTOP = ("osc9", "osc777", "both", "off")
TITLE_LIMIT = 60
BODY_LIMIT = 160
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_ACTIVE = (Status.OPEN, Status.PENDING)
SAVE_TITLE = "\x1b[22;0t"
"""XTWINOPS: push the terminal's title, so quitting gives the user theirs back (ignored where unknown)."""
RESTORE_TITLE = "\x1b[23;0t"
DOWN_NOTICE_QUIET_SECONDS = 600.0
"""A channel down again for the same reason within this long gets no new notice: a restart
loop sets it ok at each try, and its backoff reaches only 60 s."""


def plain(text: str, limit: int) -> str:
    """`text` on one line with no control or escape characters, at most `limit` characters (… when cut)."""
    text = _CONTROLS.sub("", clean_line(text)).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def osc9(title: str, body: str) -> str:
    """iTerm2's desktop notification. The text always starts with the title, never with a
    digit: Windows Terminal and ConEmu read `OSC 9 ; <digit> ;` as a command, not a message."""
    text = f"{plain(title, TITLE_LIMIT)}: {plain(body, BODY_LIMIT)}"
    if text[:1].isdigit():
        text = "frontdesk " + text
    return f"\x1b]9;{text}\x07"


def osc777(title: str, body: str) -> str:
    """rxvt's `notify` extension (foot, VTE, Ghostty, WezTerm); `;` separates its fields."""
    title, body = (
        plain(part, limit).replace(";", ",")
        for part, limit in ((title, TITLE_LIMIT), (body, BODY_LIMIT))
    )
    return f"\x1b]777;notify;{title};{body}\x07"


def osc2(title: str) -> str:
    """Set the window title."""
    return f"\x1b]2;{plain(title, TITLE_LIMIT)}\x07"


def tmux_passthrough(sequence: str) -> str:
    """Wrap `sequence` so tmux hands it to the terminal outside (needs `set -g allow-passthrough on`)."""
    return "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"


def desktop_sequences(kind: str, title: str, body: str, *, in_tmux: bool = False) -> list[str]:
    """The desktop notification sequences for `kind` ("osc9", "osc777", "both", "off")."""
    sequences = []
    if kind in ("osc9", "both"):
        sequences.append(osc9(title, body))
    if kind in ("osc777", "both"):
        sequences.append(osc777(title, body))
    return [tmux_passthrough(s) for s in sequences] if in_tmux else sequences


def in_scope(conv: Conversation, scope: str, agent: str) -> bool:
    """Whether a customer message in `conv` alerts the agent under `scope`."""
    if scope == "off" or conv.status not in _ACTIVE:
        return False
    if scope == "all":
        return True
    if conv.assignee == agent:
        return True
    return scope == "mine-and-unassigned" and conv.assignee is None


def title_text(name: str, waiting: int) -> str:
    """The window title: the count of unread waiting conversations first, so a tab shows it."""
    return f"({waiting}) {name}" if waiting else name


@dataclass(frozen=True, slots=True)
class NotifySettings:
    """`[ui]` notify, bell and desktop (see config.UIConfig)."""

    scope: str = "mine-and-unassigned"
    bell: bool = True
    desktop: str = "osc9"
    in_tmux: bool = False
    quiet_seconds: float = 5.0
    """After an alert, further messages within this many seconds update the title but stay quiet."""

    @classmethod
    def from_environment(cls, scope: str, bell: bool, desktop: str) -> NotifySettings:
        """Settings for the terminal this process runs in (inside tmux when $TMUX is set)."""
        return cls(scope, bell, desktop, in_tmux=bool(os.environ.get("TMUX")))


@dataclass(frozen=True, slots=True)
class Alert:
    """One new customer message worth an alert."""

    conversation_id: int
    author: str
    body: str


class Notifier:
    """Turns desk changes into the bell, a desktop notification and the title count.

    `write(sequence)` sends an escape sequence to the terminal and `bell()` rings it (see
    `frontdesk.tui.terminal.TerminalOutput`); tests pass recorders. One burst of changes
    gives at most one bell and one notification, and so does any `settings.quiet_seconds`
    after an alert (a busy queue must not ring all day).
    """

    def __init__(
        self,
        desk: DeskAPI,
        settings: NotifySettings,
        write: Callable[[str], None],
        bell: Callable[[], None],
        name: str = "frontdesk",
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.desk = desk
        self.monotonic = monotonic
        self._last_alert: float | None = None
        self.settings = settings
        self.write = write
        self.bell = bell
        self.name = name
        self.waiting: int | None = None
        """The count last put in the title (None before the first)."""
        self._alerted: set[int] = set()
        self._waiting_ids: set[int] | None = None  # unread conversations in scope, once counted

    async def changes(
        self, changes: Iterable[Change], *, watched: int | None = None
    ) -> list[Alert]:
        """Alert on new inbound messages in scope, then refresh the title; returns the alerts.

        `watched` is the conversation the agent is looking at in a focused console: its
        messages are seen as they arrive and do not alert.
        """
        changes = list(changes)
        alerts = await self._alerts(changes, watched)
        if alerts:
            self._alert(alerts)
        if any(c.kind is ChangeKind.RESET for c in changes):
            await self.update_title()
        else:
            touched = {
                c.conversation_id
                for c in changes
                if c.kind in (ChangeKind.CONVERSATION, ChangeKind.MESSAGE)
                and c.conversation_id is not None
            }
            if touched:
                await self.update_title(touched)
        return alerts

    async def _alerts(self, changes: list[Change], watched: int | None) -> list[Alert]:
        if self.settings.scope == "off":
            return []
        wanted: dict[int, set[int]] = {}
        for change in changes:
            if (
                change.kind is ChangeKind.MESSAGE
                and change.conversation_id is not None
                and change.message_id is not None
            ):
                if change.message_id not in self._alerted and change.conversation_id != watched:
                    wanted.setdefault(change.conversation_id, set()).add(change.message_id)
        alerts = await self._mentions(changes, watched)
        alerts += await self._breaches(changes, watched)
        for conv_id, message_ids in wanted.items():
            try:
                conv = await self.desk.conversation(conv_id)
                if not in_scope(conv, self.settings.scope, self.desk.agent):
                    continue
                messages = await self.desk.thread(conv_id)
            except Exception:
                continue  # gone or unreadable: the list shows the problem, an alert cannot help
            for message in messages:
                if (
                    message.id in message_ids
                    and message.direction is Direction.IN
                    and not message.private
                    and message.kind is not MessageKind.ACTIVITY
                ):
                    self._alerted.add(message.id)
                    alerts.append(Alert(conv_id, message.author or "", message.body))
        return alerts

    async def _mentions(self, changes: list[Change], watched: int | None) -> list[Alert]:
        """Notes that mention this console's agent (never anyone else's): they alert in any
        scope but "off", since they are addressed to this agent."""
        alerts: list[Alert] = []
        me = self.desk.agent
        for change in changes:
            if (
                change.kind is not ChangeKind.MENTION
                or change.agent != me
                or change.conversation_id in (None, watched)
                or change.message_id is None
                or change.message_id in self._alerted
            ):
                continue
            try:
                note = await self.desk.message(change.conversation_id, change.message_id)
            except Exception:
                continue
            if note is None or note.author == me:
                continue
            self._alerted.add(note.id)
            who = self.desk.agent_name(note.author or "someone")
            alerts.append(Alert(change.conversation_id, f"{who} mentioned you", note.body))
        return alerts

    async def _breaches(self, changes: list[Change], watched: int | None) -> list[Alert]:
        """Replies past their SLA in scope alert like a new message: someone must answer now."""
        alerts: list[Alert] = []
        for change in changes:
            conv_id = change.conversation_id
            if change.kind is not ChangeKind.SLA or conv_id in (None, watched):
                continue
            try:
                conv = await self.desk.conversation(conv_id)
            except Exception:
                continue
            if not in_scope(conv, self.settings.scope, self.desk.agent):
                continue
            who = self.desk.contact_name(conv.contact_id)
            which = "first reply" if conv.sla_kind == "first" else "reply"
            alerts.append(
                Alert(conv_id, "SLA breached", f"{who} waits for a {which} ({conv.priority.value})")
            )
        return alerts

    def _alert(self, alerts: list[Alert]) -> None:
        now = self.monotonic()
        if self._last_alert is not None and now - self._last_alert < self.settings.quiet_seconds:
            return
        self._last_alert = now
        if self.settings.bell:
            self.bell()
        if self.settings.desktop == "off":
            return
        first = alerts[0]
        authors = list(dict.fromkeys(plain(a.author, TITLE_LIMIT) or "A customer" for a in alerts))
        title = authors[0] if len(authors) == 1 else f"{authors[0]} and {len(authors) - 1} more"
        body = (
            first.body
            if len(alerts) == 1
            else f"{len(alerts)} new messages — {plain(first.body, BODY_LIMIT)}"
        )
        for sequence in desktop_sequences(
            self.settings.desktop, f"{self.name}: {title}", body, in_tmux=self.settings.in_tmux
        ):
            self.write(sequence)

    async def update_title(self, touched: Iterable[int] | None = None) -> None:
        """Put the number of unread conversations waiting on this agent in the window title.

        With `touched`, only those conversations changed: the set of waiting ones is
        updated for them instead of being counted again over the whole cache.
        """
        scope = self.settings.scope if self.settings.scope != "off" else "mine-and-unassigned"
        agent = self.desk.agent
        try:
            if touched is None or self._waiting_ids is None:
                conversations = await self.desk.conversations(View.ALL, sort=None)  # only counted
                self._waiting_ids = {
                    c.id for c in conversations if c.unread and in_scope(c, scope, agent)
                }
            else:
                for conv_id in touched:
                    try:
                        conv = await self.desk.conversation(conv_id)
                    except DeskError:
                        conv = None  # merged away
                    if conv is not None and conv.unread and in_scope(conv, scope, agent):
                        self._waiting_ids.add(conv_id)
                    else:
                        self._waiting_ids.discard(conv_id)
        except Exception:
            return
        waiting = len(self._waiting_ids)
        if waiting != self.waiting:
            self.waiting = waiting
            self.write(osc2(title_text(self.name, waiting)))


class Notices:
    """Mixed into the App (which has the desk, the notifier and the notices found at start)."""

    def _notify_cache_damage(self) -> None:
        for notice in self.notices:
            self.notify(notice, title="Cache damaged", severity="error", timeout=30, markup=False)

    def _notify_hooks(self, notices: Iterable[str]) -> None:
        for notice in notices:
            self.notify(escape(clean_line(notice)), title="Escalation hook", timeout=5)

    async def _alert_changes(self, changes: Iterable[Change]) -> None:
        """The bell, desktop notification and title for a burst; not for the conversation in view."""
        watched = (
            self.thread.conversation_id
            if self.app_focus and self.screen is self.screen_stack[0]
            else None
        )
        await self.notifier.changes(changes, watched=watched)

    def _notify_channels_down(self) -> None:
        """A channel that has gone down: its reason in a notice (the header shows only its state)."""
        now = time.monotonic()
        for name, status in sorted(self.desk.channel_status.items()):
            if status.state != "down":
                continue
            reason = status.detail.partition(" — retrying in ")[
                0
            ]  # the delay changes at every retry
            last = self._down_notified.get(name)
            if last is not None and last[0] == reason and now - last[1] < DOWN_NOTICE_QUIET_SECONDS:
                continue
            self._down_notified[name] = (reason, now)
            self.notify(
                escape(clean_line(f"{name}: {status.detail}")),
                title="Channel down",
                severity="warning",
                timeout=8,
            )
