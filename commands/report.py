"""`frontdesk report`: a period's figures as a table, CSV or JSON, from a served desk or the cache."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING

from frontdesk import __version__
from frontdesk.desk_setup import (
    chatwoot_refusal,
    data_dir,
    demo_config,
    demo_dir,
    load_config,
    report_clock,
    sla_policy,
)
from frontdesk.errors import CliError

if TYPE_CHECKING:
    from frontdesk.desk.report import Grouping, Report

GROUPINGS = ("agent", "channel", "label", "team", "day", "hour")
_AGO = re.compile(r"(\d{1,4})([dhw])")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    report = sub.add_parser(
        "report",
        parents=[common],
        help="response, resolution, CSAT and SLA figures for a period (README: Reports)",
    )
    report.add_argument(
        "--since",
        default="7d",
        metavar="WHEN",
        help="start: 7d, 24h, 2w ago, or a date 2026-12-01 (UTC midnight); default 7d",
    )
    report.add_argument(
        "--until",
        default="now",
        metavar="WHEN",
        help="end: now (default), an age like --since, or a date (that day included)",
    )
    report.add_argument("--by", choices=GROUPINGS, default="agent", help="rows by (default agent)")
    form = report.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="the whole report as JSON")
    form.add_argument("--csv", action="store_true", help="one CSV row per group, then the total")
    report.add_argument(
        "--demo", action="store_true", help="report on `frontdesk demo`'s workspace"
    )
    report.add_argument("--seed", type=int, default=1, help="with --demo: its seed (default 1)")
    report.add_argument(
        "--solo",
        action="store_true",
        default=argparse.SUPPRESS,  # `frontdesk --solo report` keeps the flag
        help="read the cache even when a served desk answers",
    )


def parse_when(text: str, now: datetime, *, end: bool, flag: str) -> datetime:
    """An age ("7d", "24h", "2w" before `now`), "now", or a date (UTC midnight; as an end,
    the next midnight, so the day is included); CliError in one line otherwise."""
    text = text.strip()
    if text == "now":
        return now
    ago = _AGO.fullmatch(text)
    if ago:
        return now - int(ago.group(1)) * _UNITS[ago.group(2)]
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise CliError(
            f"{flag} {text[:40]!r} is not a date: use 7d, 24h, 2w, now or a date like 2026-12-01"
        ) from None
    start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    return start + timedelta(days=1) if end else start


def cmd_report(args: argparse.Namespace) -> int:
    from frontdesk.desk.report import Grouping
    from frontdesk.desk.report.render import table, to_csv, to_json
    from frontdesk.desk.reporting import MAX_REPORT_DAYS
    from frontdesk.tui.safe import clean_line

    if not args.demo:
        refusal = chatwoot_refusal(load_config(args, check_theme=False), "report")
        if refusal is not None:
            raise CliError(refusal)

    now = datetime.now(timezone.utc)
    since = parse_when(args.since, now, end=False, flag="--since")
    until = parse_when(args.until, now, end=True, flag="--until")
    if until <= since:
        raise CliError(
            f"--until ({until:%Y-%m-%d %H:%M}) is not after --since ({since:%Y-%m-%d %H:%M})"
        )
    if until - since > timedelta(days=MAX_REPORT_DAYS):
        raise CliError(f"a report covers at most {MAX_REPORT_DAYS} days; move --since or --until")
    by = Grouping(args.by)
    report = asyncio.run(_report(args, since, until, by))
    if args.json:
        out = to_json(report)
    elif args.csv:
        out = to_csv(report)
    else:
        out = table(report, clean_line)
    sys.stdout.write(out if out.endswith("\n") else out + "\n")
    return 0


async def _report(
    args: argparse.Namespace, since: datetime, until: datetime, by: Grouping
) -> Report:
    """From the served desk when one answers (the same figures its consoles show), else from
    the cache read-only, with the config's [sla] and [hours]."""
    from frontdesk import config
    from frontdesk.desk.report import Period, build_report
    from frontdesk.store import Store
    from frontdesk.team.one_call import CallFailed, NoDesk, call_desk

    cfg = load_config(args, check_theme=False)
    root = demo_dir(args) if args.demo else data_dir(args)
    if not args.solo:
        socket = (config.demo_socket if args.demo else config.desk_socket)(cfg.team, root)
        try:
            return await call_desk(
                socket, __version__, "report", {"since": since, "until": until, "by": by}
            )
        except NoDesk:
            pass
        except CallFailed as exc:
            raise CliError(str(exc)) from None
    if not (root / "meta.json").exists():
        raise CliError(
            f"no cache in {root}: run `frontdesk{' demo' if args.demo else ''}` first "
            "or point --data-dir at one"
        )
    if args.demo:
        cfg = demo_config(cfg)  # its [sla] and [hours], as `frontdesk demo` runs
    business, tz = report_clock(cfg)
    with Store.open(root, readonly=True) as store:
        period = Period(since, until)
        return await build_report(
            store, period, by, sla=sla_policy(cfg), business_seconds=business, tz=tz
        )
