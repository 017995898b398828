"""The dashboard over the real Fleet on the sandbox, driven with Pilot: what `shipdeck details` reports
appears; a deploy started from the keyboard finishes and its version appears without a refresh;
cancelling a deploy releases the lock; a container stopped behind the dashboard's back shows as stopped
within 2 s; accessory remove cannot be confirmed before the target is typed, and Escape or Cancel leave
the host exactly as it was."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from textual.widgets import Button, Input

from app.engine.fleet import Fleet
from app.tui.app import Dashboard
from app.tui.confirmer import DashboardConfirmer
from tests.fleet import Sandbox
from tests.sandbox.engine_support import (
    Project,
    containers,
    lock_exists,
    make_project,
    pushed_and_deployed,
    shipdeck,
)
from widgets.accessory_table import AccessoryTable
from widgets.cells import version as shown
from widgets.confirm_screen import ConfirmScreen
from widgets.host_table import HostTable
from widgets.proxy_panel import ProxyPanel

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

SIZE = (160, 50)


@pytest.fixture(scope="module")
def project(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory):
    made = make_project(sandbox, sandbox.copy_demo(tmp_path_factory.mktemp("dashboard") / "demo"), accessories=True,
                        job=False, extra={"deploy_timeout": 20})
    with pushed_and_deployed(made, "setup", "-P") as deployed:
        yield deployed


@pytest.fixture
def in_project(project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path) -> Project:
    for key, value in project.sandbox.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # no user keymap
    monkeypatch.chdir(project.path)
    return project


async def until(condition, pilot, timeout: float, what: str) -> float:
    """Run the app until `condition()` holds; the seconds it took."""
    began = time.monotonic()
    while not condition():
        if time.monotonic() - began > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await pilot.pause(0.02)
    return time.monotonic() - began


async def open_dashboard() -> tuple[Dashboard, Fleet]:
    confirmer = DashboardConfirmer()
    fleet = await Fleet.open(confirmer=confirmer)
    return Dashboard(fleet, confirmer=confirmer, refresh_every=0, theme="ansi-dark"), fleet


def cell(table, row: str, column: str) -> str:
    return str(table.get_cell(row, column))


def header(app: Dashboard) -> str:
    return " ".join(str(widget.render()) for widget in app.query("FleetHeader Label, FleetHeader Static"))


def details_report(project: Project) -> dict[str, set]:
    """What `shipdeck details` prints, per kind: (host, proxy version | app version | accessory container);
    "output" holds the whole output (for a failure's message)."""
    result = shipdeck(project, "details")
    output = result.stdout + result.stderr
    found: dict[str, set[tuple[str, str]]] = {"Proxy": set(), "App": set(), "Accessory": set(), "output": {output}}
    kind = host = None
    for line in output.splitlines():
        if match := re.search(r"\b(Proxy|App|Accessory) Host: (\S+)", line):
            kind, host = match.groups()
            continue
        if kind is None or not line.strip() or line.startswith("CONTAINER ID"):
            continue
        name = line.split()[-1]
        if kind == "Proxy" and (version := re.search(r"kamal-proxy:(v[\d.]+)", line)):
            found[kind].add((host, version.group(1)))
        elif kind == "App" and name.startswith(f"{project.service}-web-"):
            found[kind].add((host, name.removeprefix(f"{project.service}-web-")))
        elif kind == "Accessory" and name.startswith(f"{project.service}-"):
            found[kind].add((host, name))
    return found


async def test_every_host_accessory_and_proxy_version_that_details_reports_appears(in_project: Project) -> None:
    project = in_project
    report = details_report(project)
    assert report["Proxy"] and report["App"] and report["Accessory"], next(iter(report["output"]))
    app, fleet = await open_dashboard()
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(lambda: app.status_loaded, pilot, 30, "the first status")
            await pilot.pause(0.2)
            hosts = app.query_one(HostTable)
            proxies = app.query_one(ProxyPanel).hosts_table
            accessories = app.query_one(AccessoryTable)
            assert set(hosts.row_keys) >= {host for host, _ in report["App"] | report["Accessory"]}
            for host, version in report["Proxy"]:
                assert version in cell(proxies, host, "proxy"), (host, version)
            for host, version in report["App"]:  # a commit shows by its first 12 characters, as git's short form
                assert f"web ● {shown(version)}" in cell(hosts, host, "app"), (host, version)
            for host, container in report["Accessory"]:
                name = container.removeprefix(f"{project.service}-")
                assert f"{name}@{host}" in accessories.row_keys
                assert "running" in cell(accessories, f"{name}@{host}", "state")
            assert project.service in header(app) and "lock: free" in header(app)
    finally:
        await fleet.close()


async def test_a_deploy_from_the_keyboard_finishes_and_the_new_version_appears(in_project: Project) -> None:
    project = in_project
    version = project.commit("deployed from the dashboard")
    app, fleet = await open_dashboard()
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(lambda: app.status_loaded, pilot, 30, "the first status")
            assert f"a deploy would ship {shown(version)}" in header(app)
            await pilot.press("d")  # no refresh key afterwards: the watch and the run's end bring the news
            await until(lambda: app.activity is not None and app.activity.finished, pilot, 300, "the deploy")
            assert app.activity.ok, app.activity.error
            hosts = app.query_one(HostTable)
            for host in project.web_hosts():
                await until(lambda host=host: f"web ● {shown(version)}" in cell(hosts, host, "app"), pilot, 10,
                            f"{version} on {host}")
            assert f"web {shown(version)}" in header(app) and "lock: free" in header(app)
    finally:
        await fleet.close()
    assert not lock_exists(project)


async def test_cancelling_a_deploy_releases_the_lock(in_project: Project) -> None:
    project = in_project
    project.commit("a deploy to cancel")
    app, fleet = await open_dashboard()
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(lambda: app.status_loaded, pilot, 30, "the first status")
            await pilot.press("d")
            await until(lambda: "LOCKED" in header(app), pilot, 120, "the lock to be taken")
            assert lock_exists(project)
            await pilot.press("c")
            result = await asyncio.wait_for(app.current_run.result(), 60)
            assert result.cancelled and result.exit_code == 130
            await until(lambda: "lock: free" in header(app), pilot, 10, "the lock to show free")
    finally:
        await fleet.close()
    assert not lock_exists(project)


async def test_a_container_stopped_behind_the_back_shows_stopped_within_2_s(in_project: Project) -> None:
    project = in_project
    web1 = project.web_hosts()[0]
    running = [name for name, state in containers(project, web1).items()
               if state == "running" and name.startswith(f"{project.service}-web-")]
    assert len(running) == 1
    name = running[0]
    version = name.removeprefix(f"{project.service}-web-")
    app, fleet = await open_dashboard()
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(lambda: app.status_loaded, pilot, 30, "the first status")
            hosts = app.query_one(HostTable)
            assert f"web ● {shown(version)}" in cell(hosts, web1, "app")
            await fleet.watch_ready()
            await asyncio.to_thread(project.sandbox.run, web1, f"docker stop --time 1 {name}")
            took = await until(lambda: "stopped" in cell(hosts, web1, "app"), pilot, 2.0, "the stopped container")
            assert cell(hosts, web1, "app") == f"web {shown(version)} ■ stopped", took
    finally:
        await fleet.close()
        project.sandbox.run(web1, f"docker start {name}")


def _host_state(project: Project, host: str) -> tuple[str, str]:
    """The accessory's container (name, state, image) and its data directory's entries, as the host has them."""
    name = f"{project.service}-db"
    container = project.sandbox.run(host, f"docker ps -a --filter name=^{name}$ "
                                          "--format '{{.Names}} {{.State}} {{.Image}} {{.ID}}'").stdout.strip()
    listing = project.sandbox.run(host, f"ls -A {name} {name}/data", check=False).stdout
    return container, listing


@pytest.mark.parametrize("how", ["escape", "cancel"])
async def test_accessory_remove_needs_the_typed_target_and_cancel_leaves_the_host_as_it_was(
        in_project: Project, how: str) -> None:
    project = in_project
    db_host = project.config["accessories"]["db"]["host"]
    before = _host_state(project, db_host)
    assert before[0].startswith(f"{project.service}-db running ") and "PG_VERSION" in before[1], before
    app, fleet = await open_dashboard()
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(lambda: app.status_loaded, pilot, 30, "the first status")
            table = app.query_one(AccessoryTable)
            table.focus()
            table.move_cursor(row=table.row_keys.index(f"db@{db_host}"))
            await pilot.press("x")
            await until(lambda: isinstance(app.screen, ConfirmScreen) and app.focused is not None
                        and app.focused.id == "cancel", pilot, 10, "the confirmation")
            screen = app.screen
            assert screen.request.action == "accessory.remove" and screen.request.destroys_data
            confirm = screen.query_one("#confirm", Button)
            assert app.focused is screen.query_one("#cancel", Button) and confirm.disabled
            await pilot.click(confirm)
            assert app.screen is screen  # not confirmable yet
            screen.query_one("#target", Input).focus()
            await pilot.press("d")
            assert confirm.disabled
            await pilot.press("escape") if how == "escape" else await pilot.click(screen.query_one("#cancel"))
            result = await asyncio.wait_for(app.current_run.result(), 30)
            assert not result.ok
            await pilot.pause(0.5)
            assert table.row_keys.count(f"db@{db_host}") == 1
    finally:
        await fleet.close()
    assert _host_state(project, db_host) == before
