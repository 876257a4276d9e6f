"""Command line: argument parsing and the subcommands; errors become one line and an exit code."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

from frontdesk import __version__
from frontdesk.doctor import (
    check_cache,
    check_canned,
    check_channel,
    check_desk,
    check_hook,
    check_ui,
)
from frontdesk.desk_setup import (
    DEMO_TARGETS,
    build_desk,
    data_dir,
    demo_channels,
    demo_dir,
    load_config,
)
from frontdesk.errors import CliError, is_user_error, one_line

if TYPE_CHECKING:
    from frontdesk.config import Config, UIConfig
    from frontdesk.desk import Desk
    from frontdesk.store import Store

EXIT_USAGE = 2
EXIT_FAILURE = 1


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
    doctor = sub.add_parser(
        "doctor", parents=[common], help="check config, credentials, channels and the cache"
    )
    doctor.add_argument(
        "--repair",
        action="store_true",
        help="rebuild what can be rebuilt in a damaged cache (counts, dedup index, damaged files)",
    )

    creds = sub.add_parser(
        "creds", parents=[common], help="store channel secrets in the system keyring"
    )
    creds.add_argument("action", choices=("set", "get", "delete"))
    creds.add_argument("channel")
    creds.add_argument("key")
    creds.add_argument("--show", action="store_true", help="with get: print the secret itself")

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


# ---- shared plumbing -----------------------------------------------------------------------


def run_console(
    desk: Desk,
    ui: UIConfig | None = None,
    config_file: Path | None = None,
    canned_path: Path | None = None,
    debug: bool = False,
) -> None:
    """Run the console on `desk` with the `[ui]` settings (keymap, keys, theme, notifications);
    log records go to the data dir's log file meanwhile."""
    from frontdesk import logs
    from frontdesk.config import UIConfig, downloads_dir
    from frontdesk.launch import make_app
    from frontdesk.runtime import keep_gc_pauses_short

    ui = ui or UIConfig()
    logs.to_file(
        desk.store.root, debug
    )  # the terminal is the console's: no log line may draw on it
    app = make_app(
        desk,
        ui,
        config_file,
        canned=canned_path,
        downloads_dir=downloads_dir(),
        notices=cache_problems(desk),
    )

    async def session() -> None:
        await desk.start()
        try:
            await app.run_async()
        finally:
            await desk.stop()

    keep_gc_pauses_short()
    asyncio.run(session())


def cache_problems(desk: Desk) -> list[str]:
    """What the store found damaged when it opened (the in-process desk's store only)."""
    store = getattr(desk, "store", None)
    return list(getattr(store, "problems", []))


def report_cache_problems(store: Store) -> int:
    """The exit status the store's problems call for (the store logged each as one line)."""
    return EXIT_FAILURE if store.problems else 0


# ---- commands ------------------------------------------------------------------------------


def run_attached(
    args: argparse.Namespace, cfg: Config, socket: Path, *, required: bool, log_dir: Path
) -> int | None:
    """The console on the desk served at `socket`, when one answers there; None when none does
    and the console may run its own (solo). A refusal, or no desk where `[team]` says one runs,
    is one line and EXIT_FAILURE: never a quiet solo desk beside the team's."""
    from frontdesk import logs
    from frontdesk.config import downloads_dir
    from frontdesk.launch import LaunchError, attach_desk, make_app
    from frontdesk.runtime import keep_gc_pauses_short

    async def session() -> bool:
        client = await attach_desk(socket, required=required)
        if client is None:
            return False
        keep_gc_pauses_short()  # after the replica is loaded: it lives as long as the console
        logs.to_file(log_dir, args.debug)  # the terminal is the console's from here on
        app = make_app(
            client,
            cfg.ui,
            cfg.path,
            canned=cfg.path.parent / "canned.toml",
            downloads_dir=downloads_dir(),
        )
        try:
            await app.run_async()
        finally:
            await client.stop()
        return True

    try:
        return 0 if asyncio.run(session()) else None
    except LaunchError as exc:
        print(f"frontdesk: {one_line(exc)}", file=sys.stderr)
        return EXIT_FAILURE


