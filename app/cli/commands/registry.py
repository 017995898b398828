"""`shipdeck registry setup|remove|login|logout`."""

from __future__ import annotations

import argparse

from app.cli.session import run_operation
from app.engine.commands import registry as operations
from app.engine.options import RegistryOptions


def _registry(args: argparse.Namespace, subcommand: str) -> int:
    options = RegistryOptions(skip_local=bool(args.skip_local), skip_remote=bool(args.skip_remote))
    action = getattr(operations, subcommand)
    return run_operation(args, "registry", subcommand, lambda run: action(run, options))


def setup(args: argparse.Namespace) -> int:
    return _registry(args, "setup")


def remove(args: argparse.Namespace) -> int:
    return _registry(args, "remove")


def login(args: argparse.Namespace) -> int:
    return _registry(args, "login")


def logout(args: argparse.Namespace) -> int:
    return _registry(args, "logout")
