"""`frontdesk` and `frontdesk demo`: the console on the served desk when one answers, else solo;
with `[desk] kind = "chatwoot"`, on the Chatwoot account."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from frontdesk.desk_setup import (
    DEMO_TARGETS,
    build_desk,
    data_dir,
    demo_channels,
    demo_config,
    demo_dir,
    load_config,
)
from frontdesk.errors import EXIT_FAILURE, CliError, one_line

if TYPE_CHECKING:
    from frontdesk.chatwoot.desk import ChatwootDesk
    from frontdesk.config import Config, UIConfig
    from frontdesk.desk import Desk


def run_console(
    desk: Desk | ChatwootDesk,
    ui: UIConfig | None = None,
    config_file: Path | None = None,
    canned_path: Path | None = None,
    debug: bool = False,
    log_dir: Path | None = None,
) -> None:
    """Run the console on `desk` with the `[ui]` settings (keymap, keys, theme, notifications);
    log records go to the log file in `log_dir` (the desk's data dir unless named) meanwhile."""
    from frontdesk import logs
    from frontdesk.config import UIConfig, downloads_dir
    from frontdesk.launch import make_app, run_session

    ui = ui or UIConfig()
    # the terminal is the console's: no log line may draw on it
    logs.to_file(log_dir or desk.store.root, debug)
    app = make_app(
        desk,
        ui,
        config_file,
        canned=canned_path,
        downloads_dir=downloads_dir(),
        notices=cache_problems(desk),
    )
    run_session(desk, app)


def cache_problems(desk: Desk) -> list[str]:
    """What the store found damaged when it opened (the in-process desk's store only)."""
    store = getattr(desk, "store", None)
    return list(getattr(store, "problems", []))


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


def run_chatwoot(args: argparse.Namespace, cfg: Config) -> int:
    """The console on the Chatwoot account `[desk]` names: the token from the environment or
    the keyring, what was seen kept in the account's own folder in the data dir."""
    from frontdesk.chatwoot.token import TokenMissing, read_token
    from frontdesk.config import chatwoot_cache_dir

    try:
        token = read_token()
    except TokenMissing as exc:
        raise CliError(str(exc)) from None
    from frontdesk.chatwoot.desk import ChatwootDesk

    root = data_dir(args)
    desk = ChatwootDesk(cfg.desk, token, chatwoot_cache_dir(root, cfg.desk))
    run_console(
        desk,
        cfg.ui,
        cfg.path,
        canned_path=cfg.path.parent / "canned.toml",
        debug=args.debug,
        log_dir=root,
    )
    return 0


def cmd_console(args: argparse.Namespace) -> int:
    from frontdesk.config import desk_socket
    from frontdesk.store import Store

    cfg = load_config(args)
    if cfg.desk.kind == "chatwoot":
        return run_chatwoot(args, cfg)
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

    cfg = load_config(args)  # [ui], [escalation], automation: the channels are simulated
    root = demo_dir(args)
    if not getattr(args, "solo", False):
        # the simulated world is nobody's data: with no demo desk served, run one here
        status = run_attached(args, cfg, demo_socket(cfg.team, root), required=False, log_dir=root)
        if status is not None:
            return status
    cfg = demo_config(cfg)
    with Store.open(root) as store:
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
