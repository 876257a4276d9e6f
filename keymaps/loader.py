"""Load a keymap preset (keymaps/<preset>.toml) plus the user's overrides, and validate both.

A keymap maps binding ids to Textual key strings ("j,down"). A preset is laid over
keymaps/default.toml, so ids a preset does not name keep their default key; the user's
`[ui.keys]` are laid over that. Unknown ids, key names Textual would never report and two
ids on the same key in the same context are errors that name the file and the line. Imports
no Textual: the caller passes the ids it defines and the test for key names
(`frontdesk.tui.keys.is_key_name`).
"""

from __future__ import annotations

import difflib
import re
import tomllib
import unicodedata
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from importlib import resources

GLOBAL = "app"
"""The context of bindings that apply everywhere: they clash with every other context."""
MODAL = "screen:"
"""Contexts starting with this are modal screens: their keys shadow the app's while they are open."""
BASE = "default"
"""The preset every other preset is laid over."""
_KEY_NAME_REPLACEMENTS = {
    "solidus": "slash",
    "reverse_solidus": "backslash",
    "commercial_at": "at",
    "hyphen_minus": "minus",
    "plus_sign": "plus",
    "low_line": "underscore",
}
"""Where Textual's name for a punctuation key differs from its Unicode name (textual.keys)."""


class KeymapError(Exception):
    """A keymap names an unknown binding id, puts two bindings on one key, or is not valid TOML."""


@dataclass(frozen=True, slots=True)
class _Origin:
    source: str
    binding_id: str
    table: str
    text: str | None
    """The file's text, for the line of the binding; it is found only when an error names it."""
    layer: int = 0
    """0 default.toml, 1 the preset, 2 the user's overrides: a clash is blamed on the later layer."""

    @property
    def line(self) -> int | None:
        return _line_of(self.text, self.binding_id, self.table) if self.text else None

    def __str__(self) -> str:
        line = self.line
        return f"{self.source}:{line}" if line else self.source


def presets() -> list[str]:
    """Names of the keymap presets shipped with frontdesk."""
    return sorted(
        entry.name.removesuffix(".toml")
        for entry in resources.files("frontdesk.keymaps").iterdir()
        if entry.name.endswith(".toml")
    )


def load_keymap(
    preset: str = "default",
    overrides: Mapping[str, str] | None = None,
    known_ids: Collection[str] | Mapping[str, str] = (),
    *,
    overrides_source: str = "your config [ui.keys]",
    overrides_text: str | None = None,
    valid_key: Callable[[str], bool] | None = None,
) -> dict[str, str]:
    """The keymap of `preset` with `overrides` applied on top: {binding id: "key,key"}.

    `preset` is laid over keymaps/default.toml: an id it does not name keeps its default key.
    `known_ids` is the set of binding ids the console defines; when it is a mapping, its
    values are the context each id applies in ("app" applies everywhere), and only ids
    sharing a context may not share a key. Otherwise any shared key is a clash.
    `overrides_text`, the text of the file the overrides come from (the config), lets
    errors name the line of an override in its `[ui.keys]` table. `valid_key(name)` says
    whether a key name (after `key_name`) is one the console can receive; without it any
    name passes.
    """
    contexts = (
        dict(known_ids) if isinstance(known_ids, Mapping) else dict.fromkeys(known_ids, GLOBAL)
    )
    keymap: dict[str, str] = {}
    origins: dict[str, _Origin] = {}
    for layer, name in enumerate(dict.fromkeys((BASE, preset))):
        source = f"keymaps/{name}.toml"
        text = _read_preset(name, source)
        for binding_id, keys in _bindings_table(text, source).items():
            origin = _Origin(source, binding_id, "bindings", text, layer)
            keymap[binding_id] = _keys(binding_id, keys, origin, contexts, valid_key)
            origins[binding_id] = origin
    for binding_id, keys in (overrides or {}).items():
        origin = _Origin(overrides_source, binding_id, "ui.keys", overrides_text, 2)
        keymap[binding_id] = _keys(binding_id, keys, origin, contexts, valid_key)
        origins[binding_id] = origin
    _check_clashes(keymap, origins, contexts)
    return keymap


