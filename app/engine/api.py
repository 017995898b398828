"""The engine's public face: the types every front end (CLI, dashboard, log view, `--auto`) renders.

A front end opens a `Fleet` (from a project, or from hosts alone in server mode), asks it for a
`FleetStatus` snapshot, follows `watch()` for `FleetChange`s and `logs()` for `LogLine`s (with
`LogGap` and `LogSwitched` markers), and starts operations that each return a `Run` handle: an async
iterator of run events (`RunStarted`, `StepStarted`, `Output`, `StepFinished`, `Notice`, `Rows`,
`Diagnosis`, `RunFinished`), with `cancel()` and `await result()`.

Everything here is an immutable value with no I/O and no heavy imports, so widgets and snapshot
tests can build these objects directly. Text that may carry secrets (errors, log lines, output) is
masked when the object is created.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from app.engine.confirm import ConfirmationRefused, ConfirmationRequest, Confirmer, Effect
from app.engine.events import (
    Diagnosis,
    Event,
    Notice,
    Output,
    Rows,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
    StepStatus,
)
from app.secrets.masking import mask

if TYPE_CHECKING:
    from app.diagnose.findings import Finding

__all__ = [
    "AccessoryStatus",
    "AppContainer",
    "ConfirmationRefused",
    "ConfirmationRequest",
    "Confirmer",
    "ConnectionState",
    "ContainerChange",
    "ContainerHealth",
    "ContainerKind",
    "ContainerRemoved",
    "ContainerRenamed",
    "ContainerStarted",
    "ContainerState",
    "ContainerStopped",
    "DeployOptions",
    "Diagnosis",
    "DiagnosisReport",
    "Effect",
    "Event",
    "FleetAPI",
    "FleetChange",
    "FleetStatus",
    "HealthChanged",
    "HostDown",
    "HostStatus",
    "HostUp",
    "LockReleased",
    "LockStatus",
    "LockTaken",
    "LogEvent",
    "LogGap",
    "LogLine",
    "LogSource",
    "LogSourceKind",
    "LogSwitched",
    "LogUnreachable",
    "Notice",
    "Output",
    "ProxyReplaced",
    "ProxyRoute",
    "ProxyStatus",
    "Rows",
    "Run",
    "RunEvent",
    "RunFinished",
    "RunResult",
    "RunStarted",
    "Selection",
    "StepFinished",
    "StepStarted",
    "StepStatus",
    "StorageUse",
]


# ==================================================================================================
# status()


class ConnectionState(StrEnum):
    """A host's SSH connection as the Fleet holds it."""

    CONNECTING = "connecting"  # opening (first time, or reconnecting after a drop, with backoff)
    UP = "up"
    FAILED = "failed"  # `HostStatus.error` says exactly why; the Fleet keeps retrying with backoff
    HOST_KEY_UNKNOWN = "host-key-unknown"  # waiting for the operator to confirm the fingerprint (or refused)


class ContainerState(StrEnum):
    """Docker's container states, plus MISSING for a configured container that does not exist."""

    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    RESTARTING = "restarting"
    REMOVING = "removing"
    EXITED = "exited"
    DEAD = "dead"
    MISSING = "missing"

    @classmethod
    def parse(cls, value: str | None) -> ContainerState:
        try:
            return cls(value or "missing")
        except ValueError:
            return cls.MISSING


class ContainerHealth(StrEnum):
    """Docker's health status; NONE when the container has no health check."""

    STARTING = "starting"
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    NONE = "none"

    @classmethod
    def parse(cls, value: str | None) -> ContainerHealth:
        try:
            return cls(value or "none")
        except ValueError:
            return cls.NONE


class ContainerKind(StrEnum):
    APP = "app"
    ACCESSORY = "accessory"
    PROXY = "proxy"
    OTHER = "other"  # any other container on the host (not Kamal's)


@dataclass(frozen=True, kw_only=True)
class HostStatus:
    name: str
    state: ConnectionState
    error: str | None = None  # the exact reason when FAILED (masked)
    rtt_ms: float | None = None  # one round trip over the open connection
    docker_version: str | None = None
    disk_free_bytes: int | None = None  # free space where Docker keeps its data
    roles: tuple[str, ...] = ()  # app roles configured on this host (project mode)
    fingerprint: str | None = None  # the SHA256 host key fingerprint when HOST_KEY_UNKNOWN

    def __post_init__(self) -> None:
        if self.error is not None:
            object.__setattr__(self, "error", mask(self.error))

    @property
    def reachable(self) -> bool:
        return self.state is ConnectionState.UP


