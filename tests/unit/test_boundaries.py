"""DESIGN.md's import boundaries, checked in fresh interpreters."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _modules_loaded_by(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return set(result.stdout.split())


@pytest.mark.parametrize(
    "statement",
    [
        "import app.cli",
        "import app.config",
        "import app.secrets",
        "import app.cli; app.cli.build_parser()",
    ],
)
def test_core_paths_do_not_load_the_ui_or_the_network_stack(statement: str) -> None:
    loaded = _modules_loaded_by(statement)
    for heavy in ("textual", "asyncssh", "aiodocker", "aiohttp", "keyring"):
        assert heavy not in loaded, f"{statement!r} pulled in {heavy}"


def _imports_of(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _python_files(*folders: str) -> list[pathlib.Path]:
    return [p for folder in folders for p in (ROOT / folder).rglob("*.py")]


def test_only_the_tui_and_widgets_import_textual() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in _python_files("app")
        if not path.is_relative_to(ROOT / "app" / "tui")
        and any(name == "textual" or name.startswith("textual.") for name in _imports_of(path))
    ]
    assert offenders == []


def test_only_remote_imports_asyncssh_and_aiodocker() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in _python_files("app", "widgets")
        if not path.is_relative_to(ROOT / "app" / "remote")
        and any(name.split(".")[0] in {"asyncssh", "aiodocker"} for name in _imports_of(path))
    ]
    assert offenders == []


def test_widgets_do_not_reach_into_the_engine_or_remote() -> None:
    """Widgets render the engine's public types (`app.engine.api`) and nothing else of it."""
    offenders = [
        str(path.relative_to(ROOT))
        for path in _python_files("widgets")
        if any(name.startswith(("app.remote", "app.engine")) and name != "app.engine.api"
               for name in _imports_of(path))
    ]
    assert offenders == []


def test_the_public_api_types_load_nothing_heavy() -> None:
    loaded = _modules_loaded_by("import app.engine.api")
    for heavy in ("textual", "asyncssh", "aiodocker", "aiohttp", "keyring", "app.remote", "app.config"):
        assert heavy not in loaded, f"app.engine.api pulled in {heavy}"
