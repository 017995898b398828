"""The dashboard's state as plain values (no Textual here, so it is tested without a screen).

Two things are kept: the fleet as last seen (a `FleetStatus`, brought up to date by every `watch()`
change at once and replaced by a fresh `status()` soon after), and the activity of the current or
last run: a host × step matrix folded from the run's events.
"""

from __future__ import annotations

import dataclasses
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from app.engine import api

LOCAL = "local"  # the matrix row of steps that run on this machine (build, hooks)
MAX_CELL_LINES = 2_000  # output lines kept per cell; older ones fall off the top


# ==================================================================================================
# the fleet


def connecting_status(service: str | None, destination: str | None, hosts: Iterable[str],
                      states: dict[str, api.ConnectionState] | None = None, *, now: float) -> api.FleetStatus:
    """What is known before the first `status()` answers: the hosts, each in its connection state."""
    states = states or {}
    return api.FleetStatus(
        taken_at=now, service=service, destination=destination,
        hosts=tuple(api.HostStatus(name=host, state=states.get(host, api.ConnectionState.CONNECTING))
                    for host in hosts))


def version_key(version: str | None) -> tuple[int, ...]:
    """`v0.9.2` → (0, 9, 2); anything without numbers sorts first."""
    return tuple(int(part) for part in re.findall(r"\d+", version or ""))


def proxy_outdated(version: str | None, minimum: str) -> bool:
    return bool(version and minimum) and version_key(version) < version_key(minimum)


def _replace_where(items: tuple, match, update) -> tuple:
    return tuple(update(item) if match(item) else item for item in items)


def _container_state(change: api.ContainerChange) -> api.ContainerState | None:
    if isinstance(change, api.ContainerStarted):
        return api.ContainerState.RUNNING
    if isinstance(change, api.ContainerStopped):
        return api.ContainerState.EXITED
    return None


def _apply_app(status: api.FleetStatus, change: api.ContainerChange) -> api.FleetStatus:
    def same(app: api.AppContainer) -> bool:
        return app.host == change.host and app.name in (change.container, getattr(change, "old_name", None))

    apps = status.apps
    if isinstance(change, api.ContainerRemoved):
        apps = tuple(app for app in apps if not same(app))
    elif isinstance(change, api.ContainerRenamed):
        apps = _replace_where(apps, same, lambda app: dataclasses.replace(app, name=change.container))
    elif isinstance(change, api.HealthChanged):
        apps = _replace_where(apps, same, lambda app: dataclasses.replace(app, health=change.health))
    elif (state := _container_state(change)) is not None:
        if any(same(app) for app in apps):
            started = change.at if state is api.ContainerState.RUNNING else None
            finished = change.at if state is api.ContainerState.EXITED else None
            apps = _replace_where(apps, same, lambda app: dataclasses.replace(
                app, state=state, started_at=started or app.started_at, finished_at=finished or app.finished_at))
        elif change.role and change.version:
            apps = (*apps, api.AppContainer(
                host=change.host, service=change.service or status.service or "", destination=status.destination,
                role=change.role, name=change.container, version=change.version, state=state,
                health=api.ContainerHealth.NONE, started_at=change.at if state is api.ContainerState.RUNNING else None,
                id=change.id))
    return dataclasses.replace(status, apps=apps)


def _apply_accessory(status: api.FleetStatus, change: api.ContainerChange) -> api.FleetStatus:
    def same(accessory: api.AccessoryStatus) -> bool:
        return accessory.host == change.host and accessory.container in (
            change.container, getattr(change, "old_name", None))

    if isinstance(change, api.ContainerRemoved):
        update = lambda acc: dataclasses.replace(acc, state=api.ContainerState.MISSING,  # noqa: E731
                                                 health=api.ContainerHealth.NONE, started_at=None)
    elif isinstance(change, api.HealthChanged):
        update = lambda acc: dataclasses.replace(acc, health=change.health)  # noqa: E731
    elif (state := _container_state(change)) is not None:
        update = lambda acc: dataclasses.replace(acc, state=state)  # noqa: E731
    else:
        return status
    return dataclasses.replace(status, accessories=_replace_where(status.accessories, same, update))


