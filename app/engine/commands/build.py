"""`shipdeck build push|pull|deliver`."""

from __future__ import annotations

import argparse

from app.engine import build
from app.engine.runner import Run
from app.engine.session import run_command


def push(args: argparse.Namespace) -> int:
    async def body(run: Run) -> None:
        result = await build.push(run, no_cache=bool(getattr(args, "no_cache", False)))
        run.notice(f"Pushed {', '.join(result.images)}", level="result")

    return run_command(args, "build", "push", body)


def pull(args: argparse.Namespace) -> int:
    async def body(run: Run) -> None:
        await build.pull(run)

    return run_command(args, "build", "pull", body)


def deliver(args: argparse.Namespace) -> int:
    async def body(run: Run) -> None:
        await build.push(run, no_cache=bool(getattr(args, "no_cache", False)))
        await build.pull(run)

    return run_command(args, "build", "deliver", body)
