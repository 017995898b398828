"""`shipdeck server bootstrap|exec`."""

from __future__ import annotations

import argparse

from app.engine import server
from app.engine.runner import Run
from app.engine.session import puts_by_host, run_command
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
        await run.pool.first_connect()  # Kamal's `exec` runs pre-connect first, whichever way it reaches the host
        if args.interactive:
            host = run.targets.primary_host
            run.notice(f"Running '{command}' on {host} interactively...")
            await run.pool.close()
            server.exec_interactive(run, host, command)
            return
        outputs = await server.execute(run, command)
        for host, output in outputs.items():
            puts_by_host(run, host, output)

    return run_command(args, "server", "exec", body)
