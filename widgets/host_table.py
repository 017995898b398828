"""Hosts: connection state (with the exact error when it fails), each role with the app version
running there and its health (or its state when none runs), Docker version and free disk."""

from __future__ import annotations

from app.engine.api import AppContainer, ConnectionState, ContainerHealth, FleetStatus, HostStatus
from widgets import cells
from widgets.cells import BAD, MUTED, OK, WARN, Cell
from widgets.status_table import Row, StatusTable

COLUMNS = (("host", "Host"), ("connection", "Connection"), ("app", "Running"),
           ("docker", "Docker"), ("disk", "Disk free"), ("detail", "Detail"))

_RANK = {OK: 0, MUTED: 1, WARN: 2, BAD: 3}


def _last_active(app: AppContainer) -> float:
    """When the container last ran: the one that stopped last is the version that was serving."""
    return max(app.finished_at or 0.0, app.started_at or 0.0)


def _one_role(label: str, containers: list[AppContainer]) -> Cell:
    running = [app for app in containers if app.running]
    if running:
        parts = []
        tone = OK
        for app in running:
            health = "" if app.health is ContainerHealth.NONE else f" {app.health}"
            parts.append(f"{cells.version(app.version)}{health}")
            if app.health is ContainerHealth.UNHEALTHY:
                tone = BAD
            elif app.health is ContainerHealth.STARTING and tone == OK:
                tone = WARN
        return (f"{label} ● " + ", ".join(parts), tone)
    latest = max(containers, key=_last_active)
    text, tone = cells.container_state(latest.state)
    return (f"{label} {cells.version(latest.version)} {text}", tone)


def app_cell(status: FleetStatus, host: HostStatus) -> Cell:
    containers = status.apps_on(host.name)
    groups: dict[str, list[AppContainer]] = {}
    for app in containers:
        label = app.role if status.service is not None else f"{app.service}/{app.role}"
        groups.setdefault(label, []).append(app)
    for role in host.roles:  # a configured role without any container
        groups.setdefault(role, [])
    if not groups:
        return ("-", MUTED)
    parts: list[Cell] = []
    for label, group in groups.items():
        parts.append(_one_role(label, group) if group else (f"{label} – none", MUTED))
    tone = max((tone for _, tone in parts), key=lambda tone: _RANK.get(tone, 0))
    return (" · ".join(text for text, _ in parts), tone)


def host_row(status: FleetStatus, host: HostStatus) -> Row:
    detail: Cell = ("", "")
    if host.state is ConnectionState.FAILED and host.error:
        detail = (host.error, BAD)
    elif host.state is ConnectionState.HOST_KEY_UNKNOWN and host.fingerprint:
        detail = (f"fingerprint {host.fingerprint}", WARN)
    known = host.state is ConnectionState.UP or host.docker_version is not None
    return (host.name, (
        (host.name, ""),
        cells.connection(host.state, host.rtt_ms),
        app_cell(status, host) if known else ("", MUTED),
        (host.docker_version or "", ""),
        (cells.size(host.disk_free_bytes) if host.disk_free_bytes is not None else "", ""),
        detail,
    ))


class HostTable(StatusTable):
    def __init__(self, **kwargs) -> None:
        super().__init__(COLUMNS, **kwargs)

    def show(self, status: FleetStatus) -> None:
        self.sync([host_row(status, host) for host in status.hosts])
