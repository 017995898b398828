"""`docker logs` read in bulk over an SSH channel of its own to the host's docker socket.

A followed log stream is the one request whose body can run to millions of frames. Through the forwarded local
socket and aiohttp, every frame (Docker writes and flushes one per line) is copied twice more on this machine and
handled as an HTTP chunk of its own. Here the request goes over a direct SSH channel to `/var/run/docker.sock`
(the same permission the forward uses), as HTTP/1.0 so that the engine sends the body as it is (no chunked
encoding) and closes the channel at its end; each read takes whatever has arrived, cuts it into frames and lines
in one pass and hands on the lines in runs of one stream, decoded once per run.
"""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator, Mapping
from typing import Protocol
from urllib.parse import quote, urlencode

from app.remote.docker_errors import DockerCommandError, daemon_error
from app.remote.engine_channels import error_message, parse_head

StreamRun = tuple[str, list[str]]  # ("stdout" | "stderr", lines of that stream in arrival order)
READ_SIZE = 1 << 16  # up to this many bytes per read (of what the channel has buffered): a few hundred lines
MAX_HEADER = 64 * 1024
_HEADER = struct.Struct(">BxxxL")  # stream (0 stdin, 1 stdout, 2 stderr), 3 zero bytes, payload size


class ByteReader(Protocol):
    async def read(self, n: int = -1) -> bytes: ...


class ByteWriter(Protocol):
    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...


def request_bytes(api_version: str, container_id: str, params: Mapping[str, str]) -> bytes:
    """The HTTP/1.0 request for `GET /containers/{id}/logs` (HTTP/1.0: the body is sent plain until the end)."""
    version = f"/{api_version}" if api_version else ""
    path = f"{version}/containers/{quote(container_id, safe='')}/logs?{urlencode(dict(params))}"
    return f"GET {path} HTTP/1.0\r\nHost: docker\r\nUser-Agent: shipdeck\r\n\r\n".encode("ascii")


class _Response:
    """Status and headers of the engine's answer, and the body bytes read past them."""

    def __init__(self, status: int, headers: dict[str, str], rest: bytes) -> None:
        self.status = status
        self.headers = headers
        self.rest = rest

    @property
    def chunked(self) -> bool:
        return "chunked" in self.headers.get("transfer-encoding", "").lower()


async def _read_head(reader: ByteReader) -> _Response:
    buffer = b""
    while (end := buffer.find(b"\r\n\r\n")) < 0:
        if len(buffer) > MAX_HEADER:
            raise DockerCommandError("the docker engine sent no end of its response headers")
        chunk = await reader.read(READ_SIZE)
        if not chunk:
            raise ConnectionError("the docker socket closed before the engine answered")
        buffer += chunk
    try:
        status, headers = parse_head(buffer[:end])
    except ValueError as error:
        raise DockerCommandError(str(error)) from None
    return _Response(status, headers, buffer[end + 4:])


async def _body(reader: ByteReader, response: _Response) -> AsyncIterator[bytes]:
    """The body's bytes as they arrive (chunked encoding undone, should the engine use it)."""
    if not response.chunked:
        if response.rest:
            yield response.rest
        while chunk := await reader.read(READ_SIZE):
            yield chunk
        return
    buffer = response.rest
    while True:
        pieces, offset = [], 0
        while (line_end := buffer.find(b"\r\n", offset)) >= 0:
            size = int(buffer[offset:line_end].split(b";", 1)[0] or b"0", 16)
            if size == 0:
                if pieces:
                    yield b"".join(pieces)
                return
            start = line_end + 2
            if len(buffer) < start + size + 2:
                break
            pieces.append(buffer[start:start + size])
            offset = start + size + 2
        buffer = buffer[offset:]
        if pieces:
            yield b"".join(pieces)
        chunk = await reader.read(READ_SIZE)
        if not chunk:
            return
        buffer += chunk


def _runs(data: bytes, stream: str, pending: dict[str, bytes], out: list[StreamRun]) -> None:
    """The complete lines of `data` (one stream's bytes, after what was pending of it) onto `out`."""
    data = pending[stream] + data if pending[stream] else data
    last = data.rfind(b"\n")
    if last < 0:
        pending[stream] = data
        return
    pending[stream] = data[last + 1:]
    # decoded once for the run: a newline is never part of a multi-byte character, so this equals decoding
    # each line on its own
    lines = data[:last].decode(errors="replace").split("\n")
    if out and out[-1][0] == stream:
        out[-1][1].extend(lines)
    else:
        out.append((stream, lines))


class FrameSplitter:
    """Docker's multiplexed stream (8-byte header + payload per frame) cut into lines, a read at a time."""

    def __init__(self, multiplexed: bool) -> None:
        self.multiplexed = multiplexed
        self.buffer = b""
        self.pending = {"stdout": b"", "stderr": b""}

    def feed(self, chunk: bytes) -> list[StreamRun]:
        out: list[StreamRun] = []
        if not self.multiplexed:
            _runs(chunk, "stdout", self.pending, out)
            return out
        buffer = self.buffer + chunk if self.buffer else chunk
        available, offset = len(buffer), 0
        unpack = _HEADER.unpack_from
        current, parts = "", []
        while available - offset >= 8:
            kind, size = unpack(buffer, offset)
            end = offset + 8 + size
            if end > available:
                break
            stream = "stderr" if kind == 2 else "stdout"
            if stream != current:
                if parts:
                    _runs(b"".join(parts), current, self.pending, out)
                current, parts = stream, []
            parts.append(buffer[offset + 8:end])
            offset = end
        if parts:
            _runs(b"".join(parts), current, self.pending, out)
        self.buffer = buffer[offset:]
        return out

    def rest(self) -> list[StreamRun]:
        """What remains at the end of the stream: a last line without its newline, per stream."""
        out = [(stream, [data.decode(errors="replace")]) for stream, data in self.pending.items() if data]
        self.pending = {"stdout": b"", "stderr": b""}
        return out


async def read_logs(reader: ByteReader, writer: ByteWriter, request: bytes, *,
                    multiplexed: bool) -> AsyncIterator[list[StreamRun]]:
    """Send `request` and yield the log lines of the answer, a batch of stream runs per read; an error status
    raises `DockerCommandError` worded like the CLI's."""
    writer.write(request)
    response = await _read_head(reader)
    if response.status >= 400:
        body = b"".join([piece async for piece in _body(reader, response)])
        raise daemon_error(error_message(body), response.status)
    splitter = FrameSplitter(multiplexed)
    async for chunk in _body(reader, response):
        runs = splitter.feed(chunk)
        if runs:
            yield runs
    rest = splitter.rest()
    if rest:
        yield rest
