"""The whole run: sizes (`Plan`), every figure family in turn, and `frontdesk bench`'s output."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from frontdesk.bench.automation import measure_automation
from frontdesk.bench.cache import Cache, build_cache, measure_ingest
from frontdesk.bench.chatwoot import measure_cache_load
from frontdesk.bench.chatwoot_live import measure_chatwoot_live
from frontdesk.bench.chatwoot_start import measure_chatwoot_cold_start
from frontdesk.bench.keys import measure_keys
from frontdesk.bench.live import measure_live
from frontdesk.bench.mail import measure_email
from frontdesk.bench.report import TERMINAL, Report
from frontdesk.bench.reports import measure_reports
from frontdesk.bench.search import measure_search
from frontdesk.bench.startup import measure_cold_start
from frontdesk.bench.team import measure_fan_out
from frontdesk.bench.team_attached import (
    measure_attached_cold_start,
    measure_attached_keys,
    served_copy,
)
from frontdesk.bench.webhooks import measure_webhooks


@dataclass
class Plan:
    """Sizes and repetitions of one run."""

    conversations: int = 10_000
    messages: int = 200_000
    thread_messages: int = 5_000
    small_conversations: int = 100
    presses: int = 200
    runs: int = 5
    live_rates: tuple[int, ...] = (10, 100)
    live_seconds: float = 3.0
    live_sustained_seconds: float = (
        30.0  # at the highest live rate, long enough for full collections
    )
    batches: int = 40  # 20,000 messages: the journal passes its checkpoint size along the way, as in steady use
    batch_size: int = 500
    batch_spread: int = 50
    singles: int = 30
    search_repeats: int = 3
    mails: int = 10_000  # the email figure's mailbox (0: skip it)
    team_clients: tuple[int, ...] = (1, 5, 20)  # attached clients the fan-out is measured at
    team_rate: int = 100
    team_seconds: float = 10.0
    webhook_burst: int = 1_000  # signed webhook POSTs in each burst shape
    automation_messages: int = 20_000  # offered at 5,000 msg/s with and without the automata
    chatwoot_conversations: int = 2_000  # on the fake Chatwoot server for the event-to-frame figure
    seed: int = 7


def run(
    plan: Plan, workdir: Path | None = None, progress: Callable[[str], None] = lambda _: None
) -> Report:
    """Build the caches, measure everything, and return the report."""
    report = Report(
        sizes={
            "conversations": plan.conversations,
            "messages": plan.messages,
            "thread_messages": plan.thread_messages,
            "small_conversations": plan.small_conversations,
            "terminal": list(TERMINAL),
            "presses": plan.presses,
            "cold_start_runs": plan.runs,
            "live_rates": list(plan.live_rates),
            "live_seconds": plan.live_seconds,
            "live_sustained_seconds": plan.live_sustained_seconds,
            "ingest_batches": plan.batches,
            "batch_size": plan.batch_size,
            "batch_spread": plan.batch_spread,
            "single_writes": plan.singles,
            "mails": plan.mails,
            "team_clients": list(plan.team_clients),
            "team_rate": plan.team_rate,
            "team_seconds": plan.team_seconds,
            "webhook_burst": plan.webhook_burst,
            "automation_messages": plan.automation_messages,
            "chatwoot_conversations": plan.chatwoot_conversations,
            "seed": plan.seed,
        }
    )
    own = workdir is None
    work = Path(tempfile.mkdtemp(prefix="frontdesk-bench-")) if own else Path(workdir)
    if not own and any((work / name).exists() for name in ("large", "small", "empty")):
        raise ValueError(
            f"{work} already holds bench caches; remove them or pick another --data-dir"
        )
    try:
        progress(f"generating {plan.conversations:,} conversations / {plan.messages:,} messages …")
        big = build_cache(
            work / "large", plan.conversations, plan.messages, plan.thread_messages, plan.seed
        )
        report.add("cache.build", "generate + load the large cache", big.build_seconds, "s")
        per_conv = max(1, plan.messages // max(1, plan.conversations))
        small = build_cache(
            work / "small",
            plan.small_conversations,
            plan.small_conversations * per_conv,
            0,
            plan.seed,
        )
        empty = Cache(work / "empty", 0, 0, None, 0, [], [], [])
        from frontdesk.store import Store

        Store.open(empty.root).close()
        progress("cold start …")
        measure_cold_start(big, empty, plan.runs, report)
        with served_copy(big) as socket_path:
            progress("cold start attached to a served desk …")
            measure_attached_cold_start(big, socket_path, plan.runs, report)
            progress("keypresses and thread opening attached to a served desk …")
            asyncio.run(measure_attached_keys(big, socket_path, plan.presses, report))
        progress("search …")
        asyncio.run(measure_search(big, plan.search_repeats, report))
        progress("reports …")
        measure_reports(big, plan.runs, report)
        progress("keypresses …")
        asyncio.run(measure_keys(big, plan.presses, report))
        progress("live arrival …")
        seq = asyncio.run(measure_live(big, plan.live_rates, plan.live_seconds, report))
        progress(
            f"live arrival, {plan.live_sustained_seconds:g} s at {max(plan.live_rates)} msg/s …"
        )
        seq = asyncio.run(
            measure_live(
                big,
                (max(plan.live_rates),),
                plan.live_sustained_seconds,
                report,
                seq,
                sustained=True,
            )
        )
        progress(
            f"team fan-out, {plan.team_seconds:g} s at {plan.team_rate} msg/s to "
            f"{', '.join(map(str, plan.team_clients))} clients …"
        )
        seq = asyncio.run(
            measure_fan_out(big, plan.team_clients, plan.team_rate, plan.team_seconds, report, seq)
        )
        progress("ingest …")
        asyncio.run(
            measure_ingest(
                big,
                small,
                plan.batches,
                plan.batch_size,
                plan.batch_spread,
                plan.singles,
                report,
                seq,
            )
        )
        progress(f"webhooks: bursts of {plan.webhook_burst:,} signed POSTs, and an empty handler …")
        measure_webhooks(work, plan.webhook_burst, report)
        progress(f"automation: {plan.automation_messages:,} messages at 5,000/s, 50 rules …")
        measure_automation(work, plan.automation_messages, report)
        progress(
            "Chatwoot console: start from the seen cache, and events on the fake to the frame …"
        )
        measure_cache_load(work, report, conversations=plan.conversations, runs=plan.runs)
        measure_chatwoot_cold_start(work, report, conversations=plan.conversations, runs=plan.runs)
        for rate in plan.live_rates:
            asyncio.run(
                measure_chatwoot_live(report, plan.chatwoot_conversations, rate, plan.live_seconds)
            )
        if plan.mails:
            progress(f"email: first sync of {plan.mails:,} mails …")
            measure_email(work, plan.mails, report)
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)
    return report


def main(args: Any) -> int:
    """`frontdesk bench`: run the plan from the parsed arguments; table or JSON to stdout."""
    plan = Plan(
        conversations=args.conversations,
        messages=args.messages,
        thread_messages=min(args.thread_messages, max(0, args.messages // 2)),
        presses=args.presses,
        runs=args.runs,
        mails=getattr(args, "mails", Plan.mails),
        seed=args.seed,
    )
    workdir = Path(args.data_dir).expanduser() if getattr(args, "data_dir", None) else None
    quiet = args.json
    report = run(
        plan,
        workdir,
        progress=lambda text: None if quiet else print(text, file=sys.stderr, flush=True),
    )
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        print(report.table())
    return 0
