"""`build_desk`: the one desk every command builds from the config (channels, agents, escalation)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from frontdesk.config import load_config
from frontdesk.desk_setup import build_desk
from frontdesk.store import Store

CONFIG = """
[agent]
name = "Aiko"
agents = ["Ben", "Chloé"]

[[channels]]
name = "shop"
backend = "demo"
kind = "sms"

[[channels]]
name = "old-shop"
backend = "demo"
kind = "sms"
enabled = false

[escalation]
targets = ["billing", "tier-2"]

[[escalation.hooks]]
name = "ticket"
command = ["true"]
"""


def config_at(tmp_path: Path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return load_config(path)


def test_the_desk_takes_its_channels_agents_and_escalation_from_the_config(tmp_path):
    cfg = config_at(tmp_path, CONFIG)
    with Store.open(tmp_path / "data") as store:
        desk = build_desk(cfg, store, default_targets=("ignored",))
        assert list(desk.channels) == ["shop"]  # a disabled block is kept in the file, not run
        assert desk.agent == "Aiko" and desk.agents == ["Aiko", "Ben", "Chloé"]
        assert desk.escalation_targets == ["billing", "tier-2"]
        assert list(desk.hooks) == ["ticket"]


def test_given_channels_and_agents_win_and_default_targets_fill_an_empty_escalation(tmp_path):
    cfg = config_at(tmp_path, '[agent]\nname = "Aiko"\n')
    with Store.open(tmp_path / "data") as store:
        desk = build_desk(
            cfg,
            store,
            {},
            agent="aiko",
            agents=["ben"],
            agent_names={"ben": "Ben"},
            default_targets=("billing",),
        )
        assert desk.channels == {}
        assert desk.agent == "aiko" and desk.agents == ["aiko", "ben"]
        assert desk.agent_name("ben") == "Ben"
        assert desk.escalation_targets == ["billing"] and desk.hooks == {}
