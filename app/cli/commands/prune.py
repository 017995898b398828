"""`shipdeck prune all|images|containers [--retain N]` (Kamal::Cli::Prune)."""

from __future__ import annotations

import argparse

from app.cli.session import run_operation
from app.engine import prune as pruning


def all_(args: argparse.Namespace) -> int:
    return run_operation(args, "prune", "all", pruning.prune_all)


def images(args: argparse.Namespace) -> int:
    return run_operation(args, "prune", "images", pruning.prune_images)


def containers(args: argparse.Namespace) -> int:
    retain = args.retain
    return run_operation(args, "prune", "containers", lambda run: pruning.prune_containers(run, retain))
