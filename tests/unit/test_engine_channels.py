"""EngineChannels: HTTP/1.1 over channels to the docker socket, against scripted channels."""

from __future__ import annotations

import asyncio

import pytest

from app.remote.engine_channels import EngineChannels, EngineUnreachable


class ScriptedChannel:
    """A channel whose answer is fixed bytes; records what was written and whether it was closed."""

    def __init__(self, answer: bytes, *, hang: bool = False) -> None:
        self.reader = asyncio.StreamReader()
        if not hang:
            self.reader.feed_data(answer)
            self.reader.feed_eof()
        self.written = b""
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True


class Opener:
    def __init__(self, *answers: bytes, hang: bool = False) -> None:
        self.channels = [ScriptedChannel(answer, hang=hang) for answer in answers]
        self.opened = 0

    async def __call__(self) -> tuple[asyncio.StreamReader, ScriptedChannel]:
        channel = self.channels[self.opened]
        self.opened += 1
        return channel.reader, channel


def ok(body: bytes, *extra: str) -> bytes:
    fields = "".join(f"{line}\r\n" for line in extra)
    return (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n{fields}\r\n"
            .encode() + body)


async def test_a_request_is_written_whole_with_version_query_and_body() -> None:
    opener = Opener(ok(b"[]"))
    channels = EngineChannels(opener, "v1.41")
    answer = await channels.request("POST", "images/registry:5000/app:1/tag", params={"repo": "a b", "tag": "x"},
                                    body=b'{"k": 1}', headers={"X-Registry-Auth": "e30="})
    assert answer.status == 200 and answer.body == b"[]"
    head, _, body = opener.channels[0].written.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /v1.41/images/registry:5000/app:1/tag?repo=a+b&tag=x HTTP/1.1"
    assert "Content-Length: 8" in lines and "X-Registry-Auth: e30=" in lines and "Host: docker" in lines
    assert body == b'{"k": 1}'


async def test_a_chunked_answer_is_joined_and_the_channel_reused() -> None:
    chunked = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"3\r\n[1,\r\n2;ext=1\r\n2]\r\n0\r\n\r\n")
    opener = Opener(chunked + ok(b"{}"))
    channels = EngineChannels(opener, "v1.41")
    assert (await channels.request("GET", "containers/json")).body == b"[1,2]"
    assert (await channels.request("GET", "version")).body == b"{}"
    assert opener.opened == 1  # keep-alive: one channel for both


async def test_no_content_and_connection_close() -> None:
    opener = Opener(b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nConnection: close\r\n\r\nrest", ok(b"1"))
    channels = EngineChannels(opener, "")
    assert (await channels.request("POST", "containers/x/start")).body == b""
    assert (await channels.request("GET", "x")).body == b"rest"  # no length: to the end of the channel
    assert opener.channels[0].closed  # not kept after `Connection: close`
    assert (await channels.request("GET", "y")).body == b"1"
    assert opener.opened == 2
    assert opener.channels[0].written.startswith(b"POST /containers/x/start HTTP/1.1\r\n")


async def test_an_idle_channel_closed_meanwhile_is_replaced_once() -> None:
    opener = Opener(ok(b"1"), ok(b"2"))
    channels = EngineChannels(opener, "v1.41")
    await channels.request("GET", "a")
    # the first channel's answer stream is at its end: the next request on it gets nothing back
    assert (await channels.request("GET", "b")).body == b"2"
    assert opener.opened == 2 and opener.channels[0].closed


async def test_a_fresh_channel_that_closes_at_once_is_an_error_not_a_retry() -> None:
    channels = EngineChannels(Opener(b""), "v1.41")
    with pytest.raises(EngineUnreachable, match="closed before an answer"):
        await channels.request("POST", "containers/create")


async def test_an_answer_that_breaks_off_is_an_error() -> None:
    opener = Opener(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n123")
    with pytest.raises(EngineUnreachable):
        await EngineChannels(opener, "v1.41").request("GET", "x")
    assert opener.channels[0].closed


async def test_a_timeout_closes_the_channel() -> None:
    opener = Opener(b"", hang=True)
    channels = EngineChannels(opener, "v1.41")
    with pytest.raises(TimeoutError):
        await channels.request("GET", "x", timeout=0.05)
    assert opener.channels[0].closed


async def test_a_channel_that_cannot_open_says_why() -> None:
    async def refuse() -> tuple[asyncio.StreamReader, ScriptedChannel]:
        raise OSError("administratively prohibited")

    with pytest.raises(EngineUnreachable, match="cannot open a channel to the docker socket: administratively"):
        await EngineChannels(refuse, "v1.41").request("GET", "x")


async def test_the_engines_error_message_is_read_from_json_or_text() -> None:
    json_error = b'{"message":"No such container: x"}'
    opener = Opener(f"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {len(json_error)}"
                    "\r\n\r\n".encode() + json_error + b"HTTP/1.1 500 Oops\r\nContent-Length: 4\r\n\r\nboom")
    channels = EngineChannels(opener, "v1.41")
    answer = await channels.request("GET", "containers/x/json")
    assert (answer.status, answer.error_message()) == (404, "No such container: x")
    answer = await channels.request("GET", "y")
    assert (answer.status, answer.error_message()) == (500, "boom")
