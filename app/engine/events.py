"""Typed events: the only thing front ends (plain CLI, headless CI, dashboard) learn about a run from.

A run emits `RunStarted`, then for every step and host `StepStarted` → `Output`* → `StepFinished`
(all three carrying the step's instance id, so two roles running the same step on one host stay
apart), `Rows` for structured results, possibly `Diagnosis`, and finally `RunFinished`. Events are
immutable and carry no secrets: every text field is masked when the event is created.
"""

from __future__ import annotations

import time
from collections import deque
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
    step: str  # stable kind, e.g. "app.boot", "proxy.boot", "build.push"
    title: str  # human text, e.g. "Boot app version abc123 (web)"
    host: str | None = None  # None for local steps (build, hooks)
    role: str | None = None
    step_id: str = ""  # this instance, unique in the run, e.g. "app.boot#3"


@dataclass(frozen=True)
class Output(Event):
    step: str
    line: str
    host: str | None = None
    stream: str = "stdout"  # stdout | stderr | command (the Kamal command an action stands for)
    role: str | None = None
    step_id: str = ""  # the step instance the line belongs to ("" outside any step)

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
    step_id: str = ""

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
class Rows(Event):
    """A structured result: a table with named columns (a face lays it out; nothing is pre-formatted).

    `kind` says what it lists, e.g. "app.containers", "proxy.containers", "accessory.containers",
    "lock", "app.version", "audit"; one `Rows` per host when `host` is set.
    """

    kind: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    host: str | None = None
    role: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "rows", tuple(tuple(mask(str(cell)) for cell in row) for row in self.rows))

    def dicts(self) -> list[dict[str, str]]:
        return [dict(zip(self.columns, row, strict=False)) for row in self.rows]


@dataclass(frozen=True)
class Diagnosis(Event):
    """A recognised failure: what happened, where, and how to fix it (see app.diagnose).

    `fixes` are (label, command) pairs, e.g. ("Show the container's logs", "shipdeck app logs -r web").
    """

    code: str  # e.g. "app.boot_failed", "postgres.password_mismatch"
    title: str
    host: str | None = None
    target: str | None = None  # the container, role or accessory concerned
    detail: str = ""
    fixes: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "title", mask(self.title))
        object.__setattr__(self, "detail", mask(self.detail))


@dataclass(frozen=True)
class RunFinished(Event):
    ok: bool
    duration: float
    error: str | None = None

    def __post_init__(self) -> None:
        if self.error is not None:
            object.__setattr__(self, "error", mask(self.error))


EventSink = Callable[[Event], None]


DEFAULT_CAPACITY = 10_000


class EventLog:
    """Fans events out to subscribers and keeps the most recent `capacity` of them (a ring) for reports
    and late subscribers; `dropped` counts the ones that fell out of the ring."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("an event log keeps at least one event")
        self._ring: deque[Event] = deque(maxlen=capacity)
        self._subscribers: list[EventSink] = []
        self.dropped = 0
        self.failed_subscribers: list[tuple[EventSink, Exception]] = []

    @property
    def capacity(self) -> int:
        return self._ring.maxlen or 0

    @property
    def events(self) -> list[Event]:
        """The kept events, oldest first."""
        return list(self._ring)

    def subscribe(self, sink: EventSink) -> None:
        self._subscribers.append(sink)

    def unsubscribe(self, sink: EventSink) -> None:
        if sink in self._subscribers:
            self._subscribers.remove(sink)

    def emit(self, event: Event) -> None:
        """Deliver to every subscriber. A failing subscriber (a closed pipe, a broken widget) is removed
        and reported once, as a warning Notice to the others: showing progress must never stop a deploy
        half-way or keep it from releasing its lock, and a face that went quiet must say why."""
        if len(self._ring) == self._ring.maxlen:
            self.dropped += 1
        self._ring.append(event)
        failures: list[tuple[EventSink, Exception]] = []
        for sink in list(self._subscribers):
            try:
                sink(event)
            except Exception as error:
                self._subscribers.remove(sink)
                failures.append((sink, error))
        for sink, error in failures:
            self.failed_subscribers.append((sink, error))
            name = getattr(sink, "__qualname__", None) or type(sink).__name__
            self.emit(Notice(message=f"an event subscriber ({name}) failed and no longer receives events: "
                                     f"{type(error).__name__}: {error}", level="warning"))
