"""The Docker commands Kamal runs on a server for app, accessory and proxy containers and their images,
one function per command, each naming the command it mirrors.

Conventions: every function takes a `RemoteHost` (one SSH connection, the docker socket forwarded
through it); filters are the CLI's `--filter` expressions (`label=service=app`, `status=running`), as
`app.contract` spells them; a missing object raises `DockerCommandError` with `status` 404, worded like
the CLI ("Error response from daemon: ..."), as the command would fail; a lost connection raises
`HostUnreachable`. Callers never see aiodocker or aiohttp types. The requests themselves are made by
the engine-level functions of `docker_cli`, `docker_images` and `docker_streams`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import aiodocker
import aiohttp

from app.remote import docker_cli, docker_images, docker_log_channel, docker_streams
from app.remote.docker_errors import DockerCommandError
from app.remote.engine_api import call, encode_filters, engine_error, filters_from_cli
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


# ---------------------------------------------------------------- containers

async def list_containers(host: RemoteHost, filters: Sequence[str], *,
                          all_states: bool = False) -> list[dict[str, Any]]:
    """`docker ps [-a] --filter ...`: the engine's container summaries, newest first (the CLI's order)."""
    return await _call(host, "docker ps",
                       lambda docker: docker_cli.container_summaries(docker, filters, all_states=all_states))


def container_name(summary: Mapping[str, Any]) -> str:
    names = summary.get("Names") or [""]
    return str(names[0]).lstrip("/")


async def container_id_by_name(host: RemoteHost, name: str, *, only_running: bool = False) -> str | None:
    """`docker container ls [--all] --filter 'name=^NAME$' --quiet` (first id, 12 hex, or None)."""
    found = await list_containers(host, [docker_cli.name_filter(name)], all_states=not only_running)
    return str(found[0]["Id"])[:12] if found else None


async def inspect_container(host: RemoteHost, container: str) -> dict[str, Any]:
    """`docker inspect CONTAINER` (the object); a missing container raises with status 404, as the CLI fails."""
    return await _call(host, "docker inspect", lambda docker: docker_cli.inspect_container(docker, container))


async def health_status(host: RemoteHost, container: str) -> str:
    """`docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}'`."""
    return docker_cli.health_or_state(await inspect_container(host, container))


async def health_log(host: RemoteHost, container: str) -> str:
    """`docker inspect --format '{{json .State.Health}}'`."""
    return docker_cli.health_json(await inspect_container(host, container))


async def start(host: RemoteHost, container: str) -> None:
    """`docker container start CONTAINER`."""
    await _call(host, "docker start", lambda docker: docker_cli.start_container(docker, container))


async def stop(host: RemoteHost, container: str, timeout: int | None = None) -> None:
    """`docker stop [-t N] CONTAINER`: without -t the engine uses the container's own stop timeout (10s default)."""
    await _call(host, "docker stop", lambda docker: docker_cli.stop_container(docker, container, timeout=timeout))


async def rename(host: RemoteHost, container: str, new_name: str) -> None:
    """`docker rename OLD NEW`."""
    await _call(host, "docker rename", lambda docker: docker_cli.rename_container(docker, container, new_name))


async def remove_container(host: RemoteHost, container: str, *, force: bool = False) -> None:
    """`docker rm [--force] CONTAINER`."""
    params = {"force": "1"} if force else None
    await _call(host, "docker rm", lambda docker: call(docker, "DELETE", f"containers/{container}", params=params))


async def prune_containers(host: RemoteHost, filters: Sequence[str]) -> list[str]:
    """`docker container prune --force --filter ...`: the ids removed."""
    return await _call(host, "docker container prune", lambda docker: docker_cli.prune_containers(docker, filters))


async def create_network(host: RemoteHost, name: str) -> bool:
    """`docker network create NAME`; False when it already exists (Kamal ignores that error)."""
    return await _call(host, "docker network create", lambda docker: docker_cli.create_network(docker, name))


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


