"""The dashboard's behaviour, driven with Pilot over the fake fleet: what it shows, keys, confirmations,
cancelling, quitting, keymap, read-only server mode."""

from __future__ import annotations

import asyncio
import dataclasses
import pathlib

import pytest
from textual.filter import NoColor
from textual.widgets import Button, Input

from app.engine import api
from app.tui.app import Dashboard
from app.tui.keymap import KEYS, load_keymap
from app.tui.screens import ChoiceScreen, HelpScreen
from tests.tui.conftest import SIZE, click, dashboard, until
from tests.tui.fake_fleet import HOSTS, JOBS, MINIMUM_PROXY, NEW_VERSION, OLD_VERSION, RUNNING_VERSION, WEB
from widgets.accessory_table import AccessoryTable
from widgets.confirm_screen import ConfirmScreen
from widgets.fleet_header import FleetHeader
from widgets.host_table import HostTable
from widgets.proxy_panel import ProxyPanel
from widgets.step_matrix import StepMatrix


def cell(table, row: str, column: str) -> str:
    return str(table.get_cell(row, column))


def header_text(app: Dashboard) -> str:
    header = app.query_one(FleetHeader)
    return " ".join(str(widget.render()) for widget in header.query("Label, Static"))


def dialog_ready(app: Dashboard) -> bool:
    """A confirmation is on screen and ready for keys (its initial focus, Cancel, is set)."""
    screen = app.screen
    return isinstance(screen, ConfirmScreen) and app.focused is screen.query_one("#cancel", Button)


async def loaded(app: Dashboard, pilot) -> None:
    await until(lambda: app.status_loaded, pilot, what="the first status")
    await pilot.pause(0.05)


# -- what it shows ---------------------------------------------------------------------------------


async def test_every_host_accessory_and_proxy_version_appears() -> None:
    app, _ = dashboard()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        hosts = app.query_one(HostTable)
        assert hosts.row_keys == list(HOSTS)
        for host in WEB:
            assert f"web ● {RUNNING_VERSION} healthy" in cell(hosts, host, "app")
            assert "up" in cell(hosts, host, "connection")
        assert f"workers ● {RUNNING_VERSION}" in cell(hosts, JOBS, "app")
        assert cell(hosts, JOBS, "docker") == "26.1.5"
        assert cell(hosts, JOBS, "disk") == "12.4 GB"

        accessories = app.query_one(AccessoryTable)
        assert accessories.row_keys == [f"db@{JOBS}", f"redis@{JOBS}"]
        assert cell(accessories, f"db@{JOBS}", "image") == "postgres:16.4"
        assert "demo-db/data 48.3 MB" in cell(accessories, f"db@{JOBS}", "storage")

        proxy = app.query_one(ProxyPanel).hosts_table
        assert cell(proxy, WEB[0], "proxy") == f"● {MINIMUM_PROXY}"
        assert cell(proxy, WEB[1], "proxy") == f"● v0.8.0 < {MINIMUM_PROXY} outdated"
        routes = app.query_one("#proxy-routes")
        assert "https://demo.example.test" in cell(routes, f"{WEB[0]}/demo-web-production", "serves")

        text = header_text(app)
        assert "demo" in text and "PRODUCTION" in text
        assert f"web {RUNNING_VERSION}" in text and f"a deploy would ship {NEW_VERSION}" in text
        assert "lock: free" in text


async def test_hosts_are_listed_before_the_first_status_answers() -> None:
    app, _ = dashboard(status_delay=5.0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.05)
        hosts = app.query_one(HostTable)
        assert hosts.row_keys == list(HOSTS)
        assert all(cell(hosts, host, "connection") == "◌ connecting" for host in HOSTS)
        assert not app.status_loaded


async def test_a_container_stopped_behind_the_back_shows_as_stopped() -> None:
    app, fleet = dashboard()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        hosts = app.query_one(HostTable)
        calls = fleet.status_calls
        fleet.stop_container_behind_the_back(WEB[1], "web", RUNNING_VERSION)
        await until(lambda: "stopped" in cell(hosts, WEB[1], "app"), pilot, timeout=2.0, what="the stopped container")
        assert cell(hosts, WEB[1], "app") == f"web {RUNNING_VERSION} ■ stopped"
        assert "healthy" in cell(hosts, WEB[0], "app")  # the other host is untouched
        # the fresh snapshot that follows the change agrees
        await until(lambda: fleet.status_calls > calls, pilot, what="the settling status()")
        await pilot.pause(0.05)
        assert "stopped" in cell(hosts, WEB[1], "app")


