"""`shipdeck ui` (and `shipdeck` alone, in a terminal): the operator dashboard. Textual is imported
only when the dashboard opens, so every other command starts as fast as before."""

from __future__ import annotations

import argparse
import sys

USAGE = """usage: shipdeck [-c FILE] [-d DEST]                 the dashboard (in a terminal)
       shipdeck ui --server [USER@]HOST[:PORT] ...  every Kamal app on those hosts, read-only
       shipdeck COMMAND ...                         Kamal's commands (shipdeck --help lists them)
"""


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    ui = subparsers.add_parser("ui", help="Open the operator dashboard (the default in a terminal)",
                               description="The operator dashboard for config/deploy.yml, or with --server "
                               "every Kamal app on those hosts, read-only.", add_help=False)
    ui.add_argument("-c", "--config-file", default="config/deploy.yml", metavar="FILE",
                    help="path to the deploy config (default: config/deploy.yml)")
    ui.add_argument("-d", "--destination", metavar="DEST", help="destination: also load config/deploy.DEST.yml")
    ui.add_argument("--version", dest="version", metavar="VERSION", help="the version a deploy ships (default: HEAD)")
    ui.add_argument("--server", action="append", default=[], metavar="[USER@]HOST[:PORT]",
                    help="server mode: show every Kamal app on this host, read-only (repeatable)")
    ui.add_argument("--help", action="help", help="show this help and exit")
    ui.set_defaults(handler="app.cli.ui:run")


def terminal() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def usage_without_terminal() -> int:
    sys.stderr.write(USAGE + "shipdeck: the dashboard needs a terminal; in scripts and CI run a command, "
                     "e.g. shipdeck deploy\n")
    return 2


def run(args: argparse.Namespace) -> int:
    if not terminal():
        return usage_without_terminal()
    from app.tui.launch import run_dashboard

    return run_dashboard(config_file=args.config_file, destination=args.destination, version=args.version,
                         servers=tuple(args.server))
