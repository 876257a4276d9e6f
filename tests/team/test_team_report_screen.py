"""The report screen on a served desk: a supervisor's console opens it, an agent's is told why not."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import asynccontextmanager
from pathlib import Path

from pilot_helpers import idle, make_app, record_notifications, screen_text, wait_until

from frontdesk.model import ContactRef, Inbound
from frontdesk.team.client import DeskClient, Timing
from frontdesk.team.peercred import user_name
from frontdesk.team.server import Admission, DeskServer
from frontdesk.tui.screens.report_screen import ReportScreen

ME = user_name(os.getuid())
QUICK = Timing(ping=0.1, silent=1.0, retry_first=0.02, retry_most=0.1)
SIZE = (140, 40)


@asynccontextmanager
async def attached(desk, *, supervisor: bool):
    """A DeskClient attached as this Unix user, an agent (a supervisor or not) of a desk
    owned by someone else."""
    folder = Path(tempfile.mkdtemp(prefix="fd-", dir="/tmp"))
    me = frozenset({ME})
    admission = Admission(
        "the-owner", me, Path("/etc/fd.toml"), supervisors=me if supervisor else frozenset()
    )
    server = DeskServer(desk, folder / "desk.sock", admission=admission, version="t")
    await server.start()
    client = await DeskClient.attach(folder / "desk.sock", QUICK)
    try:
        yield client
    finally:
        await client.stop()
        await server.close()
        shutil.rmtree(folder, ignore_errors=True)


async def test_an_agents_console_is_told_reports_are_for_supervisors(desk, clock):
    async with attached(desk, supervisor=False) as client:
        app = make_app(client, clock)
        async with app.run_test(size=SIZE) as pilot:
            seen = record_notifications(app)
            await idle(pilot)
            await pilot.press("R")
            await wait_until(pilot, lambda: seen, what="the refusal")
            assert "reports are for supervisors" in seen[0] and f"[team.agents.{ME}]" in seen[0]
            assert not isinstance(app.screen, ReportScreen)


async def test_a_supervisors_console_shows_the_report_and_the_queue_follows_the_desk(desk, clock):
    async with attached(desk, supervisor=True) as client:
        app = make_app(client, clock)
        async with app.run_test(size=SIZE) as pilot:
            await idle(pilot)
            await pilot.press("R")
            await wait_until(pilot, lambda: isinstance(app.screen, ReportScreen), what="report")
            screen = app.screen
            await wait_until(pilot, lambda: screen.queue_ready, what="the queue loaded")
            assert "Live queue · 1 waiting" in screen_text(app)
            message = Inbound(
                "t-1", "+15550003", ContactRef("+15550003", "M"), "hi?", created_at=clock()
            )
            await desk.ingest("wa", [message])
            await wait_until(
                pilot, lambda: "Live queue · 2 waiting" in screen_text(app), what="a new wait"
            )
