"""Kamal's tags: who did what when, as written to audit lines and handed to hooks (`KAMAL_*`)."""

from __future__ import annotations

import getpass
import subprocess
from datetime import UTC, datetime
from functools import cache

from app.config.model import Config


def utc_now_iso8601() -> str:
    """Ruby's `Time.now.utc.iso8601`: seconds precision with a `Z`."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _git_config(key: str, cwd: str | None = None) -> str:
    try:
        result = subprocess.run(["git", "config", key], capture_output=True, text=True, cwd=cwd, check=False)
    except OSError:
        return ""
    return result.stdout.strip()


@cache
def performer(cwd: str | None = None) -> str:
    """`git config user.email`, else `whoami` (Kamal's performer)."""
    return _git_config("user.email", cwd) or getpass.getuser()


@cache
def locked_by(cwd: str | None = None) -> str:
    """`git config user.name`, else "Unknown" (who holds the deploy lock)."""
    return _git_config("user.name", cwd) or "Unknown"


def default_tags(config: Config) -> dict[str, str]:
    """Kamal::Tags.default_tags, nil values dropped, in Kamal's order."""
    tags = {
        "recorded_at": utc_now_iso8601(),
        "performer": performer(config.project_dir),
        "destination": config.destination,
        "version": config.version,
        "service_version": "@".join(part for part in (config.service, config.abbreviated_version) if part),
        "service": config.service,
    }
    return {key: value for key, value in tags.items() if value is not None}


def tags_env(tags: dict[str, str]) -> dict[str, str]:
    return {f"KAMAL_{key.upper()}": str(value) for key, value in tags.items()}
