"""SVG snapshots of the main screens (pytest-textual-snapshot) over the fake fleet, with a frozen clock
and fixed names, so a change in what the operator sees shows up as a diff. Accept intended changes with
`pytest tests/tui/test_snapshots.py --snapshot-update` after looking at them."""

from __future__ import annotations

import asyncio

from textual.widgets import Input

from tests.tui.conftest import SIZE, dashboard
from widgets.confirm_screen import ConfirmScreen


async def _wait(pilot, condition, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "the screen never reached the state to snapshot"
        await pilot.pause(0.02)


async def _settled(pilot) -> None:
    app = pilot.app
    await _wait(pilot, lambda: app.status_loaded)
    await pilot.pause(0.2)


def test_main_screen(snap_compare) -> None:
    app, _ = dashboard()
    assert snap_compare(app, terminal_size=SIZE, run_before=_settled)


def test_deploy_in_progress(snap_compare) -> None:
    app, fleet = dashboard(hold_after=41)

    async def deploy(pilot) -> None:
        await _settled(pilot)
        await pilot.press("d")
        await _wait(pilot, lambda: fleet.runs and fleet.runs[-1].held.is_set())
        await pilot.pause(0.6)  # the activity renders on its next frames (output at most 4 times a second)

    assert snap_compare(app, terminal_size=SIZE, run_before=deploy)


def test_proxy_reboot_confirmation(snap_compare) -> None:
    app, _ = dashboard()

    async def confirm(pilot) -> None:
        await _settled(pilot)
        await pilot.press("P", "enter")
        await _wait(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SIZE, run_before=confirm)


def test_accessory_remove_confirmation_with_typed_target(snap_compare) -> None:
    app, _ = dashboard()

    async def confirm(pilot) -> None:
        await _settled(pilot)
        await pilot.press("2", "x")
        await _wait(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))
        target = pilot.app.screen.query_one("#target", Input)
        target.cursor_blink = False
        target.focus()
        await pilot.press("d", "b")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SIZE, run_before=confirm)
