"""The config's error: a problem in the file, one line naming the file, the key and the fix."""

from __future__ import annotations


class ConfigError(Exception):
    """A problem in the config file; the message is one line naming the file, the key and the fix."""
