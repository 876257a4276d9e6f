"""Working beside other agents: presence in the header, list and thread; typing; the traffic cop.

Works the same on the in-process desk (solo) and the team client: everything comes from
the desk's interface (`online`, `activity`, `set_viewing`, `set_typing`) and its change
feed (PRESENCE, ACTIVITY, MENTION, LINK).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from rich.markup import escape
from rich.text import Text

from frontdesk.desk import Change, ChangeKind
from frontdesk.desk.presence import Activity, AgentInfo
from frontdesk.model import Direction, Message, MessageKind
from frontdesk.tui.safe import clean_line
from frontdesk.tui.screens.send_anyway import SendAnyway
from frontdesk.tui.widgets.composer import Composer

TYPING_REPORT_SECONDS = 2.0
"""The console tells the desk "still typing" at most this often (the desk lapses it after 6 s)."""
PREVIEW_CHARS = 60
"""How much of the other agent's reply the traffic cop quotes."""


def activity_text(activities: Sequence[Activity], name_of: Callable[[str], str]) -> str:
    """ "Ben is typing…", "Ben and Chloé are viewing", typing first; "" when nobody else is there."""
    parts = []
    for doing, singular, plural in (
        ("typing", "is typing…", "are typing…"),
        ("viewing", "is viewing", "are viewing"),
    ):
        names = [clean_line(name_of(a.agent)) for a in activities if a.doing == doing]
        if names:
            who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
            parts.append(f"{who} {singular if len(names) == 1 else plural}")
    return " · ".join(parts)


def team_label(mode: str, online: int, link_lost: bool, link_problem: str = "") -> str:
    """What the header says of the desk: "solo", "team · 3 online", or that the desk is lost;
    on a Chatwoot server "Chatwoot", "· stale" while what it shows may be out of date (painted
    from the cache before the server answered) and "· offline" once the link is lost."""
    if mode == "chatwoot":
        # a problem other than "stale: …" or a paused live feed (unreachable, token refused) means
        # nothing answers now, also when the console started without the server (no LINK change)
        if link_lost or (link_problem and not link_problem.startswith(("stale", "live updates"))):
            return "Chatwoot · offline"
        return "Chatwoot · stale" if link_problem else "Chatwoot"
    if mode != "team":
        return "solo"
    return "team · desk lost" if link_lost or link_problem else f"team · {online} online"


def agent_choice(info: AgentInfo, me: str, team: bool, counted: bool = True) -> str:
    """One agent in the assignment picker: online dot (team and Chatwoot), name, open count
    (not `counted` on a Chatwoot account: the console holds only the pages it loaded)."""
    dot = ("● " if info.online else "○ ") if team else ""
    mine = " (me)" if info.user == me else ""
    count = f" · {info.open_count} open" if counted else ""
    return f"{dot}{clean_line(info.name)}{mine}{count}"


def replies_by_others(messages: Iterable[Message], me: str, after_id: int) -> list[Message]:
    """Replies to the customer another agent wrote after message `after_id` (the newest seen)."""
    return [
        m
        for m in messages
        if m.id > after_id
        and m.direction is Direction.OUT
        and not m.private
        and m.kind is not MessageKind.ACTIVITY
        and m.author != me
    ]


def how_long_ago(then: datetime, now: datetime) -> str:
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


@dataclass
class TeamState:
    """What the console remembers of its own presence reports and of what the agent has seen."""

    viewing: int | None = None  # the conversation reported as viewed
    typing: tuple[int, float] | None = None  # (conversation, time.monotonic() of the last report)
    seen: dict[int, int] = field(default_factory=dict)  # conversation → newest message id seen
    link_lost: bool = False
    online: int | None = None  # agents online, kept until presence changes (None: count anew)
    thread_title: Text | None = None  # the thread's border title without who else is there


