"""Command line: parser and dispatch to `commands/`; an error becomes one line and an exit code."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

from frontdesk import __version__
from frontdesk.commands.bench import cmd_bench
from frontdesk.commands.console import cmd_console, cmd_demo
from frontdesk.commands.creds import cmd_creds
from frontdesk.commands.doctor import cmd_doctor
from frontdesk.commands.export import cmd_export
from frontdesk.commands.report import add_parser as add_report_parser, cmd_report
from frontdesk.commands.rules import add_rules_parser, cmd_rules
from frontdesk.commands.serve import cmd_serve
from frontdesk.commands.sync import cmd_sync
from frontdesk.errors import EXIT_FAILURE, EXIT_USAGE, is_user_error, one_line


def global_options(defaults: bool) -> argparse.ArgumentParser:
    """--data-dir, --config, --debug; without `defaults` an absent option sets nothing (`SUPPRESS`),
    so a subcommand's copy never overwrites what was given before the subcommand."""
    unset = {} if defaults else {"default": argparse.SUPPRESS}
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        metavar="DIR",
        help="cache directory (default: $FRONTDESK_DATA_DIR or the user data dir)",
        **unset,
    )
    common.add_argument(
        "--config",
        metavar="FILE",
        help="config file (default: $FRONTDESK_CONFIG or ~/.config/frontdesk/config.toml)",
        **unset,
    )
    common.add_argument(
        "--debug", action="store_true", help="show tracebacks and debug logs", **unset
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="frontdesk",
        description="A keyboard-first terminal console for customer support.",
        parents=[global_options(defaults=True)],
    )
    common = global_options(defaults=False)
    parser.add_argument("--version", action="version", version=f"frontdesk {__version__}")
    parser.add_argument(
        "--solo",
        action="store_true",
        help="run the desk inside this console even when a served desk answers",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="the console on a simulated workspace (no config, no network)",
    )
    demo.add_argument(
        "--seed", type=int, default=1, help="seed of the simulated workspace (default 1)"
    )
    demo.add_argument(
        "--quiet", action="store_true", help="no live customers, only the seeded history"
    )
    demo.add_argument(
        "--solo",
        action="store_true",
        default=argparse.SUPPRESS,  # `frontdesk --solo demo` keeps the flag
        help="run the demo desk inside this console even when `frontdesk serve --demo` answers",
    )

    serve = sub.add_parser(
        "serve",
        parents=[common],
        help="run the desk headless and serve it to the team's consoles on a Unix socket",
    )
    serve.add_argument(
        "--demo", action="store_true", help="serve the simulated workspace (no accounts)"
    )
    serve.add_argument(
        "--seed", type=int, default=1, help="with --demo: seed of the simulated workspace"
    )

    sync = sub.add_parser("sync", parents=[common], help="run the channels headless (no console)")
    sync.add_argument(
        "--once", action="store_true", help="fetch once from every channel, flush the outbox, exit"
    )

    sub.add_parser(
        "export", parents=[common], help="write every conversation as JSON lines to stdout"
    )
    add_report_parser(sub, common)
    doctor = sub.add_parser(
        "doctor", parents=[common], help="check config, credentials, channels and the cache"
    )
    doctor.add_argument(
        "--repair",
        action="store_true",
        help="rebuild what can be rebuilt in a damaged cache (counts, dedup index, damaged files)",
    )

    creds = sub.add_parser(
        "creds", parents=[common], help="store channel and Chatwoot secrets in the system keyring"
    )
    creds.add_argument("action", choices=("set", "get", "delete"))
    creds.add_argument("channel", help="a channel's name, hook-<name>, or chatwoot")
    creds.add_argument("key", help="e.g. token, or api_access_token for chatwoot")
    creds.add_argument("--show", action="store_true", help="with get: print the secret itself")

    add_rules_parser(sub, common)

    bench = sub.add_parser(
        "bench",
        parents=[common],
        help="measure start, keys, live arrival, ingest, search and memory",
    )
    bench.add_argument(
        "--conversations",
        type=int,
        default=10_000,
        metavar="N",
        help="conversations in the large cache (default 10000)",
    )
    bench.add_argument(
        "--messages",
        type=int,
        default=200_000,
        metavar="M",
        help="messages in the large cache (default 200000)",
    )
    bench.add_argument(
        "--thread-messages",
        type=int,
        default=5_000,
        metavar="T",
        help="messages in its longest thread (default 5000)",
    )
    bench.add_argument(
        "--presses",
        type=int,
        default=200,
        help="key presses per keypress measurement (default 200)",
    )
    bench.add_argument("--runs", type=int, default=5, help="cold starts per cache (default 5)")
    bench.add_argument(
        "--mails",
        type=int,
        default=10_000,
        metavar="K",
        help="mails in the email figure's mailbox (default 10000; 0 skips it)",
    )
    bench.add_argument(
        "--seed", type=int, default=7, help="seed of the generated caches (default 7)"
    )
    bench.add_argument(
        "--json", action="store_true", help="JSON with units and sizes instead of a table"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with logging_for(args):
        return run_command(args)


def run_command(args: argparse.Namespace) -> int:
    handler = COMMANDS.get(args.command or "console")
    try:
        return handler(args) or 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(f"frontdesk: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE if is_user_error(exc) else EXIT_FAILURE


def logging_for(args: argparse.Namespace) -> AbstractContextManager[None]:
    """Cleaned records on stderr while the command runs; the console moves them to its log file
    when it starts (`run_console`)."""
    from frontdesk import logs

    return logs.session(args.debug)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "console": cmd_console,
    "demo": cmd_demo,
    "serve": cmd_serve,
    "sync": cmd_sync,
    "export": cmd_export,
    "report": cmd_report,
    "doctor": cmd_doctor,
    "creds": cmd_creds,
    "bench": cmd_bench,
    "rules": cmd_rules,
}
