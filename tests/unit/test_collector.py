"""The console's collector settings: what lives long is frozen after a full collection, garbage never."""

from __future__ import annotations

import asyncio
import gc
import weakref

from frontdesk import runtime
from frontdesk.bench import frames


class Node:
    """A GC-tracked object that can point at itself."""


def _frozen(obj) -> bool:
    return gc.is_tracked(obj) and not any(o is obj for o in gc.get_objects())


def test_a_full_collection_leaving_many_objects_freezes_them_but_not_the_garbage(monkeypatch):
    gc.collect()
    monkeypatch.setattr(runtime, "FREEZE_SURVIVORS", len(gc.get_objects(generation=2)) + 5_000)
    live = [Node() for _ in range(10_000)]
    garbage = Node()
    garbage.me = garbage
    gone = weakref.ref(garbage)
    del garbage
    gc.callbacks.append(runtime.freeze_long_lived)
    try:
        gc.collect()
        assert gone() is None
        assert _frozen(live[0]) and _frozen(live[-1])
    finally:
        gc.callbacks.remove(runtime.freeze_long_lived)
        gc.unfreeze()


def test_a_full_collection_leaving_few_objects_freezes_nothing(monkeypatch):
    gc.collect()
    monkeypatch.setattr(runtime, "FREEZE_SURVIVORS", len(gc.get_objects(generation=2)) + 50_000)
    live = [Node() for _ in range(10_000)]
    frozen = gc.get_freeze_count()
    gc.callbacks.append(runtime.freeze_long_lived)
    try:
        gc.collect()
        assert gc.get_freeze_count() == frozen
        assert not _frozen(live[0])
    finally:
        gc.callbacks.remove(runtime.freeze_long_lived)


def test_young_collections_never_freeze(monkeypatch):
    monkeypatch.setattr(runtime, "FREEZE_SURVIVORS", 0)
    live = [Node() for _ in range(1_000)]
    gc.callbacks.append(runtime.freeze_long_lived)
    try:
        gc.collect(generation=1)
        assert not _frozen(live[0])
    finally:
        gc.callbacks.remove(runtime.freeze_long_lived)


def test_the_bench_puts_the_collector_back_as_it_was():
    thresholds = gc.get_threshold()

    async def inside() -> bool:
        async with frames.console_gc():
            return runtime.freeze_long_lived in gc.callbacks and gc.get_threshold() == (
                10_000,
                10,
                10,
            )

    assert asyncio.run(inside())
    assert runtime.freeze_long_lived not in gc.callbacks
    assert gc.get_threshold() == thresholds
    assert gc.get_freeze_count() == 0
