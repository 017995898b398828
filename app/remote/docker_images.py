"""Image commands Kamal runs on hosts (pull, tag, rm, prune), through the Engine API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import aiodocker

from app.remote.docker_errors import DockerCommandError
from app.remote.docker_reference import parse_reference
from app.remote.engine_api import call, encode_filters, filters_from_cli, open_response, progress, registry_auth_header


def registry_auth(server: str, username: str, password: str) -> dict[str, str]:
    """The credentials `docker login SERVER -u U -p P` would store, for pulls through the API.
    Nothing is written on the host: each pull carries them in its X-Registry-Auth header."""
    return {"username": username, "password": password, "serveraddress": server}


async def pull_progress(docker: aiodocker.Docker, image: str, *, auth: Mapping[str, str] | None = None,
                        platform: str | None = None) -> AsyncIterator[dict[str, Any]]:
    """`docker pull IMAGE` (Kamal: `docker pull <image>`, `docker image pull <image>`): the engine's
    progress objects as they come. An error reported inside the stream (after HTTP 200) raises
    DockerCommandError."""
    try:
        reference = parse_reference(image)
    except ValueError as error:
        raise DockerCommandError(str(error)) from None
    params = {"fromImage": reference.familiar, "tag": reference.tag_or_digest}
    if platform:
        params["platform"] = platform
    headers = {"X-Registry-Auth": registry_auth_header(auth)}
    async with open_response(docker, "POST", "images/create", params=params, headers=headers) as response:
        async for item in progress(response):
            yield item


async def pull_image(docker: aiodocker.Docker, image: str, *, auth: Mapping[str, str] | None = None,
                     platform: str | None = None,
                     on_progress: Callable[[dict[str, Any]], None] | None = None) -> None:
    """`docker pull IMAGE` to its end (`pull_progress`, each object handed to `on_progress`)."""
    async for item in pull_progress(docker, image, auth=auth, platform=platform):
        if on_progress is not None:
            on_progress(item)


async def tag_image(docker: aiodocker.Docker, source: str, target: str) -> None:
    """`docker tag SOURCE TARGET` (Kamal: `docker tag <repo>:<version> <repo>:latest[-dest]`)."""
    try:
        reference = parse_reference(target)
    except ValueError as error:
        raise DockerCommandError(str(error)) from None
    await call(docker, "POST", f"images/{quote(source, safe='/:@')}/tag",
               params={"repo": reference.repository, "tag": reference.tag or "latest"})


async def remove_image(docker: aiodocker.Docker, image: str, *, force: bool = True) -> bool:
    """`docker image rm [--force] IMAGE`. Like the CLI with --force, a missing image is not a failure
    (the CLI prints the error but exits 0): returns False then, True when something was removed."""
    try:
        await call(docker, "DELETE", f"images/{quote(image, safe='/:@')}", params={"force": "1" if force else "0"})
    except DockerCommandError as error:
        if error.status == 404 and force:
            return False
        raise
    return True


async def prune_images(docker: aiodocker.Docker, filters: Sequence[str], *,
                       all_images: bool = False) -> list[str]:
    """`docker image prune [--all] --force --filter ...` (Kamal: `--filter label=service=S`).
    Without --all only dangling images go; returns the ids the engine reports deleted."""
    grouped = filters_from_cli(list(filters))
    grouped["dangling"] = ["false" if all_images else "true"]
    result = await call(docker, "POST", "images/prune", params={"filters": encode_filters(grouped)})
    return [item.get("Deleted") or item.get("Untagged") for item in (result or {}).get("ImagesDeleted") or []]


async def inspect_image(docker: aiodocker.Docker, image: str) -> dict[str, Any]:
    """`docker image inspect IMAGE` (the JSON object, not a list)."""
    return await call(docker, "GET", f"images/{quote(image, safe='/:@')}/json")


def image_label(info: Mapping[str, Any], label: str) -> str | None:
    """`docker inspect -f '{{ .Config.Labels.<label> }}' IMAGE` (Kamal checks the `service` label)."""
    return ((info.get("Config") or {}).get("Labels") or {}).get(label)
