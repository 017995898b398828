"""What the view shows: a line filter (regex, `!` inverts, case toggle, level chips, hidden sources), a search
pattern (separate from the filter: it highlights, it never hides) and time windows (tail N, since 1m ... 1h).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.logview.model import Entry, Level, LogLine, Source


class PatternError(ValueError):
    """A filter or search the user typed is not a valid regular expression."""


def compile_pattern(text: str, *, case_sensitive: bool, what: str = "filter") -> re.Pattern[str]:
    """Compile a user's regex, or raise PatternError naming what was wrong and where."""
    try:
        return re.compile(text, 0 if case_sensitive else re.IGNORECASE)
    except re.error as error:
        where = f" at position {error.pos}" if error.pos is not None else ""
        raise PatternError(f"{what} {text!r} is not a valid regular expression: {error.msg}{where}") from None


@dataclass(frozen=True)
class LineFilter:
    """Which entries pass. Markers (gaps, switches) pass the text and level tests: they are about the stream."""

    text: str = ""
    case_sensitive: bool = False
    levels: frozenset[Level] = frozenset()
    hidden: frozenset[Source] = frozenset()
    pattern: re.Pattern[str] | None = field(default=None, init=False, compare=False, repr=False)
    inverted: bool = field(default=False, init=False, compare=False)

    def __post_init__(self) -> None:
        inverted = self.text.startswith("!")
        body = self.text[1:] if inverted else self.text
        pattern = compile_pattern(body, case_sensitive=self.case_sensitive) if body else None
        object.__setattr__(self, "inverted", inverted and pattern is not None)
        object.__setattr__(self, "pattern", pattern)

    @property
    def is_empty(self) -> bool:
        return self.pattern is None and not self.levels and not self.hidden

    def accepts(self, entry: Entry) -> bool:
        if self.hidden and entry.source in self.hidden:
            return False
        if type(entry) is not LogLine:
            return True
        if self.levels and entry.level not in self.levels:
            return False
        if self.pattern is None:
            return True
        return (self.pattern.search(entry.text) is None) is self.inverted

    def describe(self) -> str:
        """One line for the status bar and the saved file's header."""
        parts = []
        if self.pattern is not None:
            case = "case-sensitive" if self.case_sensitive else "ignoring case"
            how = "lines not matching" if self.inverted else "lines matching"
            parts.append(f"{how} /{self.pattern.pattern}/ ({case})")
        if self.levels:
            parts.append("levels " + ", ".join(level.name for level in sorted(self.levels, reverse=True)))
        if self.hidden:
            parts.append("hidden " + ", ".join(sorted(source.label for source in self.hidden)))
        return "; ".join(parts) if parts else "none"


@dataclass(frozen=True)
class TimeWindow:
    """Everything in the buffer, the last `tail` lines, or the lines of the last `since`."""

    tail: int | None = None
    since: timedelta | None = None

    def __post_init__(self) -> None:
        if self.tail is not None and self.since is not None:
            raise ValueError("a time window is either a tail or a since, not both")
        if self.tail is not None and self.tail < 1:
            raise ValueError(f"tail must be at least 1 line, got {self.tail}")
        if self.since is not None and self.since <= timedelta(0):
            raise ValueError(f"since must be a positive duration, got {self.since}")

    @property
    def label(self) -> str:
        if self.tail is not None:
            return f"last {self.tail:,} lines"
        if self.since is not None:
            return f"last {format_duration(self.since)}"
        return "all buffered"

    def cutoff(self, now: datetime) -> datetime | None:
        """The oldest timestamp inside a since-window, else None."""
        return now - self.since if self.since is not None else None

    def describe(self, now: datetime) -> str:
        cutoff = self.cutoff(now)
        if cutoff is None:
            return self.label
        return f"{self.label} (since {cutoff:%Y-%m-%dT%H:%M:%SZ})"


ALL = TimeWindow()

_DURATION = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """`30s`, `5m`, `1h`, `2d` (as docker logs --since takes them)."""
    match = _DURATION.fullmatch(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"duration {text!r}: expected a positive number followed by s, m, h or d (e.g. 5m)")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def format_duration(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    for unit in ("d", "h", "m"):
        if seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


def preset_windows(tail: int = 1000) -> list[TimeWindow]:
    """The windows on keys 0-5: everything, tail N, 1m, 5m, 15m, 1h."""
    return [ALL, TimeWindow(tail=tail)] + [TimeWindow(since=parse_duration(d)) for d in ("1m", "5m", "15m", "1h")]
