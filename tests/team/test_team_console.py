"""The console attached to a served desk over a real Unix socket, beside another agent.

The other agent ("ben") acts on the served desk in this process (presence and `acting_as`),
as the server does for a second console; the console under test is a real DeskClient.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from pilot_helpers import make_app, idle, wait_until

from frontdesk.desk.acting import acting_as
from frontdesk.team.client import DeskClient, Timing
from frontdesk.team.peercred import user_name
from frontdesk.team.server import Admission, DeskServer
from frontdesk.tui.screens.send_anyway import SendAnyway

ME = user_name(os.getuid())
QUICK = Timing(ping=0.1, silent=1.0, retry_first=0.02, retry_most=0.1)
SIZE = (140, 40)


@pytest.fixture
def team_desk(make_desk):
    """The small workspace's desk with Ben as a named agent."""
    return make_desk(agents=["ben"], agent_names={"ben": "Ben"})


@pytest.fixture
async def attached(team_desk):
    """A DeskClient attached to `team_desk` served at a socket in a short temporary directory."""
    folder = Path(tempfile.mkdtemp(prefix="fd-", dir="/tmp"))
    server = DeskServer(
        team_desk,
        folder / "desk.sock",
        admission=Admission(ME, frozenset(), Path("/x")),
        version="t",
    )
    await server.start()
    client = await DeskClient.attach(folder / "desk.sock", QUICK)
    yield client
    await client.stop()
    await server.close()
    shutil.rmtree(folder, ignore_errors=True)


def header_text(app) -> str:
    return str(app.query_one("#header-bar").render())


async def test_an_attached_console_shows_the_team_anothers_typing_and_asks_before_sending(
    attached, team_desk, clock
):
    app = make_app(attached, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await wait_until(pilot, lambda: "team · 1 online" in header_text(app), what="team")
        team_desk.presence.join("ben")
        await wait_until(pilot, lambda: "team · 2 online" in header_text(app), what="Ben online")
        team_desk.presence.type("ben", 1, True)
        await wait_until(
            pilot, lambda: "Ben is typing…" in str(app.thread.border_title), what="Ben typing"
        )
        await wait_until(
            pilot,
            lambda: [a.agent for a in team_desk.presence.activity(1)] == [ME, "ben"],
            what="this console's viewing reported to the desk",
        )
        await pilot.press("r", *"Hello Mia")
        await idle(pilot)
        with acting_as("ben"):
            await team_desk.reply(1, "Ben here")
        team_desk.presence.type("ben", 1, False)
        await wait_until(
            pilot, lambda: "Ben" not in str(app.thread.border_title), what="Ben stopped typing"
        )
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, SendAnyway), what="traffic cop")
        await pilot.press("y")
        await wait_until(pilot, lambda: app.composer.text == "", what="sent anyway")
        assert [m.author for m in await team_desk.thread(1)][-2:] == ["ben", ME]
