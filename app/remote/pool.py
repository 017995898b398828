"""The hosts of a run or of a long-lived Fleet: at most one SSH connection each, opened on first use
(or kept open with reconnects and backoff by `keep_connected`), closed together."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from app.remote.errors import HostKeyUnknown
from app.remote.host import HOST_KEY_UNKNOWN, HostKeyConfirmer, RemoteHost, RemoteStats
from app.remote.ssh import SSHTarget

MAX_CONCURRENT_STARTS = 30  # Kamal's sshkit.max_concurrent_starts default
BACKOFF_START = 0.5  # seconds before the first reconnect attempt, doubled after each failure
BACKOFF_MAX = 30.0


class HostPool:
    """Hosts by name. `on_first_connect` (if set) is awaited once, before the pool's first SSH connection."""

    def __init__(self, target_for: Callable[[str], SSHTarget], max_concurrent_starts: int = MAX_CONCURRENT_STARTS,
                 on_first_connect: Callable[[], Awaitable[None]] | None = None):
        self._target_for = target_for
        self._hosts: dict[str, RemoteHost] = {}
        self._starts = asyncio.Semaphore(max_concurrent_starts)
        self.on_first_connect = on_first_connect
        self._first_connect_lock = asyncio.Lock()
        self._first_connect_done = False
        self._first_connect_error: Exception | None = None
        self.on_state: Callable[[RemoteHost], None] | None = None
        self.confirm_host_key: HostKeyConfirmer | None = None
        self._keepers: dict[str, asyncio.Task[None]] = {}
        self._retired = RemoteStats()  # what closed hosts had counted

    def __getitem__(self, host: str) -> RemoteHost:
        if host not in self._hosts:
            remote = _LimitedStartHost(self._target_for(host), self._starts, self.first_connect)
            remote.on_state = self._state_changed
            remote.confirm_host_key = self._confirm_host_key
            self._hosts[host] = remote
        return self._hosts[host]

    def __contains__(self, host: str) -> bool:
        return host in self._hosts

    def _state_changed(self, host: RemoteHost) -> None:
        if self.on_state is not None:
            self.on_state(host)

    async def _confirm_host_key(self, error: HostKeyUnknown) -> bool:
        return self.confirm_host_key is not None and await self.confirm_host_key(error)

    def keep_connected(self, hosts: list[str]) -> None:
        """Connect every host now and reconnect whenever a connection drops, backing off from
        BACKOFF_START to BACKOFF_MAX seconds between failed attempts. A refused host key is not retried."""
        for host in hosts:
            if host not in self._keepers or self._keepers[host].done():
                self._keepers[host] = asyncio.ensure_future(self._keep(self[host]))

    def kept(self, host: str) -> bool:
        """True when `keep_connected` looks after this host (its connection is opened in the background)."""
        keeper = self._keepers.get(host)
        return keeper is not None and not keeper.done()

    async def _keep(self, host: RemoteHost) -> None:
        delay = BACKOFF_START
        while True:
            try:
                await host.connection()
            except Exception:
                if host.state == HOST_KEY_UNKNOWN:
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            delay = BACKOFF_START
            await host.wait_lost()

    async def first_connect(self) -> None:
        """Await `on_first_connect` once for the whole pool (concurrent callers wait for it).

        Every pooled host calls this before opening its connection; work that reaches a host another
        way (e.g. `ssh -t` replacing this process) calls it itself. If the callback failed, every
        later call raises that same error instead of running it again.
        """
        async with self._first_connect_lock:
            if self._first_connect_error is not None:
                raise self._first_connect_error
            if self._first_connect_done:
                return
            self._first_connect_done = True
            if self.on_first_connect is None:
                return
            try:
                await self.on_first_connect()
            except Exception as error:
                self._first_connect_error = error
                raise

    async def settle(self) -> None:
        """Wait until every host has written the lines queued with `append_line_soon` (see there)."""
        results = await asyncio.gather(*(host.settle() for host in list(self._hosts.values())),
                                       return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    @property
    def stats(self) -> RemoteStats:
        total = RemoteStats()
        total.add(self._retired)
        for host in self._hosts.values():
            total.add(host.stats)
        return total

    def stats_by_host(self) -> dict[str, RemoteStats]:
        return {name: host.stats for name, host in self._hosts.items()}

    async def close(self) -> None:
        keepers = list(self._keepers.values())
        self._keepers.clear()
        for keeper in keepers:
            keeper.cancel()
        for keeper in keepers:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await keeper
        await asyncio.gather(*(host.close() for host in self._hosts.values()), return_exceptions=True)
        for host in self._hosts.values():
            self._retired.add(host.stats)
        self._hosts.clear()


class _LimitedStartHost(RemoteHost):
    """A RemoteHost whose connection handshake waits for the pool's first-connect callback and then for a
    slot, like sshkit's start limit."""

    def __init__(self, target: SSHTarget, starts: asyncio.Semaphore,
                 before_connecting: Callable[[], Awaitable[None]]) -> None:
        super().__init__(target)
        self._starts = starts
        self._before_connecting = before_connecting

    async def connection(self):  # type: ignore[override]
        if self._connection is not None:
            return self._connection
        await self._before_connecting()
        async with self._starts:
            return await super().connection()
