"""The KAMAL_* variables a hook sees, with real Kamal 2.11 as the oracle: the same project, the same commands
(a top-level one and grouped ones, with -r), the same variables and values (but the time they were recorded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fleet import Sandbox
from tests.sandbox.engine_support import Project, cleanup, kamal, shipdeck
from tests.sandbox.ops_support import project_on_last_host

pytestmark = [pytest.mark.sandbox, pytest.mark.kamal]

COMMANDS = [("lock", "status"), ("server", "exec", "-r", "web", "true"), ("app", "version"), ("proxy", "details")]


def hook_variables(project: Project, tool, *args: str) -> dict[str, str]:
    seen = project.path.parent / "pre-connect.env"
    seen.unlink(missing_ok=True)
    tool(project, *args)
    lines = seen.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if not line.startswith("KAMAL_RECORDED_AT="))


@pytest.fixture
def project(sandbox: Sandbox, tmp_path: Path):
    made = project_on_last_host(sandbox, tmp_path / "p")
    hook = made.path / ".kamal" / "hooks" / "pre-connect"
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text(f"#!/bin/sh\nenv | grep '^KAMAL_' | sort > {tmp_path / 'pre-connect.env'}\n")
    hook.chmod(0o755)
    try:
        yield made
    finally:
        cleanup(made)


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(command) for command in COMMANDS])
def test_a_hook_sees_what_it_sees_under_kamal(project: Project, args: tuple[str, ...]) -> None:
    theirs = hook_variables(project, kamal, *args)
    ours = hook_variables(project, shipdeck, *args)
    assert "KAMAL_COMMAND" in theirs and "KAMAL_SUBCOMMAND" not in theirs  # the oracle's own behaviour
    assert ours == theirs
