"""`Fleet.watch()`: typed changes as they happen on every host.

Containers: each host's Docker event stream (`GET /events`, containers only) over the fleet's open
connection, resumed after a drop from the last event seen (`since`), so nothing that happened while
the connection was down is missed. Hosts: the pool's connection states (HostDown, HostUp). The deploy
lock has no event stream of its own: the fleet's own runs report it at once, and a light SFTP check
every LOCK_CHECK_INTERVAL seconds notices a lock taken or released by anyone else (Kamal elsewhere).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from app import contract
from app.engine import api
from app.engine.lock import decode_details
from app.engine.status import HostCache, accessory_name, app_identity, parse_lock
from app.remote.engine_api import json_lines, open_response
from app.remote.host import UP, RemoteHost

if TYPE_CHECKING:
    from app.config.model import Config
    from app.engine.fleet import Fleet

LOCK_CHECK_INTERVAL = 2.0
RETRY_DELAY = 0.5
CONTAINER_ACTIONS = ("start", "die", "destroy", "rename", "health_status")


def change_from_event(event: Mapping[str, Any], host: str, *, service: str | None, destination: str | None,
                      accessories: Mapping[str, str] | None, services: list[str]) -> api.ContainerChange | None:
    """One Docker container event as a typed change (None for actions and containers nobody watches)."""
    action = str(event.get("Action") or event.get("status") or "")
    verb = action.split(":", 1)[0].strip()
    if event.get("Type", "container") != "container" or verb not in CONTAINER_ACTIONS:
        return None
    actor = event.get("Actor") or {}
    attributes: dict[str, str] = dict(actor.get("Attributes") or {})
    name = attributes.get("name", "")
    at = (event.get("timeNano") or 0) / 1e9 or float(event.get("time") or time.time())
    common: dict[str, Any] = {"at": at, "host": host, "container": name, "id": str(actor.get("ID", ""))[:12]}
    identity = app_identity(name, attributes, service, destination)
    if name == contract.PROXY_CONTAINER:
        common.update(kind=api.ContainerKind.PROXY)
    elif identity is not None:
        common.update(kind=api.ContainerKind.APP, service=identity.service, role=identity.role,
                      version=identity.version)
    else:
        short = accessory_name(name, attributes, services, accessories)
        if short is None:
            return None
        common.update(kind=api.ContainerKind.ACCESSORY, accessory=short,
                      service=service if service is not None else _owner(name, short))
    if verb == "start":
        return api.ContainerStarted(**common)
    if verb == "die":
        code = attributes.get("exitCode")
        return api.ContainerStopped(**common, exit_code=int(code) if code and code.lstrip("-").isdigit() else None)
    if verb == "destroy":
        return api.ContainerRemoved(**common)
    if verb == "rename":
        return api.ContainerRenamed(**common, old_name=attributes.get("oldName", "").lstrip("/"))
    status = action.split(":", 1)[1].strip() if ":" in action else attributes.get("health_status", "")
    return api.HealthChanged(**common, health=api.ContainerHealth.parse(status))


def _owner(container: str, short: str) -> str | None:
    suffix = "-" + short
    return container[: -len(suffix)] if container.endswith(suffix) else None


class WatchHub:
    """One set of per-host watchers shared by every `watch()` iterator of a fleet."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self._queues: list[asyncio.Queue[api.FleetChange]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False
        self._last_event: dict[str, float] = {}
        self._last_nano: dict[str, tuple[int, set[tuple[str, str]]]] = {}  # resume point: time, events seen then
        self._proxy_ids: dict[str, str] = {}
        self._services: set[str] = set()
        self._locks: dict[tuple[str, str | None], bool] = {}
        self._was_up: dict[str, bool] = {}
        self._streaming: dict[str, asyncio.Event] = {}  # set while a host's event stream is open

    async def ready(self, hosts: list[str], timeout: float = 5.0) -> None:
        """Wait (at most `timeout` seconds) until the event streams of `hosts` are open, so nothing that
        starts afterwards can be missed."""
        self.start()
        events = [self._streaming.setdefault(host, asyncio.Event()) for host in hosts]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                for event in events:
                    await event.wait()

    # -- subscribers ----------------------------------------------------------------------------

    async def subscribe(self) -> AsyncIterator[api.FleetChange]:
        queue: asyncio.Queue[api.FleetChange] = asyncio.Queue()
        self._queues.append(queue)
        self.start()
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues.remove(queue)

    def publish(self, change: api.FleetChange) -> None:
        for queue in list(self._queues):
            queue.put_nowait(change)

    # -- watchers -------------------------------------------------------------------------------

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        fleet = self.fleet
        fleet.on_host_state(self._host_state)
        fleet.connect()
        for host in fleet.hosts:
            self._was_up[host] = fleet.connection_state(host) is api.ConnectionState.UP
            self._tasks.append(asyncio.ensure_future(self._follow_events(host)))
        self._tasks.append(asyncio.ensure_future(self._check_locks()))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    def _host_state(self, host: RemoteHost) -> None:
        up = host.state == UP
        if up == self._was_up.get(host.name, False):
            return
        self._was_up[host.name] = up
        if up:
            self.publish(api.HostUp(at=time.time(), host=host.name))
        elif host.error:
            self.publish(api.HostDown(at=time.time(), host=host.name, error=host.error))

    async def _follow_events(self, name: str) -> None:
        """The host's container events, for as long as the fleet is open (resumed after every drop)."""
        fleet = self.fleet
        config = fleet.config
        accessories = {accessory.service_name: accessory.name for accessory in config.accessories
                       if name in accessory.hosts} if config is not None else None
        while True:
            remote = fleet.pool[name]
            try:
                docker = await remote.docker()
                since = self._last_event.get(name)
                params = {"filters": json.dumps({"type": ["container"]})}
                if since is not None:
                    params["since"] = f"{since:.9f}"
                else:
                    self._last_event[name] = time.time()
                    await self._remember_proxy(remote)
                streaming = self._streaming.setdefault(name, asyncio.Event())
                cache = self._cache(name)

                async def read(docker: Any = docker, params: dict[str, str] = params,
                               streaming: asyncio.Event = streaming, cache: HostCache = cache) -> None:
                    async with open_response(docker, "GET", "events", params=params) as response:
                        streaming.set()
                        cache.trust(True)
                        try:
                            async for event in json_lines(response):
                                self._on_event(name, event, config, accessories)
                        finally:
                            streaming.clear()
                            cache.trust(False)

                await remote.unless_lost(read())
            except asyncio.CancelledError:
                raise
            except Exception:
                pass  # the connection dropped or the engine closed the stream: wait, then resume from `since`
            if remote.state == UP:
                await asyncio.sleep(RETRY_DELAY)  # the stream ended with the connection still up: retry soon
            else:
                await _until_up(remote)

    async def _remember_proxy(self, remote: RemoteHost) -> None:
        from app.remote import app_docker

        with contextlib.suppress(Exception):
            found = await app_docker.list_containers(remote, [f"name=^{contract.PROXY_CONTAINER}$"], all_states=True)
            if found:
                self._proxy_ids[remote.name] = str(found[0]["Id"])[:12]

    def _cache(self, host: str) -> HostCache:
        return self.fleet.status_caches.setdefault(host, HostCache())

    def _on_event(self, host: str, event: Mapping[str, Any], config: Config | None,
                  accessories: Mapping[str, str] | None) -> None:
        actor = event.get("Actor") or {}
        attributes = actor.get("Attributes") or {}
        action = str(event.get("Action") or "")
        cache = self._cache(host)
        if attributes.get("name") == contract.PROXY_CONTAINER:
            cache.proxy_event(action, attributes)
        if not action.startswith("exec_"):
            cache.container_changed(str(actor.get("ID", "")))
        nano = int(event.get("timeNano") or 0)
        if nano:
            # `since` is inclusive: after a resume, skip what was already delivered.
            key = (str((event.get("Actor") or {}).get("ID", "")), str(event.get("Action", "")))
            last, seen = self._last_nano.get(host, (0, set()))
            if nano < last or (nano == last and key in seen):
                return
            self._last_nano[host] = (nano, {*seen, key} if nano == last else {key})
            self._last_event[host] = nano / 1e9
        change = change_from_event(event, host, service=self.fleet.service, destination=self.fleet.destination,
                                   accessories=accessories, services=sorted(self._services))
        if change is None:
            return
        if change.kind is api.ContainerKind.APP and change.service:
            self._services.add(change.service)
        self.publish(change)
        if isinstance(change, api.ContainerStarted) and change.kind is api.ContainerKind.PROXY \
                and self._proxy_ids.get(host) != change.id:
            self._proxy_ids[host] = change.id
            image = str(((event.get("Actor") or {}).get("Attributes") or {}).get("image", ""))
            version = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else None
            self.publish(api.ProxyReplaced(at=change.at, host=host, image=image, version=version, id=change.id))

    # -- the deploy lock ------------------------------------------------------------------------

    def lock_changed(self, config: Config, host: str | None, held: bool) -> None:
        """A run of this fleet took or released the lock: tell watchers now."""
        key = (config.service, config.destination)
        if self._locks.get(key) == held:
            return
        self._locks[key] = held
        self._publish_lock(host or "", config.service, config.destination, held, None)

    def _publish_lock(self, host: str, service: str, destination: str | None, held: bool,
                      status: api.LockStatus | None) -> None:
        if held:
            self.publish(api.LockTaken(at=time.time(), host=host, service=service, destination=destination,
                                       holder=status.holder if status else None,
                                       message=status.message if status else None))
        else:
            self.publish(api.LockReleased(at=time.time(), host=host, service=service, destination=destination))

    async def _check_locks(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                for (service, destination, host), status in (await self._read_locks()).items():
                    key = (service, destination)
                    held = status is not None
                    if key in self._locks and self._locks[key] != held:
                        self._publish_lock(host, service, destination, held, status)
                    self._locks[key] = held
            await asyncio.sleep(LOCK_CHECK_INTERVAL)

    async def _read_locks(self) -> dict[tuple[str, str | None, str], api.LockStatus | None]:
        fleet = self.fleet
        config = fleet.config
        now = time.time()
        found: dict[tuple[str, str | None, str], api.LockStatus | None] = {}
        if config is not None:
            if not config.primary_host or fleet.connection_state(config.primary_host) is not api.ConnectionState.UP:
                return found
            remote = fleet.pool[config.primary_host]
            content = await remote.read_file(contract.lock_details_path(config.service, config.destination))
            found[(config.service, config.destination, remote.name)] = None if content is None else parse_lock(
                decode_details(content), service=config.service, destination=config.destination, host=remote.name,
                now=now)
            return found
        from app.engine.status import host_locks

        for name in fleet.hosts:
            if fleet.connection_state(name) is not api.ConnectionState.UP:
                continue
            locks = await host_locks(fleet.pool[name], now)
            for lock in locks:
                found[(lock.service, lock.destination, name)] = lock
            for (service, destination), held in self._locks.items():
                if held and (service, destination, name) not in found:
                    found[(service, destination, name)] = None
        return found


async def _until_up(remote: RemoteHost) -> None:
    while remote.state != UP:
        await asyncio.sleep(RETRY_DELAY)
