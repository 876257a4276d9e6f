"""Reading `[team]` and `[team.agents.<user>]`: the served desk's socket and who may attach."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from frontdesk.config.checks import UNIX_USER, Checks
from frontdesk.config.sections import ROLES, TeamAgent, TeamConfig
from frontdesk.config_text import Where, _show


class TeamReading(Checks):
    """The reader's part for `[team]`."""

    def team(self, raw: dict[str, Any]) -> TeamConfig:
        self.only_known(("team",), raw, ("socket", "group", "agents"))
        socket = self.typed(("team", "socket"), raw.get("socket"), str | None)
        path = Path(socket).expanduser() if socket is not None else None
        if path is not None and not path.is_absolute():
            self.fail(
                ("team", "socket"),
                f'must be an absolute path (got {_show(socket)}), e.g. socket = "/run/frontdesk/desk.sock"',
            )
        group = self.typed(("team", "group"), raw.get("group"), str | None)
        if group is not None and not UNIX_USER.match(group):
            self.fail(("team", "group"), f"{_show(group)} is not a Unix group name")
        agents = self.table(("team", "agents"), raw.get("agents", {}))
        return TeamConfig(
            socket=path,
            group=group,
            agents={user: self.team_agent(user, value) for user, value in agents.items()},
        )

    def team_agent(self, user: str, raw: Any) -> TeamAgent:
        where: Where = ("team", "agents", user)
        if not UNIX_USER.match(user):
            self.fail(where, "is not a Unix user name; name each table after the agent's login")
        raw = self.table(where, raw)
        self.only_known(where, raw, ("name", "role", "languages", "skills", "max_open"))
        name = self.typed((*where, "name"), raw.get("name", user), str).strip()
        if not name:
            self.fail((*where, "name"), f'must not be empty; e.g. name = "{user.title()}"')
        role = self.one_of((*where, "role"), raw.get("role", "agent"), ROLES)
        languages = self.typed((*where, "languages"), raw.get("languages", []), list[str])
        skills = self.typed((*where, "skills"), raw.get("skills", []), list[str])
        max_open = self.typed((*where, "max_open"), raw.get("max_open"), int | None)
        if max_open is not None and max_open < 1:
            self.fail((*where, "max_open"), f"must be at least 1 (got {max_open}); or remove it")
        return TeamAgent(
            user=user,
            name=name,
            role=role,
            languages=tuple(languages),
            skills=tuple(skills),
            max_open=max_open,
        )
