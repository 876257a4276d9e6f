"""Reading `[agent]` and `[ui]` (with `[ui.keys]`): who sits at this console and how it looks."""

from __future__ import annotations

import json
from typing import Any

from frontdesk.config.checks import Checks
from frontdesk.config.sections import (
    DEFAULT_THEME,
    DESKTOP_NOTIFICATIONS,
    KEYMAPS,
    NOTIFY_SCOPES,
    AgentConfig,
    UIConfig,
)
from frontdesk.config_text import _did_you_mean, _show


class ConsoleReading(Checks):
    """The reader's part for the console's own sections."""

    def agent(self, raw: dict[str, Any]) -> AgentConfig:
        self.only_known(("agent",), raw, ("name", "agents"))
        default = AgentConfig()
        name = self.typed(("agent", "name"), raw.get("name", default.name), str).strip()
        if not name:
            self.fail(("agent", "name"), 'must not be empty; set your name, e.g. name = "Aiko"')
        agents = self.typed(("agent", "agents"), raw.get("agents", []), list[str])
        return AgentConfig(name=name, agents=list(agents))

    def ui(self, raw: dict[str, Any]) -> UIConfig:
        self.only_known(("ui",), raw, ("keymap", "theme", "keys", "notify", "bell", "desktop"))
        keymap = self.typed(("ui", "keymap"), raw.get("keymap", "default"), str)
        if keymap not in KEYMAPS:
            self.fail(
                ("ui", "keymap"),
                f"must be one of {', '.join(map(json.dumps, KEYMAPS))} (got {_show(keymap)})",
            )
        theme = self.typed(("ui", "theme"), raw.get("theme", DEFAULT_THEME), str)
        if "theme" in raw and self.themes is not None:
            known = sorted(self.themes())
            if theme not in known:
                self.fail(
                    ("ui", "theme"),
                    f"{_show(theme)} is not a theme{_did_you_mean(theme, known)}; "
                    f"choose one of: {', '.join(known)}",
                )
        keys = self.table(("ui", "keys"), raw.get("keys", {}))
        for binding, key in keys.items():
            self.typed(("ui", "keys", binding), key, str)
        notify = self.one_of(
            ("ui", "notify"), raw.get("notify", "mine-and-unassigned"), NOTIFY_SCOPES
        )
        bell = self.typed(("ui", "bell"), raw.get("bell", True), bool)
        desktop = self.one_of(("ui", "desktop"), raw.get("desktop", "osc9"), DESKTOP_NOTIFICATIONS)
        return UIConfig(
            keymap=keymap, theme=theme, keys=dict(keys), notify=notify, bell=bell, desktop=desktop
        )
