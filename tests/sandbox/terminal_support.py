"""The installed `shipdeck` binary in a real terminal: one tmux session per test, read with capture-pane."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import uuid
from pathlib import Path

# The binary under test: the installed console script (SHIPDECK_BIN overrides it, e.g. for a checkout). The
# test set-up installs it, so a missing one fails the test that needs it.
SHIPDECK = os.environ.get("SHIPDECK_BIN") or shutil.which("shipdeck") or "shipdeck"


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
