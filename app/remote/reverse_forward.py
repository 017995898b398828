"""SSH reverse port forwards over a host's existing connection (Kamal's local-registry tunnel).

`reverse_forward(host, port)` makes the server's `127.0.0.1:<port>` reach this machine's
`127.0.0.1:<port>` for as long as the block runs, as Kamal's `ssh.forward.remote(port, "localhost",
port, "127.0.0.1")`. Nested or concurrent uses of the same port on one host share one forward,
which is cancelled when the last of them ends. When sshd refuses, one probe through the same
connection tells apart "the port is taken on the server" from "sshd forbids remote forwarding".
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncssh

from app.remote.errors import RemoteError
from app.remote.host import RemoteHost

LOOPBACK = "127.0.0.1"


class ForwardRefused(RemoteError):
    """The server would not listen on the remote end of a reverse port forward."""


@dataclass
class _Forward:
    listener: asyncssh.SSHListener
    users: int = 0


_forwards: weakref.WeakKeyDictionary[RemoteHost, dict[tuple[int, int], _Forward]] = weakref.WeakKeyDictionary()
_locks: weakref.WeakKeyDictionary[RemoteHost, asyncio.Lock] = weakref.WeakKeyDictionary()


def _lock(host: RemoteHost) -> asyncio.Lock:
    lock = _locks.get(host)
    if lock is None:
        lock = _locks[host] = asyncio.Lock()
    return lock


def active_ports(host: RemoteHost) -> list[int]:
    """Remote ports currently forwarded on `host` (for tests and diagnostics)."""
    return sorted(remote for remote, _ in _forwards.get(host, {}))


@contextlib.asynccontextmanager
async def reverse_forward(host: RemoteHost, port: int, local_port: int | None = None) -> AsyncIterator[None]:
    """Forward the server's 127.0.0.1:`port` to this machine's 127.0.0.1:`local_port` (default: `port`)."""
    key = (port, local_port or port)
    async with _lock(host):
        forwards = _forwards.setdefault(host, {})
        forward = forwards.get(key)
        if forward is None:
            forward = forwards[key] = _Forward(await _open(host, port, key[1]))
        forward.users += 1
    try:
        yield
    finally:
        async with _lock(host):
            forward.users -= 1
            if forward.users == 0:
                forwards.pop(key, None)
                forward.listener.close()
                with contextlib.suppress(Exception):
                    await forward.listener.wait_closed()


async def _open(host: RemoteHost, port: int, local_port: int) -> asyncssh.SSHListener:
    connection = await host.connection()
    host.stats.commands += 1
    try:
        return await connection.forward_remote_port(LOOPBACK, port, LOOPBACK, local_port)
    except (asyncssh.ChannelListenError, asyncssh.Error, OSError) as error:
        raise ForwardRefused(host.name, await _explain(host, connection, port, error)) from error


async def _explain(host: RemoteHost, connection: asyncssh.SSHClientConnection, port: int,
                   error: Exception) -> str:
    """Why sshd refused to listen on 127.0.0.1:`port` (one direct-tcpip probe)."""
    refused = f"sshd refused to forward remote port {LOOPBACK}:{port} back to this machine ({error})"
    try:
        async with asyncio.timeout(5):
            _reader, writer = await connection.open_connection(LOOPBACK, port)
        writer.close()
    except asyncssh.ChannelOpenError as probe:
        if probe.code == asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED:
            return (f"{refused}: sshd forbids TCP forwarding. Set `AllowTcpForwarding yes` (or `remote`) in "
                    "the server's sshd_config, with no `DisableForwarding yes` or `PermitListen` limit, and "
                    "reload sshd")
        return (f"{refused}: nothing listens there, so sshd forbids remote forwarding. Set "
                "`AllowTcpForwarding yes` (or `remote`) in the server's sshd_config, with no "
                "`DisableForwarding yes` or `PermitListen` limit, and reload sshd")
    except (TimeoutError, asyncssh.Error, OSError):
        return f"{refused}: check `AllowTcpForwarding` in the server's sshd_config and that the port is free"
    return (f"{refused}: port {port} is already in use on the server (something listens on {LOOPBACK}:{port}). "
            "Stop what uses it, or give the registry another port (`registry.server: localhost:<port>`)")
