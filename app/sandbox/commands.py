"""Handlers of `shipdeck sandbox ...` (loaded only when such a command runs)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from app.errors import UsageError
from app.sandbox import fleet, layout


def _root(args: argparse.Namespace) -> Path:
    return Path(args.dir or os.environ.get("SHIPDECK_SANDBOX_DIR") or layout.DEFAULT_DIR)


def _print(line: str) -> None:
    print(line, flush=True)


def missing_action(args: argparse.Namespace) -> int:
    raise UsageError("sandbox: choose an action: up, status, down, env, bare, demo (see `shipdeck sandbox --help`)")


def up(args: argparse.Namespace) -> int:
    fleet.up(_root(args), args.hosts, _print, images=not args.no_images)
    return 0


def down(args: argparse.Namespace) -> int:
    fleet.down(_root(args), purge=args.purge, log=_print)
    return 0


def status(args: argparse.Namespace) -> int:
    return 0 if fleet.status(_root(args), _print) else 1


def env(args: argparse.Namespace) -> int:
    for line in fleet.env_lines(_root(args)):
        print(line)
    return 0


def bare(args: argparse.Namespace) -> int:
    from app.sandbox import bare_hosts
    from app.sandbox.system import require_root_linux

    require_root_linux()
    if not 1 <= args.index <= layout.MAX_BARE_HOSTS:
        raise UsageError(f"sandbox bare: --index {args.index}: choose between 1 and {layout.MAX_BARE_HOSTS}")
    if args.bare_action == "start":
        bare_hosts.start(_root(args), args.index, _print)
    else:
        bare_hosts.stop(_root(args), args.index, _print)
    return 0


def demo(args: argparse.Namespace) -> int:
    """`sandbox up`, then `shipdeck setup` of the demo project, then where to look."""
    from app import cli
    from app.sandbox import registries

    if args.hosts < 3:
        raise UsageError("sandbox demo: the demo project needs at least 3 hosts")
    root = _root(args)
    fleet.up(root, args.hosts, _print)
    project = layout.demo_project_dir(root)
    if not (project / "config" / "deploy.yml").is_file():
        raise UsageError(f"sandbox demo: no demo project in {project}")
    # The demo's .kamal/secrets reads these from the environment, as a CI job would provide them.
    os.environ["KAMAL_REGISTRY_PASSWORD"] = registries.password_path(root).read_text().strip()
    os.environ["POSTGRES_PASSWORD"] = registries.postgres_password_path(root).read_text().strip()
    os.chdir(project)
    _print(f"Deploying the demo project in {project} with `shipdeck setup`...")
    status = cli.main(["setup"])
    if status != 0:
        return status
    web = [layout.host_address(1), layout.host_address(2)]
    _print("")
    _print("The demo app is live:")
    for address in web:
        _print(f"  curl http://{address}/")
    _print(f"  cd {project} && shipdeck app details   # or: shipdeck app logs, shipdeck accessory details all")
    from app.cli import ui

    if not ui.terminal():
        _print(f'Open the dashboard in a terminal: cd {project} && eval "$(shipdeck sandbox env)" && shipdeck')
        return 0
    _print("Opening the dashboard (q quits, ? lists the keys)...")
    return cli.main([])
