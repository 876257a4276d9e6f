"""The command line: global options in either position, and what each subcommand receives."""

from __future__ import annotations

import argparse
import json

import pytest

from frontdesk import cli

#: each subcommand with the arguments it needs besides the global options
SUBCOMMANDS = {
    None: [],  # `frontdesk` alone: the console
    "demo": [],
    "sync": ["--once"],
    "export": [],
    "doctor": [],
    "creds": ["get", "tg", "token"],
    "bench": [],
    "rules": ["test", "sample.json"],
}
GLOBALS = {
    "--data-dir": ("/tmp/frontdesk-cli-D", "data_dir", "/tmp/frontdesk-cli-D"),
    "--config": ("/tmp/frontdesk-cli-C.toml", "config", "/tmp/frontdesk-cli-C.toml"),
    "--debug": (None, "debug", True),
}


def argv_for(command: str | None, option: str, before: bool) -> list[str]:
    value = GLOBALS[option][0]
    given = [option] + ([value] if value is not None else [])
    rest = ([command] if command else []) + SUBCOMMANDS[command]
    return given + rest if before or command is None else rest + given


@pytest.mark.parametrize("before", [True, False], ids=["before", "after"])
@pytest.mark.parametrize("option", sorted(GLOBALS))
@pytest.mark.parametrize("command", list(SUBCOMMANDS), ids=lambda c: c or "console")
def test_every_global_option_is_honoured_before_and_after_the_subcommand(
    monkeypatch, command, option, before
):
    seen: list[argparse.Namespace] = []
    monkeypatch.setitem(cli.COMMANDS, command or "console", lambda args: seen.append(args) or 0)
    assert cli.main(argv_for(command, option, before)) == 0
    (args,) = seen
    _, attribute, expected = GLOBALS[option]
    assert getattr(args, attribute) == expected
    untouched = {
        a: d
        for o, (_, a, _) in GLOBALS.items()
        if o != option
        for d in [False if a == "debug" else None]
    }
    assert {a: getattr(args, a) for a in untouched} == untouched


def test_a_data_dir_before_export_reads_that_dir(tmp_path, monkeypatch, capsys):
    from frontdesk.model import Contact, Conversation
    from frontdesk.store import Store

    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(tmp_path / "default"))
    with Store.open(tmp_path / "D") as store, store.batch():
        store.put_contact(Contact(1, "Mia"))
        store.put_conversation(Conversation(1, "wa", 1, "+1"))
    assert cli.main(["--data-dir", str(tmp_path / "D"), "export"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["contact"]["name"] for line in lines] == ["Mia"]


def test_a_config_before_doctor_is_the_one_checked(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[agent]\nname = 5\n")
    assert (
        cli.main(["--config", str(bad), "--data-dir", str(tmp_path / "data"), "doctor"])
        == cli.EXIT_USAGE
    )
    assert str(bad) in capsys.readouterr().err


def test_a_command_run_in_process_leaves_logging_as_it_found_it(tmp_path):
    import logging

    root = logging.getLogger()
    before = (list(root.handlers), root.level, [list(h.filters) for h in root.handlers])
    cli.main(
        ["--config", str(tmp_path / "none.toml"), "--data-dir", str(tmp_path / "data"), "doctor"]
    )
    assert (list(root.handlers), root.level, [list(h.filters) for h in root.handlers]) == before


def test_doctor_says_where_the_console_logs(tmp_path, capsys):
    cli.main(
        ["--config", str(tmp_path / "none.toml"), "--data-dir", str(tmp_path / "data"), "doctor"]
    )
    assert f"logs:   {tmp_path / 'data' / 'logs' / 'frontdesk.log'}" in capsys.readouterr().out
