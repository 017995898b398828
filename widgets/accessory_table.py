"""Accessories per host: state, health, image, ports, directories and volumes with their size, and a
"needs attention" marker where a diagnosis names the accessory."""

from __future__ import annotations

from collections.abc import Mapping

from app.engine.api import AccessoryStatus, FleetStatus, StorageUse
from widgets import cells
from widgets.cells import BAD, MUTED
from widgets.status_table import Row, StatusTable

COLUMNS = (("attention", "!"), ("accessory", "Accessory"), ("host", "Host"), ("state", "State"),
           ("health", "Health"), ("image", "Image"), ("ports", "Ports"), ("storage", "Data (size)"))

ATTENTION = "⚠"


def _storage(use: StorageUse) -> str:
    size = f" {cells.size(use.size_bytes)}" if use.size_bytes is not None else ""
    kind = "volume " if use.kind == "volume" else ""
    return f"{kind}{use.source}{size}"


def row_key(accessory: AccessoryStatus) -> str:
    return f"{accessory.name}@{accessory.host}"


def accessory_row(accessory: AccessoryStatus, attention: str | None) -> Row:
    return (row_key(accessory), (
        (ATTENTION, BAD) if attention else ("", ""),
        (accessory.name, ""),
        (accessory.host, ""),
        cells.container_state(accessory.state),
        cells.health(accessory.health),
        (accessory.image, ""),
        (", ".join(accessory.ports) or "-", MUTED if not accessory.ports else ""),
        ("; ".join(_storage(use) for use in accessory.storage) or "-", MUTED if not accessory.storage else ""),
    ))


class AccessoryTable(StatusTable):
    def __init__(self, **kwargs) -> None:
        super().__init__(COLUMNS, **kwargs)
        self._names: dict[str, str] = {}

    def show(self, status: FleetStatus, attention: Mapping[str, str] | None = None) -> None:
        """`attention` maps an accessory name (or `name@host`) to what needs attention."""
        attention = attention or {}
        self._names = {row_key(accessory): accessory.name for accessory in status.accessories}
        self.sync([accessory_row(accessory, attention.get(row_key(accessory)) or attention.get(accessory.name))
                   for accessory in status.accessories])

    @property
    def selected_accessory(self) -> str | None:
        key = self.selected_key
        return self._names.get(key) if key else None
