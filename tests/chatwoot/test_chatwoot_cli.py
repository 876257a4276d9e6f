"""The CLI with `[desk] kind = "chatwoot"`: what runs the local desk's channels says why it does not."""

from __future__ import annotations

import asyncio
import gc
import os

import pytest

from config_files import write
from frontdesk import cli

CHATWOOT = """
[agent]
name = "Aiko"

[desk]
kind = "chatwoot"
url = "https://chat.example.com"
account_id = 1
"""


@pytest.mark.parametrize("argv", [["sync", "--once"], ["serve"]])
def test_the_local_desks_commands_refuse_in_one_line(tmp_path, capsys, argv):
    path = write(tmp_path, CHATWOOT)
    status = cli.main([*argv, "--config", str(path), "--data-dir", str(tmp_path / "data")])
    err = capsys.readouterr().err
    assert status != 0
    assert err.count("\n") == 1 and f"`frontdesk {argv[0]}` runs the local desk's channels" in err
    assert 'kind = "chatwoot"' in err and "run `frontdesk` for the console" in err
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("argv", "offer"),
    [(["export"], "export them from Chatwoot"), (["report"], "Chatwoot's Reports page")],
)
def test_the_local_caches_readers_say_where_a_chatwoot_accounts_data_is(
    tmp_path, capsys, argv, offer
):
    path = write(tmp_path, CHATWOOT)
    status = cli.main([*argv, "--config", str(path), "--data-dir", str(tmp_path / "data")])
    captured = capsys.readouterr()
    assert status != 0 and captured.out == ""
    assert captured.err.count("\n") == 1 and offer in captured.err
    assert f"`frontdesk {argv[0]}` reads the local desk's cache" in captured.err


TOKEN = "Xq7vLh2pWc9sRtYb3nKd"
ENV = "FRONTDESK_SECRET_CHATWOOT_API_ACCESS_TOKEN"


class ScriptedApp:
    """Stands in for the console: waits until the desk heard from the server, notes what it saw."""

    def __init__(self, desk) -> None:
        self.desk = desk
        self.saw: dict[str, object] = {}

    async def run_async(self) -> None:
        await asyncio.wait_for(self.desk.synced.wait(), 10)
        self.saw["mode"] = self.desk.mode
        self.saw["problem"] = self.desk.link_problem


@pytest.fixture
def console(monkeypatch) -> list[ScriptedApp]:
    """The apps the CLI started, with no terminal taken; the collector left as it was found."""
    from frontdesk import launch
    from frontdesk.runtime import freeze_long_lived

    for name in [n for n in os.environ if n.startswith("FRONTDESK_SECRET_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    apps: list[ScriptedApp] = []
    monkeypatch.setattr(
        launch, "make_app", lambda desk, *a, **k: apps.append(ScriptedApp(desk)) or apps[-1]
    )
    thresholds = gc.get_threshold()
    yield apps
    if freeze_long_lived in gc.callbacks:
        gc.callbacks.remove(freeze_long_lived)
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_the_console_without_a_token_says_both_ways_to_set_it(tmp_path, capsys, console):
    path = write(tmp_path, CHATWOOT)
    status = cli.main(["--config", str(path), "--data-dir", str(tmp_path / "data")])
    err = capsys.readouterr().err
    assert status != 0 and console == []
    assert err.count("\n") == 1
    assert err.startswith(
        "frontdesk: the Chatwoot access token is not set; run `frontdesk creds set chatwoot "
        "api_access_token` or set FRONTDESK_SECRET_CHATWOOT_API_ACCESS_TOKEN"
    )


def test_the_console_runs_on_the_chatwoot_account(tmp_path, capsys, console, monkeypatch):
    pytest.importorskip("frontdesk.chatwoot.desk")  # helper H3's ChatwootDesk, merged beside this
    from fakes.chatwoot_thread import ServedChatwoot

    served = ServedChatwoot(TOKEN)
    try:
        served.fake.seed(5, messages=2)
        monkeypatch.setenv(ENV, TOKEN)
        path = write(tmp_path, CHATWOOT.replace("https://chat.example.com", served.url))
        data = tmp_path / "data"
        status = cli.main(["--config", str(path), "--data-dir", str(data), "--solo"])
        paths = {r.path for r in served.fake.requests}
    finally:
        served.close()
    assert status == 0, capsys.readouterr().err
    [app] = console
    assert app.saw["mode"] == "chatwoot"
    assert "/api/v1/profile" in paths and "/api/v1/accounts/1/conversations" in paths
    folder = data / f"chatwoot-{served.url.split('//')[1].replace(':', '_')}-1"
    assert folder.is_dir()  # what was seen is kept in the account's own folder
    assert not (data / "meta.json").exists()  # and no local desk's cache was opened
    assert all(TOKEN not in p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())
