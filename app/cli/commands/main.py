"""`setup`, `deploy`, `redeploy`, `rollback`, `details`, `audit`, `remove`, `upgrade`."""

from __future__ import annotations

import argparse

from app.cli.session import run_operation
from app.engine import deploy as flows
from app.engine.commands import main as operations
from app.errors import UsageError

KAMAL_1_MIGRATION = ("{command} moves servers from Kamal 1.x (Traefik) to Kamal 2 (kamal-proxy). It is a one-time "
                     "migration that shipdeck does not perform: run `kamal {command}` once, then use shipdeck on "
                     "the upgraded servers.")


def setup(args: argparse.Namespace) -> int:
    return run_operation(args, "setup", None, flows.setup)


def deploy(args: argparse.Namespace) -> int:
    return run_operation(args, "deploy", None, flows.deploy)


def redeploy(args: argparse.Namespace) -> int:
    return run_operation(args, "redeploy", None, flows.redeploy)


def rollback(args: argparse.Namespace) -> int:
    version = args.rollback_version
    return run_operation(args, "rollback", None, lambda run: flows.rollback(run, version))


def details(args: argparse.Namespace) -> int:
    return run_operation(args, "details", None, operations.details)


def audit(args: argparse.Namespace) -> int:
    return run_operation(args, "audit", None, operations.audit)


def version(args: argparse.Namespace) -> int:
    """`kamal version` prints Kamal's version; `shipdeck version` prints shipdeck's."""
    from app import __version__

    print(__version__)
    return 0


def remove(args: argparse.Namespace) -> int:
    return run_operation(args, "remove", None, operations.remove)


def upgrade(args: argparse.Namespace) -> int:
    raise UsageError(KAMAL_1_MIGRATION.format(command="upgrade"))
