"""The dashboard's state without a screen: watch() changes applied to a status, a run's events folded
into the host × step matrix."""

from __future__ import annotations

import dataclasses

from app.engine import api
from app.tui import state
from app.tui.state import LOCAL, Activity, CellState
from tests.tui.fake_fleet import JOBS, OLD_VERSION, RUNNING_VERSION, WEB, app_name, demo_status


def _change(kind, cls=api.ContainerStopped, **values):
    base = dict(at=2e9, host=WEB[0], container=app_name("web", RUNNING_VERSION), id="c", kind=kind)
    base.update(values)
    return cls(**base)


def test_a_stopped_app_container_reads_as_exited_and_others_are_untouched() -> None:
    status = demo_status()
    after = state.apply_change(status, _change(api.ContainerKind.APP, role="web", version=RUNNING_VERSION))
    stopped = [app for app in after.apps if app.host == WEB[0] and app.version == RUNNING_VERSION]
    assert [app.state for app in stopped] == [api.ContainerState.EXITED]
    assert [app for app in after.apps if app.host != WEB[0]] == [app for app in status.apps if app.host != WEB[0]]
    assert after.running_versions("web") == (RUNNING_VERSION,)  # still running on the other web host


def test_a_new_app_container_appears_running_and_a_removed_one_goes() -> None:
    status = demo_status()
    started = state.apply_change(status, _change(api.ContainerKind.APP, api.ContainerStarted, container="demo-web-x",
                                                 role="web", version="x", service="demo"))
    new = [app for app in started.apps if app.version == "x"]
    assert len(new) == 1 and new[0].running and new[0].started_at == 2e9
    removed = state.apply_change(started, _change(api.ContainerKind.APP, api.ContainerRemoved,
                                                  container=app_name("web", OLD_VERSION)))
    assert not [app for app in removed.apps if app.host == WEB[0] and app.version == OLD_VERSION]


def test_renames_and_health_follow_the_container() -> None:
    status = demo_status()
    name = app_name("web", RUNNING_VERSION)
    renamed = state.apply_change(status, _change(api.ContainerKind.APP, api.ContainerRenamed,
                                                 container=f"{name}_replaced_ab12", old_name=name))
    assert any(app.name == f"{name}_replaced_ab12" for app in renamed.apps_on(WEB[0]))
    sick = state.apply_change(status, _change(api.ContainerKind.APP, api.HealthChanged,
                                              health=api.ContainerHealth.UNHEALTHY))
    app = next(app for app in sick.apps_on(WEB[0]) if app.name == name)
    assert app.health is api.ContainerHealth.UNHEALTHY


def test_accessory_and_proxy_changes() -> None:
    status = demo_status()
    gone = state.apply_change(status, _change(api.ContainerKind.ACCESSORY, api.ContainerRemoved, host=JOBS,
                                              container="demo-db", accessory="db"))
    db = next(acc for acc in gone.accessories if acc.name == "db")
    assert db.state is api.ContainerState.MISSING
    replaced = state.apply_change(status, api.ProxyReplaced(at=2e9, host=WEB[1], image="basecamp/kamal-proxy:v0.9.3",
                                                            version="v0.9.3", id="p"))
    proxy = next(proxy for proxy in replaced.proxies if proxy.host == WEB[1])
    assert proxy.version == "v0.9.3" and not proxy.outdated and proxy.state is api.ContainerState.RUNNING
    stopped = state.apply_change(status, _change(api.ContainerKind.PROXY, host=WEB[0], container="kamal-proxy"))
    assert next(p for p in stopped.proxies if p.host == WEB[0]).state is api.ContainerState.EXITED


def test_lock_and_host_changes() -> None:
    status = demo_status()
    taken = state.apply_change(status, api.LockTaken(at=5.0, host=WEB[0], service="demo", destination="production",
                                                     holder="ci", message="deploying"))
    assert taken.lock.held and taken.lock.holder == "ci" and taken.lock.acquired_at == 5.0
    freed = state.apply_change(taken, api.LockReleased(at=6.0, host=WEB[0], service="demo",
                                                       destination="production"))
    assert not freed.lock.held
    down = state.apply_change(status, api.HostDown(at=1.0, host=JOBS, error="Connection reset by peer"))
    assert down.host(JOBS).state is api.ConnectionState.FAILED and down.host(JOBS).error == "Connection reset by peer"
    up = state.apply_change(down, api.HostUp(at=2.0, host=JOBS, rtt_ms=3.0))
    assert up.host(JOBS).reachable and up.host(JOBS).error is None


def test_versions_compare_numerically() -> None:
    assert state.proxy_outdated("v0.8.0", "v0.9.2")
    assert not state.proxy_outdated("v0.10.0", "v0.9.2")
    assert not state.proxy_outdated(None, "v0.9.2")


