"""The deploy flows: `setup`, `deploy`, `redeploy`, `rollback` (Kamal::Cli::Main), in Kamal 2.11's order.

deploy: build deliver (or pull with -P) without the lock; then under the lock pre-deploy hook, proxy
boot, stale containers stop, app boot, prune all; release; post-deploy hook with KAMAL_RUNTIME.
setup: the lock for the whole run, server bootstrap, then deploy with `accessory boot all` right
after proxy boot (post-deploy runs while the lock is still held). The lock is also released when
the run is interrupted (SIGINT/SIGTERM cancel the run; `lock.held` releases in a shielded finally).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

from app.engine import app_boot, lock
from app.engine.app_host import AppOnHost
from app.engine.hooks import run_hook
from app.engine.prune import prune_all
from app.engine.runner import Run
from app.errors import ShipdeckError


class RollbackUnavailable(ShipdeckError):
    """The requested version has no container on some app host/role."""


@contextmanager
def using_version(run: Run, version: str) -> Iterator[str]:
    """Kamal's `using_version`: the config's version is `version` for the block (audit lines, hooks)."""
    previous = run.config
    run.config = dataclasses.replace(previous, version=version)
    if run.targets is not None:
        run.targets.config = run.config
    try:
        yield version
    finally:
        run.config = previous
        if run.targets is not None:
            run.targets.config = previous


async def stale_containers(run: Run, *, stop: bool) -> list[tuple[str, str, str]]:
    """Running containers of each role that are not its current version; stopped with `stop`.

    Returns (host, role, version) for each stale container found.
    """
    found: list[tuple[str, str, str]] = []

    async def on_host(host: str) -> None:
        for role in run.targets.roles_on(host):
            app = AppOnHost(run, host, role, step="app.stale_containers")
            async with run.step("app.stale_containers", f"Detect stale {role.name} containers", host=host,
                                role=role.name):
                # Two independent reads at once (each shows its command first, in Kamal's order)
                versions, current = await asyncio.gather(app.list_versions(), app.current_running_version())
                for version in versions:
                    if version == current:
                        continue
                    found.append((host, role.name, version))
                    if stop:
                        run.notice(f"Stopping stale container for role {role.name} with version {version}", host=host)
                        await app.stop(version)
                    else:
                        run.notice(f"Detected stale container for role {role.name} with version {version} "
                                   "(use `kamal app stale_containers --stop` to stop)", host=host)

    if stop:
        async with lock.held(run):
            await run.on_hosts(run.targets.app_hosts, on_host)
    else:
        await run.on_hosts(run.targets.app_hosts, on_host)
    return found


async def boot_app(run: Run, version: str | None) -> None:
    """`app boot`: under the lock, `version` (or the latest tag) on every targeted host and role."""
    async with lock.held(run):
        if version is None:
            run.notice("Get most recent version available as an image...")
        with using_version(run, version or run.config.latest_tag) as booting:
            run.notice(f"Start container with version {booting} (or reboot if already running)...")
            await app_boot.boot(run, booting)


async def deliver_image(run: Run) -> None:
    from app.engine import build

    if run.options.skip_push:
        run.notice("Pull app image...")
        await build.pull(run)
    else:
        run.notice("Build and push app image...")
        await build.deliver(run)


async def _deploy_locked(run: Run, version: str, *, boot_accessories: bool, full: bool) -> None:
    """The part of deploy/redeploy that runs under the lock."""
    await run_hook(run, "pre-deploy", secrets=True)
    if full:
        from app.engine import proxy_ops

        run.notice("Ensure kamal-proxy is running...")
        await proxy_ops.boot(run)
        if boot_accessories:
            from app.engine import accessories

            await accessories.boot_all(run)
    run.notice("Detect stale containers...")
    await stale_containers(run, stop=True)
    await boot_app(run, version)
    if full:
        run.notice("Prune old containers and images...")
        await prune_all(run)


def check_secrets(run: Run, *, boot_accessories: bool) -> None:
    """Every secret this deploy will hand out, resolved before any connection: a missing one, a bad line
    or a failing `$(...)` in .kamal/secrets stops it here (exit 2), not halfway on the first host."""
    from app.engine.auto import secret_references

    run.secrets.check(secret_references(run.config, accessories=boot_accessories, build=not run.options.skip_push))


async def deploy(run: Run, *, boot_accessories: bool = False, full: bool = True) -> None:
    """`kamal deploy` (full) or `kamal redeploy` (not full: no proxy boot, no prune)."""
    version = run.config.require_version()
    check_secrets(run, boot_accessories=boot_accessories)
    await deliver_image(run)
    async with lock.held(run):
        await _deploy_locked(run, version, boot_accessories=boot_accessories, full=full)
    await run_hook(run, "post-deploy", secrets=True, runtime=str(round(run.runtime)))


async def redeploy(run: Run) -> None:
    await deploy(run, full=False)


async def setup(run: Run) -> None:
    """`kamal setup`: one lock for bootstrap, the deploy and its post-deploy hook."""
    run.config.require_version()
    check_secrets(run, boot_accessories=True)
    async with lock.held(run):
        from app.engine import server

        run.notice("Ensure Docker is installed...")
        await server.bootstrap(run)
        await deploy(run, boot_accessories=True)


async def missing_containers(run: Run, version: str) -> list[str]:
    """`host (role)` for every app host/role without a container of `version`."""
    missing: list[str] = []

    async def on_host(host: str) -> None:
        for role in run.targets.roles_on(host):
            app = AppOnHost(run, host, role, step="rollback.check")
            if not await app.container_id(version):
                missing.append(f"{host} ({role.name})")

    async with run.step("rollback.check", f"Look for containers of version {version}"):
        await run.on_hosts(run.targets.app_hosts, on_host)
    return missing


async def rollback(run: Run, version: str) -> None:
    """`kamal rollback VERSION`: boot a version whose containers are still on every app host."""
    rolled_back = False
    async with lock.held(run):
        run.config = dataclasses.replace(run.config, version=version)
        run.targets.config = run.config
        missing = await missing_containers(run, version)
        if missing:
            message = (f"The app version '{version}' is not available as a container "
                       "(use 'kamal app containers' for available versions)")
            run.notice(f"Error looking for container version {version}: Container not found on "
                       + ", ".join(missing), level="error")
            raise RollbackUnavailable(message)
        await run_hook(run, "pre-deploy", secrets=True)
        await boot_app(run, version)
        rolled_back = True
    if rolled_back:
        await run_hook(run, "post-deploy", secrets=True, runtime=str(round(run.runtime)))
