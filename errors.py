"""The CLI's errors: which ones are the user's to fix, each as one printable line, and exit codes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from frontdesk.store import Store

EXIT_USAGE = 2
EXIT_FAILURE = 1


class CliError(Exception):
    """A problem the user can fix; printed as one line."""


def one_line(exc: BaseException) -> str:
    """The error as one printable line: its text may come from a channel, so controls are removed."""
    from frontdesk.tui.safe import clean_line

    if is_user_error(exc):
        text = str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__
    else:
        text = f"unexpected {type(exc).__name__}: {exc} (run with --debug for details)"
    return clean_line(text)


def is_user_error(exc: BaseException) -> bool:
    from frontdesk.backends.base import BackendError
    from frontdesk.backends.registry import UnknownBackend
    from frontdesk.config import ConfigError
    from frontdesk.credentials import CredentialsError
    from frontdesk.keymaps.loader import KeymapError
    from frontdesk.store import StoreError, StoreLocked
    from frontdesk.team.server import ServeError

    from frontdesk.launch import LaunchError

    known = (
        ServeError,
        CliError,
        LaunchError,
        ConfigError,
        CredentialsError,
        KeymapError,
        StoreError,
        StoreLocked,
        UnknownBackend,
        BackendError,
    )
    return isinstance(exc, known)


def report_cache_problems(store: Store) -> int:
    """The exit status the store's problems call for (the store logged each as one line)."""
    return EXIT_FAILURE if store.problems else 0
