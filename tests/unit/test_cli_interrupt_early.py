"""A Ctrl-C at any moment of start-up (while Python imports the command line, builds the parser, loads
the config) ends with status 130 and one line, never a traceback."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONFIG = "service: app\nimage: app/app\nservers:\n  - 192.0.2.1\nregistry:\n  username: u\n  password: p\n" \
         "builder:\n  arch: amd64\n"


@pytest.fixture(scope="module")
def interpreter_start() -> float:
    """How long this machine takes, now, to start Python to its first instruction (a signal before that
    reaches the interpreter's own start-up, which no program can handle)."""
    timings = []
    for _ in range(3):
        began = time.monotonic()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        timings.append(time.monotonic() - began)
    return max(timings)


@pytest.mark.parametrize("after", [1.5, 1.8, 2.1, 2.5, 3.0, 4.0, 6.0])
def test_an_early_ctrl_c_is_one_line_and_130(tmp_path: pathlib.Path, interpreter_start: float,
                                              after: float) -> None:
    delay = interpreter_start * after  # while Python imports the command line and builds the parser
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(CONFIG)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "app", "config", "--version", "v1"], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert "Traceback" not in stderr, stderr
    if process.returncode != 0:  # it was interrupted (not already done): 130, or ended by the signal itself
        assert process.returncode in (130, -signal.SIGINT), (process.returncode, stderr)
        assert stderr.strip() in ("", "shipdeck: interrupted"), stderr
