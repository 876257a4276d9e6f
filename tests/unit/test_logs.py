"""Log records are cleaned of terminal controls whichever handler writes them; the console logs to a private file."""

from __future__ import annotations

import logging
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frontdesk import logs

HOSTILE = "<html>\x1b]52;c;ZWNobyBwd25lZA==\x07\x1b]2;PWNED\x07 gate\x9b2Jway\u202e\r\nforged: line\x00</html>"
FORBIDDEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ud800-\udfff]"
)


@pytest.fixture(autouse=True)
def root_logging():
    """Leave the root logger as the test found it."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield root
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler in handlers:
        handler.filters = [f for f in handler.filters if not isinstance(f, logs.CleanRecords)]
    root.setLevel(level)
    logging.captureWarnings(False)


def record(msg: str, *args, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("frontdesk.test", logging.WARNING, __file__, 1, msg, args, exc_info)


def test_message_arguments_and_objects_are_cleaned_into_one_line():
    rec = record("channel %s: %s (%d)", "tg", ValueError(HOSTILE), 3)
    assert logs.CleanRecords().filter(rec)
    assert rec.getMessage() == "channel tg: <html> gateway forged: line</html> (3)"


def test_exception_text_is_cleaned_and_keeps_its_lines():
    try:
        raise RuntimeError(HOSTILE)
    except RuntimeError as exc:
        rec = record("failed", exc_info=(type(exc), exc, exc.__traceback__))
    logs.CleanRecords().filter(rec)
    text = logging.Formatter().format(rec)
    assert text.startswith("failed\nTraceback") and "RuntimeError: <html> gateway" in text
    assert not FORBIDDEN.search(text) and "PWNED" not in text


def test_a_format_mismatch_at_a_call_site_still_logs_cleanly():
    rec = record("two %s %s", "\x1b]2;x\x07only-one")
    logs.CleanRecords().filter(rec)
    assert "only-one" in rec.getMessage() and "\x1b" not in rec.getMessage()


@settings(max_examples=200, deadline=None)
@given(st.text(), st.lists(st.text(), max_size=3))
def test_no_control_survives_any_message(msg, args):
    rec = record(msg.replace("%", "%%") + " %s" * len(args), *args)
    logs.CleanRecords().filter(rec)
    assert not FORBIDDEN.search(rec.getMessage()) and "\n" not in rec.getMessage()


def test_headless_commands_log_cleaned_lines_on_stderr(capsys):
    logs.to_stderr()
    logging.getLogger("frontdesk.backends.telegram").warning("channel %s: %s", "tg", HOSTILE)
    err = capsys.readouterr().err
    assert err == "frontdesk: channel tg: <html> gateway forged: line</html>\n"


def test_every_root_handler_gets_the_cleaning(root_logging):
    other: list[str] = []

    class Keep(logging.Handler):
        def emit(self, rec: logging.LogRecord) -> None:
            other.append(self.format(rec))

    root_logging.addHandler(Keep())
    logs.to_stderr()
    logging.getLogger("frontdesk.x").warning("%s", HOSTILE)
    assert other == ["<html> gateway forged: line</html>"]


def test_the_console_logs_to_a_private_rotating_file_and_nothing_on_the_terminal(tmp_path, capsys):
    path = logs.log_file(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text("restored from a backup\n")
    path.chmod(0o644)
    logs.to_stderr()
    assert logs.to_file(tmp_path) == path
    for i in range(3):
        logging.getLogger("frontdesk.desk").warning(
            "disk full %d %s", i, "\x1b]2;x\x07" + "y" * (logs.LOG_BYTES // 2 + 1)
        )
    import warnings

    warnings.warn("a library's warning", stacklevel=1)
    logging.getLogger().handlers[-1].flush()
    assert capsys.readouterr() == ("", "")
    files = sorted(path.parent.iterdir())
    assert [p.name for p in files] == ["frontdesk.log", "frontdesk.log.1", "frontdesk.log.2"]
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in files)
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert "a library's warning" in path.read_text()
    assert "\x1b" not in "".join(p.read_text() for p in files)


def test_a_symlink_planted_as_the_log_file_or_folder_is_not_written_through(tmp_path):
    # the data dir may come from a backup, or have a link planted: log lines (channel text)
    # must not be appended to, nor a chmod applied on, a file outside it
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.txt"
    victim.write_text("not a log\n")
    victim.chmod(0o644)
    data = tmp_path / "data"
    logs.log_file(data).parent.mkdir(parents=True)
    logs.log_file(data).symlink_to(victim)
    path = logs.to_file(data)
    logging.getLogger("frontdesk.desk").warning("channel tg: %s", "hostile")
    logging.getLogger().handlers[-1].flush()
    assert victim.read_text() == "not a log\n" and victim.stat().st_mode & 0o777 == 0o644
    assert not path.is_symlink() and "channel tg: hostile" in path.read_text()

    outside_mode = outside.stat().st_mode & 0o777
    data2 = tmp_path / "data2"
    data2.mkdir()
    (data2 / "logs").symlink_to(outside)
    path = logs.to_file(data2)
    logging.getLogger("frontdesk.desk").warning("channel tg: %s", "again")
    logging.getLogger().handlers[-1].flush()
    assert (
        sorted(p.name for p in outside.iterdir()) == ["victim.txt"]
        and outside.stat().st_mode & 0o777 == outside_mode
    )
    assert not (data2 / "logs").is_symlink() and "again" in path.read_text()
