"""Writes the demo Kamal 2 project that the sandbox deploys.

(First version: the interface only.)
"""

from __future__ import annotations

from pathlib import Path


def write_demo_project(dest: Path, *, hosts: list[str], registry: str, registry_username: str,
                       ssh_config: Path) -> Path:
    """Write a ready-to-deploy Kamal project (a git repo with one commit) into `dest` and return it."""
    raise NotImplementedError("the demo project writer is not ready yet")
