"""`frontdesk rules test FILE.json`: what the configured rules would do on a sample event, not done."""

from __future__ import annotations

import argparse
from pathlib import Path

from frontdesk.desk_setup import load_config
from frontdesk.errors import CliError


def add_rules_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """`rules test FILE` in the CLI's parser."""
    rules = sub.add_parser("rules", parents=[common], help="try the [[rules]] on a sample event")
    rules.add_argument("action", choices=("test",))
    rules.add_argument("file", metavar="FILE.json", help="the sample event (README, Rules)")


def cmd_rules(args: argparse.Namespace) -> int:
    from frontdesk.config_text import display_path
    from frontdesk.desk.automation.rule_sample import SampleError, parse_sample
    from frontdesk.desk.automation.rules import RuleBook, always_open
    from frontdesk.tui.safe import clean_line

    cfg = load_config(args, check_theme=False)
    path = Path(args.file).expanduser()
    shown = display_path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CliError(f"{shown}: cannot read the sample event ({exc.strerror or exc})") from None
    kinds = {ch.name: ch.backend for ch in cfg.channels}
    try:
        facts, fixed_hours = parse_sample(data, shown, lambda name: kinds.get(name, name))
    except SampleError as exc:
        raise CliError(str(exc)) from None
    config_shown = display_path(cfg.path)
    active = [r for r in cfg.rules if r.active]
    on_event = [r for r in active if r.event == facts.event]
    print(f"rules:  {config_shown}: {len(active)} active, {len(on_event)} on {facts.event}")
    print(
        f"sample: {facts.event} on {facts.channel} at {facts.at.isoformat() if facts.at else '-'}"
    )
    planned = RuleBook(active).plan(facts, fixed_hours or always_open)
    acting = {p.rule.name for p in planned}
    for rule in on_event:
        where = f"{config_shown}:{rule.line}" if rule.line else config_shown
        if rule.name in acting:
            plan = next(p for p in planned if p.rule.name == rule.name)
            print(clean_line(f"would run ({where}): {plan.describe()}"))
        else:
            print(clean_line(f"does not hold ({where}): rule {rule.name}"))
    count = f"{len(planned)} rule{'s' if len(planned) != 1 else ''}"
    print(f"{count} would act; nothing was done")
    return 0
