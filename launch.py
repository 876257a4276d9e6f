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


def make_app(
    desk: Desk, ui: UIConfig | None = None, config_file: Path | None = None, **options: Any
) -> FrontdeskApp:
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


def resolve_keymap(
    preset: str, overrides: dict[str, str] | None, config_file: Path | None = None
) -> dict[str, str]:
    """The keymap in force; errors about `overrides` name `config_file` and the line in its [ui.keys]."""
    from frontdesk.tui.bindings import (
        resolve_keymap as resolve,
    )  # deferred: keeps this module free of Textual

    return resolve(preset, overrides, config_file)


def theme_names() -> Collection[str]:
    """The themes the console can show (Textual's built-in ones): `[ui] theme` must name one."""
    from textual.theme import BUILTIN_THEMES

    return BUILTIN_THEMES.keys()
