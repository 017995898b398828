"""`shipdeck lock acquire|release|status`, with Kamal's messages."""

from __future__ import annotations

import argparse

from app.engine import lock as deploy_lock
from app.engine.runner import Run
from app.engine.session import run_command


def acquire(args: argparse.Namespace) -> int:
    async def body(run: Run) -> None:
        await deploy_lock.acquire(run, args.message, run.config.version or "")
        run.notice("Acquired the deploy lock", level="result")

    return run_command(args, "lock", "acquire", body)


def release(args: argparse.Namespace) -> int:
    async def body(run: Run) -> None:
        if await deploy_lock.release(run):
            run.notice("Released the deploy lock", level="result")
        else:
            run.notice("There is no deploy lock", level="result")

    return run_command(args, "lock", "release", body)


def status(args: argparse.Namespace) -> int:
    async def body(run: Run) -> None:
        details = await deploy_lock.status(run)
        if details is None:
            run.notice("There is no deploy lock", level="result")
            return
        for line in details.splitlines():
            run.notice(line, level="result")

    return run_command(args, "lock", "status", body)
