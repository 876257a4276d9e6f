"""The header bar: the agent, the view tabs with their counts, and the health of each channel."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.widgets import Static

from frontdesk.desk import View
from frontdesk.model import ChannelStatus
from frontdesk.tui.safe import clean_line

VIEW_CYCLE = (
    View.MINE,
    View.UNASSIGNED,
    View.ALL,
    View.ESCALATED,
    View.SNOOZED,
    View.RESOLVED,
    View.BOT,
)
"""The views in tab order: keys 1…7 jump to them, `v` cycles through them."""
QUIET_TABS = frozenset({View.BOT})
"""Tabs shown only while they hold a conversation or are current: a desk without the FAQ bot
never sees an empty Bot tab."""
_CHANNEL_STATE = {"ok": "green", "connecting": "yellow", "down": "red"}
_LINK_STYLE = {"lost": "bold red", "offline": "bold red", "stale": "bold yellow"}
"""How the desk's label ends when what the console shows may be out of date."""


def shown_views(view: View, counts: Mapping[View, int]) -> list[View]:
    """The views whose tabs show, in tab order: a quiet tab only when it holds some or is current."""
    return [v for v in VIEW_CYCLE if v not in QUIET_TABS or v is view or counts.get(v)]


class HeaderBar(Static):
    """One row: redrawn only when what it shows changes."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._header: Text | None = None  # what the header bar shows

    def show(
        self,
        agent: str,
        view: View,
        counts: dict[View, int],
        *,
        filtered: bool,
        channels: Mapping[str, ChannelStatus],
        width: int,
        team: str = "",
        link: str = "",
    ) -> None:
        """Agent, the view tabs with their counts (the current one lit), channel health, and in
        what is left of the line why what it shows may be stale (`link`), else why a channel
        is down.

        When that is wider than the terminal, healthy channels fold into one count and
        then the tabs drop their titles to the key and count ("1 Mine 9" → "1:9").
        """
        tabs = view_tabs(agent, view, counts, filtered, titled=True, team=team)
        health = channel_health(channels, compact=False)
        if tabs.cell_len + health.cell_len > width:
            health = channel_health(channels, compact=True)
        if tabs.cell_len + health.cell_len > width:
            tabs = view_tabs(agent, view, counts, filtered, titled=False, team=team)
        header = Text.assemble(tabs, health)
        room = width - header.cell_len - 1
        reason = link or next(
            (s.detail for _, s in sorted(channels.items()) if s.state == "down" and s.detail), ""
        )
        if reason and room >= 12:  # why, in what is left of the line
            reason = clean_line(reason)
            header.append(
                reason if len(reason) <= room else reason[: room - 1] + "…",
                "italic yellow" if link else "dim",
            )
        if header != self._header:  # most live changes leave the counts as they were
            self._header = header
            # one row high in any case: no layout pass (which would arrange every pane again)
            self.update(header, layout=False)


def view_tabs(
    agent: str,
    view: View,
    counts: dict[View, int],
    filtered: bool,
    *,
    titled: bool,
    team: str = "",
) -> Text:
    header = Text(" ")
    header.append(clean_line(agent), "bold")
    if team:  # "solo", "team · 3 online", "team · desk lost", "Chatwoot · stale" …
        header.append(f" · {team}", _LINK_STYLE.get(team.rpartition(" ")[2], "dim"))
    header.append(" │")
    shown = shown_views(view, counts)
    for number, tab_view in enumerate(VIEW_CYCLE, start=1):
        if tab_view not in shown:
            continue
        current = tab_view is view
        label = tab_view.title if titled or current else ""
        tab = (
            f" {number} {label} {counts.get(tab_view, 0)} "
            if label
            else f" {number}:{counts.get(tab_view, 0)} "
        )
        header.append(tab, "bold reverse" if current else "")
    if filtered:
        header.append(" filtered", "italic")
    header.append(" │ ")
    return header


def channel_health(channels: Mapping[str, ChannelStatus], *, compact: bool) -> Text:
    """A dot per channel; compact: the healthy ones as one count, only the others named."""
    health = Text()
    statuses = sorted(channels.items())
    if compact:
        healthy = sum(1 for _, status in statuses if status.state == "ok")
        if healthy:
            health.append("● ", _CHANNEL_STATE["ok"])
            health.append(f"{healthy} channel{'s' if healthy != 1 else ''} ok ")
        statuses = [(name, status) for name, status in statuses if status.state != "ok"]
    for name, status in statuses:
        health.append("● ", _CHANNEL_STATE.get(status.state, "yellow"))
        health.append(clean_line(name) + " ")
        if status.state != "ok":
            health.append(f"{clean_line(status.state)} ", "dim")
    return health