class TeamFlow:
    """Mixed into the App (which has the desk, the panes, the clock and the screens this flow uses)."""

    @property
    def team(self) -> TeamState:
        state = getattr(self, "_team_state", None)
        if state is None:
            state = self._team_state = TeamState()
        return state

    # ---- what the console shows ------------------------------------------------------------

    def team_label(self) -> str:
        """The header's word on the desk. The header follows every list change, and counting
        who is online walks every conversation (`desk.online`): counted on presence only."""
        problem = self.desk.link_problem
        if self.desk.mode != "team":
            return team_label(self.desk.mode, 0, self.team.link_lost, problem)
        if self.team.online is None:
            self.team.online = sum(1 for info in self.desk.online() if info.online)
        return team_label(self.desk.mode, self.team.online, self.team.link_lost, problem)

    def row_activity(self, conv_id: int) -> str:
        """The list row's line of who else views or types in the conversation."""
        return activity_text(self.desk.activity(conv_id), self.desk.agent_name)

    def thread_shown(self, conv_id: int, title: Text) -> None:
        """The thread now shows `conv_id` under `title`: add who else is there, and say we view it."""
        self.team.thread_title = title
        self._show_thread_activity()
        if self.team.viewing != conv_id:
            self.team.viewing = conv_id
            self._stop_typing()
            self._report(self.desk.set_viewing(conv_id))

    def _show_thread_activity(self) -> None:
        conv_id = self.thread.conversation_id
        base = self.team.thread_title
        if conv_id is None or base is None:
            return
        title = base.copy()
        who = self.row_activity(conv_id)
        if who:
            title.append(" · ")
            title.append(who, "italic")
        self.thread.border_title = title

    def _newest_shown(self) -> int:
        return max((m.id for m in self.thread.messages), default=0)

    async def apply_team_changes(self, changes: Sequence[Change]) -> None:
        """Presence, activity and the desk link of one burst of changes."""
        kinds = {c.kind for c in changes}
        for change in changes:
            if change.kind is ChangeKind.LINK:
                was_lost = self.team.link_lost
                self.team.link_lost = change.failed
                desk = "Chatwoot" if self.desk.mode == "chatwoot" else "the desk"
                if change.failed:
                    why = "" if change.detail in ("", "lost") else f" ({clean_line(change.detail)})"
                    # a refused token is not retried as is: the desk reads it again until it changes
                    then = "waiting for the new one" if "token" in change.detail else "reconnecting"
                    self.notify(
                        escape(f"Lost {desk}{why}: {then}; your drafts are kept."),
                        title="Desk",
                        severity="error",
                        timeout=8,
                    )
                elif was_lost:
                    self.notify(f"Back on {desk}.", title="Desk", timeout=4)
                else:  # painted from the cache, and now the server answered: nothing was lost
                    self.notify(f"{desk} answered: the lists are current.", title="Desk", timeout=3)
        if kinds & {ChangeKind.PRESENCE, ChangeKind.LINK, ChangeKind.RESET}:
            self.team.online = None
            self._update_header()
        touched = {
            c.conversation_id
            for c in changes
            if c.kind is ChangeKind.ACTIVITY and c.conversation_id is not None
        }
        if touched:
            self.conversation_list.refresh_conversations(touched)
        if self.thread.conversation_id in touched or ChangeKind.RESET in kinds:
            self._show_thread_activity()
        for change in changes:
            if change.kind is ChangeKind.MENTION and change.agent == self.desk.agent:
                await self._mentioned(change)

    async def _mentioned(self, change: Change) -> None:
        if change.conversation_id is None or change.message_id is None:
            return
        try:
            note = await self.desk.message(change.conversation_id, change.message_id)
            conv = await self.desk.conversation(change.conversation_id)
        except Exception:
            return  # gone: nothing to point at
        if note is None or note.author == self.desk.agent:
            return
        who = self.desk.agent_name(note.author or "someone")
        where = self.desk.contact_name(conv.contact_id)
        self.notify(
            escape(f"{clean_line(who)} mentioned you in {clean_line(where)}."),
            title="Mention",
            timeout=8,
        )

    # ---- what the console reports ----------------------------------------------------------

    def composer_typed(self) -> None:
        """The agent changed the composer's text: say they type (at most every 2 s)."""
        conv_id = self._draft_for
        if conv_id is None or not self.composer.has_focus:
            return  # a draft loaded into the composer is not typing
        self.team.seen.setdefault(conv_id, self._newest_shown())
        if not self.composer.text.strip():
            self._stop_typing()
            return
        now = time.monotonic()
        last = self.team.typing
        if last is not None and last[0] == conv_id and now - last[1] < TYPING_REPORT_SECONDS:
            return
        if last is not None and last[0] != conv_id:
            self._stop_typing()
        self.team.typing = (conv_id, now)
        self._report(self.desk.set_typing(conv_id, True))

    def _stop_typing(self) -> None:
        last, self.team.typing = self.team.typing, None
        if last is not None:
            self._report(self.desk.set_typing(last[0], False))

    def writing_ended(self, conv_id: int | None = None) -> None:
        """A reply was sent or the composer closed: no longer typing (after a send, what was
        seen starts again from the reply)."""
        self._stop_typing()
        if conv_id is not None:
            self.team.seen.pop(conv_id, None)

    async def leave_desk(self) -> None:
        """The console quits: it no longer views or types anywhere."""
        self._stop_typing()
        if self.team.viewing is not None:
            self.team.viewing = None
            try:
                await self.desk.set_viewing(None)
            except Exception:
                pass  # the desk is gone: it forgets us anyway

    def _report(self, call) -> None:
        self.run_worker(self._quietly(call), group="presence", exit_on_error=False)

    async def _quietly(self, call) -> None:
        try:
            await call
        except Exception:
            pass  # presence is a courtesy: a lost desk is reported by LINK, not per keystroke

    # ---- the traffic cop -------------------------------------------------------------------

    async def traffic_cop(self, conv_id: int, message: Composer.Submitted) -> bool:
        """True when the reply is held: another agent answered the customer after this agent
        started writing, and a dialog asks whether to send anyway (yes sends it again)."""
        seen = self.team.seen.get(conv_id)
        if seen is None:
            return False
        try:
            messages = await self.desk.thread(conv_id)
        except Exception:
            return False  # sending says what is wrong
        others = replies_by_others(messages, self.desk.agent, seen)
        if not others:
            return False
        latest = others[-1]
        question = Text()
        question.append(clean_line(self.desk.agent_name(latest.author or "Another agent")), "bold")
        question.append(f" replied {how_long_ago(latest.created_at, self.clock())}: ")
        body = clean_line(latest.body)
        question.append(body if len(body) <= PREVIEW_CHARS else body[: PREVIEW_CHARS - 1] + "…")
        question.append("\n\nSend your reply anyway?")
        newest = max(m.id for m in messages)

        def answered(send: bool | None) -> None:
            if send:
                self.team.seen[conv_id] = newest
                self.post_message(Composer.Submitted(message.composer, message.text, message.mode))
            else:
                self.notify("Not sent: your reply is still in the composer.", timeout=4)
                self.composer.focus()

        self.push_screen(SendAnyway(question), answered)
        return True

    # ---- assignment ------------------------------------------------------------------------

    def assignment_choices(self) -> tuple[list[str], list[str]]:
        """The agents to assign to (users) and how the picker shows each."""
        infos = self.desk.online()
        team = self.desk.mode in ("team", "chatwoot")  # Chatwoot agents have an availability
        counted = self.desk.mode != "chatwoot"
        return (
            [info.user for info in infos],
            [agent_choice(info, self.desk.agent, team, counted) for info in infos],
        )
