"""What the demo's live customers write: follow-ups of their own and answers to replies."""

from __future__ import annotations

import functools
import random
from datetime import datetime, timezone

from frontdesk.backends.demo_history import phrase_numbers
from frontdesk.backends.demo_phrases import PHRASES
from frontdesk.backends.demo_workspace import (
    LiveThread,
    generate_workspace,
    threads_of,
)

#: the fixed clock the backend uses to regenerate its world: live behaviour never depends on it
_EPOCH = datetime(2025, 1, 1, tzinfo=timezone.utc)


@functools.lru_cache(maxsize=8)
def catalog(seed: int, conversations: int) -> tuple[LiveThread, ...]:
    """All threads of the seeded world; a fixed clock, since only timestamps depend on it."""
    return tuple(threads_of(generate_workspace(seed, conversations, now=_EPOCH)))


# ---- live lines -------------------------------------------------------------------------------


def follow_up_line(rng: random.Random, thread: LiveThread) -> str:
    """Something the customer writes on their own, in their language."""
    phrases = PHRASES.get(thread.language, PHRASES["en"])
    pool = phrases["nudge"][""]
    if thread.topic in phrases and rng.random() < 0.4:
        pool = tuple(line for line in phrases[thread.topic]["follow"] if line[0])
    return rng.choice(pool)[0].format_map(phrase_numbers(rng, thread.language))


def answer_line(rng: random.Random, language: str) -> str:
    """The customer's answer to an agent's reply."""
    return rng.choice(PHRASES.get(language, PHRASES["en"])["answer"][""])[0]


def guess_language(text: str) -> str:
    return (
        "ja"
        if any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in text)
        else "en"
    )
