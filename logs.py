"""Where log records go (a private file while the console runs, stderr for headless commands),
and the filter that makes every record inert text whichever handler writes it.

A channel's error, a customer's name or an IMAP server's reply reach log records as
message arguments or exception text; the console draws on the same terminal as stderr,
so a record is cleaned of escape sequences, controls and bidi overrides before any
handler formats it.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from frontdesk.store.storage import open_own
from frontdesk.tui.safe import clean, clean_line

LOG_FILE = "frontdesk.log"
DESK_LOG_FILE = "desk.log"
LOG_BYTES = 1024 * 1024
LOG_BACKUPS = 3
STDERR_FORMAT = "frontdesk: %(message)s"
FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class CleanRecords(logging.Filter):
    """Replace a record's message, arguments and exception text by their cleaned form.

    The message is formatted with its arguments first (an argument may be any object whose
    `str` is hostile) and folded to one line, so a record cannot forge further log lines.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a call site's format mismatch must not hide the record
            message = f"{record.msg!r} % {record.args!r}"
        record.msg, record.args = clean_line(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = clean(record.exc_text)
        if record.stack_info:
            record.stack_info = clean(record.stack_info)
        return True


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log file only its owner can read (0600, also after a rotation or if it existed wider)."""

    def _open(self):
        fd = open_own(
            Path(self.baseFilename), os.O_WRONLY | os.O_CREAT | os.O_APPEND
        )  # never through a link
        os.fchmod(fd, 0o600)
        return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)


def log_file(data_dir: Path) -> Path:
    """The console's log file in a data dir."""
    return Path(data_dir) / "logs" / LOG_FILE


@contextmanager
def session(debug: bool = False) -> Iterator[None]:
    """Cleaned records on stderr for one command (`to_file` may move them); afterwards the root
    logger is as it was, so a command run in-process (tests, an embedder) leaves no handler behind."""
    root = logging.getLogger()
    level = root.level
    to_stderr(debug)
    try:
        yield
    finally:
        for handler in root.handlers[:]:
            if getattr(handler, "frontdesk_installed", False):
                root.removeHandler(handler)
                handler.close()
            else:
                handler.filters = [f for f in handler.filters if not isinstance(f, CleanRecords)]
        root.setLevel(level)
        logging.getLogger("frontdesk").setLevel(logging.NOTSET)  # as `for_service` found it
        logging.captureWarnings(False)


def to_stderr(debug: bool = False) -> None:
    """Headless commands: cleaned records on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(STDERR_FORMAT))
    _install(handler, debug)


def to_file(data_dir: Path, debug: bool = False) -> Path:
    """The console: cleaned records to `<data dir>/logs/frontdesk.log` and nothing on the terminal
    (Python warnings included); returns the file's path."""
    path = log_file(data_dir)
    _install(_file_handler(path), debug)
    logging.captureWarnings(True)
    return path


def for_service(data_dir: Path, debug: bool = False) -> Path:
    """`frontdesk serve`: cleaned records on stderr and in `<data dir>/logs/desk.log`, frontdesk's
    own from INFO up (attach, detach, refusals, drops); returns the file's path."""
    to_stderr(debug)
    path = Path(data_dir) / "logs" / DESK_LOG_FILE
    handler = _file_handler(path)
    handler.addFilter(CleanRecords())
    handler.frontdesk_installed = True  # type: ignore[attr-defined]
    logging.getLogger().addHandler(handler)
    logging.getLogger("frontdesk").setLevel(logging.DEBUG if debug else logging.INFO)
    logging.captureWarnings(True)
    return path


def _file_handler(path: Path) -> logging.Handler:
    if path.parent.is_symlink():  # log lines go inside the data dir, never where a link points
        path.parent.unlink()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    handler = PrivateRotatingFileHandler(
        path, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter(FILE_FORMAT))
    return handler


def _install(handler: logging.Handler, debug: bool) -> None:
    """Put `handler` on the root logger in place of the one installed before; every root handler
    (a test's capture too) gets the cleaning filter."""
    root = logging.getLogger()
    for old in root.handlers[:]:
        if getattr(old, "frontdesk_installed", False):
            root.removeHandler(old)
            old.close()
    handler.frontdesk_installed = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    for each in root.handlers:
        if not any(isinstance(f, CleanRecords) for f in each.filters):
            each.addFilter(CleanRecords())
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
