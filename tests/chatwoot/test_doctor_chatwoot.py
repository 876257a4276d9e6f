"""`frontdesk doctor` with `[desk] kind = "chatwoot"` against the loopback fake Chatwoot."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from config_files import write
from frontdesk import cli
from fakes.chatwoot_thread import ServedChatwoot

TOKEN = "Xq7vLh2pWc9sRtYb3nKd"
ENV = "FRONTDESK_SECRET_CHATWOOT_API_ACCESS_TOKEN"


@pytest.fixture
def served(monkeypatch) -> Iterator[ServedChatwoot]:
    for name in [n for n in os.environ if n.startswith("FRONTDESK_SECRET_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv(ENV, TOKEN)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    server = ServedChatwoot(TOKEN)
    yield server
    server.close()


def doctor(tmp_path, capsys, url: str, account: int = 1, extra: str = "") -> tuple[int, str]:
    path = write(
        tmp_path,
        f'[agent]\nname = "Aiko"\n\n[desk]\nkind = "chatwoot"\nurl = "{url}/"\n'
        f"account_id = {account}\n{extra}",
    )
    status = cli.main(["doctor", "--config", str(path), "--data-dir", str(tmp_path / "data")])
    out, err = capsys.readouterr()
    assert TOKEN not in out + err
    return status, out


def problems(out: str) -> list[str]:
    return [
        line.removeprefix("problem: ") for line in out.splitlines() if line.startswith("problem:")
    ]


def test_a_good_setup_is_ok_line_by_line(served, tmp_path, capsys):
    served.fake.seed(30, messages=2)
    status, out = doctor(tmp_path, capsys, served.url)
    assert problems(out) == [] and status == 0, out
    lines = out.splitlines()
    assert f"desk:   Chatwoot account 1 at {served.url}" in lines
    assert f"ok: Chatwoot answers at {served.url}" in lines
    assert any(
        line.startswith("ok: token of Aiko Tanaka <aiko@example.com>, ")
        and "on account 1 (" in line
        for line in lines
    ), out
    assert any(
        line.startswith("ok: account 1: ") and "open conversations" in line for line in lines
    )
    assert f"ok: websocket {served.url.replace('http', 'ws')}/cable: RoomChannel confirmed" in lines
    cache = tmp_path / "data" / f"chatwoot-{served.url.split('//')[1].replace(':', '_')}-1"
    assert any(line.startswith(f"ok: cache {cache}") for line in lines), out
    assert lines[-1] == "ok: no problems found"
    subscribe = [c for c in served.fake.cable_received if c.get("command") == "subscribe"]
    assert len(subscribe) == 1 and '"channel": "RoomChannel"' in subscribe[0]["identifier"]
    # the local desk's checks are not run: no served-desk socket, no channel, no local store
    assert not any(line.startswith(("desk:   solo", "ok: channel")) for line in lines)


def test_a_revoked_token_says_how_to_set_a_new_one_and_asks_nothing_more(served, tmp_path, capsys):
    served.fake.revoke_token()
    status, out = doctor(tmp_path, capsys, served.url)
    assert status != 0
    assert problems(out) == [
        "token refused: set a new one with `frontdesk creds set chatwoot api_access_token`"
    ]
    assert f"ok: Chatwoot answers at {served.url}" in out
    assert served.fake.cable_received == [] and len(served.fake.requests) == 1


def test_a_missing_token_names_both_ways_to_set_it(served, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(ENV)
    status, out = doctor(tmp_path, capsys, served.url)
    assert status != 0
    [line] = problems(out)
    assert line.startswith(
        "the Chatwoot access token is not set; run `frontdesk creds set chatwoot api_access_token` or set FRONTDESK_SECRET_CHATWOOT_API_ACCESS_TOKEN"
    )
    assert f"ok: Chatwoot answers at {served.url}" in out  # the URL is still checked


def test_an_account_the_agent_is_not_on(served, tmp_path, capsys):
    status, out = doctor(tmp_path, capsys, served.url, account=7)
    [line] = problems(out)
    assert status != 0
    assert line.startswith("the token's agent Aiko Tanaka has no account 7 (theirs: 1 (")
    assert line.endswith("fix [desk] account_id, or use a token of that account")
    assert served.fake.cable_received == []


def test_a_cable_the_proxy_does_not_pass(served, tmp_path, capsys):
    served.fake.refuse_cable = True
    status, out = doctor(tmp_path, capsys, served.url)
    assert status != 0
    assert problems(out) == [
        f"no websocket at {served.url.replace('http', 'ws')}/cable (HTTP 503); a proxy in front "
        "of Chatwoot must pass /cable with its Upgrade and Connection headers"
    ]


def test_what_only_the_local_desk_reads_is_noted_not_checked(served, tmp_path, capsys):
    extra = '\n[[channels]]\nname = "tg"\nbackend = "telegram"\n\n[hours]\ntimezone = "UTC"\n'
    status, out = doctor(tmp_path, capsys, served.url, extra=extra)
    assert status == 0, out
    assert "note: [[channels]], [hours] in " in out and "not used with a Chatwoot desk" in out
    assert "channel tg" not in out  # no secret asked for, no Telegram called