@dataclass(frozen=True, kw_only=True)
class AppContainer:
    """One app container of a role on a host (running or not)."""

    host: str
    service: str
    destination: str | None
    role: str
    name: str  # e.g. demo-web-3f1c2a9 (or demo-web-3f1c2a9_replaced_<hex>)
    version: str
    state: ContainerState
    health: ContainerHealth
    started_at: float | None = None  # Unix time; None if never started
    image: str = ""
    id: str = ""  # 12 hex
    finished_at: float | None = None  # Unix time it last stopped; None if it never stopped

    @property
    def running(self) -> bool:
        return self.state is ContainerState.RUNNING


@dataclass(frozen=True, kw_only=True)
class StorageUse:
    """A directory, file or named volume an accessory mounts, with its size on the host."""

    kind: Literal["directory", "file", "volume"]
    source: str  # host path (relative paths are under the SSH user's home) or volume name
    target: str  # path inside the container
    size_bytes: int | None = None  # None when it could not be measured


@dataclass(frozen=True, kw_only=True)
class AccessoryStatus:
    host: str
    name: str  # the accessory's name in deploy.yml, e.g. "db"
    container: str  # e.g. demo-db
    state: ContainerState
    health: ContainerHealth
    image: str
    ports: tuple[str, ...] = ()  # as `docker ps` shows them, e.g. "127.0.0.1:5432->5432/tcp"
    storage: tuple[StorageUse, ...] = ()
    started_at: float | None = None
    service: str | None = None  # the app it belongs to


@dataclass(frozen=True, kw_only=True)
class ProxyRoute:
    """One kamal-proxy service (`kamal-proxy list`)."""

    service: str  # e.g. demo-web
    hosts: tuple[str, ...]
    path: str
    target: str
    state: str  # running | paused | stopped
    tls: bool


@dataclass(frozen=True, kw_only=True)
class ProxyStatus:
    host: str
    state: ContainerState
    image: str | None = None
    version: str | None = None  # the image tag, e.g. v0.9.2
    minimum_version: str = ""  # Kamal's minimum (app.contract.MINIMUM_PROXY_VERSION)
    outdated: bool = False  # older than minimum_version: `proxy boot` refuses, a reboot upgrades it
    routes: tuple[ProxyRoute, ...] = ()


@dataclass(frozen=True, kw_only=True)
class LockStatus:
    """The deploy lock of one service/destination (on its primary host)."""

    service: str
    destination: str | None
    held: bool
    holder: str | None = None  # "Locked by: <name> at <time>" → "<name>"
    message: str | None = None
    version: str | None = None
    acquired_at: float | None = None  # Unix time
    age_s: float | None = None  # at the time of the snapshot
    host: str | None = None
    details: str = ""  # the lock's details exactly as written (Kamal's three lines)


@dataclass(frozen=True, kw_only=True)
class FleetStatus:
    """One snapshot of everything running where. In server mode `service` is None and `services`
    lists every Kamal app found by its labels."""

    taken_at: float  # Unix time
    service: str | None
    destination: str | None
    hosts: tuple[HostStatus, ...]
    apps: tuple[AppContainer, ...] = ()
    accessories: tuple[AccessoryStatus, ...] = ()
    proxies: tuple[ProxyStatus, ...] = ()
    locks: tuple[LockStatus, ...] = ()
    deploy_version: str | None = None  # the version a deploy would ship now (None in server mode)
    services: tuple[str, ...] = ()

    @property
    def lock(self) -> LockStatus | None:
        """The project's lock (project mode), else the first lock that is held."""
        for lock in self.locks:
            if lock.service == self.service and lock.destination == self.destination:
                return lock
        return next((lock for lock in self.locks if lock.held), None)

    def host(self, name: str) -> HostStatus | None:
        return next((host for host in self.hosts if host.name == name), None)

    def apps_on(self, host: str, role: str | None = None) -> tuple[AppContainer, ...]:
        return tuple(app for app in self.apps if app.host == host and (role is None or app.role == role))

    def running_versions(self, role: str | None = None) -> tuple[str, ...]:
        """Versions with a running container (of `role`), in first-seen order."""
        found = [app.version for app in self.apps if app.running and (role is None or app.role == role)]
        return tuple(dict.fromkeys(found))


# ==================================================================================================
# watch()


@dataclass(frozen=True, kw_only=True)
class FleetChange:
    """Something changed on a host (from Docker's event stream or the connection itself)."""

    at: float  # Unix time
    host: str


@dataclass(frozen=True, kw_only=True)
class ContainerChange(FleetChange):
    container: str  # name
    id: str  # 12 hex
    kind: ContainerKind
    service: str | None = None
    role: str | None = None  # app containers
    accessory: str | None = None  # accessory containers: the accessory's name, e.g. "db"
    version: str | None = None  # app containers


@dataclass(frozen=True, kw_only=True)
class ContainerStarted(ContainerChange):
    pass


@dataclass(frozen=True, kw_only=True)
class ContainerStopped(ContainerChange):
    exit_code: int | None = None


