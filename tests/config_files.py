"""Config files for the config tests: one written from a TOML snippet, and its one-line refusal."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from frontdesk.config import ConfigError, load_config


def write(tmp_path: Path, text: str) -> Path:
    """`text` (dedented) as `tmp_path`/config.toml."""
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def error(path: Path) -> str:
    """The loader's refusal of `path`: one line, starting with the file's name."""
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path)), message
    return message
