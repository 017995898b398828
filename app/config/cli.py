"""Arguments of the `shipdeck config` command group (imports nothing heavy)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Placeholder until the config commands land."""
    subparsers.add_parser("config", help="(coming)")