def _bindings_table(text: str, source: str) -> dict[str, object]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise KeymapError(f"{source}: not valid TOML: {exc}") from None
    table = data.get("bindings", {})
    if not isinstance(table, dict):
        raise KeymapError(f'{source}: [bindings] must be a table of binding id = "keys"')
    return table


def key_name(key: str) -> str:
    """Textual's name for a key as written in a keymap: "?" is "question_mark", ":" is "colon"."""
    key = key.strip()
    if len(key) != 1 or key.isalnum():
        return key
    try:
        name = unicodedata.name(key).lower().replace("-", "_").replace(" ", "_")
    except ValueError:
        return "tab" if key == "\t" else key
    return _KEY_NAME_REPLACEMENTS.get(name, name)


def _read_preset(preset: str, source: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", preset):
        raise KeymapError(
            f"keymap preset {preset!r} is not a preset name; choose one of: {', '.join(presets())}"
        )
    resource = resources.files("frontdesk.keymaps").joinpath(f"{preset}.toml")
    if not resource.is_file():
        raise KeymapError(f"{source}: no such keymap preset; choose one of: {', '.join(presets())}")
    return resource.read_text(encoding="utf-8")


def _line_of(text: str, binding_id: str, table: str) -> int | None:
    """The line of `binding_id = …` in `[table]` (tomllib does not keep positions)."""
    in_bindings = False
    pattern = re.compile(rf"""\s*(["']?){re.escape(binding_id)}\1\s*=""")
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            in_bindings = stripped.split("#")[0].replace(" ", "") == f"[{table}]"
        elif in_bindings and pattern.match(line):
            return number
    return None


def _keys(
    binding_id: str,
    keys: object,
    origin: _Origin,
    contexts: Mapping[str, str],
    valid_key: Callable[[str], bool] | None = None,
) -> str:
    if binding_id not in contexts:
        hint = difflib.get_close_matches(binding_id, list(contexts), n=1)
        fix = f"did you mean {hint[0]!r}?" if hint else f"known ids: {', '.join(sorted(contexts))}"
        raise KeymapError(f"{origin}: unknown binding id {binding_id!r} — {fix}")
    if isinstance(keys, list) and all(isinstance(k, str) for k in keys):
        keys = ",".join(keys)
    if not isinstance(keys, str) or not [k for k in keys.split(",") if k.strip()]:
        raise KeymapError(
            f'{origin}: {binding_id} must be a key string such as "ctrl+r" or "j,down"'
        )
    written = [k.strip() for k in keys.split(",") if k.strip()]
    for key in written:
        if valid_key is not None and not valid_key(key):
            raise KeymapError(f"{origin}: {binding_id} = {key!r}: {_unknown_key(key, valid_key)}")
    return ",".join(key_name(k) for k in written)


def _unknown_key(name: str, valid_key: Callable[[str], bool]) -> str:
    """Why `name` is refused and how to write it instead."""
    if valid_key(name.lower()):
        return f"key names are lower case; write {name.lower()!r}"
    return (
        "not a key the terminal can send; write optional modifiers (ctrl, shift, alt) and one key "
        'joined by +, e.g. "ctrl+r", "shift+tab", "f5", "pageup", "?" or "R"'
    )


def _check_clashes(
    keymap: Mapping[str, str], origins: Mapping[str, _Origin], contexts: Mapping[str, str]
) -> None:
    seen: dict[str, list[str]] = {}
    for binding_id, keys in keymap.items():
        for key in keys.split(","):
            for other in seen.get(key, []):
                a, b = contexts.get(other, GLOBAL), contexts.get(binding_id, GLOBAL)
                modal = a.startswith(MODAL) or b.startswith(MODAL)
                if a == b or (GLOBAL in (a, b) and not modal):
                    later, earlier = (
                        (other, binding_id)
                        if origins[other].layer > origins[binding_id].layer
                        else (binding_id, other)
                    )
                    raise KeymapError(
                        f"{origins[later]}: key {key!r} of {later!r} is already bound to "
                        f"{earlier!r} ({origins[earlier]}); give one of them another key"
                    )
            seen.setdefault(key, []).append(binding_id)
