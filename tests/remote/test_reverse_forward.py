"""Reverse port forwards (the local-registry tunnel) against a real sshd on loopback.

The "server" is this machine, so the remote port and the local port differ: the remote
127.0.0.1:P is forwarded to a local echo server on 127.0.0.1:Q.
"""

from __future__ import annotations

import asyncio
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from app.remote.host import RemoteHost
from app.remote.reverse_forward import ForwardRefused, active_ports, reverse_forward
from app.remote.ssh import SSHTarget
from tests.remote.conftest import _free_port, _start_sshd, _stop


def _target(sshd) -> SSHTarget:
    return SSHTarget(host="127.0.0.1", port=sshd.port, keys=(str(sshd.client_key),), keys_only=True,
                     config=False, known_hosts=(str(sshd.known_hosts),))


def _sshd_with(extra: str) -> Iterator:
    workdir = Path(tempfile.mkdtemp(prefix="shipdeck-sshd-fwd-"))
    yield _start_sshd(workdir, extra)
    _stop(workdir)


@pytest.fixture(scope="module")
def sshd_no_tcp_forwarding() -> Iterator:
    yield from _sshd_with("AllowTcpForwarding no\n")


@pytest.fixture(scope="module")
def sshd_local_forwarding_only() -> Iterator:
    yield from _sshd_with("AllowTcpForwarding local\n")


async def _echo_server() -> tuple[asyncio.Server, int]:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"echo:" + await reader.readline())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def _ask(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"hello\n")
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return answer


def _refused(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
async def host_and_echo(loopback_sshd) -> AsyncIterator[tuple[RemoteHost, int]]:
    host = RemoteHost(_target(loopback_sshd))
    server, port = await _echo_server()
    try:
        yield host, port
    finally:
        server.close()
        await host.close()


async def test_forward_reaches_this_machine_and_closes_with_its_last_user(host_and_echo) -> None:
    host, local_port = host_and_echo
    remote_port = _free_port()
    async with reverse_forward(host, remote_port, local_port):
        assert await _ask(remote_port) == b"echo:hello\n"
        async with reverse_forward(host, remote_port, local_port):  # shared, not opened twice
            assert active_ports(host) == [remote_port]
        assert await _ask(remote_port) == b"echo:hello\n"
    assert active_ports(host) == []
    await asyncio.sleep(0.2)
    assert _refused(remote_port)
    assert host.stats.connections == 1


async def test_a_taken_port_is_named(host_and_echo) -> None:
    host, local_port = host_and_echo
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        with pytest.raises(ForwardRefused) as raised:
            async with reverse_forward(host, taken, local_port):
                pass
    assert f"port {taken} is already in use on the server" in str(raised.value)
    assert active_ports(host) == []


async def test_sshd_without_tcp_forwarding_is_explained(sshd_no_tcp_forwarding) -> None:
    host = RemoteHost(_target(sshd_no_tcp_forwarding))
    try:
        with pytest.raises(ForwardRefused) as raised:
            async with reverse_forward(host, _free_port()):
                pass
        assert "AllowTcpForwarding yes" in str(raised.value) and "forbids TCP forwarding" in str(raised.value)
    finally:
        await host.close()


async def test_sshd_with_local_forwarding_only_is_explained(sshd_local_forwarding_only) -> None:
    host = RemoteHost(_target(sshd_local_forwarding_only))
    try:
        with pytest.raises(ForwardRefused) as raised:
            async with reverse_forward(host, _free_port()):
                pass
        assert "forbids remote forwarding" in str(raised.value)
    finally:
        await host.close()
