"""A report as the console shows it: the period's headline tiles and the table of its rows."""

from __future__ import annotations

from collections.abc import Callable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from frontdesk.desk.report import Figures, Grouping, Report, Stat, Times
from frontdesk.desk.report.render import key_text, share_text, span_text
from frontdesk.tui.safe import clean_line

NONE = span_text(None)
"""Shown for a figure with nothing to compute it from."""
GROUP_TITLES = {
    Grouping.AGENT: "Agent",
    Grouping.CHANNEL: "Channel",
    Grouping.LABEL: "Label",
    Grouping.TEAM: "Team",
    Grouping.DAY: "Day",
    Grouping.HOUR: "Hour",
}
ROW_LIMIT = 200
"""Rows shown at most (hours of 30 days would be 720): `frontdesk report` lists them all."""


def median(stat: Stat) -> str:
    return span_text(stat.median)


def clock_of(times: Times, business: bool) -> Stat:
    """A time metric in business hours or in calendar time."""
    return times.business if business else times.calendar


def tiles(figures: Figures, business: bool = False) -> list[tuple[str, str, str, str]]:
    """The headline tiles: (id, title, value, what the value is) each, in the order shown;
    `business`: the times in business hours."""
    first = clock_of(figures.first_response, business)
    resolution = clock_of(figures.resolution, business)
    return [
        ("volume", "Messages", f"{figures.messages_in} in", f"{figures.messages_out} out"),
        ("opened", "Opened", str(figures.opened), f"{figures.resolved} resolved"),
        ("first-response", "1st reply", median(first), "median"),
        ("resolution", "Resolution", median(resolution), "median"),
        ("csat", "CSAT", share_text(figures.csat), f"{figures.ratings} rated"),
        ("sla", "SLA met", share_text(figures.sla_met), f"{figures.sla_breaches} breaches"),
        ("responsive", "In 15 min", share_text(figures.responsiveness), "last 7 days"),
    ]


def tile_text(title: str, value: str, sub: str) -> Text:
    return Text.assemble(
        (title, "dim"), "\n", (value, "bold"), "\n", (sub, "dim"), justify="center"
    )


def rows_table(
    report: Report, name_of: Callable[[str], str] = lambda key: key, business: bool = False
) -> Table:
    """The report's rows (by agent, channel, …) with their main figures, the period's total last
    (`business`: times in business hours); spans, shares and empty keys read as `frontdesk
    report` prints them."""
    table = Table(box=None, expand=True, header_style="bold", pad_edge=False)
    table.add_column(GROUP_TITLES[report.grouping], no_wrap=True, ratio=2)
    for title in (
        "Opened",
        "Resolved",
        "In",
        "Out",
        "1st resp",
        "p90",
        "Resolution",
        "CSAT",
        "SLA",
    ):
        table.add_column(title, justify="right", no_wrap=True)
    for row in report.rows[:ROW_LIMIT]:
        shown = clean_line(name_of(row.key) if row.key else key_text(report, row.key))
        table.add_row(Text(shown), *_cells(row.figures, business))
    table.add_row(Text("All", style="bold"), *_cells(report.figures, business), style="bold")
    return table


def _cells(f: Figures, business: bool) -> list[str]:
    first = clock_of(f.first_response, business)
    return [
        str(f.opened),
        str(f.resolved),
        str(f.messages_in),
        str(f.messages_out),
        span_text(first.median),
        span_text(first.p90),
        median(clock_of(f.resolution, business)),
        share_text(f.csat),
        share_text(f.sla_met),
    ]


class ReportTiles(Horizontal):
    """One tile per headline figure; `show` puts a report's figures in them."""

    DEFAULT_CSS = """
    ReportTiles { height: 5; }
    ReportTiles > Static {
        width: 1fr; height: 5; border: round $primary-darken-1; text-align: center;
        text-wrap: nowrap; text-overflow: ellipsis;
    }
    """

    def compose(self) -> ComposeResult:
        for tile_id, title, _, _ in tiles(Figures()):
            yield Static(tile_text(title, NONE, ""), id=f"tile-{tile_id}")

    def show(self, figures: Figures, business: bool = False) -> None:
        for tile_id, title, value, sub in tiles(figures, business):
            self.query_one(f"#tile-{tile_id}", Static).update(tile_text(title, value, sub))
