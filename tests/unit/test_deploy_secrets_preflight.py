"""A deploy whose secrets cannot be resolved stops before any connection, exit 2, naming the file and line
(not halfway, blamed on the first host's registry login)."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONFIG = ("service: app\nimage: app/app\nservers:\n  - 192.0.2.1\nregistry:\n  username: u\n  password:\n"
          "    - REG_PW\nbuilder:\n  arch: amd64\n")


@pytest.mark.parametrize(("secrets", "message"), [
    ("REG_PW=$(no-such-command-xyz)\n", ".kamal/secrets:1: No such file or directory - no-such-command-xyz"),
    ("OTHER=1\n", "Secret 'REG_PW' not found"),
])
def test_unresolvable_secrets_stop_the_deploy_before_connecting(tmp_path: pathlib.Path, secrets: str,
                                                                message: str) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(CONFIG)
    (tmp_path / ".kamal").mkdir()
    (tmp_path / ".kamal" / "secrets").write_text(secrets)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "app", "deploy", "-P", "--version", "v1"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert f"shipdeck: {message}" in result.stderr
    assert "192.0.2.1" not in output and "Traceback" not in output  # no host was dialled
