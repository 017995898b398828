"""Commands that reach servers start importing their network clients at once, on two threads."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

import app.cli
from app.engine import warmup

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_preload_imports_asyncssh_here_and_aiohttp_on_a_thread_that_exit_waits_for() -> None:
    script = (
        "import sys, threading\n"
        "from app.remote.preload import preload_network_clients\n"
        "preload_network_clients()\n"
        "print('asyncssh' in sys.modules)\n"
        "print([t.name for t in threading.enumerate() if not t.daemon and t is not threading.main_thread()])\n"
    )
    result = subprocess.run([sys.executable, "-c", script + "import atexit; atexit.register(lambda: "
                             "print('aiohttp' in sys.modules))\n"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "True"
    assert lines[1] in ("['shipdeck-import-aiohttp']", "[]")  # [] only if the import finished already
    assert lines[2] == "True", "exit waited for the import"


@pytest.mark.parametrize(("argv", "preloads"), [
    (["lock", "status"], True),
    (["app", "details"], True),
    (["version"], False),
    (["config"], False),
])
def test_only_commands_that_connect_preload(argv: list[str], preloads: bool, tmp_path: pathlib.Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bool] = []
    monkeypatch.setattr(warmup, "start_imports", lambda: calls.append(True))
    monkeypatch.chdir(tmp_path)  # no config here: the commands end with a config error (or print a version)
    app.cli.main(argv)
    assert bool(calls) is preloads
