"""Search: `Desk.search` over the large cache, the first search building the index."""

from __future__ import annotations

import random
import time

from frontdesk.bench.cache import Cache, inbound
from frontdesk.bench.report import Report, percentile


def search_queries(cache: Cache, count: int = 40, seed: int = 11) -> list[str]:
    """Words and phrases from the cache's messages, name fragments, and strings found nowhere."""
    rng = random.Random(seed)
    words = cache.words or ["refund"]
    queries = [rng.choice(words) for _ in range(count // 2)]
    queries += [" ".join(rng.sample(words, 2)) for _ in range(count // 8)]
    queries += [rng.choice(cache.names)[:5] for _ in range(count // 8)] if cache.names else []
    queries += [
        "".join(rng.choice("qxzjkv") for _ in range(7)) for _ in range(count - len(queries))
    ]
    return queries


async def measure_search(cache: Cache, repeats: int, report: Report) -> None:
    from frontdesk.desk import Desk
    from frontdesk.store import Store

    with Store.open(cache.root) as store:
        desk = Desk(store, agent="Aiko")
        started = time.perf_counter()
        await desk.search("refund")
        first = time.perf_counter() - started
        times = []
        for _ in range(repeats):
            for query in search_queries(cache):
                started = time.perf_counter()
                await desk.search(query)
                times.append(time.perf_counter() - started)
        # after one new message: only its conversation is read again
        thread = cache.threads[0]
        await desk.ingest(thread.channel, [inbound(thread, 999_999, "search freshness")])
        started = time.perf_counter()
        found = await desk.search("QX999999QX")
        fresh = time.perf_counter() - started
    p95 = percentile(times, 95) * 1000
    report.add("search.first", "first search (builds the index)", first * 1000, "ms")
    report.add(
        "search.p50", f"search p50 ({len(times)} queries)", percentile(times, 50) * 1000, "ms"
    )
    report.add("search.p95", "search p95", p95, "ms", "< 100 ms", p95 < 100)
    report.add("search.after_write", "search right after a new message", fresh * 1000, "ms")
    if len(found) != 1:
        report.notes.append(
            f"search did not find the message written just before it ({len(found)} hits)"
        )
