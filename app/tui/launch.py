"""Opening the dashboard from the command line: the Fleet (a project, or servers read-only), the
user's keymap, the event loop that both live in, and a clean end (running operations cancelled, the
lock released, connections closed) however the dashboard is left, SIGTERM and SIGHUP included.

For a project, the config is read (and checked) before the screen changes, the first frame is drawn
from it, and the engine is imported and connected right after that frame (`OpeningFleet`).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import signal
from collections.abc import Sequence

from app.tui.confirmer import DashboardConfirmer
from app.tui.keymap import keymap_path, load_keymap
from app.tui.opening import OpeningFleet


def project_fleet(config_file: str, destination: str | None, version: str | None,
                  confirmer: DashboardConfirmer) -> OpeningFleet:
    """The project's fleet as the dashboard opens it: checked config now, engine in the background."""
    from app.config import load_config

    config = load_config(config_file=config_file, destination=destination, version=version)

    async def open_fleet():
        module = await asyncio.to_thread(importlib.import_module, "app.engine.fleet")  # the network stack
        fleet = module.Fleet.from_project(config_file, destination, version, confirmer=confirmer)
        fleet.connect()
        return fleet

    return OpeningFleet(service=config.service, destination=config.destination, hosts=config.all_hosts,
                        open=open_fleet)


def run_dashboard(*, config_file: str = "config/deploy.yml", destination: str | None = None,
                  version: str | None = None, servers: Sequence[str] = ()) -> int:
    """The dashboard until the operator quits; the exit status. Bad input (config, keymap, a server
    spec) raises before the screen changes."""
    path = keymap_path()
    keymap = load_keymap(path)
    confirmer = DashboardConfirmer()
    if servers:
        return asyncio.run(_serve(None, confirmer, keymap, str(path), servers=tuple(servers)))
    fleet = project_fleet(config_file, destination, version, confirmer)
    return asyncio.run(_serve(fleet, confirmer, keymap, str(path)))


async def _serve(fleet, confirmer: DashboardConfirmer, keymap: dict[str, str], keymap_file: str, *,
                 servers: tuple[str, ...] = ()) -> int:
    from app.tui.app import Dashboard

    if fleet is None:
        from app.engine.fleet import Fleet

        fleet = await Fleet.open_servers(list(servers), confirmer=confirmer)
    app = Dashboard(fleet, confirmer=confirmer, read_only=bool(servers), keymap=keymap, keymap_file=keymap_file,
                    on_first_frame=getattr(fleet, "begin", None))
    loop = asyncio.get_running_loop()
    installed = []
    for signum in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, lambda code=128 + signum: app.exit(return_code=code))
            installed.append(signum)
    try:
        await app.run_async()
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
        confirmer.attach(None)
        await fleet.close()  # cancels what still runs: each run releases its lock
    return app.return_code or 0
