"""Keymap presets: every binding id is mapped, unknown ids and clashes name the file and line."""

import re

import pytest

from frontdesk.keymaps.loader import KeymapError, key_name, load_keymap, presets
from frontdesk.tui.bindings import CONTEXT_BINDINGS, binding_ids

KNOWN = binding_ids()


def code_defaults() -> dict[str, str]:
    keys: dict[str, str] = {}
    for _, bindings in CONTEXT_BINDINGS:
        for binding in bindings:
            if binding.id:
                keys.setdefault(binding.id, binding.key)
    return keys


def test_every_binding_has_a_kebab_case_id_and_description():
    for _, bindings in CONTEXT_BINDINGS:
        for binding in bindings:
            assert binding.id and binding.id == binding.id.lower() and "_" not in binding.id, (
                binding
            )
            assert binding.description, binding


def test_brief_ids_exist():
    for binding_id in (
        "cursor-down",
        "cursor-up",
        "open-conversation",
        "reply",
        "note",
        "toggle-resolved",
        "focus-next",
        "focus-previous",
        "focus-list",
        "quit",
        "retry-delivery",
        "next-view",
    ):
        assert binding_id in KNOWN


def test_default_preset_maps_every_id_to_the_code_default():
    assert "default" in presets()
    keymap = load_keymap("default", None, known_ids=KNOWN)
    assert set(keymap) == set(KNOWN)
    assert keymap == code_defaults()


def test_overrides_replace_keys():
    keymap = load_keymap("default", {"reply": "W", "next-view": "ctrl+v, V"}, known_ids=KNOWN)
    assert keymap["reply"] == "W"
    assert keymap["next-view"] == "ctrl+v,V"


def test_unknown_id_is_named_with_a_suggestion():
    with pytest.raises(KeymapError, match=r"unknown binding id 'replly' — did you mean 'reply'"):
        load_keymap("default", {"replly": "x"}, known_ids=KNOWN)


def test_clash_names_both_ids_and_the_file_line():
    with pytest.raises(KeymapError) as info:
        load_keymap("default", {"reply": "j"}, known_ids=KNOWN)
    message = str(info.value)
    assert "'reply'" in message and "'cursor-down'" in message
    assert "keymaps/default.toml:" in message  # where cursor-down got j


def test_unknown_id_in_a_preset_names_file_and_line():
    known = {k: v for k, v in KNOWN.items() if k != "next-view"}
    with pytest.raises(
        KeymapError, match=r"keymaps/default\.toml:\d+: unknown binding id 'next-view'"
    ):
        load_keymap("default", None, known_ids=known)


def test_same_key_in_separate_contexts_is_allowed_but_not_with_a_plain_set():
    # enter opens in the list and sends in the composer: different contexts
    load_keymap("default", None, known_ids=KNOWN)
    with pytest.raises(KeymapError, match="'enter'"):
        load_keymap("default", None, known_ids=set(KNOWN))


def test_missing_preset_lists_the_available_ones():
    with pytest.raises(KeymapError, match="choose one of: .*default"):
        load_keymap("nope", None, known_ids=KNOWN)
    with pytest.raises(KeymapError):
        load_keymap("../etc/passwd", None, known_ids=KNOWN)


def test_bad_value_type():
    with pytest.raises(KeymapError, match="key string"):
        load_keymap("default", {"reply": 3}, known_ids=KNOWN)


def test_loader_does_not_import_textual():
    import subprocess
    import sys

    code = "import sys, frontdesk.keymaps.loader; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---- presets ---------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", presets())
def test_every_shipped_preset_is_valid(preset):
    """Every id a preset names exists and no two ids share a key in one context."""
    keymap = load_keymap(preset, None, known_ids=KNOWN)
    assert set(keymap) == set(KNOWN)


@pytest.mark.parametrize("preset", presets())
def test_every_binding_id_has_a_key_in_every_preset(preset):
    keymap = load_keymap(preset, None, known_ids=KNOWN)
    unbound = [i for i in KNOWN if not [k for k in keymap[i].split(",") if k.strip()]]
    assert unbound == []


@pytest.mark.parametrize("preset", presets())
def test_the_file_and_template_keys_are_the_same_in_every_preset(preset):
    # no preset takes ctrl+o, ctrl+l or ctrl+t for itself, so the README's keys hold in all
    keymap = load_keymap(preset, None, known_ids=KNOWN)
    assert keymap["attach-file"] == "ctrl+o"
    assert keymap["detach-file"] == "ctrl+l"
    assert keymap["send-template"] == "ctrl+t"


def test_vim_and_emacs_are_shipped():
    assert {"default", "vim", "emacs"} <= set(presets())


