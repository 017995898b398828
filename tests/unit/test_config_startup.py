"""`shipdeck --help`, `version` and `config` start fast and never load the UI or network stack."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
HEAVY = ("textual", "asyncssh", "aiodocker", "aiohttp", "keyring")


def _imported(args: list[str], cwd: pathlib.Path) -> set[str]:
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "app", *args], cwd=cwd, capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    return {line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line}


def test_config_command_imports_nothing_heavy(tmp_path: pathlib.Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(
        "service: a\nimage: b\nservers: [h]\nregistry: {username: u, password: [P]}\nbuilder: {arch: amd64}\n")
    imported = _imported(["config", "--version", "v"], tmp_path)
    assert "yaml" in imported, "the import log was read"
    assert not {name.split(".")[0] for name in imported} & set(HEAVY)


def test_version_imports_neither_the_engine_nor_the_config_code(tmp_path: pathlib.Path) -> None:
    imported = _imported(["version"], tmp_path)
    assert "app.cli" in imported, "the import log was read"
    assert not [name for name in imported if name.startswith(("app.engine.", "app.config.model", "app.secrets.store",
                                                               "yaml", "app.remote"))]
    assert not {name.split(".")[0] for name in imported} & set(HEAVY)


def test_startup_benchmark_reports_every_command() -> None:
    # The budgets are wall-clock and this machine may be busy, so only the report is checked here.
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "startup.py"), "-n", "3", "--quick"],
                            capture_output=True, text=True)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    for line in ("python -c pass", "shipdeck --help", "shipdeck version", "shipdeck config"):
        assert line in result.stdout


def test_the_large_benchmark_project_is_45_mb_of_valid_config(tmp_path: pathlib.Path) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import startup
    finally:
        sys.path.remove(str(ROOT / "bench"))
    size = startup.write_large_project(tmp_path)
    assert 40e6 < size < 50e6
    from app.config import load_config

    config = load_config(cwd=str(tmp_path), environ={"PATH": "/usr/bin:/bin"}, version="v")
    assert len(config.env.clear) == startup.LARGE_KEYS
