"""`shipdeck server bootstrap|exec`."""

from __future__ import annotations

import argparse

from app.engine import server
from app.engine.command_runner import run_command, show_by_host
from app.engine.runner import Run
from app.errors import UsageError


def bootstrap(args: argparse.Namespace) -> int:
    return run_command(args, "server", "bootstrap", server.bootstrap)


def exec_(args: argparse.Namespace) -> int:
    words = list(args.cmd or [])
    while words and words[0] in ("-i", "--interactive"):
        words.pop(0)
        args.interactive = True
    command = " ".join(words)
    if not command:
        raise UsageError("server exec needs a command")

    async def body(run: Run) -> None:
        if args.interactive:
            host = run.targets.primary_host
            run.notice(f"Running '{command}' on {host} interactively...")
            await run.pool.close()
            server.exec_interactive(run, host, command)
            return
        outputs = await server.execute(run, command)
        show_by_host(run, outputs, "App")

    return run_command(args, "server", "exec", body)
