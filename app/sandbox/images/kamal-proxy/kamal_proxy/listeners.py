"""Listening sockets for the HTTP and HTTPS ports.

The HTTPS port speaks TLS to a client whose first byte starts a TLS handshake, when some service
has a custom certificate; any other client gets plain HTTP on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Awaitable, Callable

from . import httpio, logs
from .router import Router

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, str], Awaitable[None]]
TLS_HANDSHAKE = 0x16


class TLSContexts:
    """An SSL context choosing each service's certificate by SNI, rebuilt when the set changes."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self._key: tuple[tuple[str, str, str], ...] = ()
        self._context: ssl.SSLContext | None = None

    def current(self) -> ssl.SSLContext | None:
        wanted = tuple(sorted(
            (host, service.options.tls_certificate_path, service.options.tls_private_key_path)
            for service in self.router.services.values() if service.options.tls_certificate_path
            for host in service.options.hosts))
        if not wanted:
            return None
        if wanted != self._key:
            self._key = wanted
            self._context = self._build(wanted)
        return self._context

    @staticmethod
    def _build(entries: tuple[tuple[str, str, str], ...]) -> ssl.SSLContext | None:
        per_host: dict[str, ssl.SSLContext] = {}
        for host, cert, key in entries:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            try:
                context.load_cert_chain(cert, key)
            except (OSError, ssl.SSLError) as exc:
                logs.error("Unable to load TLS certificate", host=host, error=str(exc))
                continue
            per_host[host] = context
        if not per_host:
            return None
        default = next(iter(per_host.values()))

        def choose(connection: ssl.SSLObject, server_name: str | None, _: ssl.SSLContext) -> None:
            name = (server_name or "").lower()
            wildcard = "*." + name.partition(".")[2]
            chosen = per_host.get(name) or per_host.get(wildcard)
            if chosen is not None:
                connection.context = chosen

        default.sni_callback = choose  # type: ignore[assignment]
        return default


class Listener:
    def __init__(self, port: int, handler: Handler, tls: TLSContexts | None = None) -> None:
        self.port = port
        self.handler = handler
        self.tls = tls
        self.sock: socket.socket | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self._accepting: asyncio.Task[None] | None = None

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("0.0.0.0", self.port))
        sock.listen(1024)
        sock.setblocking(False)
        self.sock = sock
        self._accepting = asyncio.get_running_loop().create_task(self._accept())

    async def _accept(self) -> None:
        assert self.sock is not None
        loop = asyncio.get_running_loop()
        while True:
            connection, _ = await loop.sock_accept(self.sock)
            task = loop.create_task(self._serve(connection))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _serve(self, connection: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        try:
            context = self.tls.current() if self.tls else None
            use_tls = context is not None and await _first_byte(connection) == TLS_HANDSHAKE
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            reader = asyncio.StreamReader(limit=httpio.MAX_HEAD)
            protocol = asyncio.StreamReaderProtocol(reader)
            transport, _ = await loop.connect_accepted_socket(
                lambda: protocol, connection, ssl=context if use_tls else None,
                ssl_handshake_timeout=10 if use_tls else None)
        except (OSError, ssl.SSLError, TimeoutError) as exc:
            logs.debug("Connection setup failed", error=str(exc))
            connection.close()
            return
        writer = asyncio.StreamWriter(transport, protocol, reader, loop)
        await self.handler(reader, writer, "https" if use_tls else "http")

    async def close(self) -> None:
        if self._accepting:
            self._accepting.cancel()
        if self.sock:
            self.sock.close()
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=0.5)


async def _first_byte(connection: socket.socket) -> int | None:
    loop = asyncio.get_running_loop()
    readable = loop.create_future()
    loop.add_reader(connection.fileno(), lambda: readable.done() or readable.set_result(None))
    try:
        await asyncio.wait_for(readable, 10)
    finally:
        loop.remove_reader(connection.fileno())
    with contextlib.suppress(BlockingIOError):
        data = connection.recv(1, socket.MSG_PEEK)
        return data[0] if data else None
    return None
