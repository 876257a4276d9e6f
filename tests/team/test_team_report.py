"""The served desk's `report` call: its owner and supervisors get the report, agents are refused
in one line; `frontdesk report`'s one call looks without joining."""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest

from frontdesk.desk.report import Grouping, Report
from frontdesk.team.one_call import CallFailed, NoDesk, call_desk
from frontdesk.team.peercred import user_name
from frontdesk.team.server import Admission, DeskServer

ME = user_name(os.getuid())
CONFIG = Path("/etc/frontdesk/config.toml")


@pytest.fixture
async def served(desk):
    """Serve the test's desk with the given Admission; returns the socket's path."""
    folder = Path(tempfile.mkdtemp(prefix="fd-", dir="/tmp"))
    servers: list[DeskServer] = []

    async def start(admission: Admission) -> Path:
        server = DeskServer(desk, folder / "desk.sock", admission=admission, version="test")
        await server.start()
        servers.append(server)
        return server.path

    await desk.start()
    yield start
    for server in servers:
        await server.close()
    await desk.stop()
    shutil.rmtree(folder, ignore_errors=True)


def args(desk) -> dict:
    now = desk.now()
    return {"since": now - timedelta(days=7), "until": now, "by": Grouping.CHANNEL}


async def test_the_owner_gets_the_report_as_the_desk_computes_it(served, desk):
    path = await served(Admission(ME, frozenset(), CONFIG))
    report = await call_desk(path, "test", "report", args(desk))
    assert isinstance(report, Report)
    here = await desk.report(**args(desk))
    assert report.figures == here.figures and report.rows == here.rows
    assert ME not in desk.presence.online()  # looking, not joining


async def test_an_agent_who_is_not_a_supervisor_is_refused_in_one_line(served, desk):
    path = await served(Admission("someone-else", frozenset({ME}), CONFIG))
    with pytest.raises(CallFailed) as refused:
        await call_desk(path, "test", "report", args(desk))
    assert str(refused.value) == (
        f'reports are for supervisors: ask the admin to set role = "supervisor" '
        f"in [team.agents.{ME}] of {CONFIG}"
    )


async def test_a_supervisor_gets_it(served, desk):
    path = await served(
        Admission("someone-else", frozenset({ME}), CONFIG, supervisors=frozenset({ME}))
    )
    report = await call_desk(path, "test", "report", args(desk))
    assert report.grouping is Grouping.CHANNEL


async def test_nothing_served_is_no_desk(tmp_path):
    with pytest.raises(NoDesk):
        await call_desk(tmp_path / "none.sock", "test", "report", {})
