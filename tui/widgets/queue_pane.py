"""The live queue pane: waits by age and channel, the longest waits (Enter opens one), breaches, agents."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from frontdesk.desk.report.queue import BUCKETS, QueueSnapshot, Waiting
from frontdesk.tui.safe import clean_line
from frontdesk.tui.widgets.formatting import age

BREACHES_SHOWN = 5
"""Breaches listed by name; the rest are counted."""


@dataclass(frozen=True, slots=True)
class Names:
    """How the pane names what a wait refers to (the desk's `contact_name`, `agent_name`)."""

    contact: Callable[[int], str]
    agent: Callable[[str], str]


def buckets_table(snapshot: QueueSnapshot) -> Table:
    """Waiting conversations per age bucket: all channels, then one row per channel."""
    table = Table(box=None, expand=True, header_style="bold", pad_edge=False)
    table.add_column("Waiting", no_wrap=True, ratio=1, min_width=8)
    for label, _ in BUCKETS:
        table.add_column(label, justify="right", no_wrap=True)
    table.add_row(Text("All", style="bold"), *map(str, snapshot.buckets), style="bold")
    for channel, counts in snapshot.by_channel.items():
        table.add_row(Text(clean_line(channel)), *map(str, counts))
    return table


def wait_prompt(wait: Waiting, now: datetime, names: Names) -> Text:
    """One of the longest waits: ⚠ when past its SLA, how long, who, where, whose."""
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append("⚠" if wait.breached(now) else " ", "bold red")
    line.append(f"{age(wait.since, now):>4} ", "bold")
    line.append(clean_line(names.contact(wait.contact_id)) or f"#{wait.id}")
    line.append(f" · {clean_line(wait.channel)}", "dim")
    whose = clean_line(names.agent(wait.assignee)) if wait.assignee else "unassigned"
    line.append(f" · {whose}", "dim")
    return line


def breaches_text(snapshot: QueueSnapshot, now: datetime, names: Names) -> Text:
    if not snapshot.breaches:
        return Text("No SLA breaches.", "dim")
    text = Text(f"SLA breaches: {len(snapshot.breaches)}", "bold red")
    for wait in snapshot.breaches[:BREACHES_SHOWN]:
        late = age(wait.sla_due_at, now) if wait.sla_due_at else "?"
        who = clean_line(names.contact(wait.contact_id)) or f"#{wait.id}"
        text.append(f"\n  +{late} {who} · {clean_line(wait.channel)}")
    if len(snapshot.breaches) > BREACHES_SHOWN:
        text.append(f"\n  … and {len(snapshot.breaches) - BREACHES_SHOWN} more", "dim")
    return text


def agents_text(snapshot: QueueSnapshot, team: bool) -> Text:
    """Each agent with their open count; in team mode a dot says who is online."""
    text = Text("Agents" + (" (● online)" if team else ""), "bold")
    for agent in snapshot.agents:
        dot = ("● " if agent.online else "○ ") if team else ""
        text.append(f"\n  {dot}{clean_line(agent.name)} · {agent.open_count} open")
    return text


class QueuePane(Vertical):
    """Shows a `QueueSnapshot`; Enter on one of the longest waits posts `OpenConversation`."""

    DEFAULT_CSS = """
    QueuePane { padding: 0 1; }
    QueuePane > .queue-title { text-style: bold underline; margin-top: 1; }
    QueuePane > #queue-buckets { height: auto; }
    QueuePane > #queue-longest {
        height: auto; max-height: 12; border: none; padding: 0; background: transparent;
    }
    QueuePane > #queue-longest:focus { background: $boost; }
    QueuePane > #queue-breaches, QueuePane > #queue-agents { height: auto; margin-top: 1; }
    """

    @dataclass
    class OpenConversation(Message):
        """The supervisor chose one of the longest waits."""

        pane: QueuePane
        conversation_id: int

        @property
        def control(self) -> QueuePane:
            return self.pane

    def __init__(self, names: Names, *, team: bool, id: str | None = None) -> None:
        super().__init__(id=id)
        self.names = names
        self.team = team

    def compose(self) -> ComposeResult:
        yield Static(id="queue-buckets")
        yield Static("Longest waiting (Enter opens)", classes="queue-title")
        yield OptionList(id="queue-longest")
        yield Static(id="queue-breaches")
        yield Static(id="queue-agents")

    @property
    def longest(self) -> OptionList:
        return self.query_one("#queue-longest", OptionList)

    def show(self, snapshot: QueueSnapshot, now: datetime) -> None:
        self.border_title = f"Live queue · {snapshot.waiting} waiting"
        self.query_one("#queue-buckets", Static).update(buckets_table(snapshot))
        self._show_longest(snapshot, now)
        self.query_one("#queue-breaches", Static).update(breaches_text(snapshot, now, self.names))
        self.query_one("#queue-agents", Static).update(agents_text(snapshot, self.team))

    def _show_longest(self, snapshot: QueueSnapshot, now: datetime) -> None:
        """Rebuild the list keeping the highlight on the same conversation when it is still there."""
        options = self.longest
        kept = options.highlighted_option.id if options.highlighted_option else None
        options.clear_options()
        if not snapshot.longest:
            options.add_option(Option(Text("Nobody is waiting.", "dim"), disabled=True))
            return
        options.add_options(
            Option(wait_prompt(w, now, self.names), id=str(w.id)) for w in snapshot.longest
        )
        ids = [str(w.id) for w in snapshot.longest]
        options.highlighted = ids.index(kept) if kept in ids else 0

    @on(OptionList.OptionSelected, "#queue-longest")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.post_message(self.OpenConversation(self, int(event.option.id)))
