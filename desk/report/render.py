"""A report as people read it (a table), and for other tools (CSV rows, JSON)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from zoneinfo import ZoneInfo

import msgspec

from frontdesk.desk.report.figures import Figures, Grouping, Report, Stat

NONE_KEY = {
    Grouping.AGENT: "(unassigned)",
    Grouping.CHANNEL: "(none)",
    Grouping.LABEL: "(no label)",
    Grouping.TEAM: "(no team)",
    Grouping.DAY: "",
    Grouping.HOUR: "",
}


def span_text(seconds: float | None) -> str:
    """ "45s", "12m", "1h05m", "2d3h"; "–" for none."""
    if seconds is None:
        return "–"
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    minutes = round(s / 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, mins = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{mins:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours}h"


def share_text(share: float | None) -> str:
    return "–" if share is None else f"{share:.0%}"


def key_text(report: Report, key: str) -> str:
    return key or NONE_KEY[report.grouping]


def _stat_line(name: str, calendar: Stat, business: Stat, with_business: bool) -> str:
    line = (
        f"{name:<15} median {span_text(calendar.median)} · p90 {span_text(calendar.p90)} · "
        f"mean {span_text(calendar.mean)} ({calendar.count})"
    )
    if with_business:
        line += (
            f" · business hours: median {span_text(business.median)} · "
            f"p90 {span_text(business.p90)} · mean {span_text(business.mean)}"
        )
    return line


def headline_lines(report: Report) -> list[str]:
    f, zone = report.figures, ZoneInfo(report.timezone)
    since, until = report.period.since.astimezone(zone), report.period.until.astimezone(zone)
    business = report.business_hours
    return [
        f"Report {since:%Y-%m-%d %H:%M} → {until:%Y-%m-%d %H:%M} {until:%Z} · by "
        f"{report.grouping.value} · {report.conversations} conversations read",
        f"{'Volume':<15} opened {f.opened} · resolved {f.resolved} · reopened {f.reopened} · "
        f"messages in {f.messages_in} · out {f.messages_out}",
        _stat_line(
            "First response", f.first_response.calendar, f.first_response.business, business
        ),
        _stat_line("Reply time", f.reply.calendar, f.reply.business, business),
        _stat_line("Resolution", f.resolution.calendar, f.resolution.business, business),
        f"{'CSAT':<15} {share_text(f.csat)} ({f.ratings_good} of {f.ratings} ratings 4–5) · "
        f"{f.ratings} of {f.surveys_sent} surveys answered ({share_text(f.survey_response)})",
        f"{'SLA met':<15} {share_text(f.sla_met)} (first {f.sla_first_met}/{f.sla_first}, "
        f"next {f.sla_next_met}/{f.sla_next}) · {f.sla_breaches} breaches",
        f"{'Responsiveness':<15} {share_text(f.responsiveness)} answered within 15 min "
        f"({f.answered_15m} of {f.answerable_15m}, the 7 days to the period's end)",
    ]


COLUMNS: list[tuple[str, Callable[[Figures], str]]] = [
    ("opened", lambda f: str(f.opened)),
    ("resolved", lambda f: str(f.resolved)),
    ("reopened", lambda f: str(f.reopened)),
    ("in", lambda f: str(f.messages_in)),
    ("out", lambda f: str(f.messages_out)),
    ("1st resp", lambda f: span_text(f.first_response.calendar.median)),
    ("p90", lambda f: span_text(f.first_response.calendar.p90)),
    ("reply", lambda f: span_text(f.reply.calendar.median)),
    ("resolution", lambda f: span_text(f.resolution.calendar.median)),
    ("CSAT", lambda f: share_text(f.csat)),
    ("SLA met", lambda f: share_text(f.sla_met)),
    ("≤15m", lambda f: share_text(f.responsiveness)),
]
"""The table's columns after the group: counts, then medians in calendar time."""


def table(report: Report, clean: Callable[[str], str] = str) -> str:
    """The headline, then one row per group; `clean` makes group names (agents, labels: typed
    by people, some from channels) safe to print."""
    head = [report.grouping.value, *(name for name, _ in COLUMNS)]
    body = [
        [clean(key_text(report, row.key)), *(cell(row.figures) for _, cell in COLUMNS)]
        for row in report.rows
    ]
    body.append(["all", *(cell(report.figures) for _, cell in COLUMNS)])
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("─" * w for w in widths)
    return "\n".join(
        [*headline_lines(report), "", line(head), rule, *map(line, body[:-1]), rule, line(body[-1])]
    )


def _stat_fields(name: str, calendar: Stat, business: Stat) -> dict[str, object]:
    fields: dict[str, object] = {f"{name}_count": calendar.count}
    for clock, s in (("", calendar), ("business_", business)):
        for what in ("median", "p90", "mean"):
            value = getattr(s, what)
            fields[f"{name}_{clock}{what}_s"] = "" if value is None else round(value, 1)
    return fields


def csv_fields(f: Figures) -> dict[str, object]:
    """One CSV row's figures: counts, each time metric in seconds, shares 0–1."""
    row: dict[str, object] = {
        "opened": f.opened,
        "resolved": f.resolved,
        "reopened": f.reopened,
        "messages_in": f.messages_in,
        "messages_out": f.messages_out,
    }
    row |= _stat_fields("first_response", f.first_response.calendar, f.first_response.business)
    row |= _stat_fields("reply", f.reply.calendar, f.reply.business)
    row |= _stat_fields("resolution", f.resolution.calendar, f.resolution.business)
    for name in (
        "surveys_sent",
        "ratings",
        "ratings_good",
        "csat",
        "survey_response",
        "sla_first",
        "sla_first_met",
        "sla_next",
        "sla_next_met",
        "sla_breaches",
        "sla_met",
        "answered_15m",
        "answerable_15m",
        "responsiveness",
    ):
        value = getattr(f, name)
        row[name] = (
            "" if value is None else (round(value, 4) if isinstance(value, float) else value)
        )
    return row


_FORMULA = ("=", "+", "-", "@")


def to_csv(report: Report) -> str:
    """A header, one row per group (`group` as in the data, "" for none), then the whole
    period's row with group "*"."""
    out = io.StringIO()
    rows = [(row.key, row.figures) for row in report.rows] + [("*", report.figures)]
    first = csv_fields(report.figures)
    writer = csv.DictWriter(out, ["by", "group", *first], lineterminator="\n")
    writer.writeheader()
    for key, figures in rows:
        group = f"'{key}" if key.startswith(_FORMULA) else key  # a spreadsheet runs "=…"
        writer.writerow({"by": report.grouping.value, "group": group, **csv_fields(figures)})
    return out.getvalue()


def to_json(report: Report) -> str:
    """The whole report as JSON (times ISO 8601, spans in seconds, shares 0–1)."""
    return msgspec.json.format(msgspec.json.encode(report).decode(), indent=2)
