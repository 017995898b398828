"""The log reader of the direct docker-socket channel: HTTP answer, Docker's frames and lines, however the
bytes are cut into reads."""

from __future__ import annotations

import struct

import pytest

from app.remote import docker_log_channel as channel
from app.remote.docker_errors import DockerCommandError


def frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(payload)) + payload


class Socket:
    """The engine's side: the answer handed out in reads of `step` bytes; what was sent is kept."""

    def __init__(self, answer: bytes, step: int) -> None:
        self.answer, self.step, self.sent, self.closed = answer, step, b"", False

    async def read(self, n: int = -1) -> bytes:
        piece, self.answer = self.answer[:min(n, self.step)], self.answer[min(n, self.step):]
        return piece

    def write(self, data: bytes) -> None:
        self.sent += data

    def close(self) -> None:
        self.closed = True


async def lines_of(answer: bytes, step: int, *, multiplexed: bool = True) -> list[tuple[str, str]]:
    socket = Socket(answer, step)
    request = channel.request_bytes("v1.45", "abc123", {"stdout": "1", "follow": "1"})
    found = []
    async for batch in channel.read_logs(socket, socket, request, multiplexed=multiplexed):
        found.extend((stream, line) for stream, lines in batch for line in lines)
    assert socket.sent == b"GET /v1.45/containers/abc123/logs?stdout=1&follow=1 HTTP/1.0\r\nHost: docker\r\n" \
                          b"User-Agent: shipdeck\r\n\r\n"
    return found


HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n\r\n"
BODY = (frame(1, b"2026-05-01T10:00:00.1Z one\n") + frame(2, "2026-05-01T10:00:00.2Z zwei \u00fc\n".encode())
        + frame(1, b"2026-05-01T10:00:00.3Z thr") + frame(1, b"ee\n") + frame(1, b"2026-05-01T10:00:00.4Z four\n")
        + frame(2, b"2026-05-01T10:00:00.5Z no newline at the end"))
EXPECTED = [("stdout", "2026-05-01T10:00:00.1Z one"), ("stderr", "2026-05-01T10:00:00.2Z zwei \u00fc"),
            ("stdout", "2026-05-01T10:00:00.3Z three"), ("stdout", "2026-05-01T10:00:00.4Z four"),
            ("stderr", "2026-05-01T10:00:00.5Z no newline at the end")]


@pytest.mark.parametrize("step", [1, 3, 7, 64, 1 << 20])
async def test_frames_and_lines_come_out_whole_and_in_order_however_the_reads_cut_them(step: int) -> None:
    assert await lines_of(HEAD + BODY, step) == EXPECTED


@pytest.mark.parametrize("step", [1, 5, 1 << 20])
async def test_a_chunked_answer_is_undone_first(step: int) -> None:
    pieces = [BODY[:11], BODY[11:40], BODY[40:]]
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert await lines_of(head + chunked, step) == EXPECTED


async def test_a_tty_containers_raw_stream_is_all_stdout() -> None:
    answer = b"HTTP/1.1 200 OK\r\n\r\n" + b"2026-05-01T10:00:00.1Z a\r\n2026-05-01T10:00:00.2Z b\n"
    assert await lines_of(answer, 4, multiplexed=False) == [("stdout", "2026-05-01T10:00:00.1Z a\r"),
                                                             ("stdout", "2026-05-01T10:00:00.2Z b")]


async def test_an_error_status_reads_like_the_cli() -> None:
    answer = b'HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n\r\n{"message":"No such container: x"}\n'
    with pytest.raises(DockerCommandError) as raised:
        await lines_of(answer, 10)
    assert str(raised.value) == "Error response from daemon: No such container: x"
    assert raised.value.status == 404


async def test_a_socket_that_closes_before_answering_is_a_lost_connection() -> None:
    with pytest.raises(ConnectionError):
        await lines_of(b"HTTP/1.1 200", 4)
