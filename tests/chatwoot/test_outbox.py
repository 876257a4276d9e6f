"""The Chatwoot outbox: each failure type leads where the rules say, in order, and nothing is posted twice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from pilot_helpers import eventually

from frontdesk.bench.chatwoot_fake import FakeChatwoot
from frontdesk.chatwoot.errors import RateLimited, Refused, TokenRefused, Unconfirmed, Unreachable
from frontdesk.chatwoot.outbox import (
    ChatwootOutbox,
    OutboxEntry,
    OutboxState,
    Timing,
    backoff,
)
from frontdesk.chatwoot.seen_cache import SeenCache
from frontdesk.chatwoot.state import SeenState

FAST = Timing(first_backoff=0.05, max_backoff=0.2, stop_grace=0.2)
WAIT = 5.0  # seconds any awaited state may take before the test fails


@dataclass
class Hang:
    """An outcome that waits until the test releases it, then gives `then`."""

    then: Any = None
    started: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)


class ScriptedSend:
    """`send` for the outbox: gives the scripted outcomes in turn (an exception is raised, a
    Hang waits), then `{"id": n}`; records every call as (echo_id, conversation, time)."""

    def __init__(self, *outcomes: Any) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[tuple[str, int, float]] = []
        self.next_id = 100

    def echo_ids(self) -> list[str]:
        return [echo for echo, _, _ in self.calls]

    async def __call__(self, entry: OutboxEntry) -> dict[str, Any]:
        self.calls.append((entry.echo_id, entry.conversation_id, time.monotonic()))
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if isinstance(outcome, Hang):
            outcome.started.set()
            await outcome.release.wait()
            outcome = outcome.then
        if isinstance(outcome, BaseException):
            raise outcome
        if outcome is None:
            self.next_id += 1
            return {"id": self.next_id, "echo_id": entry.echo_id}
        return outcome


class Changes:
    """on_change for the outbox: a copy of every change, and a way to wait for one."""

    def __init__(self) -> None:
        self.seen: list[OutboxEntry] = []
        self._changed = asyncio.Condition()

    def __call__(self, entry: OutboxEntry) -> None:
        self.seen.append(replace(entry))
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def states(self, local_id: int) -> list[OutboxState]:
        return [e.state for e in self.seen if e.local_id == local_id]

    def last(self, local_id: int) -> OutboxEntry:
        return [e for e in self.seen if e.local_id == local_id][-1]

    async def until(self, predicate: Callable[[], bool], what: str = "a change") -> None:
        async with asyncio.timeout(WAIT):
            async with self._changed:
                await self._changed.wait_for(predicate)

    async def reaches(self, entry: OutboxEntry, state: OutboxState) -> OutboxEntry:
        await self.until(lambda: state in self.states(entry.local_id))
        return [e for e in self.seen if e.local_id == entry.local_id and e.state is state][-1]


@pytest.fixture
async def run():
    """Build and start outboxes; close them after the test."""
    made: list[ChatwootOutbox] = []

    def build(send, changes, timing: Timing = FAST, cache=None) -> ChatwootOutbox:
        """An outbox; with `cache` (a SeenCache) it persists there before each post."""
        outbox = ChatwootOutbox(
            send,
            changes,
            timing=timing,
            persist=(lambda: cache.keep_outbox(outbox.entries)) if cache is not None else None,
        )
        made.append(outbox)
        return outbox

    yield build
    for outbox in made:
        await outbox.close()


async def settle_runner() -> None:
    """Let the runner take every wake-up given so far (no clock involved)."""
    for _ in range(20):
        await asyncio.sleep(0)


def test_backoff_doubles_from_half_a_second_to_thirty() -> None:
    assert [backoff(n, Timing()) for n in range(1, 10)] == [
        0.5,
        1,
        2,
        4,
        8,
        16,
        30,
        30,
        30,
    ]


async def test_a_reply_is_posted_and_leaves_the_outbox(run) -> None:
    send, changes = ScriptedSend(), Changes()
    outbox = run(send, changes)
    outbox.start()
    entry = outbox.add(7, "hello", private=False)
    assert entry.local_id < 0 and len(entry.echo_id) == 32
    sent = await changes.reaches(entry, OutboxState.SENT)
    assert changes.states(entry.local_id) == [OutboxState.SENDING, OutboxState.SENT]
    assert sent.server_id == 101 and sent.attempts == 1
    assert send.echo_ids() == [entry.echo_id]
    assert outbox.entries() == []


async def test_local_ids_are_negative_and_unique(run) -> None:
    outbox = run(ScriptedSend(), Changes())
    ids = [outbox.add(1, f"m{i}").local_id for i in range(5)]
    assert len(set(ids)) == 5 and all(i < 0 for i in ids)
    assert len({e.echo_id for e in outbox.entries()}) == 5


async def test_local_ids_are_not_given_again_by_a_later_run(run) -> None:
    # the first run's entries were all sent or dropped: none is loaded, yet their stand-ins
    # may still sit in a saved thread
    started = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)
    first = ChatwootOutbox(ScriptedSend(), Changes(), now=lambda: started)
    earlier = {first.add(1, f"m{i}").local_id for i in range(1000)}
    restarted = started + timedelta(milliseconds=5)
    later = ChatwootOutbox(ScriptedSend(), Changes(), now=lambda: restarted)
    assert later.add(1, "after a restart").local_id < min(earlier)
    assert abs(later.add(1, "next").local_id) < 2**53  # exact in JSON, as Chatwoot's ids are


async def test_a_conversations_replies_go_in_order_while_others_go_beside(run) -> None:
    first = Hang()
    send, changes = ScriptedSend(first), Changes()
    outbox = run(send, changes)
    outbox.start()
    a1 = outbox.add(1, "a1")
    await first.started.wait()
    a2 = outbox.add(1, "a2")
    b1 = outbox.add(2, "b1")
    await changes.reaches(b1, OutboxState.SENT)
    assert send.echo_ids() == [a1.echo_id, b1.echo_id]  # a2 waits behind a1
    first.release.set()
    await changes.reaches(a2, OutboxState.SENT)
    assert send.echo_ids() == [a1.echo_id, b1.echo_id, a2.echo_id]


async def test_a_later_reply_waits_while_an_earlier_one_backs_off(run) -> None:
    send, changes = ScriptedSend(Unreachable("down")), Changes()
    outbox = run(send, changes, replace(FAST, first_backoff=0.2))
    outbox.start()
    first = outbox.add(1, "first")
    second = outbox.add(1, "second")
    await changes.reaches(second, OutboxState.SENT)
    assert send.echo_ids() == [first.echo_id, first.echo_id, second.echo_id]


async def test_unreachable_is_tried_again_after_a_growing_backoff(run) -> None:
    send = ScriptedSend(Unreachable("Chatwoot unreachable"), Unreachable("Chatwoot unreachable"))
    changes = Changes()
    outbox = run(send, changes)
    outbox.start()
    entry = outbox.add(3, "hi")
    sent = await changes.reaches(entry, OutboxState.SENT)
    assert sent.attempts == 3
    assert set(send.echo_ids()) == {entry.echo_id}
    times = [t for _, _, t in send.calls]
    assert times[1] - times[0] >= FAST.first_backoff * 0.9
    assert times[2] - times[1] >= FAST.first_backoff * 2 * 0.9
    waiting = [e for e in changes.seen if e.state is OutboxState.PENDING]
    assert waiting and "Chatwoot unreachable; trying again in 0.05 s" == waiting[0].reason


async def test_a_rate_limit_holds_every_post_for_its_retry_after(run) -> None:
    limited = Hang(then=RateLimited("Chatwoot asks to slow down", retry_after=0.3))
    send, changes = ScriptedSend(limited), Changes()
    outbox = run(send, changes)
    outbox.start()
    first = outbox.add(1, "one")
    await limited.started.wait()
    limited.release.set()
    await changes.until(lambda: OutboxState.PENDING in changes.states(first.local_id))
    other = outbox.add(2, "two")  # another conversation waits too: the limit is the server's
    await changes.reaches(other, OutboxState.SENT)
    await changes.reaches(first, OutboxState.SENT)
    limited_at = send.calls[0][2]
    assert all(t - limited_at >= 0.3 * 0.9 for _, _, t in send.calls[1:])
    assert sorted(send.echo_ids()[1:]) == sorted([first.echo_id, other.echo_id])


async def test_a_refused_token_holds_everything_until_resume(run) -> None:
    send, changes = ScriptedSend(TokenRefused("Chatwoot refused the access token (401)")), Changes()
    outbox = run(send, changes)
    outbox.start()
    first = outbox.add(1, "one")
    await changes.until(lambda: changes.states(first.local_id)[-1:] == [OutboxState.PENDING])
    assert "refused the access token" in outbox.held
    later = outbox.add(2, "two")
    await settle_runner()
    assert len(send.calls) == 1
    assert all(e.state is OutboxState.PENDING for e in outbox.entries())
    assert all("refused the access token" in e.reason for e in outbox.entries())
    assert later.reason == outbox.held
    outbox.resume()
    await changes.reaches(first, OutboxState.SENT)
    await changes.reaches(later, OutboxState.SENT)
    assert sorted(send.echo_ids()) == sorted([first.echo_id, first.echo_id, later.echo_id])
    assert outbox.held == ""


async def test_refused_fails_with_the_servers_reason_and_the_next_goes(run) -> None:
    send = ScriptedSend(Refused("Chatwoot refused the reply: content is too long", 422))
    changes = Changes()
    outbox = run(send, changes)
    outbox.start()
    bad = outbox.add(1, "x" * 10)
    good = outbox.add(1, "ok")
    failed = await changes.reaches(bad, OutboxState.FAILED)
    assert failed.reason == "Chatwoot refused the reply: content is too long"
    await changes.reaches(good, OutboxState.SENT)
    assert [e.local_id for e in outbox.entries()] == [bad.local_id]


async def test_unconfirmed_is_never_posted_again_by_itself(run) -> None:
    send, changes = ScriptedSend(Unconfirmed("Chatwoot did not answer in 15 s")), Changes()
    outbox = run(send, changes)
    outbox.start()
    lost = outbox.add(1, "maybe")
    after = outbox.add(1, "next")
    unconfirmed = await changes.reaches(lost, OutboxState.UNCONFIRMED)
    assert unconfirmed.reason == "Chatwoot did not answer in 15 s"
    await changes.reaches(after, OutboxState.SENT)
    outbox.resume()  # a reconnect does not post it either
    await settle_runner()
    assert send.echo_ids().count(lost.echo_id) == 1
    assert outbox.entry(lost.local_id).state is OutboxState.UNCONFIRMED


async def test_retry_posts_an_unconfirmed_one_again_with_the_same_echo_id(run) -> None:
    send, changes = ScriptedSend(Unconfirmed("no answer")), Changes()
    outbox = run(send, changes)
    outbox.start()
    entry = outbox.add(1, "maybe")
    await changes.reaches(entry, OutboxState.UNCONFIRMED)
    assert outbox.retry(entry.local_id)
    sent = await changes.reaches(entry, OutboxState.SENT)
    assert send.echo_ids() == [entry.echo_id, entry.echo_id]
    assert sent.attempts == 1  # a fresh attempt
    assert not outbox.retry(entry.local_id)  # gone: sent


async def test_retry_and_discard_only_touch_unconfirmed_or_failed(run) -> None:
    outbox = run(ScriptedSend(), Changes())
    entry = outbox.add(1, "pending")  # not started: stays pending
    assert not outbox.retry(entry.local_id)
    assert outbox.discard(entry.local_id) is None
    assert not outbox.retry(-999)


async def test_a_failed_one_can_be_discarded(run) -> None:
    send, changes = ScriptedSend(Refused("no", 422)), Changes()
    outbox = run(send, changes)
    outbox.start()
    entry = outbox.add(1, "bad")
    await changes.reaches(entry, OutboxState.FAILED)
    assert outbox.discard(entry.local_id) is entry
    assert outbox.entries() == []


async def test_the_websockets_echo_confirms_an_unconfirmed_one(run) -> None:
    send, changes = ScriptedSend(Unconfirmed("no answer")), Changes()
    outbox = run(send, changes)
    outbox.start()
    entry = outbox.add(1, "maybe")
    await changes.reaches(entry, OutboxState.UNCONFIRMED)
    assert outbox.confirm(entry.echo_id, {"id": 555, "echo_id": entry.echo_id}) is entry
    assert entry.state is OutboxState.SENT and entry.server_id == 555
    assert changes.last(entry.local_id).state is OutboxState.SENT
    assert outbox.entries() == []
    assert outbox.confirm("not-ours", {"id": 1}) is None


async def test_an_echo_during_the_post_wins_over_its_timeout(run) -> None:
    hang = Hang(then=Unconfirmed("no answer"))
    send, changes = ScriptedSend(hang), Changes()
    outbox = run(send, changes)
    outbox.start()
    entry = outbox.add(1, "racing")
    await hang.started.wait()
    outbox.confirm(entry.echo_id, {"id": 77})
    hang.release.set()
    await changes.until(lambda: not outbox._lanes)
    assert entry.state is OutboxState.SENT and entry.server_id == 77
    assert changes.states(entry.local_id) == [OutboxState.SENDING, OutboxState.SENT]


async def test_an_entry_saved_while_sending_comes_back_unconfirmed_and_stays(run) -> None:
    first = ChatwootOutbox(ScriptedSend(), Changes())
    crashed = first.add(1, "in flight when the process died")
    crashed.state, crashed.attempts = OutboxState.SENDING, 1
    waiting = first.add(2, "still pending")
    send, changes = ScriptedSend(), Changes()
    outbox = run(send, changes)
    outbox.load([replace(crashed), replace(waiting)])
    outbox.start()
    await changes.until(lambda: OutboxState.SENT in changes.states(waiting.local_id))
    reloaded = outbox.entry(crashed.local_id)
    assert reloaded.state is OutboxState.UNCONFIRMED and "not confirmed" in reloaded.reason
    await settle_runner()
    assert send.echo_ids() == [waiting.echo_id]
    fresh = outbox.add(3, "new")
    assert fresh.local_id < min(crashed.local_id, waiting.local_id)


async def test_pause_starts_no_post_until_resume(run) -> None:
    send, changes = ScriptedSend(), Changes()
    outbox = run(send, changes)
    outbox.start()
    outbox.pause()
    entry = outbox.add(1, "offline")
    await settle_runner()
    assert send.calls == []
    outbox.resume()
    await changes.reaches(entry, OutboxState.SENT)


async def test_close_mid_post_leaves_it_unconfirmed(run) -> None:
    hang = Hang()
    send, changes = ScriptedSend(hang), Changes()
    outbox = run(send, changes)
    outbox.start()
    entry = outbox.add(1, "cut")
    await hang.started.wait()
    await outbox.close()
    assert entry.state is OutboxState.UNCONFIRMED
    assert outbox.entries() == [entry]


async def test_a_bug_in_send_leaves_it_unconfirmed(run) -> None:
    send, changes = ScriptedSend(KeyError("content")), Changes()
    outbox = run(send, changes)
    outbox.start()
    entry = outbox.add(1, "x")
    unconfirmed = await changes.reaches(entry, OutboxState.UNCONFIRMED)
    assert "KeyError" in unconfirmed.reason


async def test_bodies_are_not_logged_at_info(run, caplog) -> None:
    caplog.set_level("DEBUG", logger="frontdesk.chatwoot.outbox")
    send, changes = ScriptedSend(Unreachable("down"), Unconfirmed("no answer")), Changes()
    outbox = run(send, changes)
    outbox.start()
    entry = outbox.add(1, "SECRET-BODY-TEXT")
    await changes.reaches(entry, OutboxState.UNCONFIRMED)
    assert "SECRET-BODY-TEXT" not in caplog.text


# ---- over HTTP, against the fake Chatwoot on loopback -----------------------------------------


class HttpSend:
    """A small `send` over httpx, typed as chatwoot/errors.py says (the desk's REST client is
    richer; this is what the outbox needs to meet real HTTP)."""

    def __init__(self, fake: FakeChatwoot, timeout: float = 2.0) -> None:
        self.fake = fake
        self.token = fake.token
        self.client = httpx.AsyncClient(base_url=fake.url, timeout=timeout)

    async def __call__(self, entry: OutboxEntry) -> dict[str, Any]:
        path = (
            f"/api/v1/accounts/{self.fake.account_id}/conversations/"
            f"{entry.conversation_id}/messages"
        )
        body = {
            "content": entry.body,
            "private": entry.private,
            "message_type": "outgoing",
            "echo_id": entry.echo_id,
        }
        try:
            answer = await self.client.post(
                path, json=body, headers={"api_access_token": self.token}
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise Unreachable(f"Chatwoot at {self.fake.url} unreachable ({exc})") from None
        except httpx.TransportError:
            raise Unconfirmed("Chatwoot did not answer: the reply may have been posted") from None
        if answer.status_code == 429:
            raise RateLimited("Chatwoot asks to slow down", float(answer.headers["Retry-After"]))
        if answer.status_code == 401:
            raise TokenRefused("Chatwoot refused the access token")
        if answer.status_code >= 500:
            raise Unreachable(f"Chatwoot answered {answer.status_code}")
        if answer.status_code >= 400:
            raise Refused(f"Chatwoot refused the reply: {answer.json()}", answer.status_code)
        return answer.json()


@pytest.fixture
async def fake():
    server = FakeChatwoot(ping_seconds=60)
    server.seed(3, messages=2)
    await server.start()
    yield server
    await server.stop()


def posted(fake: FakeChatwoot, echo_id: str) -> list[Any]:
    """The messages the fake holds that were posted with `echo_id`."""
    return [m for m in fake.account.messages.values() if m.echo_id == echo_id]


async def test_over_http_429_and_5xx_end_in_one_message(fake, run) -> None:
    conv_id = min(fake.account.conversations)
    send, changes = HttpSend(fake), Changes()
    outbox = run(send, changes)
    fake.rate_limit(1, retry_after=0.1)
    fake.fail_next("/messages", 503)
    outbox.start()
    entry = outbox.add(conv_id, "Your parcel left the depot")
    sent = await changes.reaches(entry, OutboxState.SENT)
    [message] = posted(fake, entry.echo_id)
    assert sent.server_id == message.id and message.content == "Your parcel left the depot"
    assert sent.attempts == 3
    await send.client.aclose()


async def test_over_http_a_timeout_after_posting_is_never_posted_again(fake, run) -> None:
    conv_id = min(fake.account.conversations)
    send, changes = HttpSend(fake, timeout=0.3), Changes()
    outbox = run(send, changes)
    fake.hang_next("/messages", applied=True)
    outbox.start()
    slow = outbox.add(conv_id, "first")
    after = outbox.add(conv_id, "second")
    await changes.reaches(slow, OutboxState.UNCONFIRMED)
    await changes.reaches(after, OutboxState.SENT)
    assert len(posted(fake, slow.echo_id)) == 1  # the server has it; the outbox did not resend
    created = [d for e, d in fake.events if e == "message.created" and d.get("echo_id")]
    echo = next(d for d in created if d["echo_id"] == slow.echo_id)
    outbox.confirm(echo["echo_id"], echo)  # the websocket's echo, as the desk passes it on
    assert slow.state is OutboxState.SENT and slow.server_id == echo["id"]
    assert outbox.entries() == []
    await send.client.aclose()


async def test_over_http_a_revoked_token_holds_replies_until_a_new_one(fake, run) -> None:
    conv_id = min(fake.account.conversations)
    send, changes = HttpSend(fake), Changes()
    outbox = run(send, changes)
    fake.revoke_token()
    outbox.start()
    entry = outbox.add(conv_id, "held")
    await changes.until(lambda: bool(outbox.held))
    assert entry.state is OutboxState.PENDING and "refused the access token" in entry.reason
    fake.add_token("new-token", 1)
    send.token = "new-token"
    outbox.resume()
    await changes.reaches(entry, OutboxState.SENT)
    assert len(posted(fake, entry.echo_id)) == 1
    await send.client.aclose()


async def test_a_restart_posts_the_saved_pending_replies_once(fake, run, tmp_path) -> None:
    first_conv, second_conv = sorted(fake.account.conversations)[:2]
    cache = SeenCache(tmp_path / "cw")
    offline_send = HttpSend(fake)
    offline = ChatwootOutbox(offline_send, Changes())
    offline.pause()
    offline.start()
    queued = [
        offline.add(first_conv, "one"),
        offline.add(second_conv, "two"),
        offline.add(first_conv, "three"),
    ]
    in_flight = offline.add(second_conv, "cut by the crash")
    in_flight.state = OutboxState.SENDING
    cache.save(SeenState(), offline.entries())
    await offline.close()
    await offline_send.client.aclose()

    _, entries, problems = cache.load()
    assert problems == []
    send, changes = HttpSend(fake), Changes()
    outbox = run(send, changes)
    outbox.load(entries)
    outbox.start()
    for entry in queued:
        await changes.reaches(entry, OutboxState.SENT)
    assert [len(posted(fake, e.echo_id)) for e in queued] == [1, 1, 1]
    assert posted(fake, in_flight.echo_id) == []
    assert outbox.entry(in_flight.local_id).state is OutboxState.UNCONFIRMED
    firsts = [
        m.content
        for m in fake.account.messages.values()
        if m.echo_id and m.conversation_id == first_conv
    ]
    assert firsts == ["one", "three"]
    await send.client.aclose()


async def test_a_failing_listener_stops_no_reply(run, caplog) -> None:
    def broken(entry: OutboxEntry) -> None:
        raise RuntimeError("listener bug")

    send = ScriptedSend()
    outbox = run(send, broken)
    outbox.start()
    first = outbox.add(1, "one")
    second = outbox.add(1, "two")
    await eventually(lambda: not outbox.entries(), timeout=WAIT, what="both replies sent")
    assert send.echo_ids() == [first.echo_id, second.echo_id]
    assert first.state is second.state is OutboxState.SENT
    assert "listener bug" in caplog.text


# ---- persisted before each post ---------------------------------------------------------------


async def test_a_reply_is_on_disk_as_sending_before_it_is_posted(run, tmp_path) -> None:
    cache = SeenCache(tmp_path)
    on_disk: list[OutboxState] = []

    async def send(entry: OutboxEntry) -> dict[str, Any]:
        on_disk.extend(e.state for e in cache.load()[1] if e.local_id == entry.local_id)
        return {"id": 9}

    changes = Changes()
    outbox = run(send, changes, cache=cache)
    outbox.start()
    entry = outbox.add(1, "hello")
    await changes.reaches(entry, OutboxState.SENT)
    assert on_disk == [OutboxState.SENDING]


async def test_a_reply_queued_offline_is_on_disk_at_once(run, tmp_path) -> None:
    cache = SeenCache(tmp_path)
    outbox = run(ScriptedSend(), Changes(), cache=cache)
    outbox.pause()
    outbox.start()
    entry = outbox.add(1, "written while offline")
    await eventually(lambda: cache.load()[1], timeout=WAIT, what="the outbox file")
    assert [(e.local_id, e.state) for e in cache.load()[1]] == [
        (entry.local_id, OutboxState.PENDING)
    ]


async def test_a_reply_not_saved_is_not_posted_until_it_can_be(run, tmp_path) -> None:
    cache = SeenCache(tmp_path)
    # the save right after queueing fails, then the one before the post: the disk is full
    failures = [OSError(28, "No space left on device")] * 2
    keep = cache.keep_outbox

    async def keep_or_fail(get_entries):
        if failures:
            raise failures.pop()
        await keep(get_entries)

    cache.keep_outbox = keep_or_fail
    send, changes = ScriptedSend(), Changes()
    outbox = run(send, changes, cache=cache)
    outbox.start()
    entry = outbox.add(1, "hello")
    sent = await changes.reaches(entry, OutboxState.SENT)
    waited = [e for e in changes.seen if e.state is OutboxState.PENDING]
    assert waited and "could not be saved" in waited[0].reason and "No space" in waited[0].reason
    assert send.echo_ids() == [entry.echo_id]  # posted once, after the save worked
    assert sent.attempts == 2


async def test_killed_after_the_post_it_comes_back_unconfirmed_never_twice(
    fake, run, tmp_path
) -> None:
    conv_id = min(fake.account.conversations)
    cache = SeenCache(tmp_path / "cw")
    send, changes = HttpSend(fake), Changes()
    outbox = run(send, changes, cache=cache)
    outbox.start()
    entry = outbox.add(conv_id, "posted just before the kill")
    await changes.reaches(entry, OutboxState.SENT)
    # killed now: no later save ran; the next run reads what was on disk
    _, entries, problems = cache.load()
    assert problems == [] and [e.state for e in entries] == [OutboxState.SENDING]
    send_again, changes_again = HttpSend(fake), Changes()
    restarted = run(send_again, changes_again, cache=cache)
    restarted.load(entries)
    restarted.start()
    assert restarted.entry(entry.local_id).state is OutboxState.UNCONFIRMED
    later = restarted.add(conv_id, "after the restart")
    await changes_again.reaches(later, OutboxState.SENT)
    assert len(posted(fake, entry.echo_id)) == 1
    await send.client.aclose()
    await send_again.client.aclose()
