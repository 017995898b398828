"""Search inside the shown lines: every match's position, a current match moved by next/previous, a counter.

Search never hides a line (that is the filter's job). Matches are kept in view order and follow the view as it
changes: new lines add matches, lines leaving the view (buffer full, window moving) take theirs away.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable
from typing import NamedTuple

from app.logview.filters import compile_pattern
from app.logview.model import Entry, LogLine


class Match(NamedTuple):
    entry: Entry
    start: int
    end: int


def _match_key(match: Match) -> int:
    return match.entry.key


class Search:
    """The search pattern (a regular expression) and its matches over the view, oldest first."""

    def __init__(self) -> None:
        self.text = ""
        self.pattern: re.Pattern[str] | None = None
        self.matches: list[Match] = []
        self.current: int | None = None

    @property
    def active(self) -> bool:
        return self.pattern is not None

    @property
    def total(self) -> int:
        return len(self.matches)

    @property
    def position(self) -> int | None:
        """1-based number of the current match, or None before the first n/N."""
        return None if self.current is None else self.current + 1

    def counter(self) -> str:
        if self.pattern is None:
            return ""
        if not self.matches:
            return "no matches"
        if self.current is None:
            return f"{self.total:,} matches"
        return f"{self.current + 1:,}/{self.total:,}"

    def set(self, text: str, *, case_sensitive: bool, entries: Iterable[Entry]) -> None:
        """Search for `text` (empty clears); raises PatternError when it is not a valid expression."""
        pattern = compile_pattern(text, case_sensitive=case_sensitive, what="search") if text else None
        self.text = text
        self.pattern = pattern
        self.reset(entries)

    def reset(self, entries: Iterable[Entry]) -> None:
        self.matches = []
        self.current = None
        self.extend(entries)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where the pattern matches in `text` (for highlighting)."""
        if self.pattern is None:
            return []
        return [m.span() for m in self.pattern.finditer(text) if m.end() > m.start()]

    def extend(self, entries: Iterable[Entry]) -> None:
        pattern = self.pattern
        if pattern is None:
            return
        append = self.matches.append
        for entry in entries:
            if type(entry) is LogLine:
                for found in pattern.finditer(entry.text):
                    if found.end() > found.start():
                        append(Match(entry, found.start(), found.end()))

    def drop_from(self, key: int) -> None:
        """Forget matches on entries at `key` and later (they are about to be re-added)."""
        cut = bisect_left(self.matches, key, key=_match_key)
        del self.matches[cut:]
        if self.current is not None and self.current >= cut:
            self.current = cut - 1 if cut else None

    def drop_before(self, key: int) -> None:
        """Forget matches on entries older than `key` (they left the view)."""
        cut = bisect_left(self.matches, key, key=_match_key)
        if not cut:
            return
        del self.matches[:cut]
        if self.current is not None:
            self.current = self.current - cut if self.current >= cut else None

    def step(self, direction: int, near_key: int) -> Match | None:
        """Move to the next (+1, newer) or previous (-1, older) match and return it.

        Before the first step, the search starts from `near_key` (the line at the top of the screen, or the
        newest line when following): forward finds the first match at or after it, backward the last before it.
        """
        if not self.matches:
            self.current = None
            return None
        if self.current is None:
            cut = bisect_left(self.matches, near_key, key=_match_key)
            if direction > 0:
                self.current = cut if cut < len(self.matches) else 0
            else:
                self.current = cut - 1 if cut else len(self.matches) - 1
        else:
            self.current = (self.current + direction) % len(self.matches)
        return self.matches[self.current]

    def current_match(self) -> Match | None:
        return None if self.current is None else self.matches[self.current]
