"""The app version, resolved as Kamal resolves it: `--version`, else `$VERSION`, else git HEAD."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class VersionInfo:
    version: str | None
    problem: str | None  # Kamal's message when there is no version to be had
    git_used: bool


def _git(args: list[str], cwd: str, environ: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, env=dict(environ), capture_output=True, text=True,
                              check=False)
    except OSError:
        return subprocess.CompletedProcess(["git", *args], 127, "", "")


def git_used(cwd: str, environ: Mapping[str, str]) -> bool:
    """Kamal::Git.used?: `git rev-parse` succeeds in the project directory."""
    return _git(["rev-parse"], cwd, environ).returncode == 0


def resolve_version(declared: str | None, *, cwd: str, environ: Mapping[str, str],
                    builder_context_set: bool) -> VersionInfo:
    """Kamal's Configuration#version.

    A dirty working tree adds `_uncommitted_<16 hex>` only when the build uses the working tree
    (`builder.context` set); Kamal takes those 16 hex digits from `SecureRandom.hex(8)`, so they are
    random and differ on every call, here as in Kamal.
    """
    used = git_used(cwd, environ)
    if declared:
        return VersionInfo(declared, None, used)
    if "VERSION" in environ:
        return VersionInfo(environ["VERSION"], None, used)
    if not used:
        return VersionInfo(None, f"Can't use commit hash as version, no git repository found in {cwd}", used)
    revision = _git(["rev-parse", "HEAD"], cwd, environ).stdout.strip()
    if builder_context_set and _git(["status", "--porcelain"], cwd, environ).stdout.strip():
        revision += f"_uncommitted_{secrets.token_hex(8)}"
    return VersionInfo(revision, None, used)
