"""The top of the dashboard: service, destination (each its own colour; production unmistakable, in
words too), the version running per role against the version a deploy would ship now, the lock."""

from __future__ import annotations

import zlib

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static

from app.engine.api import FleetStatus
from widgets import cells

DESTINATION_COLOURS = 6  # .tcss classes -dest-0 … -dest-5
PRODUCTION_NAMES = {"production", "prod", "prd", "live"}


def is_production(destination: str | None) -> bool:
    return destination is not None and (destination.lower() in PRODUCTION_NAMES
                                        or destination.lower().startswith("production"))


def destination_class(destination: str | None) -> str:
    """The same destination gets the same colour in every session (a stable hash of its name)."""
    if destination is None:
        return "-no-destination"
    if is_production(destination):
        return "-production"
    return f"-dest-{zlib.crc32(destination.encode()) % DESTINATION_COLOURS}"


def role_versions(status: FleetStatus) -> list[tuple[str, tuple[str, ...]]]:
    """(role, versions running) per role; in server mode per `service/role`."""
    if status.service is None:
        found: dict[str, list[str]] = {}
        for app in status.apps:
            versions = found.setdefault(f"{app.service}/{app.role}", [])
            if app.running and app.version not in versions:
                versions.append(app.version)
        return [(label, tuple(versions)) for label, versions in found.items()]
    roles = list(dict.fromkeys([role for host in status.hosts for role in host.roles]
                               + [app.role for app in status.apps]))
    return [(role, status.running_versions(role)) for role in roles]


class FleetHeader(Vertical):
    COMPONENT_CLASSES = {"fleet-header--current", "fleet-header--behind", "fleet-header--muted"}

    def compose(self) -> ComposeResult:
        with Horizontal(id="header-top"):
            yield Label("shipdeck", id="service")
            yield Label("", id="destination")
            yield Label("", id="lock")
        yield Static("", id="versions")

    def _style(self, name: str):
        return self.get_component_rich_style(f"fleet-header--{name}", partial=True)

    def forget(self) -> None:
        """Draw everything again on the next `show` (the tones' colours changed)."""
        for widget in self.query("Label, Static"):
            widget._shown = None  # type: ignore[attr-defined]

    @staticmethod
    def _set(widget: Label | Static, content, *, fixed_size: bool = False) -> None:
        """Update only on change; a widget whose size the stylesheet fixes skips the layout pass (the
        header is redrawn often while a run goes on: the lock's age)."""
        if getattr(widget, "_shown", None) != content:
            widget._shown = content  # type: ignore[attr-defined]
            widget.update(content, layout=not fixed_size)

    def show(self, status: FleetStatus, *, now: float, read_only: bool = False) -> None:
        service = self.query_one("#service", Label)
        destination = self.query_one("#destination", Label)
        if status.service is None:
            apps = ", ".join(status.services) or "no Kamal apps found yet"
            self._set(service, f"server mode (read-only): {apps}")
            destination.display = False
        else:
            self._set(service, status.service + (" (read-only)" if read_only else ""))
            destination.display = True
            if is_production(status.destination):
                self._set(destination, f" ▲ {status.destination.upper()} ")
            else:
                self._set(destination, f" {status.destination or 'no destination'} ")
            destination.set_classes(destination_class(status.destination))
        self._set(self.query_one("#versions", Static), self._versions(status), fixed_size=True)
        self._show_lock(status, now)

    def _versions(self, status: FleetStatus) -> Text:
        text = Text()
        shipping = status.deploy_version
        text.append("running ", self._style("muted"))
        for index, (role, versions) in enumerate(role_versions(status)):
            if index:
                text.append(", ")
            text.append(f"{role} ")
            if not versions:
                text.append("not running", self._style("muted"))
                continue
            tone = "current" if shipping is None or versions == (shipping,) else "behind"
            text.append(", ".join(cells.version(version) for version in versions), self._style(tone))
        if shipping is not None:
            text.append("   a deploy would ship ", self._style("muted"))
            text.append(cells.version(shipping))
        return text

    def _show_lock(self, status: FleetStatus, now: float) -> None:
        label = self.query_one("#lock", Label)
        held = [lock for lock in status.locks if lock.held]
        lock = status.lock if status.service is not None else (held[0] if held else None)
        if lock is None or not lock.held:
            self._set(label, "lock: free", fixed_size=True)
            label.set_classes("-free")
            return
        who = f" by {lock.holder}" if lock.holder else ""
        since = now - lock.acquired_at if lock.acquired_at is not None else lock.age_s
        age = f" {cells.age(since)} ago" if since is not None else ""
        message = f": {lock.message}" if lock.message else ""
        owner = f"{lock.service} " if status.service is None else ""
        self._set(label, f"{owner}LOCKED{who}{age}{message}", fixed_size=True)
        label.set_classes("-held")
