"""The dashboard's side of diagnose and repair, with Pilot over the fake fleet: a finding marks its
accessory, R offers its repairs, the in-place reset is confirmed with its exact steps, and the wipe can
only be confirmed once `host:path` is typed."""

from __future__ import annotations

from textual.widgets import Button, Input, OptionList

from app.tui.app import Dashboard
from app.tui.confirmer import DashboardConfirmer
from app.tui.screens import ChoiceScreen
from tests.sample_findings import DATA, TAINTED
from tests.tui.conftest import SIZE, Clock, click, dashboard, until
from tests.tui.fake_fleet import JOBS, FakeFleet
from widgets.accessory_table import AccessoryTable
from widgets.confirm_screen import ConfirmScreen


def dialog_ready(app) -> bool:
    screen = app.screen
    return isinstance(screen, ConfirmScreen) and app.focused is screen.query_one("#cancel", Button)


async def _flagged(pilot, app, fleet) -> AccessoryTable:
    fleet.findings = (TAINTED,)
    await until(lambda: app.status_loaded and app.report is not None, pilot, what="the first diagnosis")
    table = app.query_one(AccessoryTable)
    await until(lambda: str(table.get_cell(f"db@{JOBS}", "attention")) != "", pilot, what="the marker on db")
    return table


async def _choose(pilot, app, index: int) -> None:
    await pilot.press("2", "R")  # the accessories table, cursor on db
    await until(lambda: isinstance(app.screen, ChoiceScreen), pilot, what="the choice of repairs")
    options = app.screen.query_one(OptionList)
    assert options.option_count == 2
    for _ in range(index):
        await pilot.press("down")
    await pilot.press("enter")
    await until(lambda: dialog_ready(app), pilot, what="the confirmation")


async def test_a_finding_marks_its_accessory_and_only_then_offers_repair() -> None:
    app, fleet = dashboard()
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.report is not None, pilot, what="the first (healthy) diagnosis")
        table = app.query_one(AccessoryTable)
        assert str(table.get_cell(f"db@{JOBS}", "attention")) == ""
        assert app.check_action("repair", ()) is False  # hidden while nothing needs repair
        fleet.findings = (TAINTED,)
        await pilot.press("r")  # refresh checks again
        await _flagged(pilot, app, fleet)
        assert str(table.get_cell(f"redis@{JOBS}", "attention")) == ""
        assert app.check_action("repair", ()) is True


async def test_the_reset_shows_its_steps_and_runs_once_confirmed() -> None:
    app, fleet = dashboard()
    fleet.findings = (TAINTED,)
    async with app.run_test(size=SIZE) as pilot:
        table = await _flagged(pilot, app, fleet)
        await _choose(pilot, app, 0)
        screen = app.screen
        texts = [str(widget.render()) for widget in screen.query(".effect, .effect-host, #consequence, Label")]
        assert JOBS in texts
        assert any("docker exec -i demo-db psql -U postgres" in text and "SCRAM verifier" in text for text in texts)
        assert any("No data is touched" in text for text in texts)
        await pilot.press("escape")  # cancel: nothing runs
        await until(lambda: not isinstance(app.screen, ConfirmScreen), pilot, what="the dialog to close")
        assert fleet.repaired == []
        await _choose(pilot, app, 0)
        await click(pilot, app.screen.query_one("#confirm", Button))
        await until(lambda: fleet.repaired == ["db-password"], pilot, what="the reset")
        await until(lambda: str(table.get_cell(f"db@{JOBS}", "attention")) == "", pilot, what="the marker to go")


async def test_the_wipe_needs_host_and_path_typed() -> None:
    app, fleet = dashboard()
    fleet.findings = (TAINTED,)
    async with app.run_test(size=SIZE) as pilot:
        await _flagged(pilot, app, fleet)
        await _choose(pilot, app, 1)
        screen = app.screen
        assert screen.request.action == "accessory.wipe" and screen.request.typed_target == DATA
        confirm = screen.query_one("#confirm", Button)
        field = screen.query_one("#target", Input)
        field.focus()
        await pilot.press(*"db")  # the accessory's name is not enough
        assert confirm.disabled
        field.value = ""
        await pilot.press(*DATA)
        assert not confirm.disabled
        await pilot.press("escape")  # and still nothing happens without the button
        await until(lambda: app.current_run is not None and app.current_run.done, pilot, what="the run to end")
        assert fleet.repaired == []
        await _choose(pilot, app, 1)
        app.screen.query_one("#target", Input).value = DATA
        await click(pilot, app.screen.query_one("#confirm", Button))
        await until(lambda: fleet.repaired == ["db-wipe"], pilot, what="the wipe")


async def test_the_timer_refreshes_status_often_and_runs_the_checks_only_on_their_own_interval() -> None:
    confirmer = DashboardConfirmer()
    fleet = FakeFleet(confirmer=confirmer, clock=Clock(frozen=True))
    app = Dashboard(fleet, confirmer=confirmer, refresh_every=0.1, diagnose_every=3600, theme="ansi-dark")
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: fleet.diagnose_calls == 1, pilot, what="the checks after the first status")
        calls = fleet.status_calls
        await until(lambda: fleet.status_calls >= calls + 3, pilot, what="three timed refreshes")
        await pilot.pause()
        assert fleet.diagnose_calls == 1  # the log tails on every host are not read every refresh
        await pilot.press("r")
        await until(lambda: fleet.diagnose_calls == 2, pilot, what="the checks on r")
