"""A Fleet that is still opening, so the dashboard's first frame does not wait for it.

The config alone names the service, destination and hosts (cheap to read); the engine with its network
stack (asyncssh, aiodocker) takes a good part of a second to import. `OpeningFleet` answers with what
the config says at once (every host connecting), imports and opens the real Fleet in the background once
the first frame is on screen, and from then on hands every call to it. An operation asked for before
that is refused with a clear message; status, watch and logs wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from app.engine import api
from app.errors import UsageError

OPERATIONS = frozenset({
    "setup", "deploy", "redeploy", "rollback", "app_boot", "app_start", "app_stop", "app_remove", "app_exec",
    "accessory_boot", "accessory_reboot", "accessory_remove", "proxy_boot", "proxy_reboot", "lock_acquire",
    "lock_release", "prune", "details", "repair",
})


class OpeningFleet:
    """Implements `api.FleetAPI` in front of the Fleet `open()` returns."""

    def __init__(self, *, service: str | None, destination: str | None, hosts: Sequence[str],
                 open: Callable[[], Awaitable[api.FleetAPI]]) -> None:
        self.service = service
        self.destination = destination
        self.hosts = tuple(hosts)
        self._open = open
        self._task: asyncio.Task[api.FleetAPI] | None = None
        self.fleet: api.FleetAPI | None = None

    def begin(self) -> None:
        """Open the real Fleet in the background (idempotent)."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._opened())

    async def _opened(self) -> api.FleetAPI:
        self.fleet = await self._open()
        return self.fleet

    async def ready(self) -> api.FleetAPI:
        self.begin()
        assert self._task is not None
        return await asyncio.shield(self._task)

    def _now(self) -> api.FleetAPI:
        if self.fleet is None:
            raise UsageError("still opening the connections to the hosts: try again in a moment")
        return self.fleet

    def __getattr__(self, name: str) -> Any:
        if name in OPERATIONS:
            return getattr(self._now(), name)
        raise AttributeError(name)

    def connection_state(self, host: str) -> api.ConnectionState:
        return self.fleet.connection_state(host) if self.fleet is not None else api.ConnectionState.CONNECTING

    async def status(self, *, wait: bool = True) -> api.FleetStatus:
        if self.fleet is None and not wait:
            from app.tui.state import connecting_status

            return connecting_status(self.service, self.destination, self.hosts, now=time.time())
        return await (await self.ready()).status(wait=wait)

    async def watch(self) -> AsyncIterator[api.FleetChange]:
        fleet = await self.ready()
        async for change in fleet.watch():
            yield change

    async def logs(self, sources: Sequence[api.LogSource] = (), **options: Any) -> AsyncIterator[api.LogEvent]:
        fleet = await self.ready()
        async for event in fleet.logs(sources, **options):
            yield event

    async def diagnose(self) -> api.DiagnosisReport:
        return await (await self.ready()).diagnose()

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # nothing opened: nothing to close
                await self._task
        if self.fleet is not None:
            await self.fleet.close()
