"""The Chatwoot access token: stored with `frontdesk creds`, read from the environment or keyring."""

from __future__ import annotations

import io
import os

import keyring
import pytest
from memory_keyring import MemoryKeyring

from frontdesk import cli
from frontdesk.chatwoot.token import TokenMissing, read_token

TOKEN = "Xq7vLh2pWc9sRtYb3nKd"
ENV = "FRONTDESK_SECRET_CHATWOOT_API_ACCESS_TOKEN"


@pytest.fixture
def ring(monkeypatch):
    """A fresh in-memory keyring and no FRONTDESK_SECRET_* from outside; the real one restored."""
    for name in [n for n in os.environ if n.startswith("FRONTDESK_SECRET_")]:
        monkeypatch.delenv(name)
    before = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    yield memory
    keyring.set_keyring(before)


def creds(monkeypatch, capsys, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    status = cli.main(["creds", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_creds_set_chatwoot_stores_the_token_where_the_client_reads_it(ring, monkeypatch, capsys):
    status, out, _ = creds(
        monkeypatch, capsys, "set", "chatwoot", "api_access_token", stdin=TOKEN + "\n"
    )
    assert status == 0 and "stored chatwoot/api_access_token" in out and TOKEN not in out
    assert ring.store[("frontdesk", "chatwoot/api_access_token")] == TOKEN
    assert read_token() == TOKEN
    status, out, _ = creds(monkeypatch, capsys, "get", "chatwoot", "api_access_token")
    assert status == 0 and "is set" in out and TOKEN not in out


def test_the_environment_wins_over_the_keyring(ring, monkeypatch):
    ring.store[("frontdesk", "chatwoot/api_access_token")] = "old"
    monkeypatch.setenv(ENV, TOKEN)
    assert read_token() == TOKEN


def test_a_missing_token_names_both_ways_to_set_it(ring):
    with pytest.raises(TokenMissing) as info:
        read_token()
    message = str(info.value)
    assert "\n" not in message
    assert "`frontdesk creds set chatwoot api_access_token`" in message and ENV in message


def test_the_prompt_says_where_the_token_is_found():
    from frontdesk.commands.creds import prompt

    assert "Profile settings" in prompt("chatwoot", "api_access_token")
    assert prompt("support-bot", "token") == "token for channel support-bot: "
