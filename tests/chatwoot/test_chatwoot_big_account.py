"""A big Chatwoot account from the keyboard: the All-open list paged to its end, views switched, the
link lost and back; nothing slows down page by page, nothing held grows without bound, and the
agent's place survives the reconnect."""

from __future__ import annotations

import asyncio
import statistics
import time

import pytest

from frontdesk.bench.chatwoot_fake import FakeChatwoot
from frontdesk.chatwoot.cable import CableTiming
from frontdesk.chatwoot.desk import ChatwootDesk, Timing
from frontdesk.chatwoot.listing import PAGE_SIZE, RESYNC_PAGES
from frontdesk.chatwoot.state import THREADS_KEPT
from frontdesk.config import DeskConfig
from frontdesk.desk.views import View
from pilot_helpers import idle, make_app, wait_until

TOKEN = "big-token"
SIZE = (140, 40)
OPEN = 2_000
"""Open conversations: 80 pages, enough for a per-page cost growing with what is held to show,
and twice what a reconnect reads again."""
FAST = Timing(
    retry_first=0.05,
    retry_most=0.2,
    save_delay=0.5,
    counts_every=0.5,
    cable=CableTiming(silent=2.0, retry_first=0.05, retry_most=0.2),
)


@pytest.fixture
async def fake():
    async with FakeChatwoot(TOKEN, ping_seconds=0.2) as server:
        account = server.account
        for i in range(OPEN):  # oldest first: the list shows the newest at its top
            contact = account.add_contact(f"Customer {i}")
            account.add_conversation(1, contact.id, at=1_700_000_000 + i)
        yield server


async def test_a_big_account_pages_to_its_end_and_keeps_the_place_across_a_reconnect(
    fake, tmp_path
) -> None:
    assert OPEN > RESYNC_PAGES * PAGE_SIZE  # the end is deeper than a reconnect reads again
    config = DeskConfig(kind="chatwoot", url=fake.url, account_id=1)
    desk = ChatwootDesk(config, TOKEN, tmp_path, timing=FAST)
    await desk.start()
    await asyncio.wait_for(desk.synced.wait(), 10)
    await fake.wait_subscribed(timeout=10)
    app = make_app(desk)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await idle(pilot)
            listing = app.conversation_list

            async def page_to(rows: int) -> list[float]:
                times = []
                while len(listing.conversations) < rows:
                    before = len(listing.conversations)
                    started = time.perf_counter()
                    await pilot.press("end")
                    await wait_until(
                        pilot, lambda: len(listing.conversations) > before, 10, "a page"
                    )
                    times.append(time.perf_counter() - started)
                await idle(pilot)
                return times

            async def reconnect() -> None:
                resets = desk._connecting
                await fake.drop_sockets()  # the link is lost; the cable comes back by itself
                await wait_until(
                    pilot,
                    lambda: (
                        desk._connecting is not resets
                        and desk._connecting.done()
                        and not desk.link_problem
                    ),
                    10,
                    "the link back and the lists read again",
                )
                await idle(pilot)

            # 20 pages down, the link lost and back: the rows around the agent's place stay
            page_times = await page_to(20 * PAGE_SIZE)
            place = listing.current_id
            around = [c.id for c in listing.conversations[-PAGE_SIZE:]]
            await reconnect()
            assert listing.current_id == place
            assert [c.id for c in listing.conversations[-PAGE_SIZE:]] == around

            # to the end of the list, every page as quick as the first ones
            page_times += await page_to(OPEN)
            assert len(listing.conversations) == OPEN
            first, last = page_times[:20], page_times[-20:]
            assert statistics.median(last) < 3 * statistics.median(first) + 0.05, (
                f"a page at the end took {statistics.median(last):.3f} s, "
                f"at the start {statistics.median(first):.3f} s"
            )
            for key in "1", "2", "5", "6", "3":  # Mine, Unassigned, Snoozed, Resolved, All
                await pilot.press(key)
                await idle(pilot)
            assert len(listing.conversations) == OPEN  # back on All: every page still held
            await pilot.press("end")
            await idle(pilot)
            place = listing.current_id
            assert place == min(c.id for c in listing.conversations)  # the oldest, at the end

            # deeper than what a reconnect reads again: the shown conversation stays the one
            # under the cursor, the list pages back in up to it, and nothing grows past the account
            await reconnect()
            assert listing.current_id == place
            await wait_until(
                pilot, lambda: len(listing.conversations) == OPEN, 20, "the list paged back"
            )
            await idle(pilot)
            assert listing.current_id == place
            ids = [c.id for c in listing.conversations]
            assert ids == sorted(ids, reverse=True) and ids[-1] == place  # no row lost, none twice
            assert len(desk.state.conversations) == OPEN
            assert len(desk.state.threads) <= THREADS_KEPT and len(desk._can_reply) <= OPEN
    finally:
        await desk.stop()


async def test_a_page_of_conversations_already_held_does_not_end_the_paging(fake, tmp_path):
    """Conversations of page 3 were held already (opened from a contact's list, or named by
    events): reaching page 3 reads on to page 4 instead of saying the list has no more."""
    desk = ChatwootDesk(
        DeskConfig(kind="chatwoot", url=fake.url, account_id=1), TOKEN, tmp_path, timing=FAST
    )
    await desk.start()
    try:
        await asyncio.wait_for(desk.synced.wait(), 10)
        page_3 = range(OPEN - 3 * PAGE_SIZE + 1, OPEN - 2 * PAGE_SIZE + 1)  # newest first
        for conv_id in page_3:
            await desk.conversation(conv_id)
        while len(await desk.conversations(View.ALL)) < 2 * PAGE_SIZE + len(page_3):
            assert await desk.more(View.ALL)
        assert await desk.more(View.ALL)  # page 3 brought nothing new: page 4 did
        assert len(await desk.conversations(View.ALL)) == 4 * PAGE_SIZE
    finally:
        await desk.stop()
