"""This machine's Docker Engine (where images are built, like Kamal's local builder), over its API.

The engine is `DOCKER_HOST` when set, else `/var/run/docker.sock`. Builds post the context as a
tar stream to `/build` (the classic builder: what the Engine API offers without a BuildKit
session); output arrives as JSON lines, and an error inside that stream becomes `BuildFailed`
carrying the build's last lines. Pushes carry the registry credentials in `X-Registry-Auth`.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from typing import IO, Any

import aiodocker
import aiohttp

from app.errors import ShipdeckError
from app.remote.docker_ops import RegistryAuth
from app.remote.engine_api import json_lines

_KEPT_LINES = 15
_CHUNK = 256 * 1024


class LocalDockerUnavailable(ShipdeckError):
    """No Docker engine answers on this machine."""


class BuildFailed(ShipdeckError):
    """The engine reported an error while building; `last_lines` is what the build printed before."""

    def __init__(self, message: str, last_lines: Sequence[str]) -> None:
        self.last_lines = tuple(last_lines)
        tail = "\n".join(self.last_lines)
        super().__init__(f"{message}\n{tail}" if tail else message)


class PushFailed(ShipdeckError):
    """The registry or the engine refused a push."""


class LocalContainerError(ShipdeckError):
    """The local engine refused to create, start, stop or remove a container."""


def _docker_message(error: aiodocker.DockerError) -> str:
    return error.message if isinstance(error.message, str) else json.dumps(error.message)


def engine_url() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


class LocalDocker:
    """`async with LocalDocker() as docker:` — one client for the local engine."""

    def __init__(self) -> None:
        self._docker: aiodocker.Docker | None = None

    async def __aenter__(self) -> LocalDocker:
        try:
            self._docker = aiodocker.Docker(url=os.environ.get("DOCKER_HOST") or None)
            await self._docker.version()
        except (aiodocker.DockerError, OSError, ValueError, Exception) as error:
            if self._docker is not None:
                await self._docker.close()
            raise LocalDockerUnavailable(
                f"Docker is not running locally (no engine answers at {engine_url()}): {error}") from error
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._docker is not None:
            await self._docker.close()
            self._docker = None

    @property
    def client(self) -> aiodocker.Docker:
        assert self._docker is not None, "use LocalDocker as an async context manager"
        return self._docker

    async def info(self) -> dict[str, Any]:
        return await self.client.system.info()

    async def architecture(self) -> str:
        """The engine's architecture in Docker's words (`amd64`, `arm64`), as Kamal's docker_arch."""
        arch = str((await self.info()).get("Architecture", ""))
        return {"x86_64": "amd64", "aarch64": "arm64"}.get(arch, arch)

    async def build(self, context: IO[bytes], *, tags: Sequence[str], dockerfile: str,
                    target: str | None = None, buildargs: Mapping[str, str] | None = None,
                    labels: Mapping[str, str] | None = None, nocache: bool = False,
                    platform: str | None = None) -> AsyncIterator[str]:
        """POST /build with `context` (an uncompressed tar file object); yields the build's output lines."""
        params: list[tuple[str, str]] = [("t", tag) for tag in tags]
        params += [("dockerfile", dockerfile), ("rm", "1"), ("forcerm", "0")]
        if target:
            params.append(("target", target))
        if buildargs:
            params.append(("buildargs", json.dumps(dict(buildargs))))
        if labels:
            params.append(("labels", json.dumps(dict(labels))))
        if nocache:
            params.append(("nocache", "1"))
        if platform:
            params.append(("platform", platform))

        async def body() -> AsyncIterator[bytes]:
            while chunk := context.read(_CHUNK):
                yield chunk

        recent: deque[str] = deque(maxlen=_KEPT_LINES)
        try:
            async with self._post_repeated("build", params, body()) as response:
                pending = ""
                async for item in json_lines(response):
                    if "error" in item:
                        if pending:
                            recent.append(pending)
                        detail = (item.get("errorDetail") or {}).get("message") or item["error"]
                        raise BuildFailed(f"Build failed: {str(detail).strip()}", recent)
                    text = item.get("stream")
                    if text is None and item.get("status"):
                        text = f"{item.get('id', '')}: {item['status']}\n" if item.get("id") else f"{item['status']}\n"
                    if not text:
                        continue
                    pending += text
                    *lines, pending = pending.split("\n")
                    for line in lines:
                        recent.append(line)
                        yield line
                if pending:
                    yield pending
        except aiodocker.DockerError as error:
            message = error.message if isinstance(error.message, str) else json.dumps(error.message)
            raise BuildFailed(f"Build failed: {message}", recent) from error

    @asynccontextmanager
    async def _post_repeated(self, path: str, params: list[tuple[str, str]], data: Any) -> AsyncIterator[Any]:
        """POST with a query that repeats a key (`t=a&t=b`), which aiodocker's request helper cannot send."""
        client = self.client
        await client._check_version()
        url = client._canonicalize_url(path).extend_query(params)
        response = await client.session.request("POST", url, data=data, timeout=aiohttp.ClientTimeout(),
                                                headers={"Content-Type": "application/x-tar"}, chunked=True)
        try:
            if response.status >= 400:
                text = (await response.read()).decode(errors="replace")
                with suppress(ValueError):
                    text = json.loads(text).get("message", text)
                raise aiodocker.DockerError(response.status, text)
            yield response
        finally:
            response.release()

    async def push(self, image: str, auth: RegistryAuth | None) -> AsyncIterator[str]:
        """`docker push IMAGE` (name:tag): progress lines; errors in the stream raise PushFailed."""
        name, _, tag = image.rpartition(":")
        if not name or "/" in tag:
            name, tag = image, "latest"
        headers = {"X-Registry-Auth": auth.header() if auth else "placeholder"}
        try:
            async with self.client._query(f"images/{name}/push", "POST", params={"tag": tag}, headers=headers,
                                          timeout=None) as response:
                async for item in json_lines(response):
                    if "error" in item:
                        detail = (item.get("errorDetail") or {}).get("message") or item["error"]
                        raise PushFailed(f"Pushing {image} failed: {detail}")
                    status = item.get("status")
                    if status and not item.get("progressDetail"):
                        yield f"{item['id']}: {status}" if item.get("id") else str(status)
        except aiodocker.DockerError as error:
            message = error.message if isinstance(error.message, str) else json.dumps(error.message)
            raise PushFailed(f"Pushing {image} failed: {message}") from error

    async def container_state(self, name: str) -> dict[str, Any] | None:
        try:
            return await self.client._query_json(f"containers/{name}/json")
        except aiodocker.DockerError as error:
            if error.status == 404:
                return None
            raise

    async def start_container(self, name: str) -> None:
        """`docker start NAME` (a running container is left as it is)."""
        try:
            async with self.client._query(f"containers/{name}/start", "POST"):
                pass
        except aiodocker.DockerError as error:
            raise LocalContainerError(f"docker start {name} failed: {_docker_message(error)}") from error

    async def run_detached(self, name: str, image: str, *, publish: Mapping[str, tuple[str, int]]) -> None:
        """`docker run --detach -p IP:PORT:CPORT --name NAME IMAGE` (pulls IMAGE when it is missing).

        `publish` maps a container port (`5000/tcp`) to the host address and port it is published on.
        """
        config = {"Image": image, "ExposedPorts": {port: {} for port in publish},
                  "HostConfig": {"PortBindings": {port: [{"HostIp": ip, "HostPort": str(host_port)}]
                                                  for port, (ip, host_port) in publish.items()}}}
        try:
            try:
                await self.client._query_json("containers/create", "POST", params={"name": name},
                                              data=json.dumps(config), headers={"Content-Type": "application/json"})
            except aiodocker.DockerError as error:
                if error.status != 404:
                    raise
                await self.client.images.pull(image)
                await self.client._query_json("containers/create", "POST", params={"name": name},
                                              data=json.dumps(config), headers={"Content-Type": "application/json"})
        except aiodocker.DockerError as error:
            raise LocalContainerError(f"docker run {name} ({image}) failed: {_docker_message(error)}") from error
        await self.start_container(name)

    async def stop_container(self, name: str) -> None:
        try:
            async with self.client._query(f"containers/{name}/stop", "POST"):
                pass
        except aiodocker.DockerError as error:
            raise LocalContainerError(f"docker stop {name} failed: {_docker_message(error)}") from error

    async def remove_container(self, name: str) -> None:
        try:
            async with self.client._query(f"containers/{name}", "DELETE"):
                pass
        except aiodocker.DockerError as error:
            raise LocalContainerError(f"docker rm {name} failed: {_docker_message(error)}") from error
