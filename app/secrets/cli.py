"""Arguments of the `shipdeck secrets` command group (imports nothing heavy)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Placeholder until the secrets commands land."""
    subparsers.add_parser("secrets", help="(coming)")
