"""`[team]` in the config: the served desk's socket and group, the agents by Unix user, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from frontdesk import config
from frontdesk.config import TeamAgent, TeamConfig, load_config
from config_files import write, error


def test_team_section_with_agents(tmp_path):
    path = write(
        tmp_path,
        """
        [team]
        socket = "/run/frontdesk/desk.sock"
        group = "support"

        [team.agents.aiko]
        name = "Aiko"
        role = "supervisor"
        languages = ["ja", "en"]
        skills = ["billing"]
        max_open = 12

        [team.agents.ben]
        """,
    )
    team = load_config(path).team
    assert team == TeamConfig(
        socket=Path("/run/frontdesk/desk.sock"),
        group="support",
        agents={
            "aiko": TeamAgent("aiko", "Aiko", "supervisor", ("ja", "en"), ("billing",), 12),
            "ben": TeamAgent("ben", "ben"),
        },
    )


def test_no_team_section_is_none_and_an_empty_one_is_configured(tmp_path):
    assert load_config(write(tmp_path, "[agent]\nname = 'a'\n")).team is None
    assert load_config(write(tmp_path, "[team]\n")).team == TeamConfig()


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[team]\nsocket = "desk.sock"\n', ":2: team.socket must be an absolute path"),
        ("[team]\nsocket = 5\n", ":2: team.socket must be"),
        ('[team]\ngroup = "a b"\n', ':2: team.group "a b" is not a Unix group name'),
        ("[team]\nport = 1\n", ":2: team.port is not a known key in [team]"),
        (
            '[team.agents.aiko]\nrole = "boss"\n',
            ':2: team.agents.aiko.role must be one of "agent", "supervisor" (got "boss")',
        ),
        ('[team.agents.aiko]\nname = " "\n', ":2: team.agents.aiko.name must not be empty"),
        ("[team.agents.aiko]\nmax_open = 0\n", ":2: team.agents.aiko.max_open must be at least 1"),
        ('[team.agents.aiko]\nlanguages = "ja"\n', ":2: team.agents.aiko.languages must be"),
        ('[team.agents.aiko]\nskill = ["x"]\n', ":2: team.agents.aiko.skill is not a known key"),
        ('[team.agents."no body"]\n', ":1: team.agents.no body is not a Unix user name"),
        ("[team]\nagents = 3\n", ":2: team.agents must be"),
    ],
)
def test_team_errors_name_file_line_and_key(tmp_path, toml, expected):
    assert expected in error(write(tmp_path, toml))


def test_desk_socket_default_order(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    assert config.desk_socket(None, tmp_path) == tmp_path / "run" / "frontdesk" / "desk.sock"
    assert config.desk_socket(TeamConfig(socket=Path("/x/d.sock")), tmp_path) == Path("/x/d.sock")
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert config.desk_socket(TeamConfig(), tmp_path) == tmp_path / "desk.sock"
    assert config.demo_socket(None, tmp_path / "demo-1") == tmp_path / "demo-1" / "desk.sock"
    assert (
        config.demo_socket(TeamConfig(), tmp_path / "demo-1") == tmp_path / "demo-1" / "desk.sock"
    )
    shared = TeamConfig(socket=Path("/tmp/fd/desk.sock"))
    assert config.demo_socket(shared, tmp_path / "demo-1") == Path("/tmp/fd/desk.sock")
