"""The hosts table's "Running" cell: which container stands for a role when none runs."""

from __future__ import annotations

from app.engine import api
from widgets.cells import version as shown
from widgets.host_table import app_cell

HOST = "10.0.0.1"


def _app(version: str, state: api.ContainerState, started: float, finished: float | None) -> api.AppContainer:
    return api.AppContainer(host=HOST, service="demo", destination=None, role="web", name=f"demo-web-{version}",
                            version=version, state=state, health=api.ContainerHealth.NONE,
                            started_at=started, finished_at=finished)


def _cell(*apps: api.AppContainer) -> str:
    status = api.FleetStatus(taken_at=0.0, service="demo", destination=None,
                             hosts=(api.HostStatus(name=HOST, state=api.ConnectionState.UP, roles=("web",)),),
                             apps=apps)
    return app_cell(status, status.hosts[0])[0]


def test_the_container_that_stopped_last_stands_for_the_role() -> None:
    # "old" was started again later (a rollback, a manual start) but stopped before "current" did.
    old = _app("a" * 40, api.ContainerState.EXITED, started=200.0, finished=250.0)
    current = _app("b" * 40, api.ContainerState.EXITED, started=100.0, finished=300.0)
    assert _cell(old, current) == f"web {shown('b' * 40)} ■ stopped"
    assert _cell(current, old) == f"web {shown('b' * 40)} ■ stopped"


def test_a_running_container_wins_over_any_stopped_one() -> None:
    old = _app("a" * 40, api.ContainerState.EXITED, started=200.0, finished=400.0)
    current = _app("b" * 40, api.ContainerState.RUNNING, started=100.0, finished=None)
    assert _cell(old, current) == f"web ● {shown('b' * 40)}"
