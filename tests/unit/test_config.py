"""Config loading: paths, defaults, the typed sections and one-line errors naming file, line, key and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from frontdesk import config
from frontdesk.config import ChannelConfig, Config, ConfigError, load_config
from config_files import write

SCHEMAS = {
    "email": {"imap_host": str, "imap_port": int, "poll_interval": float, "folders": list[str]},
    "telegram": {},
}


def schemas(backend: str):
    return SCHEMAS.get(backend)


def error(path: Path, **kw) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, **kw)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path)), message
    return message


FULL = """
[agent]
name = "Aiko"
agents = ["Ben", "Chloé"]

[ui]
keymap = "vim"
theme = "nord"

[ui.keys]
send-reply = "ctrl+s"

[[channels]]
name = "support-bot"
backend = "telegram"
base_url = "http://127.0.0.1:8081"

[[channels]]
name = "mail"
backend = "email"
enabled = false
imap_host = "imap.example.com"
imap_port = 993
poll_interval = 30
folders = ["INBOX", "Support"]
"""


def test_missing_file_is_an_empty_default_config(tmp_path, monkeypatch):
    monkeypatch.setenv("USER", "ben")
    cfg = load_config(tmp_path / "nope.toml")
    assert cfg == Config(path=tmp_path / "nope.toml")
    assert cfg.channels == []
    assert cfg.agent.name == "ben" and cfg.agent.agents == []
    assert (cfg.ui.keymap, cfg.ui.theme, cfg.ui.keys) == ("default", "textual-dark", {})
    assert (cfg.ui.notify, cfg.ui.bell, cfg.ui.desktop) == ("mine-and-unassigned", True, "osc9")


def test_notification_settings(tmp_path):
    path = write(tmp_path, '[ui]\nnotify = "mine"\nbell = false\ndesktop = "both"\n')
    ui = load_config(path).ui
    assert (ui.notify, ui.bell, ui.desktop) == ("mine", False, "both")


def test_agent_name_falls_back_to_agent_without_user(tmp_path, monkeypatch):
    monkeypatch.delenv("USER", raising=False)
    assert load_config(tmp_path / "nope.toml").agent.name == "agent"


def test_full_valid_file(tmp_path):
    path = write(tmp_path, FULL)
    cfg = load_config(path, backend_schemas=schemas)
    assert cfg.path == path
    assert cfg.agent.name == "Aiko" and cfg.agent.agents == ["Ben", "Chloé"]
    assert (
        cfg.ui.keymap == "vim"
        and cfg.ui.theme == "nord"
        and cfg.ui.keys == {"send-reply": "ctrl+s"}
    )
    assert cfg.channels == [
        ChannelConfig("support-bot", "telegram", base_url="http://127.0.0.1:8081"),
        ChannelConfig(
            "mail",
            "email",
            enabled=False,
            settings={
                "imap_host": "imap.example.com",
                "imap_port": 993,
                "poll_interval": 30.0,
                "folders": ["INBOX", "Support"],
            },
        ),
    ]
    assert isinstance(cfg.channels[1].settings["poll_interval"], float)


def test_settings_are_kept_unchecked_without_schemas(tmp_path):
    path = write(tmp_path, FULL.replace("imap_port = 993", 'imap_port = "993x"\nanything = 1'))
    assert load_config(path).channels[1].settings["anything"] == 1


def test_unknown_backend_settings_unchecked_when_schema_is_unknown(tmp_path):
    path = write(tmp_path, '[[channels]]\nname = "x"\nbackend = "plugin"\nwhatever = 1\n')
    assert load_config(path, backend_schemas=schemas).channels[0].settings == {"whatever": 1}

    def broken(backend):
        raise ImportError("plugin is broken")

    assert load_config(path, backend_schemas=broken).channels[0].settings == {"whatever": 1}


def test_unknown_key_names_file_line_key_and_fix(tmp_path):
    path = write(tmp_path, '[agent]\nname = "Aiko"\nnmae = "x"\n')
    message = error(path)
    assert message.startswith(f"{path}:3: agent.nmae ")
    assert "did you mean name?" in message and "remove it" in message


def test_unknown_section_is_an_error(tmp_path):
    path = write(tmp_path, '[agent]\nname = "Aiko"\n\n[[hooks]]\nname = "tier2"\n')
    message = error(path)
    assert message.startswith(f"{path}:4: hooks is not a known section")


def test_unknown_channel_setting_with_schema(tmp_path):
    path = write(tmp_path, FULL.replace("imap_port = 993", "imap_prot = 993"))
    line = FULL.lstrip("\n").splitlines().index("imap_port = 993") + 1
    message = error(path, backend_schemas=schemas)
    assert message.startswith(
        f"{path}:{line}: channels[1].imap_prot is not a setting of the email backend"
    )
    assert "imap_port" in message


def test_wrong_type_of_channel_setting(tmp_path):
    path = write(tmp_path, FULL.replace("imap_port = 993", 'imap_port = "993x"'))
    line = FULL.lstrip("\n").splitlines().index("imap_port = 993") + 1
    assert (
        error(path, backend_schemas=schemas)
        == f'{path}:{line}: channels[1].imap_port must be an integer (got "993x")'
    )


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[agent]\nname = 7\n", "2: agent.name must be a string (got 7)"),
        (
            '[agent]\nagents = ["Ben", 3]\n',
            "2: agent.agents must be a list of strings (got a list)",
        ),
        ('[ui]\nkeymap = "nano"\n', '2: ui.keymap must be one of "default", "vim", "emacs"'),
        ("[ui.keys]\nsend-reply = 1\n", "2: ui.keys.send-reply must be a string"),
        (
            '[ui]\nnotify = "everyone"\n',
            '2: ui.notify must be one of "mine", "mine-and-unassigned", "all", "off" (got "everyone")',
        ),
        ("[ui]\nnotify = 1\n", "2: ui.notify must be a string (got 1)"),
        ('[ui]\nbell = "yes"\n', '2: ui.bell must be true or false (got "yes")'),
        (
            '[ui]\ndesktop = "osc99"\n',
            '2: ui.desktop must be one of "osc9", "osc777", "both", "off" (got "osc99")',
        ),
        ("agent = 1\n", "1: agent must be a table (got 1)"),
        (
            '[[channels]]\nname = "x"\nbackend = "telegram"\nenabled = "yes"\n',
            '4: channels[0].enabled must be true or false (got "yes")',
        ),
        ('[[channels]]\nname = "x"\n', "1: channels[0] has no backend; add backend ="),
        (
            '[[channels]]\nname = "x"\nbackend = "email"\nfolders = "INBOX"\n',
            "4: channels[0].folders must be a list of strings",
        ),
        (
            '[[channels]]\nname = "x"\nbackend = "email"\nimap_port = true\n',
            "4: channels[0].imap_port must be an integer (got true)",
        ),
    ],
)
def test_wrong_types(tmp_path, toml, expected):
    path = write(tmp_path, toml)
    message = error(path, backend_schemas=schemas)
    assert message.startswith(f"{path}:{expected}"), message


def test_duplicate_channel_name(tmp_path):
    path = write(tmp_path, FULL.replace('name = "mail"', 'name = "support-bot"'))
    message = error(path)
    line = FULL.lstrip("\n").splitlines().index('name = "mail"') + 1
    assert message.startswith(
        f'{path}:{line}: channels[1].name "support-bot" is already used by channels[0]'
    )
    assert "unique" in message


@pytest.mark.parametrize("name", ["Support Bot", "-bot", "bot!", "", "ボット"])
def test_bad_channel_name(tmp_path, name):
    path = write(tmp_path, f'[[channels]]\nname = "{name}"\nbackend = "telegram"\n')
    message = error(path)
    assert message.startswith(f"{path}:2: channels[0].name ")
    assert "not a valid channel name" in message and "lowercase" in message


@pytest.mark.parametrize("key", sorted(config.SECRET_KEYS))
def test_secret_in_config_is_refused_without_echoing_it(tmp_path, key):
    value = "s3cr3t-VALUE-123"
    path = write(
        tmp_path, f'[[channels]]\nname = "support-bot"\nbackend = "telegram"\n{key} = "{value}"\n'
    )
    message = error(path, backend_schemas=schemas)
    assert value not in message
    assert message.startswith(f"{path}:4: channels[0].{key} ")
    assert f"frontdesk creds set support-bot {key}" in message and "keyring" in message


def test_secret_nested_in_a_channel_table_is_refused(tmp_path):
    path = write(
        tmp_path,
        '[[channels]]\nname = "mail"\nbackend = "email"\nsmtp = { host = "h", password = "hunter2" }\n',
    )
    message = error(path)
    assert "channels[0].smtp.password" in message and "hunter2" not in message


def test_secret_refused_even_when_it_has_a_wrong_type(tmp_path):
    path = write(tmp_path, '[[channels]]\nname = "x"\nbackend = "telegram"\ntoken = 123456789\n')
    message = error(path, backend_schemas=schemas)
    assert "123456789" not in message and "keyring" in message


def test_secret_looking_setting_with_wrong_type_does_not_echo_value(tmp_path):
    path = write(tmp_path, '[[channels]]\nname = "x"\nbackend = "b"\nbot_token_file = 42424242\n')
    message = error(path, backend_schemas=lambda backend: {"bot_token_file": str})
    assert "42424242" not in message and "must be a string (got an integer)" in message


@pytest.mark.parametrize(
    ("toml", "line"),
    [
        ('[agent]\nname = "Aiko"\nagents = [\n', 3),  # at end of document
        ("[agent]\nname = \n", 2),
        ('[agent]\nname = "Aiko"\n[agent]\n', 3),
    ],
)
def test_toml_syntax_error_is_one_line_with_file_and_line(tmp_path, toml, line):
    path = write(tmp_path, toml)
    message = error(path)
    assert message.startswith(f"{path}:{line}: invalid TOML")
    assert "fix the syntax" in message


def test_unreadable_and_non_utf8_files(tmp_path):
    assert "cannot read the config file" in error(tmp_path)  # a directory
    path = tmp_path / "config.toml"
    path.write_bytes(b'[agent]\nname = "\xff"\n')
    assert error(path).startswith(f"{path}:2: the config file is not UTF-8")


def test_home_is_shown_as_tilde(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    path = write(tmp_path, "[agent]\nbogus = 1\n")
    with pytest.raises(ConfigError, match=r"^~/config\.toml:2: agent\.bogus "):
        load_config(path)


def test_line_found_in_the_right_channel_block(tmp_path):
    text = '[[channels]]\nname = "a"\nbackend = "email"\nimap_port = 1\n\n[[channels]]\nname = "b"\nbackend = "email"\nimap_port = "x"\n'
    path = write(tmp_path, text)
    assert error(path, backend_schemas=schemas).startswith(f"{path}:9: channels[1].imap_port")


def test_env_overrides_config_and_data_paths(tmp_path, monkeypatch):
    monkeypatch.delenv("FRONTDESK_CONFIG", raising=False)
    monkeypatch.delenv("FRONTDESK_DATA_DIR", raising=False)
    assert config.config_path() == config.config_dir() / "config.toml"
    assert config.config_dir().name == "frontdesk" and config.data_dir().name == "frontdesk"

    custom = write(tmp_path, '[agent]\nname = "Env"\n')
    monkeypatch.setenv("FRONTDESK_CONFIG", str(custom))
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(tmp_path / "data"))
    assert config.config_path() == custom
    assert load_config().agent.name == "Env"
    assert load_config().path == custom
    assert config.data_dir() == tmp_path / "data"
    assert config.data_dir(None) == tmp_path / "data"
    assert config.data_dir(str(tmp_path / "flag")) == tmp_path / "flag"  # --data-dir wins


def test_paths_have_no_side_effects(tmp_path, monkeypatch):
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(tmp_path / "data"))
    config.data_dir(), config.config_path(), config.downloads_dir()
    assert not (tmp_path / "data").exists()
    assert config.downloads_dir().name == "frontdesk"


def test_config_does_not_import_textual_or_keyring():
    import subprocess
    import sys

    code = "import sys, frontdesk.config, frontdesk.credentials; print('textual' in sys.modules, 'keyring' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "False"]


ESCALATION = """
[escalation]
targets = ["billing", "tier-2"]

