"""The installed `shipdeck` binary in a real terminal (tmux): it opens the dashboard on the demo project,
deploys from the keyboard, shows the new version, and quits with the deploy lock free."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fleet import Sandbox
from tests.sandbox.engine_support import (
    Project,
    lock_exists,
    make_project,
    pushed_and_deployed,
)
from tests.sandbox.terminal_support import SHIPDECK, Terminal
from widgets.cells import version as shown

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

@pytest.fixture(scope="module")
def project(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory):
    made = make_project(sandbox, sandbox.copy_demo(tmp_path_factory.mktemp("terminal") / "demo"), job=False,
                        extra={"deploy_timeout": 20})
    with pushed_and_deployed(made) as deployed:
        yield deployed


def test_the_installed_binary_opens_deploys_shows_the_new_version_and_quits_with_the_lock_free(
        project: Project, tmp_path: Path) -> None:
    version = shown(project.commit("deployed from the terminal"))  # as the dashboard shows a commit
    env = project.sandbox.env({"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"),
                               "XDG_CONFIG_HOME": str(tmp_path / "config")})
    terminal = Terminal(SHIPDECK, project.path, env)
    try:
        web1, web2 = project.web_hosts()
        terminal.wait_for(lambda s: project.service in s and web1 in s and web2 in s and "● up" in s, 60,
                          "the dashboard with every host")
        screen = terminal.wait_for(lambda s: f"a deploy would ship {version}" in s, 30, "the version to ship")
        assert "lock: free" in screen
        terminal.keys("d")
        terminal.wait_for(lambda s: "deploy" in s and "running" in s, 60, "the deploy to start")
        screen = terminal.wait_for(lambda s: ": done in" in s, 300, "the deploy to finish")
        screen = terminal.wait_for(lambda s: s.count(f"web ● {version}") >= 2 and f"running web {version}" in s, 20,
                                   "the new version on both web hosts")
        assert "lock: free" in screen
        terminal.keys("q")
        screen = terminal.wait_for(lambda s: terminal.exit_status() is not None, 30, "the dashboard to quit")
        assert terminal.exit_status() == 0, screen
    finally:
        terminal.close()
    assert not lock_exists(project)
