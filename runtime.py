"""Runtime tuning of the console process: the garbage collector kept from stalling the screen."""

from __future__ import annotations

FREEZE_SURVIVORS = 50_000
"""A full collection leaving more objects than this freezes them (`freeze_long_lived`)."""


def keep_gc_pauses_short() -> None:
    """Keep the cyclic garbage collector from stalling the screen.

    Everything alive now (the opened cache, the imported modules) lives as long as the
    console, so it is moved out of the collector's sight (`gc.freeze`): on a large cache
    each full collection walking it stalls the screen. Young objects are collected every
    10,000 allocations instead of Python's 700: under live traffic the default makes full
    collections so often that they are the slowest part of showing new messages. What
    comes to live as long later is frozen after the full collection that finds it
    (`freeze_long_lived`). The figures are in README.md (Performance, the collector).
    """
    import gc

    gc.freeze()  # no collect first: a full collection here would delay the first frame
    gc.set_threshold(10_000, 10, 10)
    if freeze_long_lived not in gc.callbacks:
        gc.callbacks.append(freeze_long_lived)


def freeze_long_lived(phase: str, info: dict[str, int]) -> None:
    """After a full collection that leaves many objects alive, freeze them (a `gc.callbacks` hook).

    State built after start-up lives as long as the console too (the contacts the store
    reads on the first message, Textual's widgets and styles), and every full collection
    would walk it again. Right after a full collection nothing unreachable is left, so only
    live objects are frozen; what a frozen object drops later is still freed by its reference
    count, and only one that ends up in a reference cycle is kept for good. Freezing
    happens again only when as many new long-lived objects have come, not for the few
    thousand that come and go between collections.
    """
    import gc

    if (
        phase == "stop"
        and info["generation"] == 2
        and len(gc.get_objects(generation=2)) > FREEZE_SURVIVORS
    ):
        gc.freeze()