def _apply_proxy(status: api.FleetStatus, change: api.FleetChange) -> api.FleetStatus:
    def same(proxy: api.ProxyStatus) -> bool:
        return proxy.host == change.host

    if isinstance(change, api.ProxyReplaced):
        def update(proxy: api.ProxyStatus) -> api.ProxyStatus:
            return dataclasses.replace(proxy, state=api.ContainerState.RUNNING, image=change.image,
                                       version=change.version,
                                       outdated=proxy_outdated(change.version, proxy.minimum_version))
        if not any(same(proxy) for proxy in status.proxies):
            minimum = status.proxies[0].minimum_version if status.proxies else ""
            proxy = api.ProxyStatus(host=change.host, state=api.ContainerState.RUNNING, image=change.image,
                                    version=change.version, minimum_version=minimum,
                                    outdated=proxy_outdated(change.version, minimum))
            return dataclasses.replace(status, proxies=(*status.proxies, proxy))
    elif isinstance(change, api.ContainerRemoved):
        update = lambda proxy: dataclasses.replace(proxy, state=api.ContainerState.MISSING)  # noqa: E731
    elif isinstance(change, api.ContainerChange) and (state := _container_state(change)) is not None:
        update = lambda proxy: dataclasses.replace(proxy, state=state)  # noqa: E731
    else:
        return status
    return dataclasses.replace(status, proxies=_replace_where(status.proxies, same, update))


def _apply_lock(status: api.FleetStatus, change: api.LockTaken | api.LockReleased) -> api.FleetStatus:
    held = isinstance(change, api.LockTaken)
    lock = api.LockStatus(service=change.service, destination=change.destination, held=held,
                          holder=change.holder if held else None, message=change.message if held else None,
                          acquired_at=change.at if held else None, host=change.host)
    others = tuple(existing for existing in status.locks
                   if (existing.service, existing.destination) != (change.service, change.destination))
    return dataclasses.replace(status, locks=(*others, lock))


def _apply_host(status: api.FleetStatus, change: api.HostDown | api.HostUp) -> api.FleetStatus:
    if isinstance(change, api.HostDown):
        update = lambda host: dataclasses.replace(host, state=api.ConnectionState.FAILED,  # noqa: E731
                                                  error=change.error)
    else:
        update = lambda host: dataclasses.replace(host, state=api.ConnectionState.UP,  # noqa: E731
                                                  error=None, rtt_ms=change.rtt_ms)
    return dataclasses.replace(status, hosts=_replace_where(status.hosts, lambda h: h.name == change.host, update))


def apply_change(status: api.FleetStatus, change: api.FleetChange) -> api.FleetStatus:
    """The status as it is right after `change` (details such as health or image of a brand-new
    container arrive with the next `status()`)."""
    if isinstance(change, api.ContainerChange):
        if change.kind is api.ContainerKind.APP:
            return _apply_app(status, change)
        if change.kind is api.ContainerKind.ACCESSORY:
            return _apply_accessory(status, change)
        if change.kind is api.ContainerKind.PROXY:
            return _apply_proxy(status, change)
        return status
    if isinstance(change, api.ProxyReplaced):
        return _apply_proxy(status, change)
    if isinstance(change, (api.LockTaken, api.LockReleased)):
        return _apply_lock(status, change)
    if isinstance(change, (api.HostDown, api.HostUp)):
        return _apply_host(status, change)
    return status


def roles_of(status: api.FleetStatus) -> tuple[str, ...]:
    """Every app role configured or running, in first-seen order."""
    found = [role for host in status.hosts for role in host.roles] + [app.role for app in status.apps]
    return tuple(dict.fromkeys(found))


def rollback_versions(status: api.FleetStatus) -> list[tuple[str, int, bool]]:
    """Versions that still have app containers: (version, how many containers, running anywhere),
    newest container first."""
    by_version: dict[str, list[api.AppContainer]] = {}
    for app in sorted(status.apps, key=lambda app: app.started_at or 0.0, reverse=True):
        by_version.setdefault(app.version, []).append(app)
    return [(version, len(apps), any(app.running for app in apps)) for version, apps in by_version.items()]


def accessory_names(status: api.FleetStatus) -> tuple[str, ...]:
    return tuple(dict.fromkeys(accessory.name for accessory in status.accessories))


# ==================================================================================================
# the activity of a run


class CellState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


_FINISHED = {
    api.StepStatus.OK: CellState.OK,
    api.StepStatus.FAILED: CellState.FAILED,
    api.StepStatus.SKIPPED: CellState.SKIPPED,
    api.StepStatus.CANCELLED: CellState.CANCELLED,
}


@dataclass
class Cell:
    """One host × step: every instance of that step on that host (two roles may each run it)."""

    host: str
    step: str
    title: str
    started_at: float
    instances: dict[str, CellState] = field(default_factory=dict)
    finished_at: float | None = None
    durations: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lines: deque[tuple[str, str]] = field(default_factory=lambda: deque(maxlen=MAX_CELL_LINES))
    total_lines: int = 0  # lines ever added (the deque keeps the last MAX_CELL_LINES)

    def add_line(self, stream: str, text: str) -> None:
        self.lines.append((stream, text))
        self.total_lines += 1

    @property
    def state(self) -> CellState:
        states = set(self.instances.values())
        for state in (CellState.RUNNING, CellState.FAILED, CellState.CANCELLED, CellState.OK, CellState.SKIPPED):
            if state in states:
                return state
        return CellState.PENDING

    def duration(self, now: float) -> float:
        if self.state is CellState.RUNNING:
            return max(0.0, now - self.started_at)
        if len(self.durations) == 1:
            return self.durations[0]
        return max(0.0, (self.finished_at or now) - self.started_at)


