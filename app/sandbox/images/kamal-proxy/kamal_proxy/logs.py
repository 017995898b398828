"""JSON log lines on stdout, shaped like Go's slog JSON handler (time, level, msg, attributes)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

_debug = False


def set_debug(enabled: bool) -> None:
    global _debug
    _debug = enabled


def _emit(level: str, msg: str, attrs: dict[str, Any]) -> None:
    record = {"time": datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
              "level": level, "msg": msg, **attrs}
    sys.stdout.write(json.dumps(record, default=str) + "\n")
    sys.stdout.flush()


def debug(msg: str, **attrs: Any) -> None:
    if _debug:
        _emit("DEBUG", msg, attrs)


def info(msg: str, **attrs: Any) -> None:
    _emit("INFO", msg, attrs)


def warn(msg: str, **attrs: Any) -> None:
    _emit("WARN", msg, attrs)


def error(msg: str, **attrs: Any) -> None:
    _emit("ERROR", msg, attrs)
