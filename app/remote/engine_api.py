"""Raw Engine API requests through an `aiodocker.Docker`, for the calls whose exact form matters
(create bodies, query parameters, registry-auth headers) and which aiodocker's helpers reshape.

aiodocker's request method is private API; it is used only here, with aiodocker pinned to <0.28.
Engine errors become `DockerCommandError` worded like the CLI ("Error response from daemon: ...").
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiodocker
import aiohttp

from app.remote.docker_errors import DockerCommandError, daemon_error
from app.remote.engine_channels import ChannelDocker, EngineUnreachable

NO_TIMEOUT = aiohttp.ClientTimeout()  # long operations: pulls, stops, waits, followed logs


def encode_filters(filters: Mapping[str, list[str]]) -> str:
    """CLI `--filter key=value` pairs in the JSON form the docker CLI sends (`{"label": {"a=b": true}}`)."""
    return json.dumps({key: dict.fromkeys(values, True) for key, values in filters.items()})


def filters_from_cli(expressions: list[str]) -> dict[str, list[str]]:
    """`["label=service=app", "status=running"]` → `{"label": ["service=app"], "status": ["running"]}`."""
    grouped: dict[str, list[str]] = {}
    for expression in expressions:
        key, separator, value = expression.partition("=")
        if not separator:
            raise DockerCommandError(f"bad format of filter (expected name=value): {expression}")
        grouped.setdefault(key.strip().lower(), []).append(value)
    return grouped


def registry_auth_header(auth: Mapping[str, str] | None) -> str:
    """`X-Registry-Auth` as the CLI encodes it: URL-safe base64 of the JSON credentials (`e30=` = none)."""
    payload = {key: auth[key] for key in ("username", "password", "serveraddress", "identitytoken")
               if auth and auth.get(key)}
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


@asynccontextmanager
async def open_response(
    docker: aiodocker.Docker, method: str, path: str, *, params: Mapping[str, str] | None = None,
    body: Any = None, headers: Mapping[str, str] | None = None, timeout: aiohttp.ClientTimeout | None = None,
) -> AsyncIterator[aiohttp.ClientResponse]:
    """A streamed response (headers received, body unread); errors raised as DockerCommandError."""
    data = json.dumps(body) if body is not None else None
    try:
        response = await docker._do_query(path, method, params=dict(params or {}), data=data,
                                          headers=dict(headers or {}), timeout=timeout or NO_TIMEOUT)
    except aiodocker.DockerError as error:
        raise engine_error(error) from error
    try:
        yield response
    finally:
        response.close()


async def call(docker: aiodocker.Docker, method: str, path: str, *, params: Mapping[str, str] | None = None,
               body: Any = None, headers: Mapping[str, str] | None = None,
               timeout: aiohttp.ClientTimeout | None = None) -> Any:
    """One request; returns the decoded JSON body (None when the engine sends no content). A remote
    host's engine is asked over an SSH channel of its own (`engine_channels`), a local one through aiohttp."""
    if isinstance(docker, ChannelDocker):
        data = json.dumps(body).encode() if body is not None else None
        try:
            answer = await docker.channels.request(method, path, params=params, body=data, headers=headers,
                                                   timeout=(timeout or NO_TIMEOUT).total)
        except EngineUnreachable as error:
            raise DockerCommandError(f"Cannot connect to Docker Engine over SSH [{error}]", status=None) from error
        if answer.status >= 400:
            raise daemon_error(answer.error_message(), answer.status)
        text = answer.body.decode(errors="replace")
    else:
        async with open_response(docker, method, path, params=params, body=body, headers=headers,
                                 timeout=timeout) as response:
            text = await response.text()
    return json.loads(text) if text.strip() else None


async def progress(response: aiohttp.ClientResponse) -> AsyncIterator[dict[str, Any]]:
    """The JSON-lines progress stream of pulls; an error inside the stream (after HTTP 200) raises."""
    async for item in json_lines(response):
        if item.get("error") or item.get("errorDetail"):
            detail = item.get("errorDetail") or {}
            raise DockerCommandError(item.get("error") or detail.get("message") or "unknown error in the stream")
        yield item


async def json_lines(response: aiohttp.ClientResponse) -> AsyncIterator[dict[str, Any]]:
    """The objects of a JSON-lines stream (pull, push, build), one per line, lines possibly split across chunks."""
    buffer = b""
    async for chunk in response.content.iter_any():
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for raw in complete:
            if raw.strip():
                yield json.loads(raw)
    if buffer.strip():
        yield json.loads(buffer)


def engine_error(error: aiodocker.DockerError) -> DockerCommandError:
    """The one conversion of an aiodocker error: the CLI's wording ("Error response from daemon: ...")
    and the HTTP status; an unreachable socket (aiodocker's 900) keeps aiodocker's own message."""
    message = error.message if isinstance(error.message, str) else json.dumps(error.message)
    if error.status == 900:  # aiodocker's code for "cannot connect"
        return DockerCommandError(message, status=None)
    return daemon_error(message, error.status)
