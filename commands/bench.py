"""`frontdesk bench`: the options checked, then the bench package runs the figures."""

from __future__ import annotations

import argparse

from frontdesk.errors import CliError


def cmd_bench(args: argparse.Namespace) -> int:
    """Benchmarks in a temp dir (or in --data-dir, kept); see the bench package."""
    from frontdesk.bench.plan import main as run_bench

    for name in ("conversations", "messages", "presses", "runs"):
        if getattr(args, name) < 1:
            raise CliError(f"--{name} must be at least 1")
    return run_bench(args)
