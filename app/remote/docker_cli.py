"""The container commands Kamal runs on a host, executed through the Engine API (aiodocker over the
host's forwarded docker socket) with the docker CLI's semantics. Each function names the command it
mirrors. Image commands live in `docker_images`, logs and exec in `docker_streams`, and the
translation of a `docker run` command string in `docker_run`.

Filters are given as the CLI's `--filter` expressions (`label=service=app`, `label=destination=`,
`name=^app-web-42$`, `status=running`), exactly as `app.contract` spells them for Kamal; an empty
value (`label=destination=`) matches only the empty label value, which is what Kamal relies on.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiodocker

from app.remote.docker_errors import DockerCommandError
from app.remote.docker_images import pull_image
from app.remote.docker_run import RunRequest
from app.remote.docker_streams import collect_output
from app.remote.engine_api import NO_TIMEOUT, call, encode_filters, filters_from_cli, open_response


@dataclass(frozen=True)
class RunResult:
    """A detached run gives the id only; an attached run also the exit code and the output."""

    container_id: str
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""


@dataclass(frozen=True)
class ContainerSummary:
    id: str
    name: str
    image: str
    state: str
    labels: dict[str, str]


# -- docker run -----------------------------------------------------------------------------------

async def run_container(docker: aiodocker.Docker, request: RunRequest, *, auth: Mapping[str, str] | None = None,
                        stdin: bytes | None = None) -> RunResult:
    """`docker run ...`: pull when the policy says so, create, start (and, without --detach, attach,
    wait and collect the output as the CLI does). `auth` is used for any pull the run needs."""
    if request.pull == "always":
        await pull_image(docker, request.image, auth=auth, platform=request.platform)
    container_id = await _create(docker, request, auth)
    if request.detach:
        await _start(docker, container_id)
        return RunResult(container_id)
    return await _run_attached(docker, container_id, request, stdin)


async def _create(docker: aiodocker.Docker, request: RunRequest, auth: Mapping[str, str] | None) -> str:
    try:
        created = await call(docker, "POST", "containers/create", params=request.create_params(), body=request.body)
    except DockerCommandError as error:
        if error.status != 404 or "No such image" not in str(error) or request.pull != "missing":
            raise
        try:
            await pull_image(docker, request.image, auth=auth, platform=request.platform)
        except DockerCommandError as pull_error:
            raise DockerCommandError(f"Unable to find image '{request.image}' locally, and pulling it failed: "
                                     f"{pull_error}", status=pull_error.status) from pull_error
        created = await call(docker, "POST", "containers/create", params=request.create_params(), body=request.body)
    return created["Id"]


async def _start(docker: aiodocker.Docker, container_id: str) -> None:
    """A start failure leaves the created container behind, exactly as with the CLI."""
    await call(docker, "POST", f"containers/{container_id}/start")


async def _run_attached(docker: aiodocker.Docker, container_id: str, request: RunRequest,
                        stdin: bytes | None) -> RunResult:
    condition = "removed" if request.auto_remove else "next-exit"
    async with open_response(docker, "POST", f"containers/{container_id}/wait",
                             params={"condition": condition}) as waiter:
        stream = docker.containers.container(container_id).attach(
            stdout=True, stderr=True, stdin=request.interactive)
        async with stream:  # attached before the start, so no output is lost
            await _start(docker, container_id)
            stdout, stderr, _ = await collect_output(stream, stdin if request.interactive else None)
        status = json.loads(await waiter.text())
    if (status.get("Error") or {}).get("Message"):
        raise DockerCommandError(status["Error"]["Message"])
    return RunResult(container_id, status.get("StatusCode"), stdout, stderr)


# -- stop, rename, list, inspect ------------------------------------------------------------------

async def container_summaries(docker: aiodocker.Docker, filters: Sequence[str] = (), *, all_states: bool = False,
                              latest: bool = False) -> list[dict[str, Any]]:
    """`docker ps [--all] [--latest] --filter ...` (also `docker container ls`): the engine's summaries,
    newest first like the CLI. `--latest` is the engine's `limit=1`, which includes every state."""
    params = {"filters": encode_filters(filters_from_cli(list(filters)))}
    if all_states:
        params["all"] = "1"
    if latest:
        params["limit"] = "1"
    summaries = await call(docker, "GET", "containers/json", params=params)
    return sorted(summaries, key=lambda summary: summary.get("Created", 0), reverse=True)


