"""`kamal-proxy run`: the proxy listeners, the command socket, the state file, and a clean stop on
SIGTERM/SIGINT (well within a second)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

from . import VERSION, logs
from .control import ControlServer, socket_path
from .listeners import Listener, TLSContexts
from .proxy import ProxyServer
from .router import Router


def state_path() -> Path:
    return Path.home() / ".config" / "kamal-proxy" / "kamal-proxy.state"


class Metrics:
    """A minimal Prometheus text endpoint on --metrics-port (request count and services)."""

    def __init__(self, proxy: ProxyServer, router: Router) -> None:
        self.proxy, self.router = proxy, router

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _scheme: str) -> None:
        await reader.readuntil(b"\r\n\r\n")
        body = (f"kamal_proxy_http_requests_total {self.proxy.requests_total}\n"
                f"kamal_proxy_services {len(self.router.services)}\n").encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nConnection: close\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()


async def serve(flags: dict[str, Any], *, stop: asyncio.Event | None = None, state: Path | None = None,
                control_path: Path | None = None, handle_signals: bool = True) -> None:
    logs.set_debug(bool(flags.get("debug")))
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    if handle_signals:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
    router = Router(state or state_path())
    router.restore()
    proxy = ProxyServer(router)
    listeners = [Listener(flags["http-port"], proxy.handle),
                 Listener(flags["https-port"], proxy.handle, TLSContexts(router))]
    if flags.get("metrics-port"):
        listeners.append(Listener(flags["metrics-port"], Metrics(proxy, router).handle))
    control = ControlServer(router, Path(control_path or socket_path()))
    for listener in listeners:
        listener.start()
    await control.start()
    logs.info("Server started", http=flags["http-port"], https=flags["https-port"],
              metrics=flags.get("metrics-port") or 0, socket=str(control.path), version=VERSION)
    await stop.wait()
    logs.info("Server stopping")
    await control.close()
    await asyncio.gather(*(listener.close() for listener in listeners))
    logs.info("Server stopped")
