"""The console's launch: the App built from the `[ui]` settings, and its session (CLI, bench, tests).

Import direction: `cli → launch → tui`, `bench → launch → tui`; nothing here imports the CLI.
The Textual imports are deferred to the calls, so importing this module stays cheap for
commands that never open the console.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from frontdesk.runtime import keep_gc_pauses_short

if TYPE_CHECKING:
    from frontdesk.config import UIConfig
    from frontdesk.desk.interface import DeskAPI
    from frontdesk.team.client import DeskClient
    from frontdesk.tui.app import FrontdeskApp


class SessionDesk(Protocol):
    """A desk the console runs beside it in this process (the in-process Desk, a ChatwootDesk)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class LaunchError(Exception):
    """The console cannot start as asked: one line saying what to start or whom to ask."""


async def attach_desk(path: Path, *, required: bool) -> DeskClient | None:
    """The served desk at `path` when its socket answers; None when nothing does and the console
    may run its own desk (solo). With `required` (`[team]` is configured) a missing desk is a
    LaunchError: a console that quietly ran solo would split the team's data. A refusal is
    always one: a desk is there, and it said why not.

    The console's modules are imported between the hello and the welcome, while the desk
    builds its snapshot (the attached console's cold start is counted from spawn)."""
    from frontdesk.team.client import AttachRefused, DeskClient, DeskNotRunning
    from frontdesk.team.protocol import ProtocolError

    try:
        opening = await DeskClient.connect(path)
        try:
            preload_console()
        except BaseException:
            opening.abandon()
            raise
        return await opening.attached()
    except DeskNotRunning:
        if required:
            raise LaunchError(
                f"no desk is running at {path}: start it with `frontdesk serve` "
                "(or ask whoever runs it)"
            ) from None
        return None
    except AttachRefused as exc:
        raise LaunchError(exc.reason) from None
    except (ProtocolError, OSError, TimeoutError) as exc:
        raise LaunchError(
            f"the desk at {path} did not answer as a desk ({str(exc) or type(exc).__name__}); "
            "check `frontdesk serve`'s log, or start with --solo"
        ) from None


def preload_console() -> None:
    """Import the console (Textual and tui/) now rather than when the App is built."""
    import frontdesk.tui.app  # noqa: F401


def make_app(
    desk: DeskAPI, ui: UIConfig | None = None, config_file: Path | None = None, **options: Any
) -> FrontdeskApp:
    """The console on `desk` (the in-process Desk, or a DeskClient attached to a served one).
    With `ui`, its `[ui]` settings (keymap and keys resolved against `config_file`, theme,
    notifications for this terminal); `options` go to the App as given and win over them
    (a test's clock, `cursor_blink=False`, canned replies, notices)."""
    from frontdesk.tui.app import FrontdeskApp

    if ui is not None:
        options = {**ui_options(ui, config_file), **options}
    return FrontdeskApp(desk, **options)


def run_session(
    desk: SessionDesk,
    app: FrontdeskApp,
    *,
    alongside: Callable[[], Coroutine[Any, Any, None]] | None = None,
) -> None:
    """Run `app` on `desk` until it exits: the collector tuned for a long session, the desk
    started before the App and stopped after it however it ends. `alongside` runs as a task
    from the desk's start and is cancelled when the App ends (the bench's timed search)."""

    async def session() -> None:
        await desk.start()
        task = asyncio.create_task(alongside()) if alongside is not None else None
        try:
            await app.run_async()
        finally:
            if task is not None:
                task.cancel()
            await desk.stop()

    keep_gc_pauses_short()
    asyncio.run(session())


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