async def test_a_stop_is_kept_when_the_next_snapshot_still_lists_the_container_running() -> None:
    """Docker's listing can lag its `die` event by a few milliseconds: a snapshot taken just after the event
    that still says "running" does not undo the stop the event reported."""
    app, fleet = dashboard()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        hosts = app.query_one(HostTable)
        lagging = fleet.current  # what the listing still says
        fleet.stop_container_behind_the_back(WEB[1], "web", RUNNING_VERSION)
        await until(lambda: "stopped" in cell(hosts, WEB[1], "app"), pilot, timeout=2.0, what="the stopped container")
        stopped = fleet.current
        fleet.current = lagging
        fleet.advance(0.02)
        calls = fleet.status_calls
        app.load_status()
        await until(lambda: fleet.status_calls > calls, pilot, what="the snapshot")
        await pilot.pause(0.05)
        fleet.current = stopped
        assert cell(hosts, WEB[1], "app") == f"web {RUNNING_VERSION} ■ stopped"


async def test_a_change_newer_than_a_late_snapshot_is_kept() -> None:
    app, fleet = dashboard(status_delay=0.3)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        old_status = fleet.current
        fleet.clock.advance(1.0)
        app.load_status()  # a snapshot of the fleet as it was
        fleet.current = old_status
        fleet.clock.advance(0.1)
        for queue in fleet._watchers:  # the change arrives while that snapshot is on its way
            queue.put_nowait(api.ContainerStopped(at=fleet.clock() + 1, host=WEB[0], container=
                                                  f"demo-web-production-{RUNNING_VERSION}", id="x",
                                                  kind=api.ContainerKind.APP, role="web", version=RUNNING_VERSION))
        hosts = app.query_one(HostTable)
        await until(lambda: "stopped" in cell(hosts, WEB[0], "app"), pilot, what="the change")
        await pilot.pause(0.5)  # the late snapshot answers
        assert "stopped" in cell(hosts, WEB[0], "app")


# -- deploy, cancel ---------------------------------------------------------------------------------


async def test_a_deploy_started_from_the_keyboard_finishes_and_shows_the_new_version() -> None:
    app, fleet = dashboard(frozen=False, event_delay=0.002)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        await pilot.press("d")
        assert fleet.calls == ["deploy"]
        await until(lambda: app.activity is not None and app.activity.finished, pilot, what="the deploy")
        hosts = app.query_one(HostTable)
        await until(lambda: NEW_VERSION in cell(hosts, WEB[0], "app"), pilot, what="the new version")
        assert all(NEW_VERSION in cell(hosts, host, "app") and RUNNING_VERSION not in cell(hosts, host, "app")
                   for host in HOSTS)
        assert f"web {NEW_VERSION}" in header_text(app)
        assert "lock: free" in header_text(app)
        activity = app.activity
        assert activity.ok is True
        assert activity.rows == ["local", *HOSTS]
        assert activity.steps == ["build.image", "build.push", "app.pull", "app.boot", "app.stop_old"]
        matrix = app.query_one(StepMatrix).table
        assert str(matrix.get_cell(WEB[1], "app.boot")).startswith("✓ ")


async def test_cancelling_a_running_deploy_releases_the_lock() -> None:
    app, fleet = dashboard(hold_after=12)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        await pilot.press("d")
        run = fleet.runs[-1]
        await until(run.held.is_set, pilot, what="the deploy to be under way")
        await until(lambda: "LOCKED by ops@laptop" in header_text(app), pilot, what="the lock in the header")
        assert fleet.lock_held()
        await pilot.press("c")
        result = await run.result()
        assert result.cancelled and result.exit_code == 130
        assert not fleet.lock_held()
        await until(lambda: app.activity.finished, pilot, what="the end of the run")
        await until(lambda: "lock: free" in header_text(app), pilot, what="the lock to show free")
        matrix = app.query_one(StepMatrix)
        assert "cancelled" in str(matrix.query_one("#activity-title").render())
        assert any(str(matrix.table.get_cell(host, "app.pull")).startswith("⊘") for host in HOSTS)
        # nothing deployed: the running version is still the old one everywhere
        assert all(RUNNING_VERSION in cell(app.query_one(HostTable), host, "app") for host in HOSTS)


async def test_a_second_operation_is_refused_while_one_runs() -> None:
    app, fleet = dashboard(hold_after=5)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        await pilot.press("d")
        await until(fleet.runs[-1].held.is_set, pilot)
        await pilot.press("d", "p")
        assert fleet.calls == ["deploy"]
        fleet.runs[-1].release()


