"""How a value reads in a table cell: words plus a glyph, so state is legible without colour
(`NO_COLOR`, monochrome terminals); the tone names a component class whose colour the .tcss sets."""

from __future__ import annotations

import re

from app.engine.api import ConnectionState, ContainerHealth, ContainerState

OK, WARN, BAD, MUTED, ACCENT, PLAIN = "ok", "warn", "bad", "muted", "accent", ""

Cell = tuple[str, str]  # (text, tone)

_CONTAINER = {
    ContainerState.RUNNING: ("● running", OK),
    ContainerState.CREATED: ("○ created", WARN),
    ContainerState.RESTARTING: ("↻ restarting", WARN),
    ContainerState.PAUSED: ("‖ paused", WARN),
    ContainerState.REMOVING: ("✗ removing", WARN),
    ContainerState.EXITED: ("■ stopped", BAD),
    ContainerState.DEAD: ("✗ dead", BAD),
    ContainerState.MISSING: ("– missing", MUTED),
}

_HEALTH = {
    ContainerHealth.HEALTHY: ("healthy", OK),
    ContainerHealth.STARTING: ("starting", WARN),
    ContainerHealth.UNHEALTHY: ("unhealthy", BAD),
    ContainerHealth.NONE: ("-", MUTED),
}


GIT_SHA = re.compile(r"^([0-9a-f]{12})[0-9a-f]{28}")
SHORT_SHA = 12


def version(value: str) -> str:
    """A version as tables show it: a git commit (Kamal's default version, 40 hex) by its first 12
    characters, as `git rev-parse --short=12` would; any other version in full."""
    return GIT_SHA.sub(r"\1", value)


def container_state(state: ContainerState) -> Cell:
    return _CONTAINER.get(state, (str(state), WARN))


def health(value: ContainerHealth) -> Cell:
    return _HEALTH.get(value, (str(value), WARN))


def connection(state: ConnectionState, rtt_ms: float | None) -> Cell:
    if state is ConnectionState.UP:
        return (f"● up {rtt_ms:.0f} ms" if rtt_ms is not None else "● up", OK)
    if state is ConnectionState.CONNECTING:
        return ("◌ connecting", WARN)
    if state is ConnectionState.HOST_KEY_UNKNOWN:
        return ("? unknown host key", WARN)
    return ("✗ failed", BAD)


def size(value: int | None) -> str:
    if value is None:
        return "?"
    amount = float(value)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if amount < 1000 or unit == "TB":
            return f"{amount:.0f} {unit}" if unit == "B" or amount >= 100 else f"{amount:.1f} {unit}"
        amount /= 1000
    return f"{value} B"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def age(seconds: float | None) -> str:
    """12s, 5m, 3h, 2d."""
    if seconds is None:
        return ""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{int(seconds)}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    return f"{int(seconds // 86400)}d"
