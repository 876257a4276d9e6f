"""Figures of the Chatwoot console: starting from the seen cache."""

from __future__ import annotations

import random
import statistics
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from frontdesk.bench.report import Figure, Report

CACHE_LOAD_TARGET = 0.5
"""Seconds: the console starts from its cache in less (the issue's target)."""

_WORDS = (
    "order parcel refund invoice delivery address please thanks tracking late broken "
    "payment card account password login shipping return exchange size colour today"
).split()


def seen_state(conversations: int, threads: int, thread_messages: int, seed: int = 7):
    """A SeenState as a busy account leaves it: `conversations` with their contacts, and
    `threads` kept threads of `thread_messages` messages."""
    from frontdesk.chatwoot.state import SeenState, ServerAgent, ServerInbox
    from frontdesk.model import Contact, Conversation, Direction, Identity, Message, Status

    rng = random.Random(seed)
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    state = SeenState(me=ServerAgent(1, "aiko@example.com", "Aiko"))
    for i in range(1, 21):
        state.put_agent(ServerAgent(i, f"agent{i}@example.com", f"Agent {i}"))
    for i in range(1, 6):
        state.put_inbox(ServerInbox(i, f"Inbox {i}", "whatsapp"))

    def text(words: int) -> str:
        return " ".join(rng.choice(_WORDS) for _ in range(words))

    for i in range(1, conversations + 1):
        contact = Contact(
            i,
            f"Contact {i}",
            emails=[f"c{i}@example.com"],
            identities=[Identity("Inbox 1", f"+81900{i:06d}")],
        )
        state.put_contact(contact)
        state.put_conversation(
            Conversation(
                i,
                f"Inbox {i % 5 + 1}",
                i,
                f"cw-{i}",
                status=rng.choice([Status.OPEN, Status.OPEN, Status.RESOLVED, Status.SNOOZED]),
                assignee=f"agent{rng.randint(1, 20)}@example.com",
                labels=rng.sample(["vip", "refund", "billing", "bug"], 2),
                subject=text(5),
                preview=text(14),
                created_at=start + timedelta(minutes=i),
                last_activity_at=start + timedelta(minutes=i + rng.randint(0, 600)),
                unread=rng.randint(0, 3),
            )
        )
    next_id = 1
    for conv_id in range(1, min(threads, conversations) + 1):
        messages = []
        for n in range(thread_messages):
            messages.append(
                Message(
                    next_id,
                    conv_id,
                    Direction.IN if n % 2 == 0 else Direction.OUT,
                    text(rng.randint(8, 40)),
                    author=f"Contact {conv_id}" if n % 2 == 0 else "aiko@example.com",
                    created_at=start + timedelta(minutes=n),
                )
            )
            next_id += 1
        state.keep_thread(conv_id, messages, older=True)
    return state


def measure_cache_load(
    work: Path,
    report: Report | None = None,
    *,
    conversations: int = 10_000,
    threads: int = 64,
    thread_messages: int = 200,
    runs: int = 5,
) -> Figure:
    """Save a seen cache of the given size into `work`, then time `SeenCache.load()` (the
    median of `runs`); the figure, also added to `report` when one is given."""
    from frontdesk.chatwoot.seen_cache import SeenCache

    cache = SeenCache(work / "chatwoot-seen")
    cache.save(seen_state(conversations, threads, thread_messages), [])
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        state, _, problems = cache.load()
        times.append(time.perf_counter() - started)
        if state is None or len(state.conversations) != conversations:
            raise RuntimeError(f"the seen cache did not load back: {problems}")
    seconds = statistics.median(times)
    size = cache.path.stat().st_size
    figure = Figure(
        "chatwoot.cache_load",
        f"Chatwoot console start: seen cache of {conversations:,} conversations + "
        f"{threads} threads of {thread_messages} messages ({size / 1e6:.1f} MB) loaded",
        round(seconds, 4),
        "s",
        f"< {CACHE_LOAD_TARGET:g}",
        seconds < CACHE_LOAD_TARGET,
    )
    if report is not None:
        report.figures.append(figure)
    return figure
