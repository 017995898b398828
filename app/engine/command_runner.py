"""Running one build/registry/accessory/proxy/server command: the run, the plain renderer, the exit status."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import Any

from app.engine.runner import Run


def run_command(args: argparse.Namespace, command: str, subcommand: str | None,
                body: Callable[[Run], Awaitable[Any]]) -> int:
    """Build the run (config, secrets, hosts), print its events as plain lines, execute `body`."""
    from app.engine.build import pre_connect
    from app.engine.session import build_run, execute
    from app.headless.plain import PlainRenderer

    renderer = PlainRenderer(verbose=bool(getattr(args, "verbose", False)), quiet=bool(getattr(args, "quiet", False)))
    run = build_run(args, command=command, subcommand=subcommand, sinks=(renderer,))
    run.options.extra["args"] = args

    async def with_pre_connect(run: Run) -> Any:
        await pre_connect(run)  # Kamal runs the pre-connect hook before its first connection
        return await body(run)

    return execute(run, with_pre_connect)


def show_by_host(run: Run, results: dict[str, list[str] | str], label: str) -> None:
    """Kamal's `puts_by_host`: `<label> Host: <host>`, the output, a blank line (only the output with -q)."""
    for host, output in results.items():
        lines = output.rstrip("\n").splitlines() if isinstance(output, str) else list(output)
        if not run.options.quiet:
            run.notice(f"{label} Host: {host}", level="result")
        for line in lines:
            run.notice(line, level="result")
        if not run.options.quiet:
            run.notice("", level="result")


def log_timestamps(args: argparse.Namespace) -> bool:
    """Kamal's `-T` skips timestamps (they are on by default)."""
    return not bool(getattr(args, "timestamps", False))
