"""Escalation hooks against a real HTTP server on loopback and a real local command."""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
from datetime import datetime, timedelta, timezone

import pytest

from frontdesk.desk import ChangeKind, Desk, DeskError
from frontdesk.desk import hooks
from frontdesk.desk.hooks import HookSpec, build_payload, parse_ticket
from frontdesk.model import EventKind, MessageKind, Priority, Ticket
from frontdesk.store import Store

from fakes.helpdesk import HelpdeskServer  # noqa: E402
from pilot_helpers import eventually  # noqa: E402

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)  # the conftest clock


@pytest.fixture
def helpdesk():
    server = HelpdeskServer()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _fixtures(channels, workspace):
    """The conftest channels and small workspace, for the helpers below."""
    global CHANNELS, WORKSPACE
    CHANNELS, WORKSPACE = channels, workspace


def make_desk(store: Store, clock, *hooks: HookSpec) -> Desk:
    return Desk(
        store,
        CHANNELS,
        agent="Aiko",
        clock=clock,
        escalation_targets=["billing", "tier-2"],
        hooks=hooks,
    )


async def loaded_desk(store: Store, clock, *hooks: HookSpec) -> Desk:
    desk = make_desk(store, clock, *hooks)
    await desk.load_workspace(WORKSPACE.contacts, WORKSPACE.conversations, WORKSPACE.messages)
    return desk


def hook_events(messages) -> list[str]:
    return [
        m.body for m in messages if m.kind is MessageKind.ACTIVITY and m.event is EventKind.HOOK
    ]


async def test_http_hook_posts_the_escalation_and_stores_the_ticket(desk_store, clock, helpdesk):
    spec = HookSpec("helpdesk", url=helpdesk.url, timeout=5, token="sk-test-123")
    desk = await loaded_desk(desk_store, clock, spec)
    changes = desk.subscribe()
    jobs = await desk.escalate(1, "billing", "charged twice for order #1234", Priority.HIGH)
    assert [j.hook for j in jobs] == ["helpdesk"] and desk.hook_jobs(1)[0].state == "pending"
    await desk.flush_hooks()

    [request] = helpdesk.requests
    assert request["path"] == "/api/tickets"
    assert request["headers"]["Authorization"] == "Bearer sk-test-123"
    assert request["headers"]["Idempotency-Key"] == jobs[0].key
    sent = request["json"]
    assert (sent["reason"], sent["target"], sent["priority"], sent["agent"]) == (
        "charged twice for order #1234",
        "billing",
        "high",
        "Aiko",
    )
    assert sent["conversation"]["id"] == 1 and sent["conversation"]["channel"] == "wa"
    assert sent["contact"]["name"] == "Mia Tanaka" and sent["contact"]["emails"] == [
        "mia@example.com"
    ]
    assert [(m["body"], m["note"]) for m in sent["messages"]] == [
        ("Hi! I ordered a lamp last week.", False),
        ("Where is my order #1234?", False),
        ("Checking with the warehouse.", True),
    ]
    conv = await desk.conversation(1)
    assert conv.tickets == [Ticket("helpdesk", "HD-1", "https://helpdesk.example/t/1", NOW)]
    assert conv.team == "billing" and conv.priority is Priority.HIGH
    assert hook_events(await desk.thread(1)) == [
        "helpdesk opened ticket HD-1 https://helpdesk.example/t/1"
    ]
    assert desk.hook_jobs() == []
    hook_changes = [c for c in changes.pending() if c.kind is ChangeKind.HOOK]
    assert [(c.conversation_id, c.failed) for c in hook_changes] == [(1, False)]
    assert "HD-1" in hook_changes[0].detail


async def test_payload_carries_the_last_twenty_messages_without_events(desk_store, clock):
    desk = await loaded_desk(desk_store, clock)
    for n in range(30):
        await desk.note(1, f"note {n}")
    await desk.assign(1, "Aiko")
    conv = await desk.conversation(1)
    payload = build_payload(
        conv,
        await desk.contact(1),
        await desk.thread(1),
        reason="r",
        target="t",
        priority="none",
        agent="Aiko",
        at=NOW,
    )
    assert [m["body"] for m in payload["messages"]] == [f"note {n}" for n in range(10, 30)]
    assert all(m["note"] for m in payload["messages"])


