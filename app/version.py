"""`shipdeck version`: print shipdeck's version. Imports nothing else, so the answer is immediate."""

from __future__ import annotations

import argparse

from app import __version__


def show(args: argparse.Namespace) -> int:
    print(__version__)
    return 0
