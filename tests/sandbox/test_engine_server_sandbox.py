"""`shipdeck server exec|bootstrap` on the sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fleet import Sandbox
from tests.sandbox.engine_support import cleanup, shipdeck
from tests.sandbox.ops_support import audit_lines, last_host, project_on_last_host

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def test_server_exec_audits_and_prints_by_host(sandbox: Sandbox, tmp_path: Path) -> None:
    host = last_host(sandbox)
    project = project_on_last_host(sandbox, tmp_path / "p")
    try:
        out = shipdeck(project, "server", "exec", "-h", host, "hostname").stdout
        assert f"App Host: {host}" in out and sandbox.host(host).name in out
        assert audit_lines(sandbox, host, project.service)[-1] == f"Executed cmd 'hostname' on {host}"
        failed = shipdeck(project, "server", "exec", "-h", host, "exit 3", check=False)
        assert failed.returncode == 1 and "exited with 3" in failed.stdout + failed.stderr
    finally:
        cleanup(project)


def test_bootstrap_checks_docker_and_runs_the_docker_setup_hook(sandbox: Sandbox, tmp_path: Path) -> None:
    project = project_on_last_host(sandbox, tmp_path / "p")
    marker = tmp_path / "hook-ran"
    hooks = project.path / ".kamal" / "hooks"
    hooks.mkdir(parents=True, exist_ok=True)
    script = f'#!/bin/sh\necho "$KAMAL_COMMAND $KAMAL_SUBCOMMAND $KAMAL_HOSTS" > {marker}\n'
    (hooks / "docker-setup").write_text(script)
    (hooks / "docker-setup").chmod(0o755)
    try:
        out = shipdeck(project, "server", "bootstrap", "-v").stdout
        assert "Docker version" in out
        assert marker.read_text().split() == ["server", last_host(sandbox)]  # KAMAL_SUBCOMMAND unset, as in Kamal
    finally:
        cleanup(project)
