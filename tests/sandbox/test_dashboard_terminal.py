"""The installed `shipdeck` binary in a real terminal (tmux): it opens the dashboard on the demo project,
deploys from the keyboard, shows the new version, and quits with the deploy lock free."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.fleet import Sandbox
from tests.sandbox.engine_support import Project, cleanup, kamal, lock_exists, make_project, shipdeck
from widgets.cells import version as shown

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

# The binary under test: the installed console script (SHIPDECK_BIN overrides it, e.g. for a checkout).
SHIPDECK = os.environ.get("SHIPDECK_BIN") or shutil.which("shipdeck")


@pytest.fixture(scope="module")
def project(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory):
    made = make_project(sandbox, sandbox.copy_demo(tmp_path_factory.mktemp("terminal") / "demo"), job=False,
                        extra={"deploy_timeout": 20})
    kamal(made, "build", "push")
    shipdeck(made, "deploy", "-P")
    yield made
    cleanup(made)


class Terminal:
    """One tmux session running a command in a 160×50 terminal."""

    def __init__(self, command: str, cwd: Path, env: dict[str, str]) -> None:
        self.name = f"shipdeck-{uuid.uuid4().hex[:8]}"
        exports = " ".join(f"{key}={shlex.quote(value)}" for key, value in env.items())
        # The command starts once the window has its final size (a resize before the program listens for
        # it would be missed).
        self.status_file = cwd.parent / f"{self.name}.status"
        script = (f"sleep 1; env {exports} TERM=xterm-256color COLUMNS=160 LINES=50 {command}; "
                  f"echo $? > {shlex.quote(str(self.status_file))}")
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", "160", "-y", "50", "-c", str(cwd),
                        "sh", "-c", script], check=True)
        subprocess.run(["tmux", "set-option", "-t", self.name, "remain-on-exit", "on"], check=True)
        subprocess.run(["tmux", "resize-window", "-t", self.name, "-x", "160", "-y", "50"], check=True)
        size = subprocess.run(["tmux", "display-message", "-p", "-t", self.name, "#{pane_width}x#{pane_height}"],
                              capture_output=True, text=True, check=True).stdout.strip()
        assert size == "160x50", f"the terminal is {size}"

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True,
                              check=False).stdout

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def wait_for(self, predicate, timeout: float, what: str) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if predicate(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; the screen:\n{screen}")
            time.sleep(0.2)

    def exit_status(self) -> int | None:
        """The command's exit status (as the shell reports it: 128+N for signal N), or None while it runs."""
        try:
            return int(self.status_file.read_text())
        except (FileNotFoundError, ValueError):
            return None

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True, check=False)


@pytest.mark.skipif(not SHIPDECK, reason="no installed shipdeck binary")
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