async def test_5xx_is_retried_with_backoff_then_succeeds(desk_store, clock, helpdesk):
    helpdesk.answer(503, {"error": "maintenance"})
    desk = await loaded_desk(desk_store, clock, HookSpec("helpdesk", url=helpdesk.url, timeout=5))
    changes = desk.subscribe()
    await desk.escalate(1, "tier-2", "needs a refund over the limit")
    await desk.flush_hooks()

    [job] = desk.hook_jobs(1)
    assert (job.state, job.attempts, job.next_attempt_at) == (
        "pending",
        1,
        NOW + timedelta(seconds=2),
    )
    assert job.last_error == "HTTP 503: maintenance"
    assert (await desk.conversation(1)).tickets == []
    [failure] = [c for c in changes.pending() if c.kind is ChangeKind.HOOK]
    assert (
        failure.failed
        and "HTTP 503: maintenance" in failure.detail
        and "retrying in 2s" in failure.detail
    )
    assert hook_events(await desk.thread(1)) == [
        "helpdesk failed (try 1): HTTP 503: maintenance — retrying in 2s"
    ]

    await desk.flush_hooks()  # not due yet: nothing is sent
    assert len(helpdesk.requests) == 1
    clock.advance(seconds=2)
    await desk.flush_hooks()
    assert len(helpdesk.requests) == 2
    assert (
        helpdesk.requests[0]["headers"]["Idempotency-Key"]
        == helpdesk.requests[1]["headers"]["Idempotency-Key"]
    )
    assert [t.id for t in (await desk.conversation(1)).tickets] == ["HD-2"]
    assert desk.hook_jobs() == []


async def test_4xx_fails_for_good_with_the_reason_and_is_kept(desk_store, clock, helpdesk):
    helpdesk.answer(422, {"message": "project SUP is archived"})
    desk = await loaded_desk(desk_store, clock, HookSpec("helpdesk", url=helpdesk.url, timeout=5))
    changes = desk.subscribe()
    await desk.escalate(1, "billing", "refund")
    await desk.flush_hooks()
    [job] = desk.hook_jobs(1)
    assert (job.state, job.last_error) == ("failed", "HTTP 422: project SUP is archived")
    [failure] = [c for c in changes.pending() if c.kind is ChangeKind.HOOK]
    assert (
        failure.failed
        and failure.detail
        == "Hook helpdesk failed: HTTP 422: project SUP is archived — not retried"
    )
    clock.advance(hours=1)
    await desk.flush_hooks()
    assert len(helpdesk.requests) == 1
    assert hook_events(await desk.thread(1)) == [
        "helpdesk failed: HTTP 422: project SUP is archived — not retried"
    ]

    # the agent fixed the project and runs it again
    [again] = await desk.retry_hooks(1)
    assert again.state == "pending"
    await desk.flush_hooks()
    assert len(helpdesk.requests) == 2 and [t.id for t in (await desk.conversation(1)).tickets] == [
        "HD-2"
    ]
    with pytest.raises(DeskError, match="no failed hook"):
        await desk.retry_hooks(1)


async def test_connect_error_and_timeout_are_retried(desk_store, clock, helpdesk):
    closed = HelpdeskServer()
    dead_url = closed.url
    closed.close()
    helpdesk.answer(201, {"id": 1}, delay=1.5)
    desk = await loaded_desk(
        desk_store,
        clock,
        HookSpec("down", url=dead_url, timeout=2),
        HookSpec("slow", url=helpdesk.url, timeout=0.5),
    )
    await desk.escalate(1, "billing", "refund")
    await desk.flush_hooks()
    jobs = {j.hook: j for j in desk.hook_jobs(1)}
    assert jobs["down"].state == "pending" and "cannot reach" in jobs["down"].last_error
    assert jobs["slow"].state == "pending" and jobs["slow"].last_error == "no answer within 0.5s"


async def test_a_job_survives_a_restart_in_the_middle(tmp_path, clock, helpdesk):
    spec = HookSpec("helpdesk", url=helpdesk.url, timeout=5)
    helpdesk.release.clear()  # the helpdesk holds the first request: frontdesk stops meanwhile
    with Store.open(tmp_path / "data") as store:
        desk = await loaded_desk(store, clock, spec)
        await desk.escalate(1, "billing", "refund")
        run = asyncio.create_task(desk.flush_hooks())
        await eventually(lambda: helpdesk.requests, what="the helpdesk's first request")
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
    helpdesk.release.set()

    with Store.open(tmp_path / "data") as store:
        [job] = store.hook_jobs()
        assert (job.state, job.attempts) == ("running", 1)
        desk = make_desk(store, clock, spec)
        await desk.start()
        try:

            async def ticketed() -> bool:
                return bool((await desk.conversation(1)).tickets)

            await eventually(ticketed, what="the ticket on conversation 1")
        finally:
            await desk.stop()
        assert [t.id for t in (await desk.conversation(1)).tickets] == ["HD-2"]
        assert store.hook_jobs() == []
        assert (
            helpdesk.requests[0]["headers"]["Idempotency-Key"]
            == helpdesk.requests[1]["headers"]["Idempotency-Key"]
        )