@dataclass(frozen=True, kw_only=True)
class ContainerRemoved(ContainerChange):
    pass


@dataclass(frozen=True, kw_only=True)
class ContainerRenamed(ContainerChange):
    old_name: str


@dataclass(frozen=True, kw_only=True)
class HealthChanged(ContainerChange):
    health: ContainerHealth


@dataclass(frozen=True, kw_only=True)
class ProxyReplaced(FleetChange):
    """A new kamal-proxy container started on the host (boot or reboot)."""

    image: str
    version: str | None
    id: str


@dataclass(frozen=True, kw_only=True)
class LockTaken(FleetChange):
    service: str
    destination: str | None
    holder: str | None = None
    message: str | None = None


@dataclass(frozen=True, kw_only=True)
class LockReleased(FleetChange):
    service: str
    destination: str | None


@dataclass(frozen=True, kw_only=True)
class HostDown(FleetChange):
    error: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "error", mask(self.error))


@dataclass(frozen=True, kw_only=True)
class HostUp(FleetChange):
    rtt_ms: float | None = None


# ==================================================================================================
# logs()


class LogSourceKind(StrEnum):
    APP = "app"
    ACCESSORY = "accessory"
    PROXY = "proxy"


@dataclass(frozen=True, kw_only=True)
class LogSource:
    """Which containers to read. `LogSource.app()` is every role on every host; narrow with `role`,
    `host`; `LogSource.accessory("db")`; `LogSource.proxy()`."""

    kind: LogSourceKind
    role: str | None = None
    accessory: str | None = None
    host: str | None = None

    @classmethod
    def app(cls, role: str | None = None, host: str | None = None) -> LogSource:
        return cls(kind=LogSourceKind.APP, role=role, host=host)

    @classmethod
    def accessory_of(cls, name: str, host: str | None = None) -> LogSource:
        return cls(kind=LogSourceKind.ACCESSORY, accessory=name, host=host)

    @classmethod
    def proxy(cls, host: str | None = None) -> LogSource:
        return cls(kind=LogSourceKind.PROXY, host=host)


@dataclass(frozen=True, kw_only=True, init=False)
class LogLine:
    """One line of a container's output; its text is masked as the line is made."""

    source: LogSourceKind
    host: str
    container: str
    text: str
    stream: Literal["stdout", "stderr"] = "stdout"
    timestamp: float | None = None  # Unix time from Docker's --timestamps
    role: str | None = None
    accessory: str | None = None

    def __init__(self, *, source: LogSourceKind, host: str, container: str, text: str,
                 stream: Literal["stdout", "stderr"] = "stdout", timestamp: float | None = None,
                 role: str | None = None, accessory: str | None = None) -> None:
        # one is made for every line of a flood: the fields are set at once rather than one frozen
        # __setattr__ bypass each (what the generated __init__ does)
        self.__dict__.update(source=source, host=host, container=container, text=mask(text), stream=stream,
                             timestamp=timestamp, role=role, accessory=accessory)

    @property
    def label(self) -> str:
        """`host/role`, `host/accessory` or `host/kamal-proxy`: the prefix a face shows."""
        return f"{self.host}/{self.role or self.accessory or self.container}"


@dataclass(frozen=True, kw_only=True)
class LogGap:
    """A stream dropped (connection lost, container gone) and was picked up again: lines between
    `since` and `until` may be missing."""

    source: LogSourceKind
    host: str
    container: str
    reason: str
    since: float  # Unix time of the drop
    until: float | None = None  # when reading resumed (None: not resumed, e.g. the stream ended)
    role: str | None = None
    accessory: str | None = None


@dataclass(frozen=True, kw_only=True)
class LogSwitched:
    """The stream now follows a new container of the same role (a deploy replaced the old one)."""

    source: LogSourceKind
    host: str
    old_container: str | None
    new_container: str
    at: float
    role: str | None = None
    accessory: str | None = None
    version: str | None = None


@dataclass(frozen=True, kw_only=True)
class LogUnreachable:
    """A host the request selects could not be read at all (its containers not even listed): nothing of it is
    in the stream. `reason` says why, e.g. "cannot connect to port 22: Connection refused". With `follow`, its
    containers are read once the host is back (a `HostUp`), behind no further marker."""

    host: str
    reason: str
    at: float  # Unix time of the failed attempt
    sources: tuple[LogSource, ...] = ()  # the requested sources that concern this host

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", mask(self.reason))


LogEvent = LogLine | LogGap | LogSwitched | LogUnreachable


# ==================================================================================================
# diagnose()


