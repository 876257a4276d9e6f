"""The CLI with `[desk] kind = "chatwoot"`: what runs the local desk's channels says why it does not."""

from __future__ import annotations

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
