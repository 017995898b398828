"""Typed options of the operations that take more than a name (what the CLI's flags become)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LogOptions:
    """Kamal's `logs` flags (app, accessory and proxy)."""

    since: str | None = None
    lines: int | None = None
    grep: str | None = None
    grep_options: str | None = None
    timestamps: bool = True
    follow: bool = False
    container_id: str | None = None  # `app logs --container-id`: this container instead of the current one


@dataclass(frozen=True)
class ExecOptions:
    command: str
    interactive: bool = False
    reuse: bool = False
    env: Mapping[str, str] = field(default_factory=dict)
    detach: bool = False
    version: str | None = None  # an explicit --version
    terminal: bool = True  # stdin is a terminal (`-it`, else `-i`)
    stdin: bytes | None = None  # piped input for `accessory exec -i` (e.g. SQL for psql)


@dataclass(frozen=True)
class InteractiveCommand:
    """An interactive command to hand the terminal to (`ssh -t` on `host`); a face runs `argv` itself
    once it has closed its Fleet."""

    host: str
    argv: tuple[str, ...]


@dataclass(frozen=True)
class RegistryOptions:
    skip_local: bool = False
    skip_remote: bool = False
