"""Arguments of `shipdeck logs` (the handler, `app.cli.commands.logs`, is imported only when it runs)."""

from __future__ import annotations

import argparse

DEFAULT_TAIL = 100  # Kamal's `app logs` without --since or --grep
DEFAULT_FOLLOW_TAIL = 10  # Kamal's `app logs -f`


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    text = "Show the merged, masked log lines of app roles, accessories and kamal-proxy across hosts"
    parser = subparsers.add_parser("logs", help=text, description=text + ". -r/--roles and -h/--hosts narrow the "
                                   "app roles and the hosts (comma-separated, wildcards allowed); with --accessory "
                                   "or --proxy only those (and roles named with -r) are read.",
                                   parents=[common], add_help=False)
    group = parser.add_argument_group("logs options")
    group.add_argument("-f", "--follow", action="store_true",
                       help="keep following every host; a deploy's new containers are followed too")
    group.add_argument("--accessory", action="append", default=[], metavar="NAME",
                       help="an accessory's lines (comma-separated or repeatable; 'all' for every accessory)")
    group.add_argument("--proxy", action="store_true", help="kamal-proxy's lines")
    group.add_argument("-g", "--grep", metavar="RE", help="only lines matching this regular expression")
    group.add_argument("-s", "--since", metavar="D", help="only lines since a duration ago (30s, 5m, 1h) or a time")
    group.add_argument("-n", "--tail", type=_count, metavar="N",
                       help=f"the last N lines of each container (default {DEFAULT_TAIL}, with -f "
                            f"{DEFAULT_FOLLOW_TAIL}; none by default with --since or --grep)")
    group.add_argument("-T", "--skip-timestamps", action="store_true", help="print lines without timestamps")
    parser.set_defaults(handler="app.cli.commands.logs:logs")


def _count(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of lines, got {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more lines, got {number}")
    return number
