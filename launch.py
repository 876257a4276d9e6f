"""The console's launch: one factory that builds the App from the `[ui]` settings (CLI, bench and tests).

Import direction: `cli → launch → tui`, `bench → launch → tui`; nothing here imports the CLI.
The Textual imports are deferred to the calls, so importing this module stays cheap for
commands that never open the console.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from frontdesk.config import UIConfig
    from frontdesk.desk import Desk
    from frontdesk.tui.app import FrontdeskApp


def make_app(desk: Desk, ui: UIConfig | None = None, config_file: Path | None = None,
             **options: Any) -> FrontdeskApp:
    """The console on `desk`. With `ui`, its `[ui]` settings (keymap and keys resolved against
    `config_file`, theme, notifications for this terminal); `options` go to the App as given
    and win over them (a test's clock, `cursor_blink=False`, canned replies, notices)."""
    from frontdesk.tui.app import FrontdeskApp

    if ui is not None:
        options = {**ui_options(ui, config_file), **options}
    return FrontdeskApp(desk, **options)


def ui_options(ui: UIConfig, config_file: Path | None = None) -> dict[str, Any]:
    """The App's options that `[ui]` sets."""
    from frontdesk.tui.notify import NotifySettings

    return {
        "keymap": resolve_keymap(ui.keymap, ui.keys, config_file),
        "keymap_name": ui.keymap,
        "theme": ui.theme,
        "notifications": NotifySettings.from_environment(ui.notify, ui.bell, ui.desktop),
    }


def resolve_keymap(preset: str, overrides: dict[str, str] | None, config_file: Path | None = None) -> dict[str, str]:
    """The keymap in force; errors about `overrides` name `config_file` and the line in its [ui.keys]."""
    from frontdesk.keymaps.loader import load_keymap
    from frontdesk.tui.app import FrontdeskApp
    from frontdesk.tui.keys import is_key_name

    text = None
    if overrides and config_file is not None:
        try:
            text = config_file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            text = None
    source = str(config_file) if config_file is not None else "your config [ui.keys]"
    return load_keymap(preset, overrides or {}, known_ids=FrontdeskApp.binding_ids(),
                       overrides_source=source, overrides_text=text, valid_key=is_key_name)


def theme_names() -> Collection[str]:
    """The themes the console can show (Textual's built-in ones): `[ui] theme` must name one."""
    from textual.theme import BUILTIN_THEMES

    return BUILTIN_THEMES.keys()