[[escalation.hooks]]
name = "helpdesk"
url = "https://helpdesk.example.com/api/tickets"
timeout = 5

[[escalation.hooks]]
name = "pager"
command = ["python3", "/usr/local/bin/page.py", "--urgent"]
targets = ["tier-2"]
"""


def test_escalation_targets_and_hooks(tmp_path):
    from frontdesk.config import EscalationConfig, HookConfig

    cfg = load_config(write(tmp_path, ESCALATION))
    assert cfg.escalation == EscalationConfig(
        targets=("billing", "tier-2"),
        hooks=(
            HookConfig("helpdesk", url="https://helpdesk.example.com/api/tickets", timeout=5.0),
            HookConfig(
                "pager",
                command=("python3", "/usr/local/bin/page.py", "--urgent"),
                targets=("tier-2",),
            ),
        ),
    )
    assert cfg.escalation.hooks[0].secret_owner == "hook-helpdesk"
    assert load_config(write(tmp_path, "[agent]\nname = 'A'\n")).escalation == EscalationConfig()


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'targets = ["billing", "tier-2"]',
            'targets = "billing"',
            "2: escalation.targets must be a list of strings",
        ),
        (
            "timeout = 5",
            "timeout = 0",
            "7: escalation.hooks[0].timeout must be between 0 and 300 seconds",
        ),
        (
            "timeout = 5",
            'timeout = "5s"',
            '7: escalation.hooks[0].timeout must be a number (got "5s")',
        ),
        (
            'url = "https://helpdesk.example.com/api/tickets"',
            'url = "helpdesk.example.com"',
            '6: escalation.hooks[0].url "helpdesk.example.com" is not an http:// or https:// URL',
        ),
        (
            'url = "https://helpdesk.example.com/api/tickets"',
            "command = []",
            "6: escalation.hooks[0].command must name a program",
        ),
        (
            'url = "https://helpdesk.example.com/api/tickets"',
            'method = "PUT"',
            "6: escalation.hooks[0].method is not a known key",
        ),
        (
            'name = "pager"',
            'name = "helpdesk"',
            '10: escalation.hooks[1].name "helpdesk" is already used by escalation.hooks[0]',
        ),
        (
            'name = "pager"',
            'name = "Pager Duty"',
            '10: escalation.hooks[1].name "Pager Duty" is not a valid hook name',
        ),
        (
            'targets = ["tier-2"]',
            'targets = ["legal"]',
            '12: escalation.hooks[1].targets names "legal", which is not in escalation.targets',
        ),
        (
            "[escalation]",
            "[escalation]\nteams = []",
            "2: escalation.teams is not a known key in [escalation]",
        ),
    ],
)
def test_escalation_errors_are_one_line_with_file_line_and_fix(tmp_path, old, new, expected):
    assert old in ESCALATION
    path = write(tmp_path, ESCALATION.replace(old, new, 1))
    message = error(path)
    assert message.startswith(f"{path}:{expected}"), message


def test_hook_needs_exactly_one_of_url_and_command(tmp_path):
    both = ESCALATION.replace("timeout = 5", 'command = ["true"]')
    assert "needs exactly one of url" in error(write(tmp_path, both))
    neither = ESCALATION.replace('url = "https://helpdesk.example.com/api/tickets"\n', "")
    message = error(write(tmp_path, neither))
    assert message.startswith(
        f"{tmp_path / 'config.toml'}:4: escalation.hooks[0] needs exactly one of url"
    )


def test_hook_secret_in_the_file_is_refused_without_echoing_it(tmp_path):
    path = write(tmp_path, ESCALATION.replace("timeout = 5", 'token = "sk-live-999"'))
    message = error(path)
    assert "sk-live-999" not in message
    assert message.startswith(f"{path}:7: escalation.hooks[0].token is a secret")
    assert (
        "frontdesk creds set hook-helpdesk token" in message
        and "FRONTDESK_SECRET_HOOK_HELPDESK_TOKEN" in message
    )


def test_hook_url_with_credentials_is_refused_without_echoing_them(tmp_path):
    path = write(
        tmp_path,
        ESCALATION.replace(
            "https://helpdesk.example.com", "https://bot:hunter2@helpdesk.example.com"
        ),
    )
    message = error(path)
    assert "hunter2" not in message
    assert message.startswith(f"{path}:6: escalation.hooks[0].url carries a user name or password")
    assert "frontdesk creds set hook-helpdesk token" in message


def test_an_unknown_theme_names_its_line_and_the_closest_theme(tmp_path):
    asked = []

    def themes():
        asked.append(True)
        return {"nord", "textual-dark", "ansi-dark"}

    path = write(tmp_path, '[agent]\nname = "Aiko"\n\n[ui]\ntheme = "nrod"\n')
    assert error(path, themes=themes) == (
        f'{path}:5: ui.theme "nrod" is not a theme (did you mean nord?); '
        "choose one of: ansi-dark, nord, textual-dark"
    )
    assert load_config(write(tmp_path, '[ui]\ntheme = "nord"\n'), themes=themes).ui.theme == "nord"
    asked.clear()
    assert (
        load_config(write(tmp_path, '[ui]\nkeymap = "vim"\n'), themes=themes).ui.theme
        == "textual-dark"
    )
    assert not asked  # no theme named: the console's themes are not even looked up
    assert (
        load_config(write(tmp_path, '[ui]\ntheme = "nrod"\n')).ui.theme == "nrod"
    )  # without themes: not checked


def test_doctor_without_a_config_says_so_and_how_to_start_one(tmp_path, capsys):
    from frontdesk import cli

    missing = tmp_path / "nowhere" / "config.toml"
    assert (
        cli.main(["doctor", "--config", str(missing), "--data-dir", str(tmp_path / "data")])
        == cli.EXIT_FAILURE
    )
    out = capsys.readouterr().out
    assert (
        f"problem: no config at {missing}; start one with an [agent] name and a [[channels]] block"
        in out
    )
    assert "`frontdesk demo`" in out and "ok: no problems found" not in out
