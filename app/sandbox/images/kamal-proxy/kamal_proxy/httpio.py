"""Just enough HTTP/1.1 framing for a reverse proxy: message heads, and bodies streamed chunk by chunk
(Content-Length, chunked, or until the connection closes)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from http import HTTPStatus

MAX_HEAD = 64 * 1024
CHUNK = 64 * 1024
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
              "upgrade", "proxy-authenticate", "proxy-authorization"}


class BadMessage(Exception):
    pass


@dataclass
class Head:
    start: list[str]  # request: method, target, version; response: version, status, reason
    headers: list[tuple[str, str]] = field(default_factory=list)

    def get(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    def get_all(self, name: str) -> list[str]:
        lowered = name.lower()
        return [value for key, value in self.headers if key.lower() == lowered]

    def tokens(self, name: str) -> set[str]:
        return {token.strip().lower() for value in self.get_all(name) for token in value.split(",") if token.strip()}

    def set(self, name: str, value: str) -> None:
        self.remove(name)
        self.headers.append((name, value))

    def remove(self, name: str) -> None:
        lowered = name.lower()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != lowered]


async def read_head(reader: asyncio.StreamReader) -> Head | None:
    """The next message head, or None at a clean end of stream before any byte of it."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise BadMessage("incomplete message head") from None
    except asyncio.LimitOverrunError:
        raise BadMessage("message head too large") from None
    lines = raw.decode("latin-1").split("\r\n")
    while lines and lines[0] == "":  # tolerate stray CRLFs between messages
        lines.pop(0)
    if not lines:
        return None
    start = lines[0].split(" ", 2)
    if len(start) < 2:
        raise BadMessage(f"malformed start line: {lines[0]!r}")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise BadMessage(f"malformed header line: {line!r}")
        headers.append((name, value.strip()))
    return Head(start, headers)


def encode_head(start: str, headers: list[tuple[str, str]]) -> bytes:
    lines = [start, *(f"{name}: {value}" for name, value in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def status_line(status: int) -> str:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    return f"HTTP/1.1 {status} {reason}".rstrip()


def body_framing(head: Head, *, is_response: bool, request_method: str = "") -> tuple[str, int]:
    """("none"|"length"|"chunked"|"close", length)."""
    if is_response:
        status = int(head.start[1])
        if request_method == "HEAD" or 100 <= status < 200 or status in (204, 304):
            return "none", 0
    if "chunked" in head.tokens("Transfer-Encoding"):
        return "chunked", 0
    length = head.get("Content-Length")
    if length is not None:
        if not length.strip().isdigit():
            raise BadMessage("invalid Content-Length")
        return ("length", int(length)) if int(length) else ("none", 0)
    return ("close", 0) if is_response else ("none", 0)


async def _iter_exactly(reader: asyncio.StreamReader, length: int) -> AsyncIterator[bytes]:
    """`length` bytes, passed on as they arrive."""
    remaining = length
    while remaining:
        data = await reader.read(min(CHUNK, remaining))
        if not data:
            raise BadMessage("connection closed mid-body")
        remaining -= len(data)
        yield data


async def iter_body(reader: asyncio.StreamReader, framing: str, length: int) -> AsyncIterator[bytes]:
    """The body's bytes (de-chunked), as they arrive."""
    if framing == "length":
        async for data in _iter_exactly(reader, length):
            yield data
    elif framing == "chunked":
        while True:
            size_line = await reader.readline()
            if not size_line.endswith(b"\n"):
                raise BadMessage("connection closed mid-body")
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BadMessage("invalid chunk size") from None
            if size == 0:
                while (await reader.readline()).strip():  # trailers
                    pass
                return
            async for data in _iter_exactly(reader, size):
                yield data
            await reader.readexactly(2)
    elif framing == "close":
        while data := await reader.read(CHUNK):
            yield data


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


LAST_CHUNK = b"0\r\n\r\n"
