"""`frontdesk sync`: the channels headless, once (fetch, automation, flush outbox and hooks) or till stopped."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from frontdesk.desk_setup import build_desk, chatwoot_refusal, data_dir, load_config
from frontdesk.errors import EXIT_FAILURE, CliError, one_line, report_cache_problems

if TYPE_CHECKING:
    from frontdesk.desk import Desk

AUTOMATION_SECONDS = 60.0
"""How long `sync --once` lets automation work through what it fetched."""
DRAIN_SECONDS = 30.0
"""How long `sync --once` waits for replies to leave, retries included, before it exits."""


def cmd_sync(args: argparse.Namespace) -> int:
    from frontdesk.store import Store

    cfg = load_config(args)
    refusal = chatwoot_refusal(cfg, "sync")
    if refusal:
        raise CliError(refusal)
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
    await run_automation(desk)
    await drain_outbox(desk, DRAIN_SECONDS)
    await desk.flush_hooks()
    for backend in desk.channels.values():
        await backend.close()
    return EXIT_FAILURE if problems else 0


async def run_automation(desk: Desk) -> None:
    """Let automation act on what the fetch stored (away messages, rules …), bounded in time."""
    desk.automation.start(desk)
    try:
        await asyncio.wait_for(desk.automation.idle(), AUTOMATION_SECONDS)
    except TimeoutError:
        print(
            f"frontdesk: automation did not finish within {AUTOMATION_SECONDS:g} s; what it "
            "did not reach is not acted on (run `frontdesk sync` continuously to avoid this)",
            file=sys.stderr,
        )
    finally:
        await desk.automation.stop()


async def drain_outbox(desk: Desk, seconds: float) -> None:
    """Send every reply due, then those whose retry falls within `seconds`; the rest wait for
    the next sync (they stay in the durable outbox)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        await desk.flush_outbox()
        waits = [
            (entry.next_attempt_at - desk.now()).total_seconds()
            for entry in desk.store.outbox()
            if entry.state == "pending" and entry.next_attempt_at is not None
        ]
        if not waits or loop.time() + max(min(waits), 0.0) > deadline:
            return
        await asyncio.sleep(max(min(waits), 0.0))


async def sync_forever(desk: Desk) -> int:
    await desk.start()
    try:
        await asyncio.Event().wait()
    finally:
        await desk.stop()
    return 0