def test_rollback_versions_are_those_with_containers_newest_first() -> None:
    assert state.rollback_versions(demo_status()) == [(RUNNING_VERSION, 3, True), (OLD_VERSION, 3, False)]
    status = dataclasses.replace(demo_status(), apps=())
    assert state.rollback_versions(status) == []


def _run(*events: api.Event) -> Activity:
    activity = Activity(run_id="r", command="deploy", started_at=0.0)
    for event in events:
        activity.apply(event)
    return activity


def test_activity_is_a_host_by_step_matrix_with_local_steps_first() -> None:
    activity = _run(
        api.RunStarted(command="deploy", hosts=("h1", "h2"), version="v2", at=0.0),
        api.StepStarted(step="app.pull", title="Pull", host="h1", step_id="pull#1", at=1.0),
        api.StepStarted(step="build.image", title="Build", host=None, step_id="build#2", at=1.0),
        api.Output(step="app.pull", line="Pulling", host="h1", step_id="pull#1", at=1.5),
        api.StepFinished(step="app.pull", status=api.StepStatus.OK, duration=0.7, host="h1", step_id="pull#1", at=1.7),
    )
    assert activity.rows == [LOCAL, "h1", "h2"]
    assert activity.steps == ["app.pull", "build.image"]
    cell = activity.cells[("h1", "app.pull")]
    assert cell.state is CellState.OK and cell.duration(99.0) == 0.7
    assert list(cell.lines) == [("stdout", "Pulling")]
    assert activity.cells[(LOCAL, "build.image")].duration(4.0) == 3.0  # running: counts up


def test_two_roles_on_one_host_share_a_cell_and_the_worst_state_shows() -> None:
    activity = _run(
        api.StepStarted(step="app.boot", title="Boot web", host="h1", role="web", step_id="boot#1", at=0.0),
        api.StepStarted(step="app.boot", title="Boot jobs", host="h1", role="jobs", step_id="boot#2", at=0.0),
        api.Output(step="app.boot", line="started", host="h1", role="jobs", step_id="boot#2"),
        api.StepFinished(step="app.boot", status=api.StepStatus.OK, duration=1.0, host="h1", role="web",
                         step_id="boot#1", at=1.0),
    )
    cell = activity.cells[("h1", "app.boot")]
    assert cell.state is CellState.RUNNING
    assert list(cell.lines) == [("stdout", "[jobs] started")]
    activity.apply(api.StepFinished(step="app.boot", status=api.StepStatus.FAILED, duration=2.0, host="h1",
                                    role="jobs", error="unhealthy", step_id="boot#2", at=2.0))
    assert cell.state is CellState.FAILED and cell.errors == ["unhealthy"]


def test_the_end_of_a_run_cancels_steps_left_running() -> None:
    activity = _run(
        api.StepStarted(step="app.pull", title="Pull", host="h1", step_id="p#1", at=0.0),
        api.RunFinished(ok=False, duration=3.0, error="cancelled", at=3.0),
    )
    assert activity.finished and activity.ok is False
    assert activity.cells[("h1", "app.pull")].state is CellState.CANCELLED
    assert ("error", "cancelled") in activity.messages


def test_a_cell_keeps_its_last_lines_and_counts_all() -> None:
    activity = _run(api.StepStarted(step="s", title="S", host="h", step_id="s#1"))
    for number in range(state.MAX_CELL_LINES + 10):
        activity.apply(api.Output(step="s", line=str(number), host="h", step_id="s#1"))
    cell = activity.cells[("h", "s")]
    assert len(cell.lines) == state.MAX_CELL_LINES and cell.total_lines == state.MAX_CELL_LINES + 10
    assert cell.lines[-1] == ("stdout", str(state.MAX_CELL_LINES + 9))


def test_changes_are_reported_once() -> None:
    activity = _run(api.StepStarted(step="s", title="S", host="h", step_id="s#1"))
    layout, changed = activity.take_changes()
    assert layout and changed == {("h", "s")}
    assert activity.take_changes() == (False, set())


def test_the_state_module_loads_no_textual() -> None:
    import subprocess
    import sys

    code = "import sys, app.tui.state, app.tui.keymap, app.tui.confirmer; print('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_a_commit_version_shows_by_its_short_form_and_others_in_full() -> None:
    from widgets.cells import version

    commit = "6ca6b317ca6dd90399f851167299e14cc2a80bc4"
    assert version(commit) == "6ca6b317ca6d"
    assert version(f"{commit}_uncommitted_0123456789abcdef") == "6ca6b317ca6d_uncommitted_0123456789abcdef"
    assert version("v1.2.3") == "v1.2.3" and version("3f1c2a9") == "3f1c2a9"
