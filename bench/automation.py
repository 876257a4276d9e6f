"""Automation's cost on ingest: customer messages offered at 5,000 msg/s to a desk with the FAQ
bot (50 entries, answering every message it holds) and 50 rules (whatever `bench_automata`
lists) and, in the same run, to one without.

Messages come in batches every 10 ms from many customers (about five messages each, so no
conversation reaches the engine's rate limit and every trigger is handled); one in ten asks
for a refund, which a rule labels. Figures: ingest throughput with and without automation
(first batch offered to the last stored and, with automation, every trigger handled); the
automata's own time per ingested message — the issue's < 1 ms target — from a third run whose
triggers are held until the burst is stored, then handled with nothing else on the event loop
(the durable writes of what the rules do are counted, waits on ingest are not); and the rules
deciding alone, without I/O.
"""

from __future__ import annotations

import asyncio
import textwrap
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from frontdesk.bench.report import Report
from frontdesk.config.read_faq import BotConfig, FaqConfig, FaqEntry
from frontdesk.config.read_rules import Rule, read_rules_text
from frontdesk.desk.automation import Automaton
from frontdesk.model import ContactRef, Inbound

RATE = 5_000  # messages a second offered, the figure
BATCH_EVERY = 0.010  # seconds between batches: RATE * BATCH_EVERY messages each
RULES = 50
FAQ_ENTRIES = 50
FAQ_REPLY = "faq-bench"
PER_CUSTOMER = 5  # messages per conversation: under the engine's RATE_LIMIT triggers a minute
TARGET_MS = 1.0


def bench_rules(n: int = RULES) -> tuple[Rule, ...]:
    """`n` rules on message_created, as a team writes them: keywords, a regex, channel, language,
    labels, hours and contact attributes; the first labels refund requests, the rest rarely act."""
    blocks = [
        """
        [[rules]]
        name = "refund"
        event = "message_created"
        conditions = [{ attribute = "content", operator = "contains", values = ["refund", "返金"] }]
        actions = [{ action = "add_label", params = ["refund"] }]
        """
    ]
    kinds = [
        '{ attribute = "content", operator = "contains", values = ["word%d", "語%d"] }',
        '{ attribute = "content", operator = "matches", values = ["ticket\\\\s*#?%d\\\\d{3}"] }',
        '{ attribute = "language", operator = "equal_to", values = ["l%d"] }',
        '{ attribute = "labels", operator = "contains", values = ["tag%d"] }',
        '{ attribute = "contact.plan", operator = "equal_to", values = ["plan%d"] }',
    ]
    for i in range(1, n):
        first = kinds[i % len(kinds)].replace("%d", str(i))
        blocks.append(
            f"""
            [[rules]]
            name = "rule {i}"
            event = "message_created"
            conditions = [
              {first},
              {{ attribute = "channel", operator = "equal_to", values = ["wa"] }},
              {{ attribute = "business_hours", operator = "equal_to", values = ["inside"] }},
            ]
            actions = [{{ action = "change_priority", params = ["high"] }}]
            """
        )
    return read_rules_text("\n".join(textwrap.dedent(b) for b in blocks), "bench")


def bench_faq(n: int = FAQ_ENTRIES) -> FaqConfig:
    """`n` FAQ entries, the bot on the bench's channel: the bench's questions (where is my
    order, refunds) match the first two; its chasing messages match none."""
    entries = [
        FaqEntry("shipping", ("where is my order", "配送状況", "tracking"), FAQ_REPLY),
        FaqEntry("refund", ("refund", "返金"), FAQ_REPLY),
    ]
    entries += [
        FaqEntry(f"faq {i}", (f"question{i}", f"質問{i}", f"topic {i} help"), FAQ_REPLY)
        for i in range(2, n)
    ]
    return FaqConfig(tuple(entries), BotConfig(channels=("wa",)))


def bench_automata() -> list[Automaton]:
    """The automata measured together: every automaton the desk has, with its bench setup."""
    from frontdesk.desk.automation.bot import faq_automata
    from frontdesk.desk.automation.rule_actions import RulesAutomaton

    return [*faq_automata(bench_faq()), RulesAutomaton(bench_rules())]


def bench_canned(root: Path) -> Path:
    """The canned reply the bench's FAQ bot answers with, in a file beside `root`."""
    path = root.parent / "bench-canned.toml"
    path.write_text(
        f'[[replies]]\nshortcode = "{FAQ_REPLY}"\ntitle = "FAQ"\n'
        'body = "Here is the answer to your question."\n'
    )
    return path