async def test_the_step_matrix_follows_the_running_step_until_the_operator_moves() -> None:
    app, fleet = dashboard(hold_after=20)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        await pilot.press("d")
        await until(fleet.runs[-1].held.is_set, pilot)
        await pilot.pause(0.3)
        matrix = app.query_one(StepMatrix)
        running = [key for key, c in app.activity.cells.items() if c.state.value == "running"]
        assert matrix.selected == running[-1]
        output = "\n".join(matrix.output.lines)
        assert "docker pull" in output  # the running cell's output
        await pilot.press("4", "up", "up")  # the operator moves to the build step
        await pilot.pause(0.2)
        assert matrix.selected[1] in ("build.image", "build.push", "app.pull")
        chosen = matrix.selected
        fleet.runs[-1].hold_after = None
        fleet.runs[-1].release()
        await until(lambda: app.activity.finished, pilot)
        await pilot.pause(0.2)
        assert matrix.selected == chosen  # it stayed where the operator put it


# -- confirmations ----------------------------------------------------------------------------------


async def _open_remove_confirmation(app, fleet, pilot) -> ConfirmScreen:
    await loaded(app, pilot)
    await pilot.press("2")  # the accessories table, cursor on db
    await pilot.press("x")
    await until(lambda: dialog_ready(app), pilot, what="the confirmation")
    return app.screen


async def test_accessory_remove_cannot_be_confirmed_before_the_target_is_typed() -> None:
    app, fleet = dashboard()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_remove_confirmation(app, fleet, pilot)
        assert screen.request.action == "accessory.remove" and screen.request.target == "db"
        assert app.focused is screen.query_one("#cancel", Button)
        confirm = screen.query_one("#confirm", Button)
        assert confirm.disabled
        # the exact commands per host and the consequence are on the screen
        texts = [str(widget.render()) for widget in screen.query(".effect, .effect-host, #consequence")]
        assert JOBS in texts
        assert any("docker image rm --force postgres:16.4" in text for text in texts)
        assert any("data directories" in text for text in texts)
        await click(pilot, confirm)  # disabled: nothing happens
        assert app.screen is screen
        screen.query_one("#target", Input).focus()
        await pilot.press("d")
        assert confirm.disabled
        await pilot.press("x")  # "dx" is not the target
        assert confirm.disabled
        await pilot.press("backspace", "b")
        assert not confirm.disabled
        await click(pilot, confirm)
        await until(lambda: app.activity.finished, pilot, what="the removal")
        assert [acc.name for acc in fleet.current.accessories] == ["redis"]
        accessories = app.query_one(AccessoryTable)
        await until(lambda: accessories.row_keys == [f"redis@{JOBS}"], pilot, what="db to leave the table")


@pytest.mark.parametrize("how", ["escape", "cancel button", "enter on cancel"])
async def test_escape_or_cancel_leaves_everything_as_it_was(how: str) -> None:
    app, fleet = dashboard()
    async with app.run_test(size=SIZE) as pilot:
        before = fleet.current
        screen = await _open_remove_confirmation(app, fleet, pilot)
        screen.query_one("#target", Input).focus()
        await pilot.press("d", "b")  # typed, but then not confirmed
        if how == "escape":
            await pilot.press("escape")
        elif how == "cancel button":
            await click(pilot, screen.query_one("#cancel", Button))
        else:
            screen.query_one("#cancel", Button).focus()
            await pilot.press("enter")
        run = fleet.runs[-1]
        result = await asyncio.wait_for(run.result(), 10)
        assert not result.ok and "not confirmed" in (result.error or "")
        assert not isinstance(app.screen, ConfirmScreen)
        assert fleet.current == before
        assert app.query_one(AccessoryTable).row_keys == [f"db@{JOBS}", f"redis@{JOBS}"]


async def test_proxy_reboot_offers_rolling_then_shows_the_commands_and_the_outage() -> None:
    app, _ = dashboard()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        await pilot.press("P")
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("enter")  # the first option: rolling
        await until(lambda: dialog_ready(app), pilot)
        screen = app.screen
        assert "one host at a time" in screen.request.title
        assert screen.request.consequence == "This will cause a brief outage on each host."
        assert not screen.request.destroys_data and not screen.query("#target")
        hosts = [str(label.render()) for label in screen.query(".effect-host")]
        assert hosts == list(WEB)
        assert app.focused is screen.query_one("#cancel", Button)
        await click(pilot, screen.query_one("#confirm", Button))
        await until(lambda: app.activity.finished and app.activity.ok, pilot)
        proxy = app.query_one(ProxyPanel).hosts_table
        await until(lambda: cell(proxy, WEB[1], "proxy") == f"● {MINIMUM_PROXY}", pilot, what="the new proxy")


