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
    raise UsageError("sandbox: choose an action: up, status, down, env (see `shipdeck sandbox --help`)")


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