def cmd_console(args: argparse.Namespace) -> int:
    from frontdesk.config import desk_socket
    from frontdesk.store import Store

    cfg = load_config(args)
    if not args.solo:
        socket = desk_socket(cfg.team, data_dir(args))
        status = run_attached(
            args, cfg, socket, required=cfg.team is not None, log_dir=data_dir(args)
        )
        if status is not None:
            return status
    if not cfg.channels:
        raise CliError(
            f"no channels in {cfg.path}; add a [[channels]] block (see README) or try `frontdesk demo`"
        )
    with Store.open(data_dir(args)) as store:
        desk = build_desk(cfg, store)
        # canned.toml sits next to the config file in use (--config, $FRONTDESK_CONFIG or the default)
        run_console(
            desk, cfg.ui, cfg.path, canned_path=cfg.path.parent / "canned.toml", debug=args.debug
        )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from frontdesk.backends.demo_workspace import generate_workspace
    from frontdesk.config import demo_socket
    from frontdesk.store import Store

    cfg = load_config(args)  # only [ui] is used: the demo's channels are simulated
    root = demo_dir(args)
    if not getattr(args, "solo", False):
        # the simulated world is nobody's data: with no demo desk served, run one here
        status = run_attached(args, cfg, demo_socket(cfg.team, root), required=False, log_dir=root)
        if status is not None:
            return status
    with Store.open(root) as store:
        # besides [ui], the demo takes only [escalation] from the config
        desk = build_desk(
            cfg,
            store,
            demo_channels(store, args.seed, live=not args.quiet),
            agent="Aiko",
            agents=["Ben", "Chloé"],
            default_targets=DEMO_TARGETS,
        )
        if not store.conversations():
            ws = generate_workspace(args.seed)
            asyncio.run(desk.load_workspace(ws.contacts, ws.conversations, ws.messages))
        run_console(
            desk, cfg.ui, cfg.path, canned_path=cfg.path.parent / "canned.toml", debug=args.debug
        )
    print(
        f"Demo workspace kept in {root} — `frontdesk export --data-dir {root}` lists what you sent."
    )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """The desk as a service: channels, outbox and hooks headless, the desk API on the socket,
    until SIGTERM/SIGINT; the store is checkpointed when it closes."""
    import os

    from frontdesk import config, logs
    from frontdesk.store import Store
    from frontdesk.team.peercred import user_name
    from frontdesk.team.server import Admission, DeskServer, ServeError, serve_until_stopped

    cfg = load_config(args, check_theme=False)
    team = cfg.team
    owner = user_name(os.getuid())
    if args.demo:
        root = demo_dir(args)
        path = config.demo_socket(team, root)
    else:
        if not cfg.channels:
            raise CliError(f"no channels in {cfg.path}; add a [[channels]] block (see README)")
        root = data_dir(args)
        path = config.desk_socket(team, root)
    agents = dict(team.agents) if team is not None else {}
    admission = Admission(owner, frozenset(agents), cfg.path, open_door=args.demo and team is None)
    log = logging.getLogger("frontdesk.team")
    with Store.open(root) as store:
        log_path = logs.for_service(root, args.debug)
        desk = served_desk(args, cfg, store, owner)
        server = DeskServer(
            desk,
            path,
            admission=admission,
            version=__version__,
            group=team.group if team is not None else None,
            group_key=f"{cfg.path}: [team] group",
        )
        log.info("data %s, log %s", root, log_path)
        try:
            asyncio.run(serve_until_stopped(desk, server, prepare=served_workspace(args, desk)))
        except ServeError as exc:
            print(f"frontdesk: {one_line(exc)}", file=sys.stderr)
            return EXIT_FAILURE
    log.info("stopped; the cache in %s is checkpointed", root)
    return 0


def served_desk(args: argparse.Namespace, cfg: Config, store: Store, owner: str) -> Desk:
    """The desk `serve` runs: the config's channels, or with --demo the simulated ones. Its own
    agent is the Unix user running it; the team's agents come from `[team.agents]`."""
    team_agents = dict(cfg.team.agents) if cfg.team is not None else {}
    names = {user: agent.name for user, agent in team_agents.items()}
    return build_desk(
        cfg,
        store,
        demo_channels(store, args.seed, live=True) if args.demo else None,
        agent=owner,
        agents=[*team_agents, *cfg.agent.agents],
        agent_names=names,
        default_targets=DEMO_TARGETS if args.demo else (),
    )


def served_workspace(args: argparse.Namespace, desk: Desk):
    """With --demo, a coroutine that loads the simulated history into an empty cache."""

    async def load() -> None:
        if args.demo and not desk.store.conversations():
            from frontdesk.backends.demo_workspace import generate_workspace

            ws = generate_workspace(args.seed)
            await desk.load_workspace(ws.contacts, ws.conversations, ws.messages)

    return load


