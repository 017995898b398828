"""Health checks: `GET http://<target><path>` with `User-Agent: kamal-proxy`; any 2xx is healthy."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from . import logs

if TYPE_CHECKING:
    from .router import ServiceOptions, Target


async def check(target: Target, options: ServiceOptions) -> tuple[bool, str]:
    """One check; (healthy, reason)."""
    port = options.health_check_port or target.port
    host_header = options.health_check_host or f"{target.host}:{port}"
    request = (f"GET {options.health_check_path} HTTP/1.1\r\nHost: {host_header}\r\n"
               "User-Agent: kamal-proxy\r\nAccept: */*\r\nConnection: close\r\n\r\n").encode()
    writer = None
    try:
        async with asyncio.timeout(options.health_check_timeout):
            reader, writer = await asyncio.open_connection(target.host, port)
            writer.write(request)
            await writer.drain()
            status_line = await reader.readline()
    except TimeoutError:
        return False, "timeout"
    except OSError as exc:
        return False, str(exc) or type(exc).__name__
    finally:
        if writer is not None:
            writer.close()
    parts = status_line.decode("latin-1").split()
    if len(parts) < 2 or not parts[1].isdigit():
        return False, "malformed response"
    status = int(parts[1])
    return 200 <= status < 300, f"status {status}"


async def wait_until_healthy(target: Target, options: ServiceOptions, *, service: str) -> None:
    """Check at once, then every interval, until a check passes."""
    while True:
        began = time.monotonic()
        healthy, reason = await check(target, options)
        if healthy:
            logs.info("Target health updated", service=service, target=target.address, success=True)
            return
        logs.info("Healthcheck failed", service=service, target=target.address,
                  path=options.health_check_path, error=reason)
        await asyncio.sleep(max(0.0, options.health_check_interval - (time.monotonic() - began)))
