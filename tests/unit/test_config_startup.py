"""`shipdeck --help` and `shipdeck config` start fast and never load the UI or network stack."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
HEAVY = ("textual", "asyncssh", "aiodocker", "aiohttp", "keyring")


def test_config_command_imports_nothing_heavy(tmp_path: pathlib.Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(
        "service: a\nimage: b\nservers: [h]\nregistry: {username: u, password: [P]}\nbuilder: {arch: amd64}\n")
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "app", "config", "--version", "v"],
                            cwd=tmp_path, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    imported = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines() if "|" in line}
    assert "yaml" in imported, "the import log was read"
    assert not imported & set(HEAVY)


def test_startup_benchmark_is_within_budget() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "startup.py"), "-n", "5"], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "shipdeck config" in result.stdout and "python -c pass" in result.stdout
