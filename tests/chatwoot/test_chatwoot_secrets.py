"""After a `--debug` session on a Chatwoot account: neither the token nor the pubsub token is in the
console's log, the seen cache, `frontdesk export` or `frontdesk doctor --debug`."""

from __future__ import annotations

import asyncio
import gc
import os

import pytest

from config_files import write
from fakes.chatwoot_thread import ServedChatwoot
from frontdesk import cli, logs

TOKEN = "Xq7vLh2pWc9sRtYb3nKd"
ENV = "FRONTDESK_SECRET_CHATWOOT_API_ACCESS_TOKEN"


class BusyAgent:
    """Stands in for the console: reads, replies, sends a note, and sees the token revoked."""

    def __init__(self, desk, served: ServedChatwoot) -> None:
        self.desk = desk
        self.served = served
        self.done = False

    async def run_async(self) -> None:
        desk = self.desk
        await asyncio.wait_for(desk.synced.wait(), 10)
        [first, *_] = await desk.conversations()
        await desk.thread(first.id)
        await desk.reply(first.id, "On its way")
        await desk.note(first.id, "checked the parcel")
        await desk.contact(first.contact_id)
        self.served.fake.revoke_token(TOKEN)
        with pytest.raises(Exception):  # noqa: B017 (whichever error: its words are checked below)
            await desk.set_status(first.id, first.status)
        self.done = True


@pytest.fixture
def console(monkeypatch):
    from frontdesk import launch
    from frontdesk.runtime import freeze_long_lived

    for name in [n for n in os.environ if n.startswith("FRONTDESK_SECRET_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    served = ServedChatwoot(TOKEN)
    apps: list[BusyAgent] = []
    monkeypatch.setattr(
        launch, "make_app", lambda desk, *a, **k: apps.append(BusyAgent(desk, served)) or apps[-1]
    )
    thresholds = gc.get_threshold()
    yield served, apps
    served.close()
    if freeze_long_lived in gc.callbacks:
        gc.callbacks.remove(freeze_long_lived)
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_no_token_is_left_anywhere_after_a_debug_session(tmp_path, capsys, console, monkeypatch):
    served, apps = console
    served.fake.seed(5, messages=2)
    pubsub = served.fake.profile.pubsub_token
    monkeypatch.setenv(ENV, TOKEN)
    config = write(
        tmp_path,
        f'[agent]\nname = "Aiko"\n\n[desk]\nkind = "chatwoot"\nurl = "{served.url}"\n'
        "account_id = 1\n",
    )
    data = tmp_path / "data"
    common = ["--config", str(config), "--data-dir", str(data), "--debug"]
    assert cli.main([*common, "--solo"]) == 0, capsys.readouterr().err
    assert apps and apps[0].done
    session_out = capsys.readouterr()
    cli.main(["export", *common[:-1]])  # (with --debug its refusal would be a traceback)
    export = capsys.readouterr()
    served.fake.add_token(TOKEN, 1)
    cli.main(["doctor", *common])
    doctor = capsys.readouterr()
    log_text = logs.log_file(data).read_text(errors="replace")
    assert "HTTP" in log_text or "Chatwoot" in log_text  # the debug log did record the session
    files = {p: p.read_bytes() for p in data.rglob("*") if p.is_file()}
    for secret in (TOKEN, pubsub):
        assert secret not in log_text
        assert secret not in session_out.out + session_out.err
        assert secret not in export.out + export.err
        assert secret not in doctor.out + doctor.err
        for path, content in files.items():
            assert secret.encode() not in content, path


def test_export_on_a_chatwoot_account_says_where_its_data_is_in_one_line(tmp_path, capsys):
    config = write(
        tmp_path,
        '[agent]\nname = "Aiko"\n\n[desk]\nkind = "chatwoot"\nurl = "https://chat.example.com"\n'
        "account_id = 1\n",
    )
    status = cli.main(["export", "--config", str(config), "--data-dir", str(tmp_path / "d")])
    out, err = capsys.readouterr()
    assert status != 0 and out == ""
    assert err.count("\n") == 1 and "`frontdesk export`" in err
    assert 'kind = "chatwoot"' in err and "Chatwoot" in err
    assert "nothing has been synced" not in err
