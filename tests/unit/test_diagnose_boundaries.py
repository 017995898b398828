"""app.diagnose stays pure: no engine, no remote, no network stack (the engine imports it, not the reverse)."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
DIAGNOSE = ROOT / "app" / "diagnose"


def test_diagnose_imports_neither_engine_nor_remote() -> None:
    offenders = []
    for path in DIAGNOSE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.name}: {name}" for name in names
                          if name.startswith(("app.engine", "app.remote", "asyncssh", "aiodocker", "textual"))]
    assert offenders == []
    assert len(list(DIAGNOSE.glob("*.py"))) > 5  # the walk saw the modules


def test_importing_every_recogniser_loads_no_engine_or_network_module() -> None:
    modules = sorted(path.stem for path in DIAGNOSE.glob("*.py") if path.stem != "__init__")
    code = ("import sys; " + "; ".join(f"import app.diagnose.{name}" for name in modules)
            + "; print('\\n'.join(sorted(sys.modules)))")
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                                check=True).stdout.split())
    assert "app.diagnose.tainted_volume" in loaded
    assert not {name for name in loaded if name.startswith(("app.engine", "app.remote", "asyncssh", "aiodocker",
                                                             "aiohttp", "textual"))}
