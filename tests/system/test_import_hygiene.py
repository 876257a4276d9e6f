"""The core never imports textual, listing backends imports none of them, and the bench never imports the CLI."""

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest


def modules_after_import(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return set(out.stdout.split())


@pytest.mark.parametrize(
    "module",
    [
        "frontdesk.model",
        "frontdesk.store",
        "frontdesk.desk",
        "frontdesk.backends.base",
        "frontdesk.backends.registry",
        "frontdesk.backends.demo",
        "frontdesk.config",
        "frontdesk.credentials",
        "frontdesk.logs",
        "frontdesk.team.server",
        "frontdesk.team.status",
    ],
)
def test_core_does_not_import_textual(module):
    loaded = modules_after_import(f"import {module}")
    assert module in loaded
    assert not any(name == "textual" or name.startswith("textual.") for name in loaded)


def test_listing_backends_imports_no_backend():
    loaded = modules_after_import(
        "from frontdesk.backends import registry; assert 'demo' in registry.available()"
    )
    assert "frontdesk.backends.demo" not in loaded


def imported_modules(source: str) -> set[str]:
    """Every module a Python source imports, at any depth (`from a import b` counts as a and a.b)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_bench_never_imports_the_cli():
    """The CLI runs the bench; the bench takes the app and the collector settings from launch and runtime."""
    spec = importlib.util.find_spec("frontdesk.bench")
    if spec.submodule_search_locations:
        sources = sorted(Path(spec.submodule_search_locations[0]).glob("*.py"))
    else:
        sources = [Path(spec.origin)]
    for path in sources:
        assert "frontdesk.cli" not in imported_modules(path.read_text(encoding="utf-8")), path


@pytest.mark.parametrize(
    "module", ["frontdesk.runtime", "frontdesk.launch", "frontdesk.bench.plan"]
)
def test_launch_runtime_and_bench_import_alone_without_the_cli(module):
    loaded = modules_after_import(f"import {module}")
    assert module in loaded and "frontdesk.cli" not in loaded


@pytest.mark.parametrize(
    "module", ["frontdesk.tui.bindings", "frontdesk.tui.keys", "frontdesk.tui.commands"]
)
def test_the_key_modules_never_import_the_app(module):
    """The palette asks the running app for its commands; bindings and keys are data the app reads."""
    assert "frontdesk.tui.app" not in modules_after_import(f"import {module}")
    source = Path(importlib.util.find_spec(module).origin).read_text(encoding="utf-8")
    assert "frontdesk.tui.app" not in imported_modules(source)


def test_the_chatwoot_desk_leaves_its_network_libraries_for_after_the_first_paint():
    """A Chatwoot console paints from its cache first: httpx and aiohttp (0.15 s of imports
    together) come in a thread once the desk reaches for the server (chatwoot.link)."""
    loaded = modules_after_import("import frontdesk.chatwoot.desk")
    assert "frontdesk.chatwoot.desk" in loaded
    assert not {"httpx", "aiohttp"} & loaded