@dataclass
class Activity:
    """The current or last run, folded from its events."""

    run_id: str
    command: str
    started_at: float
    hosts: tuple[str, ...] = ()
    version: str | None = None
    finished: bool = False
    ok: bool | None = None
    error: str | None = None
    cancelling: bool = False
    duration: float | None = None
    rows: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    messages: deque[tuple[str, str]] = field(default_factory=lambda: deque(maxlen=MAX_CELL_LINES))
    total_messages: int = 0
    diagnoses: list[api.Diagnosis] = field(default_factory=list)
    results: list[api.Rows] = field(default_factory=list)
    changed: set[tuple[str, str]] = field(default_factory=set)  # cells touched since the last render
    layout_changed: bool = True  # a row or column was added since the last render
    _instances: dict[str, tuple[str, str]] = field(default_factory=dict)

    def _row(self, host: str | None) -> str:
        row = host or LOCAL
        if row not in self.rows:
            if row == LOCAL:
                self.rows.insert(0, row)
            else:
                self.rows.append(row)
            self.layout_changed = True
        return row

    def _cell_of(self, step_id: str, host: str | None, step: str) -> Cell | None:
        key = self._instances.get(step_id) if step_id else (host or LOCAL, step)
        return self.cells.get(key) if key else None

    def apply(self, event: api.Event) -> None:
        if isinstance(event, api.RunStarted):
            self.command = event.command
            self.hosts = event.hosts
            self.version = event.version
            self.started_at = event.at
            for host in self.hosts:
                self._row(host)
        elif isinstance(event, api.StepStarted):
            row = self._row(event.host)
            if event.step not in self.steps:
                self.steps.append(event.step)
                self.layout_changed = True
            key = (row, event.step)
            cell = self.cells.get(key)
            if cell is None:
                cell = self.cells[key] = Cell(host=row, step=event.step, title=event.title, started_at=event.at)
            instance = event.step_id or f"{row}:{event.step}:{event.role}"
            cell.instances[instance] = CellState.RUNNING
            cell.finished_at = None
            self._instances[instance] = key
            self.changed.add(key)
        elif isinstance(event, api.Output):
            cell = self._cell_of(event.step_id, event.host, event.step)
            line = f"[{event.role}] {event.line}" if event.role and cell and self._roles_in(cell) > 1 else event.line
            if cell is None:
                self._message((event.stream, f"{event.host or LOCAL}: {line}" if event.host else line))
            else:
                cell.add_line(event.stream, line)
                self.changed.add((cell.host, cell.step))
        elif isinstance(event, api.StepFinished):
            cell = self._cell_of(event.step_id, event.host, event.step)
            if cell is None:
                return
            instance = event.step_id or f"{cell.host}:{event.step}:{event.role}"
            cell.instances[instance] = _FINISHED[event.status]
            cell.durations.append(event.duration)
            cell.finished_at = event.at
            if event.error:
                cell.errors.append(event.error)
                cell.add_line("stderr", event.error)
            self.changed.add((cell.host, cell.step))
        elif isinstance(event, api.Notice):
            where = f"{event.host}: " if event.host else ""
            self._message((event.level, f"{where}{event.message}"))
        elif isinstance(event, api.Diagnosis):
            self.diagnoses.append(event)
            self._message(("error", f"{event.title}" + (f" — {event.detail}" if event.detail else "")))
        elif isinstance(event, api.Rows):
            self.results.append(event)
        elif isinstance(event, api.RunFinished):
            self.finished = True
            self.ok = event.ok
            self.error = event.error
            self.duration = event.duration
            for key, cell in self.cells.items():
                for instance, state in cell.instances.items():
                    if state is CellState.RUNNING:  # a step cut short by the end of the run
                        cell.instances[instance] = CellState.CANCELLED
                        cell.finished_at = event.at
                        self.changed.add(key)
            if event.error:
                self._message(("error", event.error))

    def _message(self, item: tuple[str, str]) -> None:
        self.messages.append(item)
        self.total_messages += 1

    def _roles_in(self, cell: Cell) -> int:
        return len(cell.instances)

    @property
    def running(self) -> bool:
        return not self.finished

    def elapsed(self, now: float) -> float:
        return self.duration if self.duration is not None else max(0.0, now - self.started_at)

    def take_changes(self) -> tuple[bool, set[tuple[str, str]]]:
        """What changed since the last call (for a widget that updates only those cells)."""
        layout, changed = self.layout_changed, self.changed
        self.layout_changed, self.changed = False, set()
        return layout, changed
