"""`[desk]` in the config: the local desk or a Chatwoot account, its cache folder, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config_files import error, write
from frontdesk.config import ConfigError, DeskConfig, load_config
from frontdesk.config.paths import chatwoot_cache_dir
from frontdesk.config.read_desk import url_problem


def test_no_section_is_the_local_desk(tmp_path):
    assert load_config(write(tmp_path, '[agent]\nname = "Aiko"\n')).desk == DeskConfig()


def test_kind_local_alone_is_the_local_desk(tmp_path):
    assert load_config(write(tmp_path, '[desk]\nkind = "local"\n')).desk.kind == "local"


def test_a_chatwoot_account_needs_no_channels(tmp_path):
    path = write(
        tmp_path,
        """
        [agent]
        name = "Aiko"

        [desk]
        kind = "chatwoot"
        url = " https://chat.example.com/ "
        account_id = 3
        """,
    )
    cfg = load_config(path)
    assert cfg.desk == DeskConfig(kind="chatwoot", url="https://chat.example.com", account_id=3)
    assert cfg.channels == []


@pytest.mark.parametrize(
    "url",
    ["http://localhost:3000", "https://example.com/chatwoot", "https://[::1]:8443/support/cw"],
)
def test_a_port_or_a_proxy_path_prefix_is_kept(tmp_path, url):
    path = write(tmp_path, f'[desk]\nkind = "chatwoot"\nurl = "{url}/"\naccount_id = 1\n')
    assert load_config(path).desk.url == url


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            'kind = "zendesk"',
            '1: desk.kind must be one of "local", "chatwoot" (got "zendesk")',
        ),
        ("kind = 1", "1: desk.kind must be a string (got 1)"),
        (
            'kind = "chatwoot"\naccount_id = 1',
            '0: desk has kind = "chatwoot" but no url; add url = "https://chat.example.com"',
        ),
        (
            'kind = "chatwoot"\nurl = "https://c.example"',
            '0: desk has kind = "chatwoot" but no account_id; add account_id = 1 (the number in',
        ),
        (
            'kind = "chatwoot"\nurl = "https://c.example"\naccount_id = 0',
            "3: desk.account_id must be a whole number from 1 (got 0)",
        ),
        (
            'kind = "chatwoot"\nurl = "https://c.example"\naccount_id = "1"',
            '3: desk.account_id must be an integer (got "1")',
        ),
        (
            'kind = "chatwoot"\nurl = "https://c.example"\naccount_id = true',
            "3: desk.account_id must be an integer (got true)",
        ),
        (
            'kind = "chatwoot"\nurl = "chat.example.com"\naccount_id = 1',
            '2: desk.url must be the server\'s http:// or https:// address (got "chat.example.com"), e.g. url = "https://chat.example.com"',
        ),
        (
            'kind = "chatwoot"\nurl = "https://c.example/?x=1"\naccount_id = 1',
            "2: desk.url must have no query or fragment",
        ),
        (
            'kind = "chatwoot"\nurl = "https://c.example/api/v1"\naccount_id = 1',
            "2: desk.url must be the server's base address, without /api",
        ),
        (
            'kind = "chatwoot"\nurl = "https://c.example:99999"\naccount_id = 1',
            "2: desk.url must be the server's http:// or https:// address with a valid host and port",
        ),
        (
            'url = "https://c.example"',
            '1: desk.url is read only with kind = "chatwoot"; add kind = "chatwoot" to [desk] or remove the line',
        ),
        (
            'kind = "chatwoot"\nacount_id = 1',
            "2: desk.acount_id is not a known key in [desk] (did you mean account_id?); remove it (known: kind, url, account_id)",
        ),
    ],
)
def test_one_line_refusals(tmp_path, lines, expected):
    path = write(tmp_path, "[desk]\n" + lines + "\n")
    message = error(path)
    number, _, text = expected.partition(": ")
    # line numbers in `expected` count from [desk] (0); the file starts with it on line 1
    assert f"{path}:{int(number) + 1}: {text}" in message, message


def test_a_url_with_a_password_is_refused_without_repeating_it(tmp_path):
    path = write(
        tmp_path,
        '[desk]\nkind = "chatwoot"\nurl = "https://aiko:hunter2@c.example"\naccount_id = 1\n',
    )
    message = error(path)
    assert "must not carry a user or password" in message and "frontdesk creds" in message
    assert "hunter2" not in message


@pytest.mark.parametrize("key", ["api_access_token", "token", "Access_Token"])
def test_the_token_in_the_file_is_refused_without_repeating_it(tmp_path, key):
    path = write(
        tmp_path,
        f'[desk]\nkind = "chatwoot"\nurl = "https://c.example"\naccount_id = 1\n{key} = "s3cr3t-tok"\n',
    )
    message = error(path)
    assert f"{path}:5: desk.{key} is a secret" in message
    assert "`frontdesk creds set chatwoot api_access_token`" in message
    assert "FRONTDESK_SECRET_CHATWOOT_API_ACCESS_TOKEN" in message
    assert "s3cr3t-tok" not in message


def test_desk_must_be_a_table(tmp_path):
    assert "desk must be a table" in error(write(tmp_path, 'desk = "chatwoot"\n'))


def test_the_cache_folder_is_one_per_server_and_account(tmp_path):
    def folder(url: str, account: int = 1) -> Path:
        return chatwoot_cache_dir(tmp_path, DeskConfig("chatwoot", url, account))

    assert folder("https://chat.example.com") == tmp_path / "chatwoot-chat.example.com-1"
    assert folder("https://Chat.Example.com") == folder("http://chat.example.com")
    named = {
        folder("https://chat.example.com", 2),
        folder("https://chat.example.com"),
        folder("http://localhost:3000"),
        folder("http://localhost:3300"),
        folder("http://localhost-3000"),
        folder("http://localhost_3000"),
        folder("https://example.com/a/cw"),
        folder("https://example.com/b/cw"),
    }
    assert len(named) == 8
    assert folder("http://localhost:3000").name == "chatwoot-localhost_3000-1"
    assert folder("https://example.com/a/cw").name == "chatwoot-example.com_a_cw-1"


@settings(max_examples=300, deadline=None)
@given(url=st.text(max_size=300))
def test_any_url_is_either_a_safe_base_or_a_reason(tmp_path_factory, url):
    problem = url_problem(url)
    if problem is not None:
        assert "\n" not in problem
        return
    root = tmp_path_factory.getbasetemp()
    folder = chatwoot_cache_dir(root, DeskConfig("chatwoot", url, 1))
    assert folder.parent == root and folder.name.startswith("chatwoot-")
    assert len(folder.name.encode()) <= 120 and "/" not in folder.name


@settings(max_examples=200, deadline=None)
@given(
    url=st.from_regex(
        r"https?://[a-z0-9.-]{1,40}(:[0-9]{1,5})?(/[a-z0-9/_-]{0,30})?", fullmatch=True
    )
)
def test_a_written_url_is_read_back_or_refused_in_one_line(tmp_path_factory, url):
    path = write(
        tmp_path_factory.mktemp("cfg"),
        f'[desk]\nkind = "chatwoot"\nurl = "{url}"\naccount_id = 7\n',
    )
    try:
        desk = load_config(path).desk
    except ConfigError as exc:
        assert "\n" not in str(exc) and "desk.url" in str(exc)
    else:
        assert desk.url == url.rstrip("/") and not desk.url.endswith("/")
