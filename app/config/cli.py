"""Arguments of the `shipdeck config` and `shipdeck init` commands (imports nothing heavy)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "config",
        parents=[common],
        add_help=False,
        help="show the combined config, as `kamal config` does",
        description="Load config/deploy.yml (and config/deploy.DEST.yml with -d), validate it with Kamal's "
        "rules and print the same fields as `kamal config`.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of YAML")
    parser.set_defaults(handler="app.config.command:show")
    init = subparsers.add_parser(
        "init", parents=[common], add_help=False,
        help="write config/deploy.yml, .kamal/secrets and sample hooks, as `kamal init` does",
        description="Create config/deploy.yml, .kamal/secrets and sample hooks in .kamal/hooks where they are "
        "missing. Kamal and shipdeck both read the result unchanged.",
    )
    init.add_argument("--bundle", action="store_true", help="also add Kamal to the Gemfile and create bin/kamal")
    init.set_defaults(handler="app.config.command:init")
