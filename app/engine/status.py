"""`Fleet.status()`: one typed snapshot of every host, gathered from all hosts at once over their open
connections.

Per host, concurrently: a round trip to the Docker engine (the RTT), one listing of every container,
an inspect of each app, accessory and proxy container (start time, health, mounts), kamal-proxy's
routes (`kamal-proxy list`), the free space where Docker keeps its data (SFTP statvfs), and the sizes
of accessory directories and volumes (`du`, remembered for SIZE_TTL seconds: a database directory
can be large). The lock details come from the primary host (every host in server mode).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shlex
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app import contract
from app.engine import api
from app.engine.lock import decode_details
from app.engine.proxy_ops import older_version
from app.remote import app_docker, docker_cli, docker_ops
from app.remote.host import FAILED, UP, RemoteHost

if TYPE_CHECKING:
    from app.engine.fleet import Fleet

SIZE_TTL = 30.0  # seconds a measured directory or volume size is reused
LOCK_PREFIX = "lock-"


@dataclass
class HostCache:
    """What status() keeps per host between snapshots. Inspected containers and proxy routes are kept
    only while the fleet's watcher reads the host's Docker events, which drop them as soon as they may
    have changed (any event of that container; for the routes, an exec in kamal-proxy other than
    `kamal-proxy list`, or the proxy container starting or stopping)."""

    docker_root: str | None = None
    sizes: dict[str, tuple[float, int | None]] = field(default_factory=dict)  # path -> (measured at, bytes)
    inspected: dict[str, dict[str, Any]] = field(default_factory=dict)  # container id (12 hex) -> inspect
    changes: dict[str, int] = field(default_factory=dict)  # container id -> events seen (an answer older is stale)
    routes: tuple[api.ProxyRoute, ...] | None = None
    routes_changes: int = 0
    route_execs: set[str] = field(default_factory=set)  # kamal-proxy commands under way that change routes
    trusted: bool = False  # set by the watcher while its event stream for the host is open

    def container_changed(self, container_id: str) -> None:
        container_id = container_id[:12]
        self.changes[container_id] = self.changes.get(container_id, 0) + 1
        self.inspected.pop(container_id, None)

    def routes_changed(self) -> None:
        self.routes_changes += 1
        self.routes = None

    def trust(self, trusted: bool) -> None:
        """The watcher's stream opened (True) or closed (False: nothing cached can be relied on)."""
        self.trusted = trusted
        if not trusted:
            self.inspected.clear()
            self.route_execs.clear()
            self.routes_changed()

    def proxy_event(self, action: str, attributes: Mapping[str, str]) -> None:
        """An event of the kamal-proxy container: does it change the routes?"""
        verb, _, command = action.partition(":")
        exec_id = attributes.get("execID", "")
        if verb == "exec_start" and not command.strip().startswith("kamal-proxy list"):
            self.route_execs.add(exec_id)
            self.routes_changed()
        elif verb == "exec_die" and exec_id in self.route_execs:
            self.route_execs.discard(exec_id)
            self.routes_changed()
        elif verb in ("start", "die", "destroy", "restart"):
            self.routes_changed()

    @property
    def routes_known(self) -> bool:
        return self.trusted and self.routes is not None and not self.route_execs


@dataclass
class HostSnapshot:
    host: api.HostStatus
    apps: list[api.AppContainer] = field(default_factory=list)
    accessories: list[api.AccessoryStatus] = field(default_factory=list)
    proxy: api.ProxyStatus | None = None
    locks: list[api.LockStatus] = field(default_factory=list)


# -- labels and names ------------------------------------------------------------------------------

@dataclass(frozen=True)
class AppIdentity:
    service: str
    destination: str | None
    role: str
    version: str


def app_identity(name: str, labels: Mapping[str, str], service: str | None = None,
                 destination: str | None = None) -> AppIdentity | None:
    """An app container by Kamal's labels (service, role, destination); in project mode only the project's."""
    label_service, role = labels.get("service"), labels.get("role")
    if not label_service or not role:
        return None
    label_destination = labels.get("destination") or None
    if service is not None and (label_service != service or label_destination != destination):
        return None
    prefix = contract.container_prefix(label_service, role, label_destination) + "-"
    version = name[len(prefix):] if name.startswith(prefix) else name
    return AppIdentity(label_service, label_destination, role, version)


