"""`shipdeck lock acquire|release|status`, with Kamal's messages."""

from __future__ import annotations

import argparse

from app.cli.session import run_operation
from app.engine.commands import lock as operations


def acquire(args: argparse.Namespace) -> int:
    message = args.message
    return run_operation(args, "lock", "acquire", lambda run: operations.acquire(run, message))


def release(args: argparse.Namespace) -> int:
    return run_operation(args, "lock", "release", operations.release)


def status(args: argparse.Namespace) -> int:
    async def show(run) -> None:
        await operations.status(run)

    return run_operation(args, "lock", "status", show)
