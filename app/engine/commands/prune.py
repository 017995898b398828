"""`shipdeck prune all|images|containers [--retain N]` (Kamal::Cli::Prune)."""

from __future__ import annotations

import argparse

from app.engine import prune as pruning
from app.engine.session import run_command


def all_(args: argparse.Namespace) -> int:
    return run_command(args, "prune", "all", pruning.prune_all)


def images(args: argparse.Namespace) -> int:
    return run_command(args, "prune", "images", pruning.prune_images)


def containers(args: argparse.Namespace) -> int:
    return run_command(args, "prune", "containers", lambda run: pruning.prune_containers(run, args.retain))
