"""kamal-proxy on each host: its image version against Kamal's minimum (outdated flagged) and its
routes."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical

from app.engine.api import ContainerState, FleetStatus, ProxyStatus
from widgets import cells
from widgets.cells import BAD, MUTED, OK, Cell
from widgets.status_table import Row, StatusTable

PROXY_COLUMNS = (("host", "Host"), ("proxy", "kamal-proxy"), ("routes", "Routes"))
ROUTE_COLUMNS = (("host", "Host"), ("serves", "Serves"), ("state", "State"), ("target", "Target"),
                 ("service", "Proxy service"))


def proxy_cell(proxy: ProxyStatus) -> Cell:
    """State and version in one cell; an outdated version is compared with Kamal's minimum."""
    glyph = cells.container_state(proxy.state)[0].split(" ", 1)[0]
    version = proxy.version or "?"
    if proxy.state is not ContainerState.RUNNING:
        text, tone = cells.container_state(proxy.state)
        return (f"{text} {version}", tone)
    if proxy.outdated:
        return (f"{glyph} {version} < {proxy.minimum_version} outdated", BAD)
    return (f"{glyph} {version}", OK)


def proxy_row(proxy: ProxyStatus) -> Row:
    return (proxy.host, ((proxy.host, ""), proxy_cell(proxy), (str(len(proxy.routes)), "")))


def route_rows(status: FleetStatus) -> list[Row]:
    rows: list[Row] = []
    for proxy in status.proxies:
        for route in proxy.routes:
            scheme = "https" if route.tls else "http"
            serves = ", ".join(f"{scheme}://{host}" for host in route.hosts) or f"{scheme}://*"
            if route.path and route.path != "/":
                serves += route.path
            rows.append((f"{proxy.host}/{route.service}", (
                (proxy.host, ""),
                (serves, ""),
                (route.state, OK if route.state == "running" else BAD),
                (route.target, ""),
                (route.service, MUTED),
            )))
    return rows


class ProxyPanel(Vertical):
    def compose(self) -> ComposeResult:
        yield StatusTable(PROXY_COLUMNS, id="proxy-hosts")
        yield StatusTable(ROUTE_COLUMNS, id="proxy-routes")

    def show(self, status: FleetStatus) -> None:
        self.query_one("#proxy-hosts", StatusTable).sync([proxy_row(proxy) for proxy in status.proxies])
        self.query_one("#proxy-routes", StatusTable).sync(route_rows(status))

    @property
    def hosts_table(self) -> StatusTable:
        return self.query_one("#proxy-hosts", StatusTable)
