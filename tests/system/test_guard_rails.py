"""The guard rails run with the tests: import-linter's contracts and ruff's lint rules (both set in
pyproject.toml), and each contract is shown to fail on the violation it exists for."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def tool(name: str) -> str:
    """The tool installed next to this Python (the venv), else on PATH; skip when absent."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed; `pip install -e '.[test]'` installs it")
    return found


def run(command: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=120, env={**os.environ, **env}
    )


def test_import_contracts_are_kept():
    result = run([tool("lint-imports"), "--no-cache", "--no-logo"], ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_ruff_finds_nothing():
    result = run([tool("ruff"), "check", "--no-cache", "."], ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_tree_is_formatted():
    result = run([tool("ruff"), "format", "--check", "--no-cache", "."], ROOT)
    assert result.returncode == 0, "run `ruff format .`:\n" + result.stdout + result.stderr


def test_ruff_format_check_fails_on_unformatted_code(package_copy: Path):
    (package_copy / "model.py").write_text(
        (package_copy / "model.py").read_text() + "\nx = {  'a':1 }\n"
    )
    result = run([tool("ruff"), "format", "--check", "--no-cache", "."], package_copy)
    assert result.returncode != 0 and "model.py" in result.stdout


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    """A copy of the package (code and pyproject, no tests), importable as `frontdesk` from tmp_path."""
    copy = tmp_path / "frontdesk"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(".*", "tests", "__pycache__", "*.egg-info", "build", "dist"),
    )
    return copy


VIOLATIONS = [
    pytest.param(
        "no-textual-below-tui",
        "model.py",
        "import textual\n",
        "frontdesk.model -> textual",
        id="textual-in-model",
    ),
    pytest.param(
        "no-textual-below-tui",
        "desk/views.py",
        "from frontdesk.tui import app\n",
        "frontdesk.desk.views -> frontdesk.tui.app",
        id="textual-reached-through-tui",
    ),
    pytest.param(
        "layers",
        "desk/views.py",
        "from frontdesk.tui import safe\n",
        "frontdesk.desk.views -> frontdesk.tui.safe",
        id="desk-imports-tui",
    ),
    pytest.param(
        "layers",
        "bench/report.py",
        "import frontdesk.cli\n",
        "frontdesk.bench.report -> frontdesk.cli",
        id="bench-imports-cli",
    ),
    pytest.param(
        "layers",
        "store/search.py",
        "from frontdesk.desk import views\n",
        "frontdesk.store.search -> frontdesk.desk.views",
        id="store-imports-desk",
    ),
    pytest.param(
        "layers",
        "backends/base.py",
        "from frontdesk.store import storage\n",
        "frontdesk.backends.base -> frontdesk.store.storage",
        id="backends-import-store",
    ),
    pytest.param(
        "layers",
        "reports.py",
        "from frontdesk import model\n",
        "frontdesk.reports",
        id="root-module-not-placed",
    ),
    pytest.param(
        "no-circles",
        "store/lock.py",
        "from frontdesk.store import store\n",
        "frontdesk.store",
        id="circle-in-store",
    ),
]


@pytest.mark.parametrize(("contract", "file", "line", "reported"), VIOLATIONS)
def test_each_contract_fails_on_its_violation(package_copy: Path, contract, file, line, reported):
    lint_imports = tool("lint-imports")
    source = package_copy / file
    source.write_text(
        (source.read_text(encoding="utf-8") if source.exists() else "") + line, encoding="utf-8"
    )
    result = run(
        [lint_imports, "--no-cache", "--no-logo", "--contract", contract],
        package_copy,
        PYTHONPATH=str(package_copy.parent),
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout
    assert reported in result.stdout


def test_ruff_fails_on_an_undefined_name(package_copy: Path):
    ruff = tool("ruff")
    model = package_copy / "model.py"
    model.write_text(
        model.read_text(encoding="utf-8") + "\n\ndef broken():\n    return missing\n",
        encoding="utf-8",
    )
    result = run([ruff, "check", "--no-cache", "."], package_copy)
    assert result.returncode == 1
    assert "F821" in result.stdout and "model.py" in result.stdout


def test_every_subpackage_is_packaged():
    """A wheel holds only the packages pyproject lists: a subpackage missing there installs
    editable but breaks `pip install frontdesk` (desk/automation and desk/report once did)."""
    import tomllib

    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(("frontdesk", *init.parent.relative_to(ROOT).parts))
        for init in ROOT.rglob("__init__.py")
        if not {"tests", ".venv", "build"} & set(init.relative_to(ROOT).parts)
    }
    assert found - listed == set()
