"""`frontdesk sync`: the channels headless, once (fetch, flush the outbox and hooks) or until stopped."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from frontdesk.desk_setup import build_desk, data_dir, load_config
from frontdesk.errors import EXIT_FAILURE, CliError, one_line, report_cache_problems

if TYPE_CHECKING:
    from frontdesk.desk import Desk


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