def accessory_name(container: str, labels: Mapping[str, str], services: list[str],
                   configured: Mapping[str, str] | None = None) -> str | None:
    """The accessory's short name (`db`) for an accessory container (`demo-db`), else None.

    Project mode: the configured accessories by container name. Server mode: a container whose
    `service` label is its own name and which has no `role` label, named `<app service>-<name>`."""
    if configured is not None:
        return configured.get(container)
    if labels.get("role") or labels.get("service") != container:
        return None
    for service in sorted(services, key=len, reverse=True):
        if container.startswith(service + "-"):
            return container[len(service) + 1:]
    return container


def health_of(details: Mapping[str, Any]) -> api.ContainerHealth:
    health = (details.get("State") or {}).get("Health") or {}
    return api.ContainerHealth.parse(health.get("Status"))


def started_at(details: Mapping[str, Any]) -> float | None:
    return _state_time(details, "StartedAt")


def finished_at(details: Mapping[str, Any]) -> float | None:
    return _state_time(details, "FinishedAt")


def _state_time(details: Mapping[str, Any], field: str) -> float | None:
    value = (details.get("State") or {}).get(field) or ""
    if not value or value.startswith("0001-"):  # Docker's zero time: never happened
        return None
    return parse_time(value)


def parse_time(value: str) -> float | None:
    """RFC 3339 with up to nanoseconds (Docker) or seconds (Kamal's lock) → Unix time."""
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?", value.strip())
    if not match:
        return None
    base, fraction, zone = match.groups()
    zone = "+00:00" if zone in (None, "Z") else zone
    try:
        moment = datetime.fromisoformat(base + zone).timestamp()
    except ValueError:
        return None
    return moment + (float(fraction) if fraction else 0.0)


# -- lock ------------------------------------------------------------------------------------------

def parse_lock(details: str, *, service: str, destination: str | None, host: str | None,
               now: float) -> api.LockStatus:
    """Kamal's lock details (`Locked by: NAME at TIME`, `Version: V`, `Message: M...`) as a LockStatus."""
    holder = message = version = None
    acquired = None
    lines = details.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("Locked by: "):
            who, _, when = line[len("Locked by: "):].rpartition(" at ")
            holder = who or line[len("Locked by: "):]
            acquired = parse_time(when) if who else None
        elif line.startswith("Version: "):
            version = line[len("Version: "):]
        elif line.startswith("Message: "):
            message = "\n".join([line[len("Message: "):], *lines[index + 1:]])
            break
    return api.LockStatus(service=service, destination=destination, held=True, holder=holder, message=message,
                          version=version, acquired_at=acquired, age_s=(now - acquired) if acquired else None,
                          host=host, details=details)


def lock_owner(directory_name: str) -> tuple[str, str | None]:
    """`lock-demo-staging` → ("demo-staging", None): in server mode the service and destination of a lock
    directory cannot be told apart, so the whole name is the service."""
    return directory_name[len(LOCK_PREFIX):], None


async def project_lock(fleet: Fleet, now: float, wait: bool = True) -> api.LockStatus | None:
    """The project's lock on its primary host (None when that host cannot be asked now)."""
    config = fleet.config
    if config is None or not config.primary_host:
        return None
    host = fleet.pool[config.primary_host]
    if fleet.pool.kept(host.name) and host.state != UP and (not wait or host.state == FAILED):
        return None
    try:
        content = await host.read_file(contract.lock_details_path(config.service, config.destination))
    except Exception:
        return None
    if content is None:
        return api.LockStatus(service=config.service, destination=config.destination, held=False,
                              host=config.primary_host)
    return parse_lock(decode_details(content), service=config.service, destination=config.destination,
                      host=config.primary_host, now=now)


