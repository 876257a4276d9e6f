"""Keymap presets: every binding id is mapped, unknown ids and clashes name the file and line."""

import pytest

from frontdesk.keymaps.loader import KeymapError, load_keymap, presets
from frontdesk.tui.app import FrontdeskApp
from frontdesk.tui.widgets.composer import Composer
from frontdesk.tui.widgets.conversation_list import ConversationList
from frontdesk.tui.widgets.thread_view import ThreadView

KNOWN = FrontdeskApp.binding_ids()


def code_defaults() -> dict[str, str]:
    keys: dict[str, str] = {}
    for owner in (FrontdeskApp, ConversationList, ThreadView, Composer):
        for binding in owner.BINDINGS:
            keys.setdefault(binding.id, binding.key)
    return keys


def test_every_binding_has_a_kebab_case_id_and_description():
    for owner in (FrontdeskApp, ConversationList, ThreadView, Composer):
        for binding in owner.BINDINGS:
            assert binding.id and binding.id == binding.id.lower() and "_" not in binding.id, binding
            assert binding.description, binding


def test_brief_ids_exist():
    for binding_id in ("cursor-down", "cursor-up", "open-conversation", "reply", "note", "toggle-resolved",
                       "focus-next", "focus-previous", "focus-list", "quit", "retry-delivery", "next-view"):
        assert binding_id in KNOWN


def test_default_preset_maps_every_id_to_the_code_default():
    assert "default" in presets()
    keymap = load_keymap("default", None, known_ids=KNOWN)
    assert set(keymap) == set(KNOWN)
    assert keymap == code_defaults()


def test_overrides_replace_keys():
    keymap = load_keymap("default", {"reply": "R", "next-view": "ctrl+v, V"}, known_ids=KNOWN)
    assert keymap["reply"] == "R"
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
    with pytest.raises(KeymapError, match=r"keymaps/default\.toml:\d+: unknown binding id 'next-view'"):
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
