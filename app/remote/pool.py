"""The hosts of one run: at most one SSH connection each, opened on first use, closed together."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from app.remote.host import RemoteHost, RemoteStats
from app.remote.ssh import SSHTarget

MAX_CONCURRENT_STARTS = 30  # Kamal's sshkit.max_concurrent_starts default


class HostPool:
    def __init__(self, target_for: Callable[[str], SSHTarget], max_concurrent_starts: int = MAX_CONCURRENT_STARTS):
        self._target_for = target_for
        self._hosts: dict[str, RemoteHost] = {}
        self._starts = asyncio.Semaphore(max_concurrent_starts)

    def __getitem__(self, host: str) -> RemoteHost:
        if host not in self._hosts:
            self._hosts[host] = _LimitedStartHost(self._target_for(host), self._starts)
        return self._hosts[host]

    @property
    def stats(self) -> RemoteStats:
        total = RemoteStats()
        for host in self._hosts.values():
            total.add(host.stats)
        return total

    def stats_by_host(self) -> dict[str, RemoteStats]:
        return {name: host.stats for name, host in self._hosts.items()}

    async def close(self) -> None:
        await asyncio.gather(*(host.close() for host in self._hosts.values()), return_exceptions=True)
        self._hosts.clear()


class _LimitedStartHost(RemoteHost):
    """A RemoteHost whose connection handshake waits for a slot, like sshkit's start limit."""

    def __init__(self, target: SSHTarget, starts: asyncio.Semaphore) -> None:
        super().__init__(target)
        self._starts = starts

    async def connection(self):  # type: ignore[override]
        if self._connection is not None:
            return self._connection
        async with self._starts:
            return await super().connection()
