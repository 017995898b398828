"""Dashboard tests: the App over the `FakeFleet`, each test with its own empty config directory (no
user keymap) and the terminal-theme colours fixed."""

from __future__ import annotations

import asyncio

import pytest

from app.tui.app import Dashboard
from app.tui.confirmer import DashboardConfirmer
from tests.tui.fake_fleet import Clock, FakeFleet

SIZE = (130, 40)


@pytest.fixture(autouse=True)
def _isolated_terminal(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("COLORFGBG", raising=False)


def dashboard(*, frozen: bool = True, keymap: dict[str, str] | None = None, **fleet_options):
    """A dashboard over a fake fleet that asks its confirmations through the dashboard."""
    confirmer = DashboardConfirmer()
    clock = Clock(frozen=frozen)
    fleet = FakeFleet(confirmer=confirmer, clock=clock, **fleet_options)
    app = Dashboard(fleet, confirmer=confirmer, clock=clock, refresh_every=0, keymap=keymap, theme="ansi-dark")
    return app, fleet


async def until(condition, pilot, timeout: float = 5.0, what: str = "condition") -> None:
    """Let the app run until `condition()` holds (fails the test after `timeout` seconds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def click(pilot, widget, offset: tuple[int, int] = (0, 0)) -> None:
    """Click `widget` once it is under the pointer (a screen just pushed may not be laid out yet)."""
    for _ in range(100):
        await pilot.pause(0.02)
        if await pilot.click(widget, offset=offset):
            return
    raise AssertionError(f"{widget!r} never came under the pointer")
