"""`frontdesk report` as a user runs it: a table, CSV and JSON from a cache, errors in one line."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import small_workspace

from frontdesk.desk import Desk
from frontdesk.store import Store

PERIOD = ["--since", "2026-10-01", "--until", "2026-11-30"]


@pytest.fixture(scope="module")
def place(tmp_path_factory) -> Path:
    """A data dir holding the tests' small workspace (four conversations on two channels)."""
    root = tmp_path_factory.mktemp("report")
    ws = small_workspace()
    with Store.open(root / "data") as store:
        desk = Desk(store, agent="Aiko")
        asyncio.run(desk.load_workspace(ws.contacts, ws.conversations, ws.messages))
    return root


def frontdesk(place: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "FRONTDESK_CONFIG": str(place / "none.toml"),
        "FRONTDESK_DATA_DIR": str(place / "data"),
        "XDG_RUNTIME_DIR": str(place / "run"),  # no served desk answers there
    }
    return subprocess.run(
        [sys.executable, "-m", "frontdesk", "report", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_table_by_channel(place):
    done = frontdesk(place, *PERIOD, "--by", "channel")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Report 2026-10-01 00:00 → 2026-12-01 00:00 UTC · by channel")
    header = next(line for line in lines if line.startswith("channel "))
    assert header.split() == [
        "channel", "opened", "resolved", "reopened", "in", "out", "1st", "resp", "p90",
        "reply", "resolution", "CSAT", "SLA", "met", "≤15m",
    ]  # fmt: skip
    groups = [line.split()[0] for line in lines[lines.index(header) + 2 :] if line[:1].isalnum()]
    assert groups == ["mail", "wa", "all"]


def test_json_holds_the_whole_report(place):
    done = frontdesk(place, *PERIOD, "--by", "day", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report) >= {"period", "grouping", "figures", "rows", "series", "series_step"}
    assert report["grouping"] == "day" and report["series_step"] == "day"
    assert report["period"] == {"since": "2026-10-01T00:00:00Z", "until": "2026-12-01T00:00:00Z"}
    assert len(report["series"]) == 61
    first = report["figures"]["first_response"]
    assert set(first) == {"calendar", "business"}
    assert set(first["calendar"]) == {"count", "median", "p90", "mean"}
    assert sum(p["messages_in"] for p in report["series"]) == report["figures"]["messages_in"]
    assert all(len(row["key"]) == 10 for row in report["rows"])  # 2026-11-02


def test_csv_has_a_row_per_group_then_the_total(place):
    done = frontdesk(place, *PERIOD, "--by", "agent", "--csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert rows[-1]["group"] == "*" and all(row["by"] == "agent" for row in rows)
    total = rows[-1]
    assert int(total["opened"]) == sum(int(row["opened"]) for row in rows[:-1])
    assert list(total)[:7] == [
        "by", "group", "opened", "resolved", "reopened", "messages_in", "messages_out",
    ]  # fmt: skip
    assert "first_response_business_p90_s" in total and "responsiveness" in total


def test_the_same_numbers_as_the_desk_computes(place):
    done = frontdesk(place, *PERIOD, "--by", "channel", "--json", "--solo")
    from_cli = json.loads(done.stdout)
    from frontdesk.desk.report import Grouping, Period, build_report
    from frontdesk.desk.report.render import to_json

    with Store.open(place / "data", readonly=True) as store:
        since, until = from_cli["period"]["since"], from_cli["period"]["until"]
        from datetime import datetime

        period = Period(datetime.fromisoformat(since), datetime.fromisoformat(until))
        here = asyncio.run(build_report(store, period, Grouping.CHANNEL))
    assert json.loads(to_json(here))["figures"] == from_cli["figures"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--since", "2026-13-01"], "frontdesk: --since '2026-13-01' is not a date: use 7d, 24h, "
         "2w, now or a date like 2026-12-01\n"),
        (["--since", "2026-12-01", "--until", "2026-11-01"], "frontdesk: --until (2026-11-02 "
         "00:00) is not after --since (2026-12-01 00:00)\n"),
        (["--since", "2025-01-01", "--until", "2026-11-01"], "frontdesk: a report covers at most "
         "366 days; move --since or --until\n"),
    ],
)  # fmt: skip
def test_a_bad_period_is_one_line_and_exit_2(place, args, says):
    done = frontdesk(place, *args)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", says)


def test_no_cache_says_where_it_looked(tmp_path):
    (tmp_path / "data").mkdir()
    done = frontdesk(tmp_path, "--since", "7d")
    assert done.returncode == 2
    assert done.stderr == (
        f"frontdesk: no cache in {tmp_path / 'data'}: run `frontdesk` first "
        "or point --data-dir at one\n"
    )