def cmd_sync(args: argparse.Namespace) -> int:
    from frontdesk.store import Store

    cfg = load_config(args)
    if not cfg.channels:
        raise CliError(f"no channels in {cfg.path}; nothing to sync")
    with Store.open(data_dir(args)) as store:
        damaged = report_cache_problems(store)
        desk = build_desk(cfg, store)
        status = asyncio.run(sync_once(desk) if args.once else sync_forever(desk))
        return status or damaged


async def sync_once(desk: Desk) -> int:
    from frontdesk.tui.safe import clean_line

    problems = 0
    for name, backend in desk.channels.items():
        try:
            await backend.fetch_once(desk)
        except NotImplementedError as exc:
            print(f"frontdesk: channel {name}: skipped — {clean_line(str(exc))}", file=sys.stderr)
        except Exception as exc:
            problems += 1
            print(f"frontdesk: channel {name}: {one_line(exc)}", file=sys.stderr)
    await desk.flush_outbox()
    await desk.flush_hooks()
    for backend in desk.channels.values():
        await backend.close()
    return EXIT_FAILURE if problems else 0


async def sync_forever(desk: Desk) -> int:
    await desk.start()
    try:
        await asyncio.Event().wait()
    finally:
        await desk.stop()
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from frontdesk.store import Store
    from frontdesk.store.records import contact_to_record, conversation_to_record, message_to_record
    from frontdesk.store.storage import to_json

    store = Store.open(data_dir(args), readonly=True)
    out = sys.stdout
    for conv in sorted(store.conversations(), key=lambda c: c.id):
        snap = store.snapshot(conv.id)
        if snap is None:
            continue
        conv, contact, messages = snap
        line = {
            "conversation": {"id": conv.id, **conversation_to_record(conv)},
            "contact": {"id": contact.id, **contact_to_record(contact)} if contact else None,
            "messages": [{"id": m.id, **message_to_record(m)} for m in messages],
        }
        out.write(to_json(line) + "\n")
    out.flush()
    return report_cache_problems(store)


def cmd_doctor(args: argparse.Namespace) -> int:
    from frontdesk import credentials, logs
    from frontdesk.backends import registry

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
    problems += check_desk(cfg, data_dir(args))
    _, broken = registry.load_all()
    problems += [f"backend plugin {b.name!r} cannot load: {b.error}" for b in broken]
    keyring_note = credentials.keyring_problem()
    if keyring_note:
        print(f"note: {keyring_note}")
    problems += check_ui(cfg)
    for ch in cfg.channels:
        problems += asyncio.run(check_channel(ch))
    problems += check_canned(cfg.path.parent / "canned.toml")
    for hook in cfg.escalation.hooks:
        problems += check_hook(hook)
    problems += check_cache(data_dir(args), repair=args.repair)
    from frontdesk.tui.safe import clean_line

    for line in problems:
        print(f"problem: {clean_line(line)}")  # a channel's check answer is the channel's text
    if not problems:
        print("ok: no problems found")
    return EXIT_FAILURE if problems else 0


def cmd_creds(args: argparse.Namespace) -> int:
    from frontdesk import credentials

    if args.action == "set":
        value = read_secret(f"{args.key} for channel {args.channel}: ")
        if not value:
            raise CliError("empty secret: nothing stored")
        credentials.set_secret(args.channel, args.key, value)
        print(f"stored {args.channel}/{args.key} in the system keyring")
    elif args.action == "get":
        value = credentials.get_secret(args.channel, args.key)
        if value is None:
            raise CliError(
                f"{args.channel}/{args.key} is not set — run `frontdesk creds set {args.channel} {args.key}`"
            )
        print(value if args.show else f"{args.channel}/{args.key} is set (use --show to print it)")
    else:
        credentials.delete_secret(args.channel, args.key)
        print(f"deleted {args.channel}/{args.key}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Benchmarks in a temp dir (or in --data-dir, kept); see the bench package."""
    from frontdesk.bench.plan import main as run_bench

    for name in ("conversations", "messages", "presses", "runs"):
        if getattr(args, name) < 1:
            raise CliError(f"--{name} must be at least 1")
    return run_bench(args)


def read_secret(prompt: str) -> str:
    """From a hidden prompt on a terminal, else the first line of stdin (never from argv)."""
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass(prompt)
    return sys.stdin.readline().rstrip("\r\n")


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "console": cmd_console,
    "demo": cmd_demo,
    "serve": cmd_serve,
    "sync": cmd_sync,
    "export": cmd_export,
    "doctor": cmd_doctor,
    "creds": cmd_creds,
    "bench": cmd_bench,
}
