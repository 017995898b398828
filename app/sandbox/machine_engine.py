"""This machine's own docker engine: the "local" engine where builds run, like a developer laptop.

Nothing starts it on a fresh CI machine, so the sandbox starts `dockerd` when none answers on
/var/run/docker.sock. It is not part of the fleet: `sandbox down` leaves it running.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from app.sandbox import layout
from app.sandbox.system import SandboxError, spawn_daemon, unix_http_ok, wait_for

LOG_PATH = Path("/var/log/shipdeck-dockerd.log")
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
       "LANG": "C.UTF-8"}


def answers() -> bool:
    return unix_http_ok(layout.MACHINE_DOCKER_SOCKET)


def ensure_machine_engine(log: Callable[[str], None]) -> None:
    if answers():
        return
    if shutil.which("dockerd", path=ENV["PATH"]) is None:
        raise SandboxError("dockerd is not installed (run .ci/install-deps, or apt-get install docker.io)")
    pid = spawn_daemon(["dockerd"], LOG_PATH, env=ENV)
    log(f"  this machine's docker engine was not running: started dockerd (pid {pid}, log {LOG_PATH})")
    wait_for(answers, timeout=60, what="this machine's dockerd", log_hint=LOG_PATH)