async def host_locks(host: RemoteHost, now: float) -> list[api.LockStatus]:
    """Every lock directory in the host's `.kamal` (server mode)."""
    sftp = await host.sftp()
    try:
        names = [name for name in await sftp.listdir(contract.RUN_DIRECTORY) if name.startswith(LOCK_PREFIX)]
    except Exception:
        return []
    locks = []
    for name in sorted(names):
        service, destination = lock_owner(name)
        content = await host.read_file(f"{contract.RUN_DIRECTORY}/{name}/details")
        details = decode_details(content) if content is not None else ""
        locks.append(parse_lock(details, service=service, destination=destination, host=host.name, now=now))
    return locks


# -- proxy -----------------------------------------------------------------------------------------

def parse_proxy_list(output: str) -> tuple[api.ProxyRoute, ...]:
    """`kamal-proxy list`'s table (Service, Host, Path, Target, State, TLS), cut at the header's columns."""
    output = re.sub(r"\x1b\[[0-9;]*m", "", output)  # a bold header when it thinks it talks to a terminal
    lines = [line for line in output.splitlines() if line.strip()]
    if not lines or not lines[0].lstrip().startswith("Service"):
        return ()
    header = lines[0]
    starts = [match.start() for match in re.finditer(r"\S+", header)]
    names = header.split()
    routes = []
    for line in lines[1:]:
        cells = {name: line[start:(starts[index + 1] if index + 1 < len(starts) else None)].strip()
                 for index, (name, start) in enumerate(zip(names, starts, strict=True))}
        hosts = tuple(host for host in cells.get("Host", "").split(",") if host and host != "*")
        routes.append(api.ProxyRoute(service=cells.get("Service", ""), hosts=hosts, path=cells.get("Path", "/"),
                                     target=cells.get("Target", ""), state=cells.get("State", ""),
                                     tls=cells.get("TLS", "").lower() in ("yes", "true")))
    return tuple(routes)


async def proxy_status(host: RemoteHost, summary: Mapping[str, Any] | None, cache: HostCache) -> api.ProxyStatus:
    """kamal-proxy's container (from the listing: image and tag) and its routes (`kamal-proxy list`)."""
    minimum = contract.MINIMUM_PROXY_VERSION
    if summary is None:
        return api.ProxyStatus(host=host.name, state=api.ContainerState.MISSING, minimum_version=minimum)
    state = api.ContainerState.parse(summary.get("State"))
    image = str(summary.get("Image") or "")
    version = docker_cli.image_version({"Config": {"Image": image}}) or None
    routes: tuple[api.ProxyRoute, ...] = ()
    if state is api.ContainerState.RUNNING:
        if cache.routes_known:
            routes = cache.routes or ()
        else:
            before = cache.routes_changes
            with contextlib.suppress(Exception):
                listed = await app_docker.exec_in_container(host, contract.PROXY_CONTAINER, ["kamal-proxy", "list"])
                if listed.exit_code == 0:
                    routes = parse_proxy_list(listed.stdout)
                    if cache.routes_changes == before:
                        cache.routes = routes
    return api.ProxyStatus(host=host.name, state=state, image=image or None, version=version,
                           minimum_version=minimum, outdated=bool(version) and older_version(version, minimum),
                           routes=routes)


# -- accessories -----------------------------------------------------------------------------------