async def test_all_at_once_proxy_reboot_can_be_chosen() -> None:
    app, fleet = dashboard()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        await pilot.press("P", "down", "enter")
        await until(lambda: dialog_ready(app), pilot)
        assert "all hosts at once" in app.screen.request.title
        await pilot.press("escape")
        await until(lambda: app.activity.finished, pilot)
        assert all(proxy.version for proxy in fleet.current.proxies)
        assert [p.version for p in fleet.current.proxies] == [MINIMUM_PROXY, "v0.8.0"]


async def test_rollback_offers_the_versions_that_still_have_containers() -> None:
    app, fleet = dashboard()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        await pilot.press("b")
        screen = app.screen
        assert isinstance(screen, ChoiceScreen)
        assert [option_id for option_id, _ in screen.options] == [OLD_VERSION]
        await pilot.press("enter")
        await until(lambda: fleet.calls == [f"rollback {OLD_VERSION}"], pilot)


async def test_accessory_keys_ask_which_accessory_when_the_table_is_not_focused() -> None:
    app, fleet = dashboard()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        await pilot.press("A")
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("down", "enter")
        await until(lambda: fleet.calls == ["accessory reboot redis"], pilot)


async def test_a_diagnosis_marks_its_accessory_as_needing_attention() -> None:
    app, _ = dashboard()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        accessories = app.query_one(AccessoryTable)
        assert cell(accessories, f"db@{JOBS}", "attention") == ""
        app.accessory_reboot("db")
        await until(lambda: app.activity.finished, pilot, what="the reboot")
        await until(lambda: cell(accessories, f"db@{JOBS}", "attention") == "⚠", pilot, what="the marker")
        assert cell(accessories, f"redis@{JOBS}", "attention") == ""
        matrix = app.query_one(StepMatrix)
        assert str(matrix.table.get_cell(JOBS, "accessory.reboot")).startswith("✗")


async def test_an_unknown_host_key_is_shown_with_its_fingerprint_and_nothing_is_trusted_silently() -> None:
    app, fleet = dashboard()
    request = api.ConfirmationRequest(
        action="ssh.trust_host_key", target=WEB[0], title=f"Trust the SSH host key of {WEB[0]}?",
        consequence=f"{WEB[0]} presents a host key that is in no known_hosts file. Trust it only if this "
                    "fingerprint is the server's: ssh-ed25519 SHA256:Qm9vZ2xlIGZpbmdlcnByaW50IGZvciB0ZXN0cw",
        effects=(api.Effect(WEB[0], "record ssh-ed25519 SHA256:Qm9v… in ~/.config/shipdeck/known_hosts"),))
    answer = asyncio.ensure_future(fleet.confirmer.confirm(request))  # asked before the dashboard is up
    await asyncio.sleep(0.05)
    assert not answer.done()
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: dialog_ready(app), pilot, what="the host-key dialog")
        assert "SHA256:Qm9vZ2xlIGZpbmdlcnByaW50IGZvciB0ZXN0cw" in str(app.screen.query_one("#consequence").render())
        assert str(app.screen.query_one("#confirm", Button).label) == "Trust this key"
        assert app.focused is app.screen.query_one("#cancel", Button)
        await pilot.press("escape")
        assert await asyncio.wait_for(answer, 5) is False
        again = asyncio.ensure_future(fleet.confirmer.confirm(request))
        await until(lambda: dialog_ready(app), pilot, what="the dialog again")
        await click(pilot, app.screen.query_one("#confirm", Button))
        assert await asyncio.wait_for(again, 5) is True
    # the dashboard has closed: nothing is confirmed
    assert await asyncio.wait_for(fleet.confirmer.confirm(request), 5) is False


# -- quitting -----------------------------------------------------------------------------------------


async def test_quit_when_nothing_runs_exits_at_once() -> None:
    app, _ = dashboard()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        await pilot.press("q")
        await until(lambda: not app.is_running, pilot, what="the app to exit")
    assert app.return_code == 0


