"""The core never imports textual, and listing backends imports none of them."""

import subprocess
import sys

import pytest


def modules_after_import(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize(
    "module",
    ["frontdesk.model", "frontdesk.store", "frontdesk.desk", "frontdesk.backends.base",
     "frontdesk.backends.registry", "frontdesk.backends.demo", "frontdesk.config", "frontdesk.credentials",
     "frontdesk.logs"],
)
def test_core_does_not_import_textual(module):
    loaded = modules_after_import(f"import {module}")
    assert module in loaded
    assert not any(name == "textual" or name.startswith("textual.") for name in loaded)


def test_listing_backends_imports_no_backend():
    loaded = modules_after_import("from frontdesk.backends import registry; assert 'demo' in registry.available()")
    assert "frontdesk.backends.demo" not in loaded