def storage_of(details: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """(kind, source, target, path to measure) of the bind mounts and named volumes of a container
    (from its inspect or its listing: both carry `Mounts`)."""
    found = []
    for mount in details.get("Mounts") or []:
        if mount.get("Type") == "volume":
            found.append(("volume", str(mount.get("Name", "")), str(mount.get("Destination", "")),
                          str(mount.get("Source", ""))))
        elif mount.get("Type") == "bind":
            source = str(mount.get("Source", ""))
            found.append(("directory", source, str(mount.get("Destination", "")), source))
    return found


async def measure(host: RemoteHost, cache: HostCache, paths: list[str]) -> dict[str, int | None]:
    """Sizes in bytes (`du -s -B1`), from the cache when measured less than SIZE_TTL seconds ago."""
    now = time.monotonic()
    wanted = [path for path in dict.fromkeys(paths) if now - cache.sizes.get(path, (-SIZE_TTL - 1, None))[0] > SIZE_TTL]
    if wanted:
        sizes: dict[str, int | None] = dict.fromkeys(wanted)
        with contextlib.suppress(Exception):
            result = await host.run("du -s -B1 " + " ".join(shlex.quote(path) for path in wanted) + " 2>/dev/null",
                                    check=False, timeout=10)
            for line in result.stdout.splitlines():
                size, _, path = line.partition("\t")
                if size.isdigit() and path in sizes:
                    sizes[path] = int(size)
        for path, size in sizes.items():
            cache.sizes[path] = (now, size)
    return {path: cache.sizes[path][1] for path in paths}


def bind_kind(source: str, files: tuple[str, ...]) -> str:
    """A bind mount is an uploaded file when the config says so (accessory `files:`), else a directory."""
    return "file" if any(source == path or source.endswith("/" + path) for path in files) else "directory"


# -- one host --------------------------------------------------------------------------------------

async def host_snapshot(fleet: Fleet, name: str, cache: HostCache, now: float, wait: bool = True) -> HostSnapshot:
    remote = fleet.pool[name]
    config = fleet.config
    roles = tuple(role.name for role in config.host_roles(name)) if config is not None else ()
    if fleet.pool.kept(name) and remote.state != UP and (not wait or remote.state == FAILED):
        # Connected in the background (retrying with backoff after a failure): report where that stands
        # instead of waiting for it. A first attempt still under way is waited for, unless `wait` is off.
        return HostSnapshot(api.HostStatus(name=name, state=fleet.connection_state(name), error=remote.error,
                                           roles=roles, fingerprint=remote.fingerprint))
    try:
        await remote.docker()
        rtt, containers = await asyncio.gather(remote.round_trip(),
                                               app_docker.list_containers(remote, [], all_states=True))
    except Exception as error:
        state = fleet.connection_state(name)
        if state is api.ConnectionState.UP:
            state = api.ConnectionState.FAILED
        return HostSnapshot(api.HostStatus(name=name, state=state, error=str(error), roles=roles,
                                           fingerprint=remote.fingerprint))
    configured = {accessory.service_name: accessory.name for accessory in config.accessories
                  if name in accessory.hosts} if config is not None else None
    services = sorted({labels.get("service", "") for labels in (summary.get("Labels") or {} for summary in containers)
                       if labels.get("role")})
    wanted: list[tuple[str, dict[str, Any], Any]] = []  # (kind, summary, identity)
    proxy_summary = None
    for summary in containers:
        labels = summary.get("Labels") or {}
        container = app_docker.container_name(summary)
        identity = app_identity(container, labels, fleet.service, fleet.destination)
        if container == contract.PROXY_CONTAINER:
            proxy_summary = summary
        elif identity is not None:
            wanted.append(("app", summary, identity))
        else:
            short = accessory_name(container, labels, services, configured)
            if short is not None:
                wanted.append(("accessory", summary, short))

    async def inspect(summary: dict[str, Any]) -> dict[str, Any]:
        container_id = str(summary["Id"])[:12]
        if cache.trusted and container_id in cache.inspected:
            return cache.inspected[container_id]
        before = cache.changes.get(container_id, 0)
        try:
            details = await app_docker.inspect_container(remote, container_id)
        except Exception:
            return {}
        if cache.trusted and cache.changes.get(container_id, 0) == before:
            cache.inspected[container_id] = details
        return details

    async def disk_free() -> int | None:
        try:
            if cache.docker_root is None:
                docker = await remote.docker()
                cache.docker_root = (await docker.system.info()).get("DockerRootDir") or "/var/lib/docker"
            sftp = await remote.sftp()
            stats = await sftp.statvfs(cache.docker_root)
            return int(stats.bavail * stats.frsize)
        except Exception:
            return None

    with_proxy = proxy_summary is not None or (config is not None and name in config.proxy_hosts)
    paths = [path for kind, summary, _ in wanted if kind == "accessory" for *_, path in storage_of(summary)]
    inspected_list, free, proxy, sizes, locks = await asyncio.gather(
        asyncio.gather(*(inspect(summary) for _, summary, _ in wanted)), disk_free(),
        proxy_status(remote, proxy_summary, cache) if with_proxy else _none(),
        measure(remote, cache, paths) if paths else _empty(),
        host_locks(remote, now) if config is None else _empty_list())
    snapshot = HostSnapshot(api.HostStatus(
        name=name, state=api.ConnectionState.UP, rtt_ms=round(rtt, 2),
        docker_version=(remote.docker_info or {}).get("Version"), disk_free_bytes=free, roles=roles),
        proxy=proxy, locks=locks)
    files = tuple(file.host_path for accessory in config.accessories for file in accessory.files) \
        if config is not None else ()
    present = set()
    for (kind, summary, identity), details in zip(wanted, inspected_list, strict=True):
        container = app_docker.container_name(summary)
        state = api.ContainerState.parse(summary.get("State"))
        if kind == "app":
            snapshot.apps.append(api.AppContainer(
                host=name, service=identity.service, destination=identity.destination, role=identity.role,
                name=container, version=identity.version, state=state, health=health_of(details),
                started_at=started_at(details), image=str(summary.get("Image", "")), id=str(summary["Id"])[:12],
                finished_at=finished_at(details)))
            continue
        present.add(container)
        storage = tuple(api.StorageUse(kind=kind if kind == "volume" else bind_kind(source, files),  # type: ignore[arg-type]
                                       source=source, target=target, size_bytes=sizes.get(path))
                        for kind, source, target, path in storage_of(summary))
        snapshot.accessories.append(api.AccessoryStatus(
            host=name, name=identity, container=container, state=state, health=health_of(details),
            image=str(summary.get("Image", "")), ports=tuple(filter(None, docker_ops.ports_text(
                summary.get("Ports") or []).split(", "))), storage=storage, started_at=started_at(details),
            service=config.service if config is not None else _owner(container, identity)))
    if configured is not None:  # configured accessories with no container on this host
        for accessory in config.accessories:
            if name in accessory.hosts and accessory.service_name not in present:
                snapshot.accessories.append(api.AccessoryStatus(
                    host=name, name=accessory.name, container=accessory.service_name,
                    state=api.ContainerState.MISSING, health=api.ContainerHealth.NONE, image=accessory.image,
                    service=config.service))
    return snapshot


def _owner(container: str, short: str) -> str | None:
    suffix = "-" + short
    return container[: -len(suffix)] if container.endswith(suffix) else None


async def _none() -> None:
    return None


async def _empty() -> dict[str, int | None]:
    return {}


async def _empty_list() -> list[api.LockStatus]:
    return []


# -- the whole fleet -------------------------------------------------------------------------------

async def gather_status(fleet: Fleet, *, wait: bool = True) -> api.FleetStatus:
    now = time.time()
    fleet.keep_watching()  # Docker's events keep the caches below honest
    caches: dict[str, HostCache] = fleet.status_caches
    snapshots, lock, version = await asyncio.gather(
        asyncio.gather(*(host_snapshot(fleet, name, caches.setdefault(name, HostCache()), now, wait)
                         for name in fleet.hosts)),
        project_lock(fleet, now, wait),
        asyncio.to_thread(fleet.deploy_version) if fleet.config is not None else _none())
    apps = tuple(app for snapshot in snapshots for app in sorted(snapshot.apps, key=lambda a: (a.role, a.name)))
    locks = [lock] if lock is not None else [found for snapshot in snapshots for found in snapshot.locks]
    services = sorted({app.service for app in apps} | {lock.service for lock in locks if lock.held}) \
        if fleet.config is None else [fleet.config.service]
    return api.FleetStatus(
        taken_at=now, service=fleet.service, destination=fleet.destination,
        hosts=tuple(snapshot.host for snapshot in snapshots), apps=apps,
        accessories=tuple(accessory for snapshot in snapshots for accessory in snapshot.accessories),
        proxies=tuple(snapshot.proxy for snapshot in snapshots if snapshot.proxy is not None),
        locks=tuple(locks), deploy_version=version, services=tuple(services))
