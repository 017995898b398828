"""Output streams: `docker logs` (lines, stdout and stderr demultiplexed in arrival order) and
`docker exec` (captured output and exit code, optional stdin)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import aiodocker
import aiohttp
from aiodocker.execs import Exec

from app.remote.docker_errors import DockerCommandError
from app.remote.docker_values import duration_ns
from app.remote.engine_api import call, open_response

StreamName = Literal["stdout", "stderr"]
_STREAMS: dict[int, StreamName] = {0: "stdout", 1: "stdout", 2: "stderr"}
_UNIX_TIME = re.compile(r"^\d+(\.\d+)?$")


@dataclass(frozen=True)
class LogLine:
    stream: StreamName
    text: str


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: str
    stderr: str
    output: str = ""  # both streams in arrival order, as `2>&1` shows them


def since_parameter(value: str, now: float | None = None) -> str:
    """The CLI's `--since`: a Go duration (`10m`) is relative to now (whole seconds); a date or
    RFC 3339 time becomes `seconds.nanoseconds`; a Unix timestamp passes unchanged."""
    if _UNIX_TIME.match(value):
        return value
    now = time.time() if now is None else now
    try:
        return str(int(now - duration_ns(value) / 1e9))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise DockerCommandError(f"invalid value for \"since\": failed to parse value as time or duration: "
                                 f"\"{value}\"") from None
    seconds = moment.timestamp()
    return f"{int(seconds)}.{round((seconds - int(seconds)) * 1e9):09d}"


def logs_parameters(*, tail: int | None, since: str | None, timestamps: bool, follow: bool) -> dict[str, str]:
    """The query of `GET /containers/{id}/logs` for `docker logs [--tail N] [--since X] [--timestamps] [--follow]`
    (stdout and stderr both)."""
    params = {"stdout": "1", "stderr": "1"}
    if follow:
        params["follow"] = "1"
    if since:
        params["since"] = since_parameter(since)
    if timestamps:
        params["timestamps"] = "1"
    if tail is not None:
        params["tail"] = str(tail)
    return params


async def container_logs(docker: aiodocker.Docker, container: str, *, tail: int | None = None,
                         since: str | None = None, timestamps: bool = False,
                         follow: bool = False) -> AsyncIterator[LogLine]:
    """`docker logs [--tail N] [--since X] [--timestamps] [--follow] CONTAINER 2>&1`, as lines.

    Kamal runs `docker logs ... --tail 100` (or `--tail 10 --follow` to follow); with `follow` this
    iterator only ends when the container stops or the caller stops iterating."""
    info = await call(docker, "GET", f"containers/{container}/json")
    params = logs_parameters(tail=tail, since=since, timestamps=timestamps, follow=follow)
    async with open_response(docker, "GET", f"containers/{info['Id']}/logs", params=params) as response:
        frames = _raw_frames(response) if info["Config"]["Tty"] else _multiplexed_frames(response)
        async for line in _lines(frames):
            yield line


async def _multiplexed_frames(response: aiohttp.ClientResponse) -> AsyncIterator[tuple[StreamName, bytes]]:
    """The engine's 8-byte-header framing: [stream, 0, 0, 0, size (big endian, 4 bytes)] + payload.

    Read in whatever chunks arrive and cut into frames here: a log stream is a frame per line, and two awaited
    reads per line cost more than the rest of the line's way to the screen."""
    buffer = b""
    while chunk := await response.content.readany():
        buffer = buffer + chunk if buffer else chunk
        offset, available = 0, len(buffer)
        while available - offset >= 8:
            end = offset + 8 + int.from_bytes(buffer[offset + 4:offset + 8], "big")
            if end > available:
                break
            yield _STREAMS.get(buffer[offset], "stdout"), buffer[offset + 8:end]
            offset = end
        buffer = buffer[offset:]


async def _raw_frames(response: aiohttp.ClientResponse) -> AsyncIterator[tuple[StreamName, bytes]]:
    async for chunk in response.content.iter_any():
        yield "stdout", chunk


async def _lines(frames: AsyncIterator[tuple[StreamName, bytes]]) -> AsyncIterator[LogLine]:
    pending: dict[StreamName, bytes] = {"stdout": b"", "stderr": b""}
    async for stream, data in frames:
        *complete, pending[stream] = (pending[stream] + data).split(b"\n")
        for line in complete:
            yield LogLine(stream, line.decode(errors="replace"))
    for stream, rest in pending.items():
        if rest:
            yield LogLine(stream, rest.decode(errors="replace"))


def _exec_body(command: Sequence[str], *, stdin: bool, env: Sequence[str] | None = None) -> dict[str, object]:
    """The body that creates `docker exec [-i] [--env K=V] CONTAINER CMD...` (no TTY); `Env` only when `env` is
    given (null when empty)."""
    body: dict[str, object] = {"AttachStderr": True, "AttachStdin": stdin, "AttachStdout": True, "Cmd": list(command),
                               "Detach": False, "DetachKeys": ""}
    if env is not None:
        body["Env"] = list(env) or None
    return {**body, "Privileged": False, "Tty": False, "User": "", "WorkingDir": ""}


