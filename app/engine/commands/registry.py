"""`registry setup|remove|login|logout` as engine operations.

A remote registry: `docker login|logout` locally and on every targeted host (passwords on stdin);
`setup` is `login` and `remove` is `logout`. A local registry (`localhost:<port>`): `setup` starts
`kamal-docker-registry` on this machine, `remove` stops and removes it, and `login`/`logout` refuse
with Kamal's messages.
"""

from __future__ import annotations

from app.engine import local_registry, registry_ops
from app.engine.options import RegistryOptions
from app.engine.runner import Run
from app.errors import UsageError


def _refuse_local(run: Run, command: str, instead: str) -> None:
    if run.config.registry.local:
        raise UsageError(f"Cannot use {command} command with a local registry. Use `kamal registry {instead}` "
                         "instead.")


async def _login(run: Run, args: RegistryOptions) -> None:
    server = run.config.registry.server or "Docker Hub"
    if not args.skip_local:
        async with run.step("registry.login", f"docker login {server} (locally)"):
            await registry_ops.login_locally(run)
    if args.skip_remote:
        return

    async def one(host: str) -> None:
        async with run.step("registry.login", f"docker login {server}", host=host):
            await registry_ops.login_on_host(run, host, force=True)

    await run.on_hosts(run.target_hosts(), one)


async def _logout(run: Run, args: RegistryOptions) -> None:
    command = registry_ops.logout_command(run.config.registry)
    if not args.skip_local:
        async with run.step("registry.logout", f"{command} (locally)"):
            await registry_ops.logout_locally(run)
    if args.skip_remote:
        return

    async def one(host: str) -> None:
        async with run.step("registry.logout", command, host=host):
            await registry_ops.logout_on_host(run, host)

    await run.on_hosts(run.target_hosts(), one)


async def setup(run: Run, args: RegistryOptions) -> None:
    if not run.config.registry.local:
        await _login(run, args)
    elif not args.skip_local:
        await local_registry.start(run)


async def remove(run: Run, args: RegistryOptions) -> None:
    if not run.config.registry.local:
        await _logout(run, args)
    elif not args.skip_local:
        await local_registry.remove(run)


async def login(run: Run, args: RegistryOptions) -> None:
    _refuse_local(run, "login", "setup")
    await _login(run, args)


async def logout(run: Run, args: RegistryOptions) -> None:
    _refuse_local(run, "logout", "remove")
    await _logout(run, args)
