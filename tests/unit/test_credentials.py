"""Credentials: env-var names, keyring round trip, the headless (no keyring) case, redaction."""

from __future__ import annotations

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from keyring.errors import KeyringLocked
from memory_keyring import MemoryKeyring

from frontdesk import credentials
from frontdesk.credentials import CredentialsError

SECRET = "123456:AAH-very-secret-token"


class BrokenKeyring(KeyringBackend):
    """A keyring whose every operation fails the way a locked desktop keyring does."""

    priority = 1

    def get_password(self, service, username):
        raise KeyringLocked("the collection is locked")

    def set_password(self, service, username, password):
        raise KeyringLocked(f"cannot store {password}")  # a careless backend echoing the value

    def delete_password(self, service, username):
        raise KeyringLocked("the collection is locked")


@pytest.fixture(autouse=True)
def isolated(monkeypatch):
    """No FRONTDESK_SECRET_* from the outside, a fresh problem note, and the keyring restored after."""
    import os

    for name in [n for n in os.environ if n.startswith("FRONTDESK_SECRET_")]:
        monkeypatch.delenv(name)
    before = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    credentials.get_secret("isolated", "key")  # a read that works: no problem kept from before
    assert credentials.keyring_problem() is None
    keyring.set_keyring(before)
    yield
    keyring.set_keyring(before)


@pytest.fixture
def memory() -> MemoryKeyring:
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    return ring


@pytest.fixture
def headless() -> None:
    keyring.set_keyring(fail.Keyring())


@pytest.mark.parametrize(
    ("channel", "key", "expected"),
    [
        ("support-bot", "auth_token", "FRONTDESK_SECRET_SUPPORT_BOT_AUTH_TOKEN"),
        ("mail", "imap.password", "FRONTDESK_SECRET_MAIL_IMAP_PASSWORD"),
        ("line_jp", "channel-secret", "FRONTDESK_SECRET_LINE_JP_CHANNEL_SECRET"),
        ("café", "key", "FRONTDESK_SECRET_CAF__KEY"),
    ],
)
def test_env_name_mangling(channel, key, expected):
    assert credentials.env_name(channel, key) == expected


def test_env_var_is_found_first(monkeypatch, memory):
    memory.set_password("frontdesk", "support-bot/auth_token", "from-keyring")
    assert credentials.get_secret("support-bot", "auth_token") == "from-keyring"
    monkeypatch.setenv("FRONTDESK_SECRET_SUPPORT_BOT_AUTH_TOKEN", SECRET)
    assert credentials.get_secret("support-bot", "auth_token") == SECRET
    assert credentials.secret_source("support-bot")("auth_token") == SECRET


def test_env_var_works_without_any_keyring(monkeypatch, headless):
    monkeypatch.setenv("FRONTDESK_SECRET_SUPPORT_BOT_AUTH_TOKEN", SECRET)
    assert credentials.get_secret("support-bot", "auth_token") == SECRET


def test_keyring_round_trip(memory):
    assert credentials.get_secret("support-bot", "auth_token") is None
    credentials.set_secret("support-bot", "auth_token", SECRET)
    assert memory.store == {("frontdesk", "support-bot/auth_token"): SECRET}
    assert credentials.get_secret("support-bot", "auth_token") == SECRET
    assert credentials.secret_source("support-bot")("auth_token") == SECRET
    assert credentials.secret_source("other")("auth_token") is None
    assert credentials.keyring_problem() is None
    credentials.delete_secret("support-bot", "auth_token")
    assert credentials.get_secret("support-bot", "auth_token") is None


def test_deleting_a_missing_secret_says_so(memory):
    with pytest.raises(CredentialsError, match=r"^support-bot/auth_token is not in the keyring"):
        credentials.delete_secret("support-bot", "auth_token")


@pytest.mark.parametrize("ring", [fail.Keyring, null.Keyring])
def test_headless_set_raises_with_the_fallbacks(ring, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    keyring.set_keyring(ring())
    with pytest.raises(CredentialsError) as info:
        credentials.set_secret("support-bot", "auth_token", SECRET)
    message = str(info.value)
    assert "\n" not in message
    assert "no system keyring is available on this machine" in message
    assert "FRONTDESK_SECRET_SUPPORT_BOT_AUTH_TOKEN" in message
    assert "pip install keyrings.cryptfile" in message
    assert "PYTHON_KEYRING_BACKEND=keyrings.cryptfile.cryptfile.CryptFileKeyring" in message
    assert SECRET not in message
    assert list(tmp_path.iterdir()) == []  # nothing written to a plain file instead


def test_headless_get_returns_none_and_remembers_why(headless):
    assert credentials.get_secret("support-bot", "auth_token") is None
    problem = credentials.keyring_problem()
    assert problem and "no system keyring" in problem and "keyrings.cryptfile" in problem


def test_keyring_problem_is_reported_before_any_lookup(headless):
    assert "no system keyring" in (credentials.keyring_problem() or "")


def test_headless_delete_raises(headless):
    with pytest.raises(CredentialsError, match="no system keyring"):
        credentials.delete_secret("support-bot", "auth_token")


def test_failing_backend_is_not_found_but_remembered_and_never_echoes_the_secret():
    keyring.set_keyring(BrokenKeyring())
    assert credentials.get_secret("support-bot", "auth_token") is None
    assert "locked" in (credentials.keyring_problem() or "")
    with pytest.raises(CredentialsError) as info:
        credentials.set_secret("support-bot", "auth_token", SECRET)
    message = str(info.value)
    assert SECRET not in message
    assert (
        "could not store support-bot/auth_token" in message
        and "FRONTDESK_SECRET_SUPPORT_BOT_AUTH_TOKEN" in message
    )


def test_redact():
    text = f"GET https://api.telegram.org/bot{SECRET}/getUpdates failed; token={SECRET}; other=abc"
    assert (
        credentials.redact(text, [SECRET, None, ""])
        == "GET https://api.telegram.org/bot***/getUpdates failed; token=***; other=abc"
    )
    assert credentials.redact("abcdef", ["abc", "abcdef"]) == "***"  # longest first
    assert credentials.redact("nothing", []) == "nothing"
