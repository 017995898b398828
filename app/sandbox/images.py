"""Builds the sandbox's Docker images from Debian packages into this machine's own engine.

(First version: the interface only; the builds land next.)
"""

from __future__ import annotations

from collections.abc import Callable

IMAGES = ["postgres:15", "redis:7", "basecamp/kamal-proxy:v0.9.2", "basecamp/kamal-proxy:v0.8.4",
          "shipdeck/demo-base:1"]


def build_images(log: Callable[[str], None] = print) -> list[str]:
    """Build every sandbox image (cached) and return their Docker Hub style names."""
    raise NotImplementedError("sandbox images are not buildable yet")
