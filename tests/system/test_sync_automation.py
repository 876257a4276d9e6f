"""`frontdesk sync --once` in a real process: automation acts on what it fetched and its reply is
sent before the process exits (the Telegram fake on loopback), once a day, never to backlog."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import fakes.telegram as tg
from fakes.server import FakeServer

CANNED = """
[[replies]]
shortcode = "away"
title = "Away"
body = "Hi {contact.first_name}, we are closed; a person answers when we open."
"""


def sync_once(tmp_path, server) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[[channels]]\nname = "tg"\nbackend = "telegram"\nbase_url = "{server.url}"\n\n'
        '[hours]\ntimezone = "Asia/Tokyo"\nmon-sun = "closed"\naway_reply = "away"\n'
    )
    (tmp_path / "canned.toml").write_text(CANNED)
    env = {
        **os.environ,
        "FRONTDESK_SECRET_TG_TOKEN": tg.TOKEN,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }
    command = [sys.executable, "-m", "frontdesk", "--config", str(config)]
    command += ["--data-dir", str(tmp_path / "data"), "sync", "--once"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def away_sent(fake: tg.FakeTelegram, chat: int) -> list[str]:
    return [s["text"] for s in fake.sent if str(s["chat_id"]) == str(chat)]


def test_sync_once_sends_the_away_message_it_queued_once_a_day_and_never_to_backlog(
    tmp_path,
) -> None:
    fake = tg.FakeTelegram()
    now = int(time.time())
    with FakeServer(fake) as server:
        fake.push(fake.message(42, "Is anyone there?", date=now))
        fake.push(
            fake.message(43, "written hours ago, read by this first sync", date=now - 3 * 3600)
        )
        first = sync_once(tmp_path, server)
        assert first.returncode == 0, first.stderr
        assert away_sent(fake, 42) == ["Hi User42, we are closed; a person answers when we open."]
        assert away_sent(fake, 43) == []

        fake.push(fake.message(42, "Hello?", date=int(time.time())))
        second = sync_once(tmp_path, server)
        assert second.returncode == 0, second.stderr
        assert len(away_sent(fake, 42)) == 1
    assert "Traceback" not in first.stderr + second.stderr


def test_sync_once_waits_for_a_short_retry_before_it_exits(tmp_path) -> None:
    fake = tg.FakeTelegram()
    fake.fail_next("sendMessage", tg.error(429, "Too Many Requests: retry after 1", retry_after=1))
    with FakeServer(fake) as server:
        fake.push(fake.message(42, "Is anyone there?", date=int(time.time())))
        result = sync_once(tmp_path, server)
    assert result.returncode == 0, result.stderr
    assert fake.count("sendMessage") == 2
    assert len(away_sent(fake, 42)) == 1