def _text(i: int, customers: int) -> str:
    """A customer's first message asks where the order is (the FAQ bot answers it); later ones
    chase (the bot cannot answer: it hands over after two) and one in ten asks for a refund."""
    if i < customers:
        return f"Where is my order {i}?"
    return f"I want a refund for order {i}" if i % 10 == 0 else f"Any news about order {i}?"


def batches(n: int, now: Callable[[], datetime]) -> list[list[Inbound]]:
    """`n` messages in batches of RATE * BATCH_EVERY (see `_text` for what they say)."""
    size = max(1, round(RATE * BATCH_EVERY))
    customers = max(1, n // PER_CUSTOMER)
    at = now()
    messages = [
        Inbound(
            f"wamid.auto.{i}",
            f"+8170{i % customers:06d}",
            ContactRef(f"+8170{i % customers:06d}"),
            _text(i, customers),
            created_at=at,
        )
        for i in range(n)
    ]
    return [messages[i : i + size] for i in range(0, n, size)]


async def _offer(
    root: Path, n: int, automata: list[Automaton], *, drain_after: bool = False
) -> tuple[float, float, int]:
    """Offer `n` messages at RATE: seconds from the first batch to all stored (and, unless
    `drain_after`, every trigger handled), then seconds the automata took to handle the triggers
    queued meanwhile when `drain_after` held them until the burst was in (0 otherwise)."""
    from frontdesk.desk import Desk
    from frontdesk.desk.canned import CannedLibrary
    from frontdesk.store import Store

    with Store.open(root) as store:
        canned = CannedLibrary(bench_canned(root))
        desk = Desk(store, agent="bench", automata=automata, canned=canned)
        await desk.start()
        if drain_after:
            await desk.automation.stop()  # triggers queue up until the burst is stored
        try:
            work = batches(n, lambda: datetime.now(timezone.utc))
            start = time.perf_counter()
            pending = []
            for index, batch in enumerate(work):
                await asyncio.sleep(max(0.0, start + index * BATCH_EVERY - time.perf_counter()))
                pending.append(asyncio.create_task(desk.ingest("wa", batch)))
            await asyncio.gather(*pending)
            drain = time.perf_counter()
            if drain_after:
                desk.automation.start(desk)
            await desk.automation.idle()
            done = time.perf_counter()
        finally:
            await desk.stop()
        stored = sum(c.message_count for c in store.conversations())
    if drain_after:
        return drain - start, done - drain, stored
    return done - start, 0.0, stored


def measure_automation(work: Path, messages: int, report: Report) -> None:
    """Ingest without automata, then with them, in the same run; then the automata's own time
    on the triggers of a burst, handled once it is in (nothing else sharing the event loop,
    so waits on ingest or its checkpoints are not counted as automation's); add the figures."""
    automata = bench_automata()
    names = " + ".join(a.name for a in automata)
    asyncio.run(_offer(work / "automation-warm", min(messages, 2_000), []))  # imports, caches
    plain, _, _ = asyncio.run(_offer(work / "automation-off", messages, []))
    with_automata, _, stored = asyncio.run(_offer(work / "automation-on", messages, automata))
    if stored < messages:
        raise RuntimeError(f"{messages} messages offered but {stored} stored")
    _, drained, _ = asyncio.run(
        _offer(work / "automation-drain", messages, bench_automata(), drain_after=True)
    )
    report.add(
        "automation.ingest.off",
        f"ingest of {messages:,} msgs offered at {RATE:,}/s, no automata",
        messages / plain,
        "msg/s",
    )
    report.add(
        "automation.ingest.on",
        f"the same with {names} ({RULES} rules, {FAQ_ENTRIES} FAQ entries), every trigger handled",
        messages / with_automata,
        "msg/s",
    )
    per_message = drained / messages * 1000
    report.add(
        "automation.per_message",
        f"{names}' own time per ingested message, its acts' durable writes included",
        per_message,
        "ms",
        f"< {TARGET_MS:g}",
        per_message < TARGET_MS,
    )
    report.add(
        "automation.rules.decide",
        f"{RULES} rules deciding on one message (no I/O)",
        decide_seconds(messages) * 1000,
        "ms",
    )


def decide_seconds(messages: int) -> float:
    """Seconds the rule book takes to decide on one message, over `messages` of the bench's."""
    from frontdesk.desk.automation.rules import Facts, RuleBook

    book = RuleBook(bench_rules())
    facts = [
        Facts("message_created", "wa", "wa", m.body, at=m.created_at)
        for batch in batches(messages, lambda: datetime.now(timezone.utc))
        for m in batch
    ]
    start = time.perf_counter()
    for one in facts:
        book.plan(one)
    return (time.perf_counter() - start) / max(1, len(facts))
