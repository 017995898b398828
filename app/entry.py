"""The `shipdeck` console script and `python -m app`: a Ctrl-C while Python is still importing the command
line ends quietly with status 130, as one during a command does, instead of a traceback."""

from __future__ import annotations

import signal
import sys


def _interrupted(signum: int, frame: object) -> None:
    sys.stderr.write("shipdeck: interrupted\n")
    raise SystemExit(130)


def main() -> int:
    signal.signal(signal.SIGINT, _interrupted)
    from app.cli import main as command_line

    return command_line(interrupt_quietly=True)
