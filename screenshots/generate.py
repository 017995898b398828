"""Regenerate the dashboard screenshots shown in the README, from the real dashboard and the real Fleet
driving the sandbox's demo project:

    flock /run/lock/shipdeck-sandbox-use.lock python3 screenshots/generate.py

It brings the demo up first if needed (`shipdeck sandbox demo`, else `shipdeck setup` in it), commits an
empty change to the demo project (so a deploy has a new version to ship), then drives the dashboard with
Pilot: the main screen, a deploy in progress, the proxy-reboot confirmation and the accessory-remove
confirmation with its target typed (both cancelled: nothing is rebooted or removed). SVGs land next to
this file.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from app.sandbox import layout, registries  # noqa: E402

SIZE = (150, 44)


def sandbox_root() -> Path:
    return Path(os.environ.get("SHIPDECK_SANDBOX_DIR") or layout.DEFAULT_DIR)


def prepare(root: Path) -> Path:
    project = layout.demo_project_dir(root)
    if not (project / "config" / "deploy.yml").is_file():
        print("no demo project yet: shipdeck sandbox demo", flush=True)
        subprocess.run([sys.executable, "-m", "app", "sandbox", "demo"], cwd=ROOT, check=True,
                       stdin=subprocess.DEVNULL)
    os.environ.update(SHIPDECK_SANDBOX_DIR=str(root), DOCKER_CONFIG=str(layout.docker_config_dir(root)),
                      KAMAL_REGISTRY_PASSWORD=registries.password_path(root).read_text().strip(),
                      POSTGRES_PASSWORD=registries.postgres_password_path(root).read_text().strip())
    os.environ.pop("DOCKER_HOST", None)
    print("shipdeck setup (the demo as `make demo` leaves it)", flush=True)
    subprocess.run([sys.executable, "-m", "app", "setup"], cwd=project, check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)})
    subprocess.run(["git", "-C", str(project), "commit", "-q", "--allow-empty", "-m", "A version to deploy"],
                   check=True)
    os.chdir(project)
    return project


async def until(pilot, condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"screenshots: timed out waiting for {what}")
        await pilot.pause(0.05)


async def shoot() -> None:
    from textual.widgets import Input

    from app.engine.fleet import Fleet
    from app.tui.app import Dashboard
    from app.tui.confirmer import DashboardConfirmer
    from app.tui.state import CellState
    from widgets.accessory_table import AccessoryTable
    from widgets.confirm_screen import ConfirmScreen

    confirmer = DashboardConfirmer()
    fleet = await Fleet.open(confirmer=confirmer)
    app = Dashboard(fleet, confirmer=confirmer, refresh_every=0, theme="ansi-dark")

    def save(name: str) -> None:
        app.save_screenshot(filename=name, path=str(HERE))
        print(f"screenshots/{name}", flush=True)

    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.status_loaded, 60, "the first status")
            await pilot.pause(1.0)
            save("main.svg")

            await pilot.press("d")

            def booting() -> bool:
                activity = app.activity
                return activity is not None and (activity.finished or any(
                    step == "app.boot" and cell.state is CellState.RUNNING
                    for (_, step), cell in activity.cells.items()))

            await until(pilot, booting, 300, "the deploy to boot the new version")
            await pilot.pause(0.6)
            save("deploy.svg")
            await until(pilot, lambda: app.activity.finished, 300, "the deploy to finish")
            await pilot.pause(1.0)

            await pilot.press("P", "enter")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 30, "the proxy-reboot confirmation")
            await pilot.pause(0.3)
            save("proxy-reboot-confirm.svg")
            await pilot.press("escape")
            await until(pilot, lambda: app.activity.finished, 30, "the refused reboot to end")

            table = app.query_one(AccessoryTable)
            table.focus()
            table.move_cursor(row=next(index for index, key in enumerate(table.row_keys) if key.startswith("db@")))
            await pilot.press("x")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), 30, "the accessory-remove confirmation")
            target = app.screen.query_one("#target", Input)
            target.cursor_blink = False
            target.focus()
            await pilot.press("d", "b")
            await pilot.pause(0.3)
            save("accessory-remove-confirm.svg")
            await pilot.press("escape")
            await until(pilot, lambda: app.activity.finished, 30, "the refused removal to end")
    finally:
        await fleet.close()


def main() -> int:
    if os.geteuid() != 0:
        print("screenshots: the sandbox needs root", file=sys.stderr)
        return 2
    prepare(sandbox_root())
    asyncio.run(shoot())
    return 0


if __name__ == "__main__":
    sys.exit(main())
