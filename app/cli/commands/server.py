"""`shipdeck server bootstrap|exec`."""

from __future__ import annotations

import argparse

from app.cli.session import run_operation
from app.engine import server
from app.engine.commands import server as operations


def bootstrap(args: argparse.Namespace) -> int:
    return run_operation(args, "server", "bootstrap", server.bootstrap)


def exec_(args: argparse.Namespace) -> int:
    words = list(args.cmd or [])
    interactive = bool(args.interactive)
    while words and words[0] in ("-i", "--interactive"):
        words.pop(0)
        interactive = True
    command = " ".join(words)
    return run_operation(args, "server", "exec", lambda run: operations.exec_(run, command, interactive=interactive))
