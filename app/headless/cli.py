"""Arguments of `shipdeck ci gitlab|github` (imports nothing heavy)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser("ci", help="print a ready CI pipeline that deploys with `shipdeck --auto`",
                                   description="Print a CI pipeline (one job running `shipdeck --auto`) that lists "
                                   "every variable it reads, the project's secrets included.")
    kinds = parser.add_subparsers(dest="subcommand", metavar="SYSTEM", required=True, parser_class=type(parser))
    for name, text in (("gitlab", "a .gitlab-ci.yml"), ("github", "a GitHub Actions workflow")):
        kind = kinds.add_parser(name, help=f"print {text}", description=f"Print {text} that deploys with "
                                "`shipdeck --auto`.", parents=[common], add_help=False)
        kind.add_argument("--branch", help="deploy only from this branch (default: the default branch)")
        kind.add_argument("--environment", default="production", help="the CI environment's name")
        kind.set_defaults(handler="app.headless.ci_command:print_pipeline")