HOOK_SCRIPT = """
import json, os, pathlib, sys
data = json.load(sys.stdin)
data["secrets_seen"] = sorted(k for k in os.environ if k.startswith("FRONTDESK_SECRET_"))
data["path_seen"] = "PATH" in os.environ
data["env_seen"] = sorted(os.environ)
pathlib.Path(sys.argv[1]).write_text(json.dumps(data))
if data["reason"] == "crash":
    print("Traceback …", file=sys.stderr)
    print("RuntimeError: tracker is down", file=sys.stderr)
    sys.exit(3)
print(json.dumps({"ticket": {"id": "CMD-" + str(data["conversation"]["id"]), "url": "https://tracker.example/CMD"}}))
"""


@pytest.fixture
def hook_script(tmp_path):
    script = tmp_path / "open_ticket.py"
    script.write_text(textwrap.dedent(HOOK_SCRIPT))
    return script


async def test_command_hook_gets_the_json_on_stdin_and_its_ticket_is_stored(
    desk_store, clock, tmp_path, hook_script, monkeypatch
):
    monkeypatch.setenv("FRONTDESK_SECRET_SUPPORT_BOT_TOKEN", "tg-secret")
    seen = tmp_path / "seen.json"
    desk = await loaded_desk(
        desk_store,
        clock,
        HookSpec("tracker", command=(sys.executable, str(hook_script), str(seen))),
    )
    await desk.escalate(2, "tier-2", "日本語の返金 😊")
    await desk.flush_hooks()
    sent = json.loads(seen.read_text())
    assert sent["reason"] == "日本語の返金 😊" and sent["contact"]["name"] == "山田 花子 🌸"
    assert (
        sent["secrets_seen"] == [] and sent["path_seen"]
    )  # the channels' secrets stay with frontdesk
    assert (await desk.conversation(2)).tickets == [
        Ticket("tracker", "CMD-2", "https://tracker.example/CMD", NOW)
    ]


async def test_command_hook_gets_only_the_allow_listed_environment(
    desk_store, clock, tmp_path, hook_script, monkeypatch
):
    """The keyring's unlock password, a proxy with credentials, or any other variable of
    frontdesk's never reach a hook; the locale, the time zone and the paths it needs do."""
    for name, value in {
        "KEYRING_CRYPTFILE_PASSWORD": "unlock-me",
        "HTTPS_PROXY": "http://u:pw@proxy:3128",
        "AWS_SECRET_ACCESS_KEY": "aws",
        "FRONTDESK_SECRET_HOOK_TRACKER_TOKEN": "t",
        "LANG": "ja_JP.UTF-8",
        "LC_TIME": "C",
        "TZ": "Asia/Tokyo",
        "HOME": str(tmp_path),
        "TMPDIR": str(tmp_path),
    }.items():
        monkeypatch.setenv(name, value)
    seen = tmp_path / "seen.json"
    desk = await loaded_desk(
        desk_store,
        clock,
        HookSpec("tracker", command=(sys.executable, str(hook_script), str(seen))),
    )
    await desk.escalate(2, "tier-2", "refund")
    await desk.flush_hooks()
    env = set(json.loads(seen.read_text())["env_seen"])
    assert {"PATH", "HOME", "LANG", "LC_TIME", "TZ", "TMPDIR"} <= env
    assert not env & {
        "KEYRING_CRYPTFILE_PASSWORD",
        "HTTPS_PROXY",
        "AWS_SECRET_ACCESS_KEY",
        "FRONTDESK_SECRET_HOOK_TRACKER_TOKEN",
    }
    assert {n for n in env if not n.startswith("LC_")} <= set(hooks.HOOK_ENVIRONMENT)


async def test_command_hook_nonzero_exit_is_retried_and_missing_program_fails(
    desk_store, clock, tmp_path, hook_script
):
    desk = await loaded_desk(
        desk_store,
        clock,
        HookSpec(
            "tracker", command=(sys.executable, str(hook_script), str(tmp_path / "seen.json"))
        ),
        HookSpec("gone", command=("/nonexistent/open-ticket",)),
    )
    await desk.escalate(1, "billing", "crash")
    await desk.flush_hooks()
    jobs = {j.hook: j for j in desk.hook_jobs(1)}
    assert jobs["tracker"].state == "pending"
    assert jobs["tracker"].last_error.endswith("exited with 3: RuntimeError: tracker is down")
    assert jobs["gone"].state == "failed" and "not found" in jobs["gone"].last_error