async def list_containers(docker: aiodocker.Docker, filters: Sequence[str] = (), *, all_states: bool = False,
                          latest: bool = False) -> list[ContainerSummary]:
    """`docker ps ...` as `container_summaries`, typed."""
    return [ContainerSummary(item["Id"], (item.get("Names") or ["/"])[0].lstrip("/"), item.get("Image", ""),
                             item.get("State", ""), item.get("Labels") or {})
            for item in await container_summaries(docker, filters, all_states=all_states, latest=latest)]


async def container_ids(docker: aiodocker.Docker, filters: list[str], *, latest: bool = False) -> list[str]:
    """`docker container ls --all --filter ... --quiet` (full ids; the CLI prints them shortened)."""
    return [summary.id for summary in await list_containers(docker, filters, all_states=True, latest=latest)]


async def stop_containers(docker: aiodocker.Docker, filters: list[str], *, timeout: int | None = None) -> list[str]:
    """`docker container ls --all --filter F --quiet | xargs docker stop [-t N]`; returns the ids stopped.

    Without `timeout` the engine waits the container's own `--stop-timeout`, else its default (10 s),
    before SIGKILL, as `docker stop` without `-t` does; -1 waits forever. The HTTP request therefore
    has no client-side timeout. With no match nothing is stopped (Kamal ignores that `xargs` failure)."""
    ids = await container_ids(docker, filters)
    results = await asyncio.gather(*(stop_container(docker, cid, timeout=timeout) for cid in ids),
                                   return_exceptions=True)
    failures = [result for result in results if isinstance(result, BaseException)]
    if failures:
        raise failures[0]
    return ids


async def stop_container(docker: aiodocker.Docker, container: str, *, timeout: int | None = None) -> None:
    """`docker stop [-t N] CONTAINER`: without -t the engine waits the container's own stop timeout.
    The HTTP request has no client-side timeout, since the stop itself may take that long."""
    params = {} if timeout is None else {"t": str(timeout)}
    await call(docker, "POST", f"containers/{container}/stop", params=params, timeout=NO_TIMEOUT)


def name_filter(name: str) -> str:
    """Kamal's exact-name filter, `--filter 'name=^NAME$'` (the name goes in unescaped, as in Kamal)."""
    return f"name=^{name}$"


async def start_container(docker: aiodocker.Docker, container: str) -> None:
    """`docker container start NAME` (Kamal: `app start`, `proxy boot`'s `docker container start kamal-proxy`)."""
    await call(docker, "POST", f"containers/{container}/start")


async def rename_container(docker: aiodocker.Docker, container: str, new_name: str) -> None:
    """`docker rename OLD NEW` (Kamal renames a same-version container to `..._replaced_<hex>`)."""
    await call(docker, "POST", f"containers/{container}/rename", params={"name": new_name})


async def inspect_container(docker: aiodocker.Docker, container: str) -> dict[str, Any]:
    """`docker inspect CONTAINER` (the object, not a one-element list)."""
    return await call(docker, "GET", f"containers/{container}/json")


def health_or_state(info: Mapping[str, Any]) -> str:
    """`--format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}'`."""
    state = info.get("State") or {}
    health = state.get("Health")
    return health["Status"] if health else state.get("Status", "")


def health_json(info: Mapping[str, Any]) -> str:
    """`--format '{{json .State.Health}}'` (Kamal prints it when a new container fails)."""
    return json.dumps((info.get("State") or {}).get("Health"), separators=(",", ":"))  # Go's compact JSON


def image_version(info: Mapping[str, Any]) -> str:
    """`--format '{{.Config.Image}}' | awk -F: '{print $NF}'` (Kamal reads kamal-proxy's version so)."""
    return (info.get("Config") or {}).get("Image", "").split(":")[-1]


# -- networks and pruning -------------------------------------------------------------------------

async def create_network(docker: aiodocker.Docker, name: str = "kamal") -> bool:
    """`docker network create kamal`; False when it already exists (Kamal ignores that error)."""
    body = {"Attachable": False, "CheckDuplicate": True, "ConfigFrom": None, "ConfigOnly": False, "Driver": "bridge",
            "IPAM": {"Config": [], "Driver": "default", "Options": {}}, "Ingress": False, "Internal": False,
            "Labels": {}, "Name": name, "Options": {}, "Scope": ""}
    try:
        await call(docker, "POST", "networks/create", body=body)
    except DockerCommandError as error:
        if error.status == 409 or "already exists" in str(error):
            return False
        raise
    return True


async def prune_containers(docker: aiodocker.Docker, filters: Sequence[str]) -> list[str]:
    """`docker container prune --force --filter ...` (stopped containers only); returns the ids removed."""
    result = await call(docker, "POST", "containers/prune",
                        params={"filters": encode_filters(filters_from_cli(list(filters)))})
    return list((result or {}).get("ContainersDeleted") or [])
