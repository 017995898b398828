"""`shipdeck build push|pull|deliver` (`--no-cache` reaches the build through the run options)."""

from __future__ import annotations

import argparse

from app.cli.session import run_operation
from app.engine import build
from app.engine.runner import Run


async def _push(run: Run) -> None:
    result = await build.push(run)
    run.lines("build.push", "", [f"Pushed {', '.join(result.images)}"])


def push(args: argparse.Namespace) -> int:
    return run_operation(args, "build", "push", _push)


def pull(args: argparse.Namespace) -> int:
    return run_operation(args, "build", "pull", build.pull)


def deliver(args: argparse.Namespace) -> int:
    return run_operation(args, "build", "deliver", build.deliver)