async def test_hooks_apply_only_to_their_targets(desk_store, clock, helpdesk):
    desk = await loaded_desk(
        desk_store, clock, HookSpec("helpdesk", url=helpdesk.url, targets=("tier-2",))
    )
    assert await desk.escalate(1, "billing", "refund") == []
    assert [j.hook for j in await desk.escalate(2, "tier-2", "bug")] == ["helpdesk"]


async def test_escalate_needs_a_reason_and_a_configured_target(desk_store, clock):
    desk = await loaded_desk(desk_store, clock)
    with pytest.raises(DeskError, match="needs a reason"):
        await desk.escalate(1, "billing", "   ")
    with pytest.raises(
        DeskError, match="'legal' is not an escalation target; choose one of: billing, tier-2"
    ):
        await desk.escalate(1, "legal", "contract")
    assert (await desk.conversation(1)).team is None


def test_ticket_answers_are_bounded_and_checked():
    assert parse_ticket("h", b'{"id": 42}', NOW) == Ticket("h", "42", "", NOW)
    assert (
        parse_ticket("h", b'{"ticket": {"id": "A-1", "url": "https://x.example/A-1"}}', NOW).url
        == "https://x.example/A-1"
    )
    assert parse_ticket("h", b'{"id": "x", "url": "javascript:alert(1)"}', NOW).url == ""
    assert parse_ticket("h", b'{"id": true}', NOW) is None
    assert parse_ticket("h", b"not json", NOW) is None
    assert parse_ticket("h", b"", NOW) is None
    long = parse_ticket("h", json.dumps({"id": "\x1b[31m" + "9" * 500}).encode(), NOW)
    assert len(long.id) == 64 and "\x1b" not in long.id
    assert (
        parse_ticket(
            "h", json.dumps({"id": "1", "url": "https://x/" + "a" * 600}).encode(), NOW
        ).url
        == ""
    )


def test_doctor_checks_hook_commands_and_describes_url_hooks(
    tmp_path, monkeypatch, capsys, hook_script
):
    from frontdesk import cli

    config = tmp_path / "config.toml"
    config.write_text(
        textwrap.dedent(f"""
        [escalation]
        targets = ["billing"]

        [[escalation.hooks]]
        name = "helpdesk"
        url = "http://127.0.0.1:9/tickets"

        [[escalation.hooks]]
        name = "tracker"
        command = [{json.dumps(sys.executable)}, {json.dumps(str(hook_script))}]

        [[escalation.hooks]]
        name = "gone"
        command = ["/nonexistent/open-ticket"]
    """)
    )
    monkeypatch.setenv("FRONTDESK_SECRET_HOOK_HELPDESK_TOKEN", "sk-doctor-1")
    code = cli.main(["doctor", "--config", str(config), "--data-dir", str(tmp_path / "data")])
    out = capsys.readouterr().out
    assert code == 1
    assert "ok: hook helpdesk posts to http://127.0.0.1:9/tickets with a Bearer token" in out
    assert "ok: hook tracker runs" in out
    assert "problem: hook gone: command '/nonexistent/open-ticket' is not found" in out
    assert "sk-doctor-1" not in out


async def test_a_command_that_prints_without_end_is_read_in_bounded_memory(desk_store, clock):
    # communicate() kept all of it: a hook printing 1.5 GB within its timeout took the desk to a 3 GB peak
    import tracemalloc

    chatty = (
        "import sys; sys.stdout.write(json.dumps({'id': 'T-9', 'url': 'https://t/9'})); "
        "sys.stdout.flush(); [sys.stdout.buffer.write(b' ' * 65536) for _ in range(1600)]; "
        "sys.stderr.write('x' * 200000 + '\\nlast words\\n')"
    )
    desk = await loaded_desk(
        desk_store,
        clock,
        HookSpec("chatty", command=(sys.executable, "-c", "import json; " + chatty), timeout=60),
    )
    await desk.escalate(1, "billing", "crash")
    tracemalloc.start()
    try:
        await desk.flush_hooks()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert desk.hook_jobs(1) == []  # done: its answer is the start of what it printed
    assert (await desk.conversation(1)).tickets == [Ticket("chatty", "T-9", "https://t/9", NOW)]
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB for 100 MB of output"
