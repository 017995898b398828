"""Structured results shared by the operations: the `docker ps` columns and cells of a container listing."""

from __future__ import annotations

from app.remote.docker_ops import PS_COLUMNS, ps_rows

__all__ = ["PS_COLUMNS", "ps_rows"]
