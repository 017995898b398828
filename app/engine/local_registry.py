"""Kamal's local registry (`registry.server: localhost:<port>`).

This machine runs `kamal-docker-registry` (`registry:3`) published on `127.0.0.1:<port>`, started
through the local Engine API as Kamal's `docker start kamal-docker-registry || docker run --detach
-p 127.0.0.1:<port>:5000 --name kamal-docker-registry registry:3`. Nothing logs in. Servers reach it
as `localhost:<port>` through an SSH reverse forward of their `127.0.0.1:<port>`, held open over
each host's connection while they pull (the app image in `build pull`; accessory and proxy images
that live in such a registry while they start).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Iterable

from app import contract
from app.engine.runner import Run
from app.errors import ShipdeckError
from app.remote.local_docker import LocalContainerError, LocalDocker
from app.remote.reverse_forward import reverse_forward

STEP_SETUP = "registry.setup"
STEP_REMOVE = "registry.remove"
STEP_FORWARD = "registry.forward"
CONTAINER_PORT = "5000/tcp"


class LocalRegistryError(ShipdeckError):
    """The local registry could not be started, removed or reached from a server."""


# -- names and commands (Kamal's, for plans and output) ------------------------------------------

def setup_command(port: int) -> str:
    name = contract.LOCAL_REGISTRY_CONTAINER
    return (f"docker start {name} || docker run --detach -p 127.0.0.1:{port}:5000 --name {name} "
            f"{contract.LOCAL_REGISTRY_IMAGE}")


def remove_command() -> str:
    name = contract.LOCAL_REGISTRY_CONTAINER
    return f"docker stop {name} && docker rm {name}"


_LOCAL_IMAGE = re.compile(r"^localhost:(\d+)/")


def image_port(image: str | None) -> int | None:
    """The port of a `localhost:<port>/...` image reference (one served by a local registry), else None."""
    match = _LOCAL_IMAGE.match(image or "")
    return int(match.group(1)) if match else None


def published_port(state: dict) -> int | None:
    """The host port an existing registry container publishes its :5000 on (None: not published)."""
    bindings = ((state.get("HostConfig") or {}).get("PortBindings") or {}).get(CONTAINER_PORT) or []
    for binding in bindings:
        with contextlib.suppress(TypeError, ValueError):
            return int(binding.get("HostPort"))
    return None


def port_mismatch(state: dict, port: int) -> str | None:
    """Why an existing `kamal-docker-registry` cannot serve `localhost:<port>` (None: it can)."""
    published = published_port(state)
    if published is None or published == port:
        return None
    return (f"{contract.LOCAL_REGISTRY_CONTAINER} already exists and publishes 127.0.0.1:{published}, not "
            f"127.0.0.1:{port} as registry.server asks. Remove it (`shipdeck registry remove`) and run "
            "`shipdeck registry setup` again")


# -- this machine's registry container -----------------------------------------------------------

async def start(run: Run, docker: LocalDocker | None = None) -> str:
    """Start the existing registry container or run a new one: 'started' or 'ran'."""
    port = run.config.registry.local_port
    if not port:
        raise LocalRegistryError(f"registry.server {run.config.registry.server!r} names no port")
    async with run.step(STEP_SETUP, f"Starting the local registry on 127.0.0.1:{port}"):
        run.output(STEP_SETUP, setup_command(port))
        async with contextlib.AsyncExitStack() as stack:
            if docker is None:
                docker = await stack.enter_async_context(LocalDocker())
            try:
                state = await docker.container_state(contract.LOCAL_REGISTRY_CONTAINER)
                if state is not None:
                    problem = port_mismatch(state, port)
                    if problem:
                        raise LocalRegistryError(problem)
                    await docker.start_container(contract.LOCAL_REGISTRY_CONTAINER)
                    return "started"
                await docker.run_detached(contract.LOCAL_REGISTRY_CONTAINER, contract.LOCAL_REGISTRY_IMAGE,
                                          publish={CONTAINER_PORT: ("127.0.0.1", port)})
                return "ran"
            except LocalContainerError as error:
                raise LocalRegistryError(f"Cannot start the local registry on 127.0.0.1:{port}: {error}") \
                    from error


async def remove(run: Run) -> bool:
    """Stop and remove the registry container (False when there was none)."""
    async with run.step(STEP_REMOVE, "Removing the local registry"):
        run.output(STEP_REMOVE, remove_command())
        async with LocalDocker() as docker:
            if await docker.container_state(contract.LOCAL_REGISTRY_CONTAINER) is None:
                run.output(STEP_REMOVE, f"No such container: {contract.LOCAL_REGISTRY_CONTAINER}")
                return False
            await docker.stop_container(contract.LOCAL_REGISTRY_CONTAINER)
            await docker.remove_container(contract.LOCAL_REGISTRY_CONTAINER)
    return True


# -- the tunnel from the servers -----------------------------------------------------------------

@contextlib.asynccontextmanager
async def forwarded(run: Run, hosts: Iterable[str], port: int | None) -> AsyncIterator[None]:
    """Hold `127.0.0.1:<port>` of every host forwarded to this machine's registry (no-op without a port)."""
    hosts = list(dict.fromkeys(hosts))
    if not port or not hosts:
        yield
        return
    run.notice(f"Setting up local registry port forwarding to {', '.join(hosts)}...")
    async with contextlib.AsyncExitStack() as stack:
        async def one(host: str) -> None:
            await stack.enter_async_context(reverse_forward(run.host(host), port))

        results = await asyncio.gather(*(one(host) for host in hosts), return_exceptions=True)
        failures = [result for result in results if isinstance(result, BaseException)]
        if failures:
            raise LocalRegistryError("Error setting up port forwarding for the local registry: "
                                     + "; ".join(str(failure) for failure in failures)) from failures[0]
        yield


@contextlib.asynccontextmanager
async def for_image(run: Run, host: str, image: str | None) -> AsyncIterator[None]:
    """Forward the registry port on `host` while the block runs, if `image` lives in a local registry."""
    async with forwarded(run, [host], image_port(image)):
        yield