async def stream_log_batches(host: RemoteHost, container: str, *, tail: int | None = None,
                             since: str | None = None,
                             follow: bool = True) -> AsyncIterator[list[docker_log_channel.StreamRun]]:
    """`docker logs --timestamps [--tail N] [--since S] [--follow] CONTAINER`, read in bulk over a channel of
    its own: a batch of (stream, lines) runs for each read, in arrival order, each line with Docker's RFC 3339
    timestamp in front of its text."""
    info = await inspect_container(host, container)
    params = docker_streams.logs_parameters(tail=tail, since=since, timestamps=True, follow=follow)
    engine_version = (host.docker_info or {}).get("ApiVersion")  # read when Docker was opened, as aiodocker does
    api_version = f"v{engine_version}" if engine_version else ""
    request = docker_log_channel.request_bytes(api_version, info["Id"], params)
    reader, writer = await host.docker_channel()
    try:
        async for batch in docker_log_channel.read_logs(reader, writer, request,
                                                       multiplexed=not info["Config"]["Tty"]):
            yield batch
    except (ConnectionError, asyncio.IncompleteReadError) as error:
        raise HostUnreachable(host.name, f"connection lost during docker logs: {error}") from error
    finally:
        writer.close()


async def exec_in_container(host: RemoteHost, container: str, argv: Sequence[str], *, stdin: bytes | None = None,
                            env: Mapping[str, str] | None = None) -> docker_streams.ExecResult:
    """`docker exec [-i] [--env K=V] CONTAINER ARGV...` (Kamal: `docker exec kamal-proxy kamal-proxy deploy ...`,
    `accessory exec --reuse`): exit code, stdout, stderr, and `output`, both streams in arrival order
    (`2>&1`). `stdin` is sent, then closed, like `-i < file`."""
    environment = [f"{key}={value}" for key, value in (env or {}).items()]
    return await _call(host, "docker exec", lambda docker: docker_streams.exec_in_container(
        docker, container, argv, stdin=stdin, env=environment))


async def exec_when_ready(host: RemoteHost, container: str, argv: Sequence[str],
                          ready: asyncio.Future[bool]) -> docker_streams.ExecResult | None:
    """`docker exec CONTAINER ARGV...` whose process is spawned now and released when `ready` resolves True
    (`docker_streams.exec_when_ready`); None when ARGV never ran (not released, or no `sh` in the container)."""
    return await _call(host, "docker exec", lambda docker: docker_streams.exec_when_ready(
        docker, container, argv, ready))


async def exec_into(host: RemoteHost, container: str, argv: Sequence[str],
                    sink: Callable[[bytes], None]) -> tuple[int, str]:
    """`docker exec CONTAINER ARGV... > file`: stdout streamed to `sink`; (exit code, stderr)."""
    return await _call(host, "docker exec", lambda docker: docker_streams.exec_into(docker, container, argv, sink))


# ---------------------------------------------------------------- images

async def tag(host: RemoteHost, source: str, target: str) -> None:
    """`docker tag SOURCE REPO:TAG` (Kamal: `docker tag <repo>:<version> <repo>:latest[-dest]`)."""
    await _call(host, "docker tag", lambda docker: docker_images.tag_image(docker, source, target))


async def inspect_image(host: RemoteHost, image: str) -> dict[str, Any]:
    """`docker image inspect IMAGE` (the object); a missing image raises with status 404."""
    return await _call(host, "docker image inspect", lambda docker: docker_images.inspect_image(docker, image))


async def list_images(host: RemoteHost, filters: Sequence[str]) -> list[dict[str, Any]]:
    """`docker image ls --filter ...`: the engine's image summaries."""

    async def work(docker: aiodocker.Docker) -> list[dict[str, Any]]:
        return await call(docker, "GET", "images/json",
                          params={"filters": encode_filters(filters_from_cli(list(filters)))})

    return await _call(host, "docker image ls", work)


async def remove_image(host: RemoteHost, image: str, *, force: bool = True) -> bool:
    """`docker image rm [--force] IMAGE` (Kamal always passes --force but for prune's `docker rmi` loop).
    With --force a missing image is no failure (False), as with the CLI; True when something was removed."""
    return await _call(host, "docker rmi", lambda docker: docker_images.remove_image(docker, image, force=force))


async def prune_images(host: RemoteHost, filters: Sequence[str], *, all_images: bool = False) -> list[str]:
    """`docker image prune [--all] --force --filter ...`: the ids the engine reports deleted."""
    return await _call(host, "docker image prune",
                       lambda docker: docker_images.prune_images(docker, filters, all_images=all_images))
