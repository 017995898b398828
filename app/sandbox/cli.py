"""Arguments of the `shipdeck sandbox` command group (imports nothing heavy)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Placeholder until the sandbox commands land."""
    subparsers.add_parser("sandbox", help="(coming)")
