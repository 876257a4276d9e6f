"""The report's chart: messages in per day (or hour) as bars, the median first response as a line."""

from __future__ import annotations

from datetime import tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from textual_plotext import PlotextPlot

from frontdesk.desk.report import Point

MAX_TICKS = 12
"""Labels on the x axis at most: more would run into each other."""


def report_zone(name: str) -> tzinfo | None:
    """The zone a report counted its days and hours in (None: a name that is no IANA zone,
    where each point keeps the offset it came with)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def tick_label(point: Point, step: str, tz: tzinfo | None) -> str:
    """ "Mon 07" for a day, "14h" for an hour, in the zone the report counted them in (a day
    from midnight UTC read in New York would be the day before)."""
    at = point.at.astimezone(tz) if tz is not None else point.at
    return f"{at:%H}h" if step == "hour" else f"{at:%a %d}"


class ReportChart(PlotextPlot):
    """Draws a report's series with plotext (bars: messages in; line: first response, minutes)."""

    def show(self, series: list[Point], step: str, tz: tzinfo | None = None) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        xs = list(range(1, len(series) + 1))
        if not xs:
            plt.title("Nothing in this period")
            self.refresh()
            return
        plt.bar(xs, [p.messages_in for p in series], label="messages in", color="blue")
        timed = [
            (x, p.first_response_median / 60)
            for x, p in zip(xs, series, strict=True)
            if p.first_response_median is not None
        ]
        if timed:
            plt.plot(
                [x for x, _ in timed],
                [m for _, m in timed],
                label="median 1st response (min)",
                yside="right",
                marker="braille",
                color="orange",
            )
        every = max(1, -(-len(xs) // MAX_TICKS))
        plt.xticks(xs[::every], [tick_label(p, step, tz) for p in series[::every]])
        plt.title(f"Per {step}")
        self.refresh()