async def test_quit_while_a_deploy_runs_asks_first_and_cancels_it() -> None:
    app, fleet = dashboard(hold_after=12)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        await pilot.press("d")
        run = fleet.runs[-1]
        await until(run.held.is_set, pilot)
        await pilot.press("q")
        await until(lambda: dialog_ready(app), pilot)
        assert app.screen.request.action == "dashboard.quit"
        await pilot.press("escape")  # no: stay, the deploy goes on
        assert app.is_running and not run.done and fleet.lock_held()
        await pilot.press("q")
        await until(lambda: dialog_ready(app), pilot)
        await click(pilot, app.screen.query_one("#confirm", Button))
        await until(lambda: not app.is_running, pilot, what="the app to exit")
    result = await run.result()
    assert result.cancelled
    assert not fleet.lock_held()


# -- keys, help, palette, server mode, colour -------------------------------------------------------


async def test_help_lists_every_binding_with_its_id_and_description() -> None:
    app, _ = dashboard()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one("#help-keys")
        assert [key.value for key in table.rows] == [spec.id for spec in KEYS]
        assert str(table.get_cell("deploy", "key")) == "d"
        assert str(table.get_cell("help", "key")) == "? / F1"
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)


def test_every_app_binding_has_an_id_and_a_description() -> None:
    bindings = [binding for _, binding in Dashboard._merge_bindings()]
    assert bindings
    assert all(binding.id and binding.description for binding in bindings)
    dialog_ids = {binding.id for screen in (ConfirmScreen, ChoiceScreen, HelpScreen)
                  for _, binding in screen._merge_bindings() if binding.id}
    assert dialog_ids == {spec.id for spec in KEYS if spec.dialog}


async def test_a_user_keymap_remaps_a_binding(tmp_path: pathlib.Path) -> None:
    keymap_file = tmp_path / "keymap.yml"
    keymap_file.write_text("# mine\ndeploy: ctrl+d\n")
    app, fleet = dashboard(keymap=load_keymap(keymap_file), frozen=False)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        await pilot.press("d")
        assert fleet.calls == []
        await pilot.press("ctrl+d")
        assert fleet.calls == ["deploy"]
        await until(lambda: app.activity.finished, pilot)
        await pilot.press("question_mark")
        assert str(app.screen.query_one("#help-keys").get_cell("deploy", "key")) == "Ctrl+d"


async def test_the_command_palette_offers_every_operation_per_accessory() -> None:
    app, _ = dashboard()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        names = [command.name for command in app.palette_commands()]
        for name in ("Deploy", "Redeploy", f"Roll back to {OLD_VERSION}", "Stop app", "Start app",
                     "Boot accessory db", "Reboot accessory redis", "Remove accessory redis", "Boot proxy",
                     "Reboot proxy (rolling)", "Reboot proxy (all hosts at once)", "Release the deploy lock",
                     "Prune old containers and images", "Logs"):
            assert name in names
        await pilot.press("ctrl+p")
        await pilot.pause(0.1)
        for key in "remove accessory redis":
            await pilot.press("space" if key == " " else key)
        await pilot.pause(0.5)
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, ConfirmScreen), pilot, what="the confirmation")
        assert app.screen.request.target == "redis"


async def test_server_mode_is_read_only() -> None:
    app, fleet = dashboard(server_mode=True)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        assert app.read_only
        await pilot.press("d", "P", "x", "u")
        assert fleet.calls == [] and app.screen.__class__.__name__ != "ConfirmScreen"
        assert "server mode (read-only): demo" in header_text(app)
        assert not [c for c in app.palette_commands() if c.name.startswith(("Deploy", "Remove", "Reboot"))]
        hosts = app.query_one(HostTable)
        assert f"demo/web ● {RUNNING_VERSION}" in cell(hosts, WEB[0], "app")


async def test_mouse_clicks_select_rows_and_press_footer_keys() -> None:
    app, fleet = dashboard(frozen=False)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        accessories = app.query_one(AccessoryTable)
        await click(pilot, accessories, offset=(4, 2))  # the second row (under the header)
        assert app.focused is accessories and accessories.selected_accessory == "redis"
        deploy_key = next(key for key in app.screen.query("FooterKey") if key.action == "deploy")
        await click(pilot, deploy_key)
        assert fleet.calls == ["deploy"]
        await until(lambda: app.activity.finished, pilot)


