"""`frontdesk doctor`: where things are, then every check's problems, one line each."""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING

from frontdesk.desk_setup import data_dir, load_config
from frontdesk.doctor import (
    check_cache,
    check_canned,
    check_chatwoot,
    check_channel,
    check_desk,
    check_faq,
    check_hook,
    check_hours,
    check_sla,
    check_rules,
    check_ui,
    check_webhooks,
    check_assignment,
)
from frontdesk.errors import EXIT_FAILURE

if TYPE_CHECKING:
    from frontdesk.config import Config


def cmd_doctor(args: argparse.Namespace) -> int:
    from frontdesk import credentials, logs

    problems: list[str] = []
    cfg = load_config(
        args, check_theme=False
    )  # check_ui reports the theme among the other problems
    print(f"config: {cfg.path}{'' if cfg.path.exists() else ' (not found)'}")
    if not cfg.path.exists():  # the console would refuse to start: doctor must not say "ok"
        problems.append(
            f"no config at {cfg.path}; start one with an [agent] name and a [[channels]] block "
            "(README, Configuration and Channels), point --config or FRONTDESK_CONFIG at yours, "
            "or try `frontdesk demo`, which needs none"
        )
    print(f"data:   {data_dir(args)}")
    print(f"logs:   {logs.log_file(data_dir(args))} (written while the console runs)")
    keyring_note = credentials.keyring_problem()
    if keyring_note:
        print(f"note: {keyring_note}")
    if cfg.desk.kind == "chatwoot":
        problems += check_chatwoot(cfg, data_dir(args))
        problems += check_ui(cfg)
        problems += check_canned(cfg.path.parent / "canned.toml")
    else:
        problems += local_problems(cfg, args)
    from frontdesk.tui.safe import clean_line

    for line in problems:
        print(f"problem: {clean_line(line)}")  # a channel's check answer is the channel's text
    if not problems:
        print("ok: no problems found")
    return EXIT_FAILURE if problems else 0


def local_problems(cfg: Config, args: argparse.Namespace) -> list[str]:
    """The local desk's checks: the served desk, the channels and their plugins, what the
    desk's automation names, the hooks and the cache."""
    from frontdesk.backends import registry

    problems = check_desk(cfg, data_dir(args))
    _, broken = registry.load_all()
    problems += [f"backend plugin {b.name!r} cannot load: {b.error}" for b in broken]
    problems += check_ui(cfg)
    for ch in cfg.channels:
        problems += asyncio.run(check_channel(ch))
    problems += check_webhooks(cfg)
    problems += check_assignment(cfg)
    problems += check_canned(cfg.path.parent / "canned.toml")
    problems += check_faq(cfg, cfg.path.parent / "canned.toml")
    problems += check_hours(cfg)
    problems += check_sla(cfg)
    problems += check_rules(cfg)
    for hook in cfg.escalation.hooks:
        problems += check_hook(hook)
    problems += check_cache(data_dir(args), repair=args.repair)
    return problems
