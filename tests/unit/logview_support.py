"""Builders for the log view's unit tests: fixed sources and a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.logview.model import LogLine, Source

T0 = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
WEB1 = Source("app", "web-1", role="web")
WEB2 = Source("app", "web-2", role="web")
JOB = Source("app", "web-3", role="job")
DB = Source("accessory", "db-1", accessory="db")
PROXY = Source("proxy", "web-1")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def line(source: Source, seconds: float, text: str, stream: str = "stdout") -> LogLine:
    return LogLine(source, at(seconds), text, stream=stream)  # type: ignore[arg-type]


def texts(entries) -> list[str]:
    return [entry.text for entry in entries]