async def test_no_color_is_honoured(monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app, _ = dashboard()
    assert app.no_color
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        assert any(isinstance(line_filter, NoColor) for line_filter in app.get_line_filters())


async def test_the_logs_key_names_the_selected_source() -> None:
    app, _ = dashboard()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        assert app.selected_log_sources() == (api.LogSource.app(host=WEB[0]),)
        await pilot.press("2")
        assert app.selected_log_sources() == (api.LogSource.accessory_of("db", host=JOBS),)
        await pilot.press("3")
        assert app.selected_log_sources() == (api.LogSource.proxy(host=WEB[0]),)
        opened = []
        app.open_log_screen = opened.append  # the hook the log view plugs into
        await pilot.press("l")
        assert opened == [(api.LogSource.proxy(host=WEB[0]),)]


async def test_the_logs_key_opens_the_log_view_on_the_fleets_stream() -> None:
    from app.tui.log_screen import LogScreen

    app, fleet = dashboard()
    fleet.log_events = [
        api.LogLine(source=api.LogSourceKind.APP, host=WEB[0], container="demo-web-1", role="web",
                    text="Started GET /up", timestamp=1_700_000_000.0),
        api.LogSwitched(source=api.LogSourceKind.APP, host=WEB[0], old_container="demo-web-1",
                        new_container="demo-web-2", at=1_700_000_001.0, role="web"),
        api.LogLine(source=api.LogSourceKind.APP, host=WEB[0], container="demo-web-2", role="web",
                    text="E, [2026-11-30T10:00:00.000000 #1] ERROR -- : boom", timestamp=1_700_000_002.0),
    ]
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        await pilot.press("l")
        await until(lambda: isinstance(app.screen, LogScreen) and app.screen.received == 3, pilot,
                    what="the log view with the fleet's lines")
        assert fleet.log_requests == [((api.LogSource.app(host=WEB[0]),), 500, True)]
        shown = [entry.text for entry in app.screen.view.model.entries]
        assert shown[0] == "Started GET /up" and "now following demo-web-2" in shown[1] and "boom" in shown[2]
        await pilot.press("escape", "escape", "q")


async def test_a_keymap_remaps_dialog_keys_too() -> None:
    app, _ = dashboard(keymap={"confirm-cancel": "n", "accessory-remove": "delete"})
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        await pilot.press("2", "x")
        assert not isinstance(app.screen, ConfirmScreen)  # x no longer removes
        await pilot.press("delete")
        await until(lambda: dialog_ready(app), pilot, what="the confirmation")
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert isinstance(app.screen, ConfirmScreen)  # Escape was remapped away
        await pilot.press("n")
        await until(lambda: not isinstance(app.screen, ConfirmScreen), pilot, what="the dialog to close")


async def test_hosts_keep_the_config_order_whatever_order_they_answer_in() -> None:
    app, fleet = dashboard()
    fleet.current = dataclasses.replace(fleet.current, hosts=tuple(reversed(fleet.current.hosts)))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        assert app.query_one(HostTable).row_keys == list(HOSTS)


async def test_the_first_frame_comes_before_the_fleet_is_open() -> None:
    from app.errors import UsageError
    from app.tui.opening import OpeningFleet

    app_, fake = dashboard()
    opened = asyncio.Event()

    async def open_fleet():
        await opened.wait()
        return fake

    fleet = OpeningFleet(service=fake.service, destination=fake.destination, hosts=fake.hosts, open=open_fleet)
    with pytest.raises(UsageError, match="still opening"):
        fleet.deploy()
    assert fleet.connection_state(WEB[0]) is api.ConnectionState.CONNECTING
    app = Dashboard(fleet, confirmer=app_.confirmer, refresh_every=0, theme="ansi-dark", on_first_frame=fleet.begin)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        hosts = app.query_one(HostTable)
        assert hosts.row_keys == list(HOSTS) and not app.status_loaded
        assert all(cell(hosts, host, "connection") == "◌ connecting" for host in HOSTS)
        await pilot.press("d")  # refused with a message, not a crash
        assert fake.calls == []
        opened.set()
        await loaded(app, pilot)
        assert "healthy" in cell(hosts, WEB[0], "app")
        await pilot.press("d")
        assert fake.calls == ["deploy"]
    await fleet.close()
    assert fake.closed


async def test_another_theme_redraws_the_tones() -> None:
    app, _ = dashboard()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        hosts = app.query_one(HostTable)
        before = hosts.get_cell(WEB[1], "connection").style
        app.theme = "textual-light"
        await pilot.pause(0.3)
        after = hosts.get_cell(WEB[1], "connection").style
        assert str(hosts.get_cell(WEB[1], "connection")) == "● up 1 ms"
        assert before != after  # the success colour of the new theme
