"""Reading `[escalation]` and `[[escalation.hooks]]`: targets, and each hook's URL or command."""

from __future__ import annotations

import re
from typing import Any

from frontdesk.config.checks import CHANNEL_NAME, Checks
from frontdesk.config.sections import EscalationConfig, HookConfig
from frontdesk.config_text import Where, _show


class EscalationReading(Checks):
    """The reader's part for `[escalation]`."""

    def escalation(self, raw: dict[str, Any]) -> EscalationConfig:
        self.only_known(("escalation",), raw, ("targets", "hooks"))
        targets = self.typed(("escalation", "targets"), raw.get("targets", []), list[str])
        for index, target in enumerate(targets):
            if not target.strip():
                self.fail(
                    ("escalation", "targets"),
                    f'has an empty name at position {index + 1}; name a team or tier, e.g. "tier-2"',
                )
        hooks_raw = raw.get("hooks", [])
        if not isinstance(hooks_raw, list):
            self.fail(("escalation", "hooks"), "must be a list of [[escalation.hooks]] tables")
        hooks: list[HookConfig] = []
        seen: dict[str, int] = {}
        for index, block in enumerate(hooks_raw):
            hook = self.hook(index, block, targets)
            if hook.name in seen:
                self.fail(
                    ("escalation", "hooks", index, "name"),
                    f"{_show(hook.name)} is already used by escalation.hooks[{seen[hook.name]}]; hook names must be unique",
                )
            seen[hook.name] = index
            hooks.append(hook)
        return EscalationConfig(
            targets=tuple(dict.fromkeys(t.strip() for t in targets)), hooks=tuple(hooks)
        )

    def hook(self, index: int, raw: Any, known_targets: list[str]) -> HookConfig:
        where: Where = ("escalation", "hooks", index)
        if not isinstance(raw, dict):
            self.fail(where, "must be a table: write each hook as an [[escalation.hooks]] block")
        name = raw.get("name")
        shown_name = (
            f"hook-{name}" if isinstance(name, str) and CHANNEL_NAME.match(name) else "hook-<name>"
        )
        self.refuse_secrets(where, raw, shown_name)
        self.only_known(where, raw, ("name", "url", "command", "timeout", "targets"))
        if name is None:
            self.fail(where, 'has no name; add name = "helpdesk"')
        name = self.typed((*where, "name"), name, str)
        if not CHANNEL_NAME.match(name):
            self.fail(
                (*where, "name"),
                f'{_show(name)} is not a valid hook name; use lowercase letters, digits, - and _ (e.g. "helpdesk")',
            )
        url = self.typed((*where, "url"), raw.get("url"), str | None)
        command = self.typed((*where, "command"), raw.get("command"), list[str] | None)
        if (url is None) == (command is None):
            self.fail(
                where,
                'needs exactly one of url = "https://…" (HTTP POST) or command = ["program", "arg"] (run with the JSON on stdin)',
            )
        if url is not None and not re.match(r"https?://[^\s/]+", url):
            self.fail(
                (*where, "url"),
                f'{_show(url)} is not an http:// or https:// URL; write the full address, e.g. "https://helpdesk.example.com/api/tickets"',
            )
        if url is not None and "@" in url.split("://", 1)[1].split("/", 1)[0]:
            self.fail(
                (*where, "url"),
                f"carries a user name or password; remove it from the URL and store the token with `frontdesk creds set hook-{name} token` (sent as a Bearer token)",
            )
        if command is not None and (not command or not command[0].strip()):
            self.fail(
                (*where, "command"),
                'must name a program, e.g. command = ["python3", "/usr/local/bin/open-ticket.py"]',
            )
        timeout = self.typed((*where, "timeout"), raw.get("timeout", 10.0), float)
        if not 0 < timeout <= 300:
            self.fail(
                (*where, "timeout"), f"must be between 0 and 300 seconds (got {_show(timeout)})"
            )
        targets = self.typed((*where, "targets"), raw.get("targets", []), list[str])
        unknown = [t for t in targets if known_targets and t not in known_targets]
        if unknown:
            self.fail(
                (*where, "targets"),
                f"names {_show(unknown[0])}, which is not in escalation.targets; add it there or remove it here (targets: {', '.join(known_targets)})",
            )
        return HookConfig(
            name=name,
            url=url,
            command=tuple(command or ()),
            timeout=timeout,
            targets=tuple(targets),
        )