def _attachable(docker: aiodocker.Docker, exec_id: str) -> Exec:
    """The created exec, to start attached. Created without a TTY (`_exec_body`): said here, aiodocker would
    otherwise ask the engine (one more request) before starting it."""
    return Exec(docker, exec_id, tty=False)


async def exec_in_container(docker: aiodocker.Docker, container: str, command: Sequence[str], *,
                            stdin: bytes | None = None, env: Sequence[str] = ()) -> ExecResult:
    """`docker exec [-i] [--env K=V] CONTAINER CMD...` with output captured (Kamal: `app exec --reuse`,
    `docker exec kamal-proxy kamal-proxy deploy ...`). `stdin` is sent and closed, like `-i < file`."""
    exec_body = _exec_body(command, stdin=stdin is not None, env=env)
    created = await call(docker, "POST", f"containers/{container}/exec", body=exec_body)
    execution = _attachable(docker, created["Id"])
    async with execution.start(detach=False) as stream:
        stdout, stderr, output = await collect_output(stream, stdin)
    details = await _finished_exec(docker, created["Id"])
    return ExecResult(details["ExitCode"], stdout, stderr, output)


# `sh` reads one line and only then becomes the command: the exec's process is spawned early (the
# slow part of a `docker exec`, ~0.1 s on a busy host) and the command starts the moment the line arrives.
GATE_SCRIPT = 'read -r go && [ "$go" = go ] && exec "$@"'


async def exec_when_ready(docker: aiodocker.Docker, container: str, command: Sequence[str],
                          ready: asyncio.Future[bool]) -> ExecResult | None:
    """`docker exec CONTAINER CMD...`, with the process spawned at once and CMD started only when `ready`
    resolves True (through `sh -c GATE_SCRIPT sh CMD...`, CMD's words untouched). Returns None when CMD
    never ran: `ready` resolved False (the shell sees end of input and exits without it), or the exec ended
    before it was released (no `sh` in the container: the caller then runs CMD the plain way)."""
    exec_body = _exec_body(["sh", "-c", GATE_SCRIPT, "sh", *command], stdin=True)
    created = await call(docker, "POST", f"containers/{container}/exec", body=exec_body)
    execution = _attachable(docker, created["Id"])
    released = False
    async with execution.start(detach=False) as stream:
        reading = asyncio.ensure_future(collect_output(stream, None))
        try:
            await asyncio.wait((reading, ready), return_when=asyncio.FIRST_COMPLETED)
            if not reading.done():
                if ready.done() and not ready.cancelled() and ready.result():
                    try:
                        await stream.write_in(b"go\n")
                        released = True
                    except (OSError, aiohttp.ClientError, RuntimeError):
                        pass  # the exec already ended: CMD never ran
                _close_stdin(stream)
            stdout, stderr, output = await reading
        except BaseException:
            reading.cancel()
            raise
    if not released:
        return None
    details = await _finished_exec(docker, created["Id"])
    return ExecResult(details["ExitCode"], stdout, stderr, output)


async def exec_into(docker: aiodocker.Docker, container: str, command: Sequence[str],
                    sink: Callable[[bytes], None]) -> tuple[int, str]:
    """`docker exec CONTAINER CMD... > file`: stdout handed to `sink` chunk by chunk as it arrives (never
    held whole in memory); returns the exit code and stderr."""
    exec_body = _exec_body(command, stdin=False)
    created = await call(docker, "POST", f"containers/{container}/exec", body=exec_body)
    execution = _attachable(docker, created["Id"])
    errors: list[bytes] = []
    async with execution.start(detach=False) as stream:
        while (message := await stream.read_out()) is not None:
            if message.stream == 2:
                errors.append(message.data)
            else:
                sink(message.data)
    details = await _finished_exec(docker, created["Id"])
    return details["ExitCode"], b"".join(errors).decode(errors="replace")


async def collect_output(stream: Any, stdin: bytes | None) -> tuple[str, str, str]:
    """Read an open attached stream to its end, after writing `stdin` (then half-closing it) if given:
    (stdout, stderr, both in arrival order)."""
    chunks: list[tuple[int, bytes]] = []
    if stdin is not None:
        if stdin:
            await stream.write_in(stdin)
        _close_stdin(stream)
    while (message := await stream.read_out()) is not None:
        chunks.append((2 if message.stream == 2 else 1, message.data))

    def joined(*streams: int) -> str:
        return b"".join(data for number, data in chunks if number in streams).decode(errors="replace")

    return joined(1), joined(2), joined(1, 2)


def _close_stdin(stream: Any) -> None:
    """Half-close the hijacked connection so the process sees end of input while we keep reading.
    aiodocker's Stream offers only a full close, so this reaches for its transport."""
    transport = stream._resp.connection.transport
    if transport is not None and transport.can_write_eof():
        transport.write_eof()


async def _finished_exec(docker: aiodocker.Docker, exec_id: str) -> dict[str, Any]:
    """The exec's final state; the output can end a moment before the engine records the exit."""
    for _ in range(100):
        details = await call(docker, "GET", f"exec/{exec_id}/json")
        if not details.get("Running"):
            return details
        await asyncio.sleep(0.05)
    raise DockerCommandError(f"exec {exec_id[:12]} still running after its output ended")
