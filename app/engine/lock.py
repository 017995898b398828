"""Kamal's deploy lock: a directory on the primary host, `.kamal/lock-<service>[-<dest>]`.

Created with an atomic mkdir (SFTP), holding `details` (base64 of who/when/version/message, the
bytes Kamal's `echo "<base64>" > details` writes). Kamal releases it on errors; shipdeck also
releases it on Ctrl-C and SIGTERM (a cancelled CI job), so a stale lock needs a crash or SIGKILL.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from app import contract
from app.engine.runner import Run
from app.engine.tags import locked_by, utc_now_iso8601
from app.errors import ShipdeckError

AUTOMATIC_MESSAGE = "Automatic deploy lock"


class LockError(ShipdeckError):
    """The deploy lock is held by someone else."""


def ruby_encode64(data: bytes) -> str:
    """Ruby's Base64.encode64: a newline after every 60 characters and at the end."""
    encoded = base64.b64encode(data).decode()
    return "".join(encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60))


def lock_details(run: Run, message: str, version: str) -> str:
    return (f"Locked by: {locked_by(run.config.project_dir)} at {utc_now_iso8601()}\n"
            f"Version: {version}\nMessage: {message}")


def decode_details(content: bytes) -> str:
    try:
        return base64.b64decode(b"".join(content.split()), validate=False).decode(errors="replace")
    except (binascii.Error, ValueError):
        return content.decode(errors="replace")


def _paths(run: Run) -> tuple[str, str]:
    config = run.config
    return contract.lock_dir(config.service, config.destination), \
        contract.lock_details_path(config.service, config.destination)


def lock_host(run: Run) -> str:
    return run.targets.primary_host if run.targets is not None else run.config.primary_host


async def ensure_run_directory(run: Run) -> None:
    """`mkdir -p .kamal` on every targeted host (Kamal does this before locking)."""

    async def one(host: str) -> None:
        await run.host(host).makedirs(contract.RUN_DIRECTORY)

    await run.on_hosts(run.target_hosts(), one)


async def acquire(run: Run, message: str = AUTOMATIC_MESSAGE, version: str | None = None) -> None:
    """Take the lock or raise LockError with the holder's details (Kamal's message)."""
    await ensure_run_directory(run)
    directory, details_path = _paths(run)
    host = run.host(lock_host(run))
    version = version or run.config.version or ""
    async with run.step("lock.acquire", "Acquiring the deploy lock", host=host.name):
        if not await host.mkdir_exclusive(directory):
            holder = await status(run)
            run.notice("Deploy lock already in place!", level="error", host=host.name)  # Kamal's words
            raise LockError("Deploy lock found. Run 'kamal lock help' for more information"
                            + (f"\n{holder}" if holder else ""))
        details = ruby_encode64(lock_details(run, message, version).encode()) + "\n"
        await host.write_file(details_path, details.encode(), mode=0o644)
    run.holding_lock = True
    if run.on_lock_change is not None:
        run.on_lock_change(True)


async def release(run: Run) -> bool:
    """Remove the lock; False when there was none."""
    directory, details_path = _paths(run)
    host = run.host(lock_host(run))
    async with run.step("lock.release", "Releasing the deploy lock", host=host.name):
        await run.settle()  # the audit lines of what was done under the lock land before it goes
        removed = await host.remove_directory(directory, [details_path])
    run.holding_lock = False
    if not removed:
        return False
    if run.on_lock_change is not None:
        run.on_lock_change(False)
    return True


async def status(run: Run) -> str | None:
    """The decoded lock details, or None when unlocked."""
    _, details_path = _paths(run)
    content = await run.host(lock_host(run)).read_file(details_path)
    if content is None:
        return None
    return decode_details(content)


async def _acquire_waiting(run: Run) -> None:
    """`--lock-wait`: poll while another automatic deploy holds the lock (Kamal 2.12 semantics)."""
    deadline = asyncio.get_running_loop().time() + run.options.lock_wait_timeout
    while True:
        try:
            await acquire(run)
            return
        except LockError:
            holder = await status(run) or ""
            if holder and f"Message: {AUTOMATIC_MESSAGE}" not in holder:
                raise LockError("Deploy lock held manually, not waiting:\n" + holder) from None
            if asyncio.get_running_loop().time() >= deadline:
                raise LockError(f"Gave up waiting for the deploy lock after {run.options.lock_wait_timeout:g}s:\n"
                                + holder) from None
            run.notice(f"Deploy lock held, retrying in {run.options.lock_wait_interval:g}s")
            await asyncio.sleep(run.options.lock_wait_interval)


@asynccontextmanager
async def held(run: Run) -> AsyncIterator[None]:
    """Hold the lock for the block (re-entrant); always release it, on errors and cancellation too."""
    if run.holding_lock:
        yield
        return
    if run.options.lock_wait:
        await _acquire_waiting(run)
    else:
        await acquire(run)
    body_failed = True
    try:
        yield
        body_failed = False
    finally:
        # Shielded so that Ctrl-C / SIGTERM (task cancellation) cannot leave the lock behind.
        release_task = asyncio.ensure_future(release(run))
        try:
            await asyncio.shield(release_task)
        except asyncio.CancelledError:
            await release_task
            raise
        except Exception as error:
            if not body_failed:
                raise
            run.notice(f"Error releasing the deploy lock: {error}", level="error")
