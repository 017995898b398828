"""Running one deploy-area command from parsed arguments: the run, the plain renderer, the exit status."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import Any

from app.engine.runner import Run


def run_command(args: argparse.Namespace, command: str, subcommand: str | None,
                body: Callable[[Run], Awaitable[Any]]) -> int:
    """Build the run (config, secrets, hosts), render its events as plain lines, execute `body`."""
    from app.engine.session import build_run, execute
    from app.headless.plain import PlainRenderer

    renderer = PlainRenderer(verbose=bool(getattr(args, "verbose", False)), quiet=bool(getattr(args, "quiet", False)))
    run = build_run(args, command=command, subcommand=subcommand, sinks=(renderer,))
    run.options.extra["args"] = args
    return execute(run, body)


def puts_by_host(run: Run, host: str, output: str, *, label: str = "App Host") -> None:
    """Kamal's `puts_by_host`: a `<label>: <host>` header, then the output (just the output with -q)."""
    if not run.options.quiet:
        run.notice(f"{label}: {host}", host=None)
    for line in output.rstrip("\n").splitlines() or [""]:
        run.notice(line, level="result")
