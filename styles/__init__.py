"""The dashboard's Textual stylesheets (.tcss): all of its styling lives in these files."""

from __future__ import annotations

import pathlib

HERE = pathlib.Path(__file__).resolve().parent


def path(name: str) -> pathlib.Path:
    return HERE / name