def test_vim_preset_changes_its_keys_and_keeps_the_rest():
    vim = load_keymap("vim", None, known_ids=KNOWN)
    default = load_keymap("default", None, known_ids=KNOWN)
    assert vim["cursor-first"].split(",")[0] == "g" and vim["cursor-last"].split(",")[0] == "G"
    assert "ctrl+d" in vim["page-down"].split(",") and "ctrl+u" in vim["page-up"].split(",")
    assert "i" in vim["reply"].split(",")
    assert "colon" in vim["command-palette"].split(",")
    assert (
        vim["quit"] == default["quit"] and vim["note"] == default["note"]
    )  # not named by vim.toml


def test_emacs_preset_moves_the_palette_off_ctrl_p():
    emacs = load_keymap("emacs", None, known_ids=KNOWN)
    assert (
        emacs["cursor-down"].split(",")[0] == "ctrl+n"
        and emacs["cursor-up"].split(",")[0] == "ctrl+p"
    )
    assert "ctrl+p" not in emacs["command-palette"].split(",")
    assert "ctrl+g" in emacs["focus-list"].split(",")
    assert "ctrl+v" in emacs["page-down"].split(",") and "alt+v" in emacs["page-up"].split(",")


def test_override_by_id_on_top_of_a_preset():
    keymap = load_keymap("vim", {"reply": "W"}, known_ids=KNOWN)
    assert keymap["reply"] == "W"
    assert keymap["cursor-first"].startswith("g")  # the rest of the preset stays


def test_single_characters_become_textual_key_names():
    assert (
        key_name("?") == "question_mark" and key_name(":") == "colon" and key_name("/") == "slash"
    )
    assert key_name("G") == "G" and key_name("ctrl+p") == "ctrl+p"
    assert (
        load_keymap("default", {"show-help": "?"}, known_ids=KNOWN)["show-help"] == "question_mark"
    )


def test_clash_is_found_between_character_and_key_name():
    # "?" and "question_mark" are the same key
    with pytest.raises(KeymapError, match="'question_mark'"):
        load_keymap("default", {"reply": "question_mark"}, known_ids=KNOWN)


CONFIG = """[agent]
name = "Aiko"

[ui]
keymap = "vim"

[ui.keys]
reply = "W"
replly = "x"
"""


def test_unknown_id_in_config_names_the_config_file_and_line():
    with pytest.raises(
        KeymapError,
        match=r"^/home/aiko/config\.toml:9: unknown binding id 'replly' — did you mean 'reply'",
    ):
        load_keymap(
            "vim",
            {"reply": "W", "replly": "x"},
            known_ids=KNOWN,
            overrides_source="/home/aiko/config.toml",
            overrides_text=CONFIG,
        )


def test_clash_in_config_names_the_config_line_and_the_preset_line():
    text = CONFIG.replace('replly = "x"', 'note = "j"')
    with pytest.raises(KeymapError) as info:
        load_keymap(
            "vim",
            {"reply": "W", "note": "j"},
            known_ids=KNOWN,
            overrides_source="/home/aiko/config.toml",
            overrides_text=text,
        )
    message = str(info.value)
    assert message.startswith("/home/aiko/config.toml:9: key 'j' of 'note'")
    assert "'cursor-down' (keymaps/vim.toml:" in message


def test_modal_screen_keys_do_not_clash_with_the_app():
    # Escape closes the help screen and, elsewhere, goes back to the list
    keymap = load_keymap("default", None, known_ids=KNOWN)
    assert keymap["close-help"] == keymap["focus-list"] == "escape"
    with pytest.raises(KeymapError, match="'close-help'"):
        load_keymap("default", None, known_ids={**KNOWN, "close-help": "help"})


def test_presets_are_package_data():
    """pyproject ships keymaps/*.toml (checked by hand: `pip install --target DIR .` holds all three)."""
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert "*.toml" in pyproject["tool"]["setuptools"]["package-data"]["frontdesk.keymaps"]
    assert "frontdesk.tui.screens" in pyproject["tool"]["setuptools"]["packages"]


def test_cli_names_the_users_config_file_and_line(tmp_path):
    from frontdesk.launch import resolve_keymap

    config = tmp_path / "config.toml"
    config.write_text('[ui]\nkeymap = "vim"\n\n[ui.keys]\nreply = "W"\nrepyl = "x"\n')
    with pytest.raises(
        KeymapError, match=rf"^{re.escape(str(config))}:6: unknown binding id 'repyl'"
    ):
        resolve_keymap("vim", {"reply": "W", "repyl": "x"}, config)
    assert resolve_keymap("vim", {"reply": "W"}, config)["reply"] == "W"


