"""`frontdesk serve`: the desk headless, served to the team's consoles on a Unix socket."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import TYPE_CHECKING

from frontdesk import __version__
from frontdesk.desk_setup import (
    DEMO_TARGETS,
    build_desk,
    data_dir,
    chatwoot_refusal,
    demo_channels,
    demo_config,
    demo_dir,
    load_config,
)
from frontdesk.errors import EXIT_FAILURE, CliError, one_line

if TYPE_CHECKING:
    from frontdesk.config import Config
    from frontdesk.desk import Desk
    from frontdesk.store import Store


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
        refusal = chatwoot_refusal(cfg, "serve")
        if refusal:
            raise CliError(refusal)
        if not cfg.channels:
            raise CliError(f"no channels in {cfg.path}; add a [[channels]] block (see README)")
        root = data_dir(args)
        path = config.desk_socket(team, root)
    agents = dict(team.agents) if team is not None else {}
    supervisors = frozenset(user for user, a in agents.items() if a.role == "supervisor")
    admission = Admission(
        owner,
        frozenset(agents),
        cfg.path,
        open_door=args.demo and team is None,
        supervisors=supervisors,
    )
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
    cfg = demo_config(cfg) if args.demo else cfg
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
