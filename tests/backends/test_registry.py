"""Backends are found through entry points; a broken plugin is reported and skipped."""

from importlib.metadata import EntryPoint

import pytest

from frontdesk.backends import registry
from frontdesk.backends.base import Backend


def fake_entry_points(monkeypatch, extra):
    """Installed packages register `extra` beside the real backends."""
    real = registry.entry_points

    def installed(*, group):
        return [*real(group=group), *(extra.values() if group == registry.GROUP else ())]

    monkeypatch.setattr(registry, "entry_points", installed)


def test_builtin_demo_is_registered_like_a_plugin():
    assert "demo" in registry.available()
    assert issubclass(registry.load("demo"), Backend)


def test_broken_plugin_is_reported_and_skipped(monkeypatch):
    fake_entry_points(
        monkeypatch,
        {
            "broken": EntryPoint("broken", "frontdesk_no_such_module:Thing", registry.GROUP),
            "notabackend": EntryPoint("notabackend", "json:dumps", registry.GROUP),
        },
    )
    loaded, broken = registry.load_all()
    assert "demo" in loaded
    assert {b.name for b in broken} == {"broken", "notabackend"}
    assert "ModuleNotFoundError" in next(b.error for b in broken if b.name == "broken")


def test_unknown_backend_names_the_installed_ones():
    with pytest.raises(registry.UnknownBackend, match="installed: .*demo"):
        registry.load("whatsapp-cloud-nope")
