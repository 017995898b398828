"""`lock acquire|release|status` as engine operations, with Kamal's messages as untitled results."""

from __future__ import annotations

from app.engine import lock as deploy_lock
from app.engine.runner import Run


async def acquire(run: Run, message: str) -> None:
    await deploy_lock.acquire(run, message, run.config.version or "")
    run.lines("lock.acquire", "", ["Acquired the deploy lock"])


async def release(run: Run) -> None:
    released = await deploy_lock.release(run)
    run.lines("lock.release", "", ["Released the deploy lock" if released else "There is no deploy lock"])


async def status(run: Run) -> str | None:
    """The lock's details as Kamal wrote them (None when there is no lock)."""
    details = await deploy_lock.status(run)
    run.lines("lock.status", "", details.splitlines() if details is not None else ["There is no deploy lock"])
    return details
