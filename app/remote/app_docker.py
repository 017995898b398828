"""The Docker API calls of the deploy flow, each the equivalent of one docker CLI command Kamal runs.

Every function takes a `RemoteHost` (one SSH connection, the docker socket forwarded through it) and
maps engine errors to `DockerCommandError` ("Error response from daemon: ...") and lost connections
to `HostUnreachable`, so callers never see aiodocker or aiohttp types.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import aiodocker
import aiohttp

from app.remote import docker_streams
from app.remote.docker_errors import DockerCommandError
from app.remote.engine_api import NO_TIMEOUT, engine_error
from app.remote.errors import HostUnreachable
from app.remote.host import RemoteHost

T = TypeVar("T")


async def _call(host: RemoteHost, what: str, work: Callable[[aiodocker.Docker], Awaitable[T]]) -> T:
    docker = await host.docker()
    try:
        try:
            return await work(docker)
        except aiodocker.DockerError as error:
            raise engine_error(error) from error
    except DockerCommandError as error:
        if str(error).startswith("Cannot connect to Docker Engine"):  # the forwarded socket died with the SSH link
            raise HostUnreachable(host.name, f"connection lost during {what} (the SSH connection closed)") \
                from error
        raise
    except (aiohttp.ClientConnectionError, ConnectionError, asyncio.IncompleteReadError) as error:
        raise HostUnreachable(host.name, f"connection lost during {what}: {error}") from error


async def _request(docker: aiodocker.Docker, path: str, method: str = "POST", params: dict[str, str] | None = None,
                   timeout: aiohttp.ClientTimeout | None = None) -> None:
    """One API request whose (empty or ignored) body we only drain."""
    kwargs: dict[str, Any] = {"params": params or {}}
    if timeout is not None:
        kwargs["timeout"] = timeout
    async with docker._query(path, method, **kwargs) as response:
        await response.read()


def _filters(filters: Mapping[str, Sequence[str]]) -> str:
    return json.dumps({key: list(values) for key, values in filters.items()})


# ---------------------------------------------------------------- containers

async def list_containers(host: RemoteHost, filters: Mapping[str, Sequence[str]], *,
                          all_states: bool = True) -> list[dict[str, Any]]:
    """`docker ps [-a] --filter ...`: container summaries, newest first (the CLI's order)."""

    async def work(docker: aiodocker.Docker) -> list[dict[str, Any]]:
        params = {"all": "1" if all_states else "0", "filters": _filters(filters)}
        return await docker._query_json("containers/json", method="GET", params=params)

    summaries = await _call(host, "docker ps", work)
    return sorted(summaries, key=lambda summary: summary.get("Created", 0), reverse=True)


def container_name(summary: Mapping[str, Any]) -> str:
    names = summary.get("Names") or [""]
    return str(names[0]).lstrip("/")


async def container_id_by_name(host: RemoteHost, name: str, *, only_running: bool = False) -> str | None:
    """`docker container ls [--all] --filter 'name=^NAME$' --quiet` (first id, 12 hex, or None)."""
    found = await list_containers(host, {"name": [f"^{name}$"]}, all_states=not only_running)
    return str(found[0]["Id"])[:12] if found else None


async def image_id(host: RemoteHost, reference: str) -> str | None:
    async def work(docker: aiodocker.Docker) -> str | None:
        try:
            inspected = await docker.images.inspect(reference)
        except aiodocker.DockerError as error:
            if error.status == 404:
                return None
            raise
        return str(inspected["Id"])

    return await _call(host, "docker image inspect", work)


async def inspect_container(host: RemoteHost, container: str) -> dict[str, Any]:
    async def work(docker: aiodocker.Docker) -> dict[str, Any]:
        return await docker._query_json(f"containers/{container}/json", method="GET")

    return await _call(host, "docker inspect", work)


async def health_status(host: RemoteHost, container: str) -> str:
    """`{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}`."""
    state = (await inspect_container(host, container)).get("State") or {}
    health = state.get("Health")
    return str(health.get("Status") if health else state.get("Status", ""))


async def health_log(host: RemoteHost, container: str) -> str:
    """`{{json .State.Health}}`."""
    state = (await inspect_container(host, container)).get("State") or {}
    return json.dumps(state.get("Health"), separators=(",", ":"))


async def start(host: RemoteHost, container: str) -> None:
    async def work(docker: aiodocker.Docker) -> None:
        await _request(docker, f"containers/{container}/start")

    await _call(host, "docker start", work)


async def stop(host: RemoteHost, container: str, timeout: int | None = None) -> None:
    """`docker stop [-t N]`: without -t the engine uses the container's own stop timeout (10s default)."""

    async def work(docker: aiodocker.Docker) -> None:
        params = {"t": str(timeout)} if timeout is not None else {}
        # The HTTP call must outlive the stop timeout itself (without -t: the container's own, like the CLI).
        client_timeout = aiohttp.ClientTimeout(total=timeout + 60) if timeout is not None else NO_TIMEOUT
        await _request(docker, f"containers/{container}/stop", params=params, timeout=client_timeout)

    await _call(host, "docker stop", work)


async def rename(host: RemoteHost, container: str, new_name: str) -> None:
    async def work(docker: aiodocker.Docker) -> None:
        await _request(docker, f"containers/{container}/rename", params={"name": new_name})

    await _call(host, "docker rename", work)


async def remove_container(host: RemoteHost, container: str) -> None:
    async def work(docker: aiodocker.Docker) -> None:
        await _request(docker, f"containers/{container}", method="DELETE")

    await _call(host, "docker rm", work)


async def prune_containers(host: RemoteHost, filters: Mapping[str, Sequence[str]]) -> list[str]:
    async def work(docker: aiodocker.Docker) -> list[str]:
        result = await docker._query_json("containers/prune", method="POST",
                                          params={"filters": _filters(filters)})
        return list(result.get("ContainersDeleted") or [])

    return await _call(host, "docker container prune", work)


async def logs(host: RemoteHost, container: str, *, tail: int | None = None, since: str | None = None,
               timestamps: bool = False) -> list[str]:
    """`docker logs [--tail N] [--since S] [--timestamps] CONTAINER 2>&1` as lines (stdout and stderr)."""

    async def work(docker: aiodocker.Docker) -> list[str]:
        return [line.text async for line in docker_streams.container_logs(docker, container, tail=tail, since=since,
                                                                           timestamps=timestamps)]

    return await _call(host, "docker logs", work)


async def follow_logs(host: RemoteHost, container: str, *, tail: int | None = 10,
                      timestamps: bool = True) -> AsyncIterator[str]:
    """`docker logs --tail N --follow CONTAINER 2>&1`: lines until the container stops or the caller stops."""
    docker = await host.docker()
    async for line in docker_streams.container_logs(docker, container, tail=tail, timestamps=timestamps, follow=True):
        yield line.text


async def exec_capture(host: RemoteHost, container: str, argv: Sequence[str], *,
                       env: Mapping[str, str] | None = None) -> tuple[int, str]:
    """`docker exec CONTAINER ARGV...`: (exit code, stdout+stderr in arrival order)."""

    async def work(docker: aiodocker.Docker) -> tuple[int, str]:
        target = docker.containers.container(container)
        environment = [f"{key}={value}" for key, value in (env or {}).items()] or None
        execution = await target.exec(list(argv), stdout=True, stderr=True, environment=environment)
        chunks: list[bytes] = []
        async with execution.start(detach=False) as stream:
            while (message := await stream.read_out()) is not None:
                chunks.append(message.data)
        details = await execution.inspect()
        return int(details.get("ExitCode") or 0), b"".join(chunks).decode(errors="replace")

    return await _call(host, "docker exec", work)


# ---------------------------------------------------------------- images

async def tag(host: RemoteHost, source: str, target: str) -> None:
    """`docker tag SOURCE REPO:TAG`."""
    repository, _, tag_name = target.rpartition(":")
    if "/" in tag_name or not repository:
        repository, tag_name = target, "latest"

    async def work(docker: aiodocker.Docker) -> None:
        await docker.images.tag(source, repository, tag=tag_name)

    await _call(host, "docker tag", work)


async def list_images(host: RemoteHost, filters: Mapping[str, Sequence[str]]) -> list[dict[str, Any]]:
    async def work(docker: aiodocker.Docker) -> list[dict[str, Any]]:
        return await docker._query_json("images/json", method="GET",
                                        params={"filters": _filters(filters)})

    return await _call(host, "docker image ls", work)


async def remove_image(host: RemoteHost, reference: str, *, force: bool = False) -> None:
    async def work(docker: aiodocker.Docker) -> None:
        await docker.images.delete(reference, force=force)

    await _call(host, "docker rmi", work)


async def prune_images(host: RemoteHost, filters: Mapping[str, Sequence[str]], *, dangling_only: bool) -> None:
    """`docker image prune [--all] --force --filter ...`."""

    async def work(docker: aiodocker.Docker) -> None:
        query = {key: list(values) for key, values in filters.items()}
        query["dangling"] = ["true" if dangling_only else "false"]
        await docker._query_json("images/prune", method="POST",
                                 params={"filters": json.dumps(query)})

    await _call(host, "docker image prune", work)


def raise_unless_ok(exit_code: int, output: str, command: str) -> None:
    if exit_code != 0:
        last = output.strip().splitlines()[-1] if output.strip() else "no output"
        raise DockerCommandError(f"`{command}` failed (exit {exit_code}): {last}")
