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


FACES = ("app.cli", "app.headless", "app.tui", "widgets")
# What only a face may do: own the event loop, install signal handlers, talk to the terminal.
FACE_ONLY_CALLS = {("asyncio", "run"), ("loop", "add_signal_handler"), ("signal", "signal"), ("os", "execvp")}


def _attribute_calls(path: pathlib.Path) -> set[tuple[str, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    calls: set[tuple[str, str]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            function = node.func
            if isinstance(function, ast.Attribute):
                owner = function.value
                name = owner.id if isinstance(owner, ast.Name) else owner.attr if isinstance(owner, ast.Attribute) \
                    else ""
                calls.add((name, function.attr))
            elif isinstance(function, ast.Name) and function.id in ("print", "input"):
                calls.add(("", function.id))
    return calls


def test_the_engine_imports_no_face_and_no_argparse() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(name for name in _imports_of(path)
                                            if name == "argparse" or name.startswith(FACES))
        for path in _python_files("app/engine")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_engine_leaves_the_loop_signals_and_terminal_to_its_faces() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            call for call in _attribute_calls(path)
            if call in FACE_ONLY_CALLS or call in {("", "print"), ("", "input")}
            or (call[0] == "sys" and call[1] in ("exit",)) or call[1] == "add_signal_handler")
        for path in _python_files("app/engine")
    }
    assert {path: calls for path, calls in offenders.items() if calls} == {}


def test_the_engine_reads_and_writes_no_terminal_streams() -> None:
    offenders = [str(path.relative_to(ROOT)) for path in _python_files("app/engine")
                 if any(word in path.read_text() for word in ("sys.stdout", "sys.stderr", "sys.stdin"))]
    assert offenders == []


def test_the_boundary_checks_can_fail(tmp_path: pathlib.Path) -> None:
    """The checks above see what they look for (a face import, asyncio.run, a signal handler, print)."""
    sample = tmp_path / "sample.py"
    sample.write_text("import argparse\nfrom app.headless.plain import PlainRenderer\nimport asyncio\n"
                      "asyncio.run(main())\nloop.add_signal_handler(2, stop)\nprint('x')\n")
    assert {"argparse", "app.headless.plain"} <= _imports_of(sample)
    calls = _attribute_calls(sample)
    assert {("asyncio", "run"), ("loop", "add_signal_handler"), ("", "print")} <= calls


def test_the_cli_entry_point_is_the_front_door() -> None:
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, attribute = scripts["shipdeck"].partition(":")
    assert module == "app.entry"  # a Ctrl-C while the command line imports is one line and 130
    imported = __import__(module, fromlist=[attribute])
    assert callable(getattr(imported, attribute))
