"""Find channel backends through the `frontdesk.backends` entry-point group.

Listing names reads package metadata only; a backend module is imported when a channel
uses it. A plugin that fails to import is reported and skipped, never fatal for the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from frontdesk.backends.base import Backend

GROUP = "frontdesk.backends"


@dataclass(frozen=True, slots=True)
class BrokenPlugin:
    name: str
    error: str


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def available() -> list[str]:
    """Names of the installed backends, without importing any of them."""
    return sorted(_entry_points())


class UnknownBackend(LookupError):
    pass


def load(name: str) -> type[Backend]:
    """Import and return the backend class registered as `name`."""
    ep = _entry_points().get(name)
    if ep is None:
        known = ", ".join(available()) or "none"
        raise UnknownBackend(f"no backend named {name!r} (installed: {known})")
    cls = ep.load()
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise TypeError(f"entry point {name!r} ({ep.value}) is not a frontdesk Backend subclass")
    return cls


def load_all() -> tuple[dict[str, type[Backend]], list[BrokenPlugin]]:
    """Every backend that loads, and the ones that do not with the reason."""
    loaded: dict[str, type[Backend]] = {}
    broken: list[BrokenPlugin] = []
    for name in available():
        try:
            loaded[name] = load(name)
        except Exception as exc:  # a third-party plugin may raise anything on import
            broken.append(BrokenPlugin(name, f"{type(exc).__name__}: {exc}"))
    return loaded, broken