def test_doctor_reports_keymap_and_theme_problems(tmp_path, capsys):
    from frontdesk import cli

    config = tmp_path / "config.toml"
    config.write_text(
        '[ui]\nkeymap = "emacs"\ntheme = "textual-ansi"\n\n[ui.keys]\nnote = "ctrl+n"\n'
    )
    assert cli.main(["doctor", "--config", str(config), "--data-dir", str(tmp_path / "data")]) != 0
    out = capsys.readouterr().out
    assert (
        f"problem: {config}:6: key 'ctrl+n' of 'note' is already bound to 'cursor-down' (keymaps/emacs.toml:"
        in out
    )
    assert (
        f'problem: {config}:3: ui.theme "textual-ansi" is not a theme (did you mean textual-dark?); choose one of: ansi-dark'
        in out
    )
    config.write_text('[ui]\nkeymap = "vim"\ntheme = "ansi-dark"\n')
    assert cli.main(["doctor", "--config", str(config), "--data-dir", str(tmp_path / "data")]) == 0
    assert "ok: keymap vim" in capsys.readouterr().out


# ---- key names and themes a console could never use --------------------------------------


def test_a_key_name_textual_never_reports_names_the_line_the_key_and_the_fix(tmp_path):
    from frontdesk.launch import resolve_keymap

    config = tmp_path / "config.toml"
    config.write_text(
        '[ui]\nkeymap = "vim"\n\n[ui.keys]\nreply = "W"\nnote = "N,ctrl+shift+banana"\n'
    )
    with pytest.raises(KeymapError) as info:
        resolve_keymap("vim", {"reply": "W", "note": "N,ctrl+shift+banana"}, config)
    message = str(info.value)
    assert message.startswith(
        f"{config}:6: note = 'ctrl+shift+banana': not a key the terminal can send; "
    )
    assert '"ctrl+r", "shift+tab", "f5"' in message
    with pytest.raises(
        KeymapError, match=r":5: reply = 'Enter': key names are lower case; write 'enter'"
    ):
        resolve_keymap("vim", {"reply": "Enter"}, config)


@pytest.mark.parametrize(
    "key",
    [
        "ctrl+r",
        "shift+tab",
        "f5",
        "pageup",
        "?",
        "question_mark",
        "slash",
        "/",
        "R",
        "ctrl+shift+up",
        "alt+x",
        "é",
        "🍌",
        "space",
        "escape",
        "ctrl+j",
        "menu",
    ],
)
def test_key_names_textual_reports_are_accepted(key):
    from frontdesk.tui.keys import is_key_name

    assert is_key_name(key)


@pytest.mark.parametrize(
    "key",
    [
        "ctrl+shift+banana",
        "banana",
        "Enter",
        "pgup",
        "ctrl+",
        "ctrl+ctrl+a",
        "hyperspace+a",
        "f99",
        "",
    ],
)
def test_key_names_textual_never_reports_are_refused(key):
    from frontdesk.tui.keys import is_key_name

    assert not is_key_name(key)


@pytest.mark.parametrize("preset", presets())
def test_shipped_presets_use_only_key_names_textual_reports(preset):
    from frontdesk.launch import resolve_keymap

    assert resolve_keymap(preset, None)


def test_an_unknown_theme_stops_the_console_with_the_config_line(tmp_path, capsys, monkeypatch):
    from frontdesk import cli
    from frontdesk.commands import console

    def started(*args, **kwargs):
        raise AssertionError("the console started")

    monkeypatch.setattr(console, "run_console", started)
    config = tmp_path / "config.toml"
    config.write_text('[agent]\nname = "Aiko"\n\n[ui]\ntheme = "nrod"\n')
    for command in (["demo"], []):  # the demo takes [ui] from the config too
        assert (
            cli.main([*command, "--config", str(config), "--data-dir", str(tmp_path / "data")]) == 2
        )
        err = capsys.readouterr().err
        assert err.startswith(
            f'frontdesk: {config}:5: ui.theme "nrod" is not a theme (did you mean nord?); '
            "choose one of: ansi-dark, ansi-light,"
        ), err
    assert not (tmp_path / "data").exists()  # refused before anything was opened


def test_doctor_names_a_bad_key_name_and_passes_a_good_theme(tmp_path, capsys):
    from frontdesk import cli

    config = tmp_path / "config.toml"
    config.write_text('[ui]\ntheme = "nord"\n\n[ui.keys]\nnote = "ctrl+shift+banana"\n')
    assert cli.main(["doctor", "--config", str(config), "--data-dir", str(tmp_path / "data")]) != 0
    out = capsys.readouterr().out
    assert (
        f"problem: {config}:5: note = 'ctrl+shift+banana': not a key the terminal can send" in out
    )
    assert "theme" not in out
