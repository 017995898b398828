"""`shipdeck --help` and `shipdeck config` start fast and never load the UI or network stack."""

from __future__ import annotations

import os
import pathlib
import re
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


def test_startup_benchmark_prints_its_figures() -> None:
    """The bench runs and prints a figure per command against the baseline. Whether the figures are within
    budget is the bench's verdict (its exit status 1), not this test's: a loaded machine must not fail CI."""
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "startup.py"), "-n", "3"], capture_output=True,
                            text=True)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    figures = re.findall(r"^\s+(python -c pass|shipdeck --help|shipdeck config)\s+([0-9.]+) ms", result.stdout,
                         re.MULTILINE)
    assert {name for name, _ in figures} == {"python -c pass", "shipdeck --help", "shipdeck config"}, result.stdout
    assert all(float(value) > 0 for _, value in figures)
