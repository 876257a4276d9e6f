"""The synthetic cache every figure runs on, the inbound events fed to it, and the ingest figures."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from frontdesk.bench.report import Report

# ---- the synthetic cache ---------------------------------------------------------------------


@dataclass
class Cache:
    """A generated cache on disk and what the measurements need to know about it."""

    root: Path
    conversations: int
    messages: int
    long_thread_id: int | None
    open_count: int  # conversations in the "All open" view
    threads: list[Any]  # demo LiveThreads of open conversations, for live traffic
    words: list[str]  # words taken from message bodies, for search queries
    names: list[str]  # contact names, for search queries
    long_thread_messages: int = 0
    build_seconds: float = 0.0


def build_cache(
    root: Path, conversations: int, messages: int, thread_messages: int = 0, seed: int = 7
) -> Cache:
    """Generate a workspace of the given size into `root` via `Desk.load_workspace`.

    With `thread_messages`, the last conversation is one long thread of that many messages
    (inside the total), for the thread-scrolling measurement.
    """
    from frontdesk.backends.demo_workspace import generate_workspace, threads_of
    from frontdesk.desk import Desk
    from frontdesk.model import Status
    from frontdesk.store import Store

    started = time.perf_counter()
    long_thread = (
        thread_messages > 0
        and conversations > 1
        and messages - thread_messages >= conversations - 1
    )
    base_convs = conversations - 1 if long_thread else conversations
    base_msgs = messages - thread_messages if long_thread else messages
    ws = generate_workspace(
        seed, conversations=base_convs, messages=base_msgs if base_convs else None
    )
    long_thread_id = None
    if long_thread:
        extra = generate_workspace(seed + 1, conversations=1, messages=thread_messages)
        conv = extra.conversations[0]
        long_thread_id = conv.id = base_convs + 1
        conv.contact_id = ws.contacts[0].id
        conv.thread_key = f"bench-long-thread-{long_thread_id}"
        conv.status = Status.OPEN
        for offset, m in enumerate(extra.messages, start=base_msgs + 1):
            m.id, m.conversation_id = offset, long_thread_id
            if m.external_id:
                m.external_id = f"{conv.channel}-bench-{offset}"
        ws.conversations.append(conv)
        ws.messages.extend(extra.messages)
    with Store.open(root) as store:
        asyncio.run(Desk(store).load_workspace(ws.contacts, ws.conversations, ws.messages))
    open_ids = {c.id for c in ws.conversations if c.status in (Status.OPEN, Status.PENDING)}
    rng = random.Random(seed)
    sample = rng.sample(ws.messages, min(200, len(ws.messages)))
    words = [w for m in sample for w in m.body.split() if len(w) >= 4 and w.isalpha()]
    return Cache(
        root=root,
        conversations=len(ws.conversations),
        messages=len(ws.messages),
        long_thread_id=long_thread_id,
        open_count=len(open_ids),
        threads=[
            t
            for t in threads_of(ws)
            if t.conversation_id in open_ids and t.conversation_id != long_thread_id
        ],
        words=words,
        names=[c.name for c in ws.contacts],
        long_thread_messages=thread_messages if long_thread else 0,
        build_seconds=time.perf_counter() - started,
    )


def inbound(thread: Any, seq: int, text: str) -> Any:
    from frontdesk.model import Inbound, utcnow

    return Inbound(
        external_id=f"bench-{seq}",
        thread_key=thread.thread_key,
        sender=thread.sender(),
        body=f"QX{seq:06d}QX {text}",
        created_at=utcnow(),
    )


# ---- ingest ------------------------------------------------------------------------------------


async def measure_ingest(
    big: Cache,
    small: Cache,
    batches: int,
    batch_size: int,
    spread: int,
    singles: int,
    report: Report,
    seq_start: int = 0,
) -> int:
    """Batched ingest into the large cache; one-message writes, small cache vs large, alternated."""
    from frontdesk.desk import Desk
    from frontdesk.store import Store

    seq = seq_start
    rng = random.Random(5)
    with Store.open(big.root) as big_store, Store.open(small.root) as small_store:
        big_desk, small_desk = Desk(big_store, agent="Aiko"), Desk(small_store, agent="Aiko")
        elapsed = 0.0
        persisted = 0
        for _ in range(batches):
            threads = rng.sample(big.threads, min(spread, len(big.threads)))
            events = []
            for i in range(batch_size):
                seq += 1
                events.append(inbound(threads[i % len(threads)], seq, "batched"))
            by_channel: dict[str, list[Any]] = {}
            for thread, event in zip(
                (threads[i % len(threads)] for i in range(batch_size)), events
            ):
                by_channel.setdefault(thread.channel, []).append(event)
            started = time.perf_counter()
            for channel, group in by_channel.items():
                await big_desk.ingest(channel, group)
            elapsed += time.perf_counter() - started
            persisted += batch_size
        started = time.perf_counter()
        big_store.checkpoint()  # counted: the journal's batches written into the cache files once
        elapsed += time.perf_counter() - started
        rate = persisted / elapsed
        report.add(
            "ingest.batched",
            f"ingest, batches of {batch_size} over {spread} conversations, with the checkpoint",
            rate,
            "msg/s",
            "≥ 5,000 msg/s",
            rate >= 5000,
        )
        small_times, big_times = [], []
        for i in range(singles):
            for desk, cache, times in (
                (small_desk, small, small_times),
                (big_desk, big, big_times),
            ):
                seq += 1
                thread = rng.choice(cache.threads)
                started = time.perf_counter()
                await desk.ingest(thread.channel, [inbound(thread, seq, "single")])
                times.append(time.perf_counter() - started)
        small_median, big_median = statistics.median(small_times), statistics.median(big_times)
        report.add(
            "ingest.single.small",
            f"single write, {small.conversations:,} conversations (median)",
            small_median * 1000,
            "ms",
        )
        report.add(
            "ingest.single.large",
            f"single write, {big.conversations:,} conversations (median)",
            big_median * 1000,
            "ms",
        )
        ratio = big_median / small_median
        report.add(
            "ingest.single.ratio",
            "single write ratio large/small",
            ratio,
            "x",
            "≤ 1.5",
            ratio <= 1.5,
        )
    return seq