@dataclass(frozen=True, kw_only=True)
class DiagnosisReport:
    """What `Fleet.diagnose()` found: the findings (app.diagnose.findings.Finding, each with its repairs)
    and the checks that ran, in words (`checks`), so that a face can say what a clean result covers."""

    taken_at: float  # Unix time
    findings: tuple[Finding, ...] = ()
    checks: tuple[str, ...] = ()

    @property
    def healthy(self) -> bool:
        """Nothing needs attention: no finding above INFO."""
        return not self.attention

    @property
    def attention(self) -> tuple[Finding, ...]:
        """The findings that need someone to act (errors and warnings)."""
        return tuple(finding for finding in self.findings if finding.severity.value != "info")

    def repair(self, repair_id: str) -> tuple[Finding, Any] | None:
        """The first finding that offers `repair_id`, with that repair."""
        for finding in self.findings:
            found = finding.repair(repair_id)
            if found is not None:
                return finding, found
        return None


# ==================================================================================================
# operations


@dataclass(frozen=True, kw_only=True)
class Selection:
    """Kamal's `-h`, `-r` and `-p`: which hosts and roles an operation acts on (patterns allowed)."""

    hosts: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    primary: bool = False


@dataclass(frozen=True, kw_only=True)
class DeployOptions:
    skip_push: bool = False  # -P: pull the already pushed image, do not build
    no_cache: bool = False  # build without Docker's build cache
    version: str | None = None  # default: the project's version (git HEAD)


@dataclass(frozen=True, kw_only=True)
class RunResult:
    """How a run ended. `value` is the operation's own result (e.g. a bool for `proxy_reboot`)."""

    ok: bool
    exit_code: int  # 0 done, 1 failed, 2 usage/config, 130 cancelled (as the CLI exits)
    error: str | None = None
    cancelled: bool = False
    duration: float = 0.0
    value: Any = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.error is not None:
            object.__setattr__(self, "error", mask(self.error))


RunEvent = Event  # RunStarted, StepStarted, Output, StepFinished, Notice, Rows, Diagnosis, RunFinished


@runtime_checkable
class Run(Protocol):
    """A started operation. Iterate it for its events (each iteration from the start of the run: a
    late subscriber still sees everything kept in the run's event ring), `cancel()` it (it stops at the
    next await, releases the deploy lock and restores what it had renamed), `await result()`."""

    id: str
    command: str

    def __aiter__(self) -> AsyncIterator[RunEvent]: ...

    def cancel(self) -> None: ...

    async def result(self) -> RunResult: ...

    @property
    def done(self) -> bool: ...


class FleetAPI(Protocol):
    """What a face may call on a Fleet (`app.engine.fleet.Fleet` implements it; fakes for tests may too).

    Open one with `await Fleet.open(config_file=..., destination=..., confirmer=...)` or
    `await Fleet.open_servers(["root@host", ...], confirmer=...)`; close it with `await fleet.close()`
    (or `async with`). Every operation starts at once and returns a `Run`.
    """

    service: str | None
    destination: str | None
    hosts: tuple[str, ...]

    def connection_state(self, host: str) -> ConnectionState: ...

    async def status(self, *, wait: bool = True) -> FleetStatus: ...

    def watch(self) -> AsyncIterator[FleetChange]: ...

    def logs(self, sources: Sequence[LogSource] = (), *, since: str | None = None, tail: int | None = None,
             follow: bool = False, grep: str | None = None) -> AsyncIterator[LogEvent]: ...

    def setup(self, options: DeployOptions = ..., selection: Selection = ...) -> Run: ...

    def deploy(self, options: DeployOptions = ..., selection: Selection = ...) -> Run: ...

    def redeploy(self, options: DeployOptions = ..., selection: Selection = ...) -> Run: ...

    def rollback(self, version: str, selection: Selection = ...) -> Run: ...

    def app_boot(self, version: str | None = None, selection: Selection = ...) -> Run: ...

    def app_start(self, selection: Selection = ...) -> Run: ...

    def app_stop(self, selection: Selection = ...) -> Run: ...

    def app_remove(self, selection: Selection = ...) -> Run: ...

    def app_exec(self, command: str, *, reuse: bool = False, env: dict[str, str] | None = None,
                 selection: Selection = ...) -> Run: ...

    def accessory_boot(self, name: str, selection: Selection = ...) -> Run: ...

    def accessory_reboot(self, name: str, selection: Selection = ...) -> Run: ...

    def accessory_remove(self, name: str, selection: Selection = ...) -> Run: ...

    def proxy_boot(self, selection: Selection = ...) -> Run: ...

    def proxy_reboot(self, *, rolling: bool = False, selection: Selection = ...) -> Run: ...

    def lock_acquire(self, message: str) -> Run: ...

    def lock_release(self) -> Run: ...

    def prune(self, selection: Selection = ...) -> Run: ...

    def details(self, selection: Selection = ...) -> Run: ...

    async def diagnose(self) -> DiagnosisReport: ...

    def repair(self, repair_id: str) -> Run: ...

    async def close(self) -> None: ...
