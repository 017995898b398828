"""The display-side log model: where a line came from, the line itself, and the two stream markers.

These types belong to the view, not to the engine: the App turns each engine log item into one of them, so the
view never imports the engine. Every item carries an integer `key` that orders it by timestamp, ties broken by
arrival; the buffer keeps items sorted by it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from typing import Literal

SourceKind = Literal["app", "accessory", "proxy"]
Stream = Literal["stdout", "stderr"]

_SEQ_BITS = 24
_SEQ_MASK = (1 << _SEQ_BITS) - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_arrivals = itertools.count()


def _micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def order_key(moment: datetime) -> int:
    """A unique sort key: microseconds since the epoch, then arrival order (for equal timestamps)."""
    return (_micros(moment) << _SEQ_BITS) | (next(_arrivals) & _SEQ_MASK)


def key_floor(moment: datetime) -> int:
    """The smallest key an item stamped `moment` can have (for bisecting by time)."""
    return _micros(moment) << _SEQ_BITS


class Level(IntEnum):
    """Severity recognised in a line's text; NONE when the line says nothing about it."""

    NONE = 0
    DEBUG = 1
    INFO = 2
    WARN = 3
    ERROR = 4


@dataclass(frozen=True, slots=True)
class Source:
    """One followed stream: an app role on a host, an accessory, or kamal-proxy on a host.

    A source outlives its containers: after a deploy the new container of the same role is the same source.
    """

    kind: SourceKind
    host: str
    role: str | None = None
    accessory: str | None = None
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # looked up for every line (colour, hidden sources): hash once
        object.__setattr__(self, "_hash", hash((self.kind, self.host, self.role, self.accessory)))

    def __hash__(self) -> int:
        return self._hash

    @property
    def label(self) -> str:
        """The prefix shown before each line: `host/role`, the accessory's name, or `host/proxy`."""
        if self.kind == "accessory":
            return self.accessory or self.host
        if self.kind == "proxy":
            return f"{self.host}/proxy"
        return f"{self.host}/{self.role}" if self.role else self.host

    @property
    def description(self) -> str:
        """The label with its kind, for the saved file's header and the source list."""
        if self.kind == "accessory":
            return f"{self.label} (accessory on {self.host})"
        if self.kind == "proxy":
            return f"{self.label} (kamal-proxy)"
        return f"{self.label} (app)"


class LogLine:
    """One line of a container's output, its text already masked by the engine.

    A plain slotted class rather than a dataclass: one is made for every line of a flood, so its constructor is
    kept to the assignments.
    """

    __slots__ = ("container", "key", "level", "source", "stream", "text", "timestamp")

    def __init__(
        self,
        source: Source,
        timestamp: datetime,
        text: str,
        stream: Stream = "stdout",
        container: str = "",
        level: Level = Level.NONE,
        key: int = 0,
    ) -> None:
        self.source = source
        self.timestamp = timestamp
        self.text = text
        self.stream = stream
        self.container = container
        self.level = level
        self.key = key or order_key(timestamp)

    def __repr__(self) -> str:
        return f"LogLine({self.source.label!r}, {self.timestamp.isoformat()!r}, {self.text!r}, level={self.level.name})"


@dataclass(slots=True)
class Gap:
    """A source's stream dropped at `started` and was reconnected at `ended`; lines in between may be missing."""

    source: Source
    started: datetime
    ended: datetime
    container: str = ""
    key: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if not self.key:
            self.key = order_key(self.started)

    @property
    def timestamp(self) -> datetime:
        return self.started

    @property
    def text(self) -> str:
        seconds = max(0.0, (self.ended - self.started).total_seconds())
        where = f" {self.container}" if self.container else ""
        return (
            f"stream{where} lost {self.started:%H:%M:%S} → {self.ended:%H:%M:%S} ({seconds:.1f} s),"
            " lines may be missing"
        )


@dataclass(slots=True)
class Switch:
    """After a deploy, a new container of the same role is followed from `timestamp` on."""

    source: Source
    timestamp: datetime
    new_container: str
    old_container: str = ""
    key: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if not self.key:
            self.key = order_key(self.timestamp)

    @property
    def text(self) -> str:
        was = f" (was {self.old_container})" if self.old_container else ""
        return f"now following {self.new_container}{was}"


@dataclass(slots=True)
class Unreachable:
    """A host the view asked for could not be read at all (e.g. its SSH port refuses connections): none of its
    lines are in the view."""

    source: Source
    timestamp: datetime
    reason: str
    key: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if not self.key:
            self.key = order_key(self.timestamp)

    @property
    def text(self) -> str:
        return f"cannot read {self.source.host}: {self.reason}"


Marker = Gap | Switch | Unreachable
Entry = LogLine | Gap | Switch | Unreachable


def is_marker(entry: Entry) -> bool:
    return not isinstance(entry, LogLine)
