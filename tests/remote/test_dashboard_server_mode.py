"""The dashboard in server mode over the real Fleet: a real sshd on loopback and this machine's Docker
engine. The host's unknown key is shown with its fingerprint and trusted only when the operator says so;
the Kamal app found by its labels appears with its version; a container stopped behind the dashboard's
back shows as stopped within 2 s; nothing can be started (read-only). Containers are uniquely named and
removed afterwards."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from textual.widgets import Button

from app.engine.fleet import Fleet
from app.tui.app import Dashboard
from app.tui.confirmer import DashboardConfirmer
from tests.remote import docker_fixtures as fixtures
from tests.remote.docker_fixtures import docker, remove
from tests.remote.test_fleet_remote import ssh_config, start_app
from widgets.confirm_screen import ConfirmScreen
from widgets.host_table import HostTable

run_id, test_image = fixtures.run_id, fixtures.test_image

SIZE = (160, 45)


async def until(condition, pilot, timeout: float, what: str) -> float:
    began = time.monotonic()
    while not condition():
        if time.monotonic() - began > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await pilot.pause(0.02)
    return time.monotonic() - began


def dialog_ready(app: Dashboard) -> bool:
    screen = app.screen
    return isinstance(screen, ConfirmScreen) and app.focused is screen.query_one("#cancel", Button)


async def click(pilot, widget) -> None:
    for _ in range(100):
        await pilot.pause(0.02)
        if await pilot.click(widget):
            return
    raise AssertionError(f"{widget!r} never came under the pointer")


async def test_server_mode_over_a_real_host(loopback_sshd, tmp_path: Path, monkeypatch, run_id: str,
                                            test_image: str) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    service = f"{run_id}ui"
    start_app(service, "v7", test_image)
    confirmer = DashboardConfirmer()
    fleet = await Fleet.open_servers([f"root@127.0.0.1:{loopback_sshd.port}"], confirmer=confirmer,
                                     ssh_config=(str(ssh_config(tmp_path, loopback_sshd, empty)),))
    app = Dashboard(fleet, confirmer=confirmer, read_only=True, refresh_every=0, theme="ansi-dark")
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(lambda: dialog_ready(app), pilot, 20, "the host-key dialog")
            screen = app.screen
            assert screen.request.action == "ssh.trust_host_key"
            consequence = str(screen.query_one("#consequence").render())
            assert "SHA256:" in consequence
            trusted = tmp_path / ".config" / "shipdeck" / "known_hosts"
            assert not trusted.exists()  # nothing trusted before the operator answers
            await click(pilot, screen.query_one("#confirm", Button))
            await until(lambda: app.status_loaded, pilot, 30, "the first status")
            hosts = app.query_one(HostTable)
            host = fleet.hosts[0]
            await until(lambda: f"{service}/web ● v7" in str(hosts.get_cell(host, "app")), pilot, 10, "the app")
            assert str(hosts.get_cell(host, "connection")).startswith("● up")
            assert loopback_sshd.host_public_key in trusted.read_text()
            header = " ".join(str(widget.render()) for widget in app.query("FleetHeader Label, FleetHeader Static"))
            assert "server mode (read-only)" in header and service in header

            await fleet.watch_ready()
            await asyncio.to_thread(docker, "stop", "--time", "1", f"{service}-web-v7")
            took = await until(lambda: "v7 ■ stopped" in str(hosts.get_cell(host, "app")), pilot, 2.0,
                               "the stopped container")
            assert took <= 2.0

            await pilot.press("d", "x", "P")  # read-only: nothing starts
            assert app.current_run is None and not isinstance(app.screen, ConfirmScreen)
    finally:
        await fleet.close()
        remove(f"{service}-web-v7")
