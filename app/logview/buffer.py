"""A bounded buffer of log entries kept in timestamp order, counting every entry it lets go.

Streams from several hosts arrive interleaved and a little out of order (a reconnect replays a few seconds, a
history burst from one container lands after live lines from another). The buffer keeps one list sorted by
`Entry.key` (timestamp, then arrival): a batch newer than everything is appended; an older one is merged into
the tail from the first place it belongs. When full, the oldest entries are dropped and counted in `dropped`.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from operator import attrgetter

from app.logview.model import Entry

_key = attrgetter("key")

DEFAULT_CAPACITY = 100_000


def merge_by_time(*sources: Iterable[Entry]) -> Iterator[Entry]:
    """Interleave entries from several sources, each already in time order, into one time-ordered stream."""
    return heapq.merge(*sources, key=_key)


@dataclass(frozen=True, slots=True)
class Change:
    """What one `add` did: entries from index `start` on are new or moved; `evicted` oldest entries left."""

    start: int
    evicted: int


class RingBuffer:
    """At most `capacity` entries, sorted by key; `dropped` counts the entries that left because it was full."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"log buffer capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self.dropped = 0
        self.added = 0
        self._items: list[Entry] = []

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> Entry:
        return self._items[index]

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._items)

    def tail(self, start: int) -> list[Entry]:
        """Entries from index `start` to the newest."""
        return self._items[start:]

    def index_of_key(self, key: int) -> int:
        """Index of the first entry whose key is `key` or later."""
        return bisect_left(self._items, key, key=_key)

    def add(self, batch: Sequence[Entry]) -> Change:
        """Add a batch in any order; returns where the buffer changed and how many old entries were dropped."""
        items = self._items
        if not batch:
            return Change(len(items), 0)
        batch = sorted(batch, key=_key)
        self.added += len(batch)
        if not items or batch[0].key > items[-1].key:
            start = len(items)
            items.extend(batch)
        else:
            start = bisect_left(items, batch[0].key, key=_key)
            merged = list(merge_by_time(items[start:], batch))
            del items[start:]
            items.extend(merged)
        over = len(items) - self.capacity
        if over > 0:
            del items[:over]
            self.dropped += over
            start = max(0, start - over)
        return Change(start, max(over, 0))
