"""Typed events: the only thing front ends (plain CLI, headless CI, dashboard) learn about a run from.

A run emits `RunStarted`, then for every step and host `StepStarted` → `Output`* → `StepFinished`,
possibly `Diagnosis`, and finally `RunFinished`. Events are immutable and carry no secrets: every
text field is masked when the event is created.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from app.secrets.masking import mask


class StepStatus(Enum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


def _now() -> float:
    return time.time()


@dataclass(frozen=True)
class Event:
    at: float = field(default_factory=_now, kw_only=True)


@dataclass(frozen=True)
class RunStarted(Event):
    command: str  # e.g. "deploy", "accessory reboot db"
    hosts: tuple[str, ...]
    version: str | None = None


@dataclass(frozen=True)
class StepStarted(Event):
    step: str  # stable id, e.g. "app.boot", "proxy.boot", "build.push"
    title: str  # human text, e.g. "Boot app version abc123 (web)"
    host: str | None = None  # None for local steps (build, hooks)
    role: str | None = None


@dataclass(frozen=True)
class Output(Event):
    step: str
    line: str
    host: str | None = None
    stream: str = "stdout"

    def __post_init__(self) -> None:
        object.__setattr__(self, "line", mask(self.line))


@dataclass(frozen=True)
class StepFinished(Event):
    step: str
    status: StepStatus
    duration: float
    host: str | None = None
    role: str | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        if self.error is not None:
            object.__setattr__(self, "error", mask(self.error))

    @property
    def ok(self) -> bool:
        return self.status in (StepStatus.OK, StepStatus.SKIPPED)


@dataclass(frozen=True)
class Notice(Event):
    """Something the operator should know that is not a step (a warning, a hint)."""

    message: str
    level: str = "info"  # info | warning | error
    host: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", mask(self.message))


@dataclass(frozen=True)
class Diagnosis(Event):
    """A recognised failure: what happened, why, and how to repair it (see app.diagnose)."""

    code: str  # e.g. "postgres.password_mismatch"
    summary: str
    explanation: str
    host: str | None = None
    repairs: tuple[str, ...] = ()  # ids of repair actions offered


@dataclass(frozen=True)
class RunFinished(Event):
    ok: bool
    duration: float
    error: str | None = None

    def __post_init__(self) -> None:
        if self.error is not None:
            object.__setattr__(self, "error", mask(self.error))


EventSink = Callable[[Event], None]


class EventLog:
    """Fans events out to subscribers and keeps them for reports (JUnit, summaries)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._subscribers: list[EventSink] = []

    def subscribe(self, sink: EventSink) -> None:
        self._subscribers.append(sink)

    def emit(self, event: Event) -> None:
        """Deliver to every subscriber. A failing subscriber (a closed pipe, a broken widget) is dropped:
        showing progress must never stop a deploy half-way or keep it from releasing its lock."""
        self.events.append(event)
        for sink in list(self._subscribers):
            try:
                sink(event)
            except Exception:
                self._subscribers.remove(sink)
