"""The log view's state: the buffer, what of it is shown (filter, window), its rows, and the search.

`LogModel.ingest` takes batches of entries; the shown list (`entries`) is kept incrementally: a batch that
only appends costs its own size, a batch merged into the tail re-filters the tail only, and lines leaving the
buffer or the window are trimmed from the front. Each shown entry has a range of visual rows (one, or more when
wrapping); rows are what the widget scrolls through.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from operator import attrgetter

from app.logview.buffer import DEFAULT_CAPACITY, RingBuffer
from app.logview.filters import ALL, LineFilter, TimeWindow
from app.logview.layout import Layout, cell_width, printable
from app.logview.levels import detect_level
from app.logview.model import Entry, Level, LogLine, Source, key_floor
from app.logview.search import Match, Search
from app.secrets import masking

_key = attrgetter("key")
_MARKER_DECORATION = 16  # the signs and rules around a marker's sentence


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Ingested:
    """What a batch changed in the view: `shown` entries entered it; `relayout` means every row moved."""

    shown: int
    relayout: bool


class LogModel:
    """Everything the log view shows, without any UI."""

    def __init__(
        self,
        capacity: int = DEFAULT_CAPACITY,
        *,
        clock: Callable[[], datetime] = utc_now,
        mask: Callable[[str], str] = masking.mask,
        measure: Callable[[str], int] = cell_width,
    ) -> None:
        self.buffer = RingBuffer(capacity)
        self.clock = clock
        self.filter = LineFilter()
        self.window: TimeWindow = ALL
        self.layout = Layout()
        self.search = Search()
        self.sources: dict[Source, int] = {}
        self.overflow = 0
        self._mask = mask
        self._measure = measure
        self._entries: list[Entry] = []
        self._ends: list[int] = []
        self._first_row = 0
        self.widest_text = 0

    # -- what is shown -------------------------------------------------------------------------------------

    @property
    def entries(self) -> Sequence[Entry]:
        return self._entries

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def dropped(self) -> int:
        """Lines that are no longer anywhere: pushed out of the full buffer, or refused under back-pressure."""
        return self.buffer.dropped + self.overflow

    def index_of(self, entry: Entry) -> int | None:
        """Position of `entry` in the shown list, or None when it is not shown."""
        index = bisect_left(self._entries, entry.key, key=_key)
        if index < len(self._entries) and self._entries[index] is entry:
            return index
        return None

    def index_at_or_after(self, key: int) -> int:
        return bisect_left(self._entries, key, key=_key)

    def colour(self, source: Source) -> int:
        return self.sources.get(source, 0)

    # -- rows ----------------------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return self._ends[-1] - self._first_row if self._ends else 0

    def locate(self, row: int) -> tuple[int, int] | None:
        """(shown index, row within the entry) of visual row `row`, or None past the end."""
        absolute = row + self._first_row
        index = bisect_right(self._ends, absolute)
        if index >= len(self._ends) or row < 0:
            return None
        start = self._ends[index - 1] if index else self._first_row
        return index, absolute - start

    def row_of(self, index: int) -> int:
        """First visual row of shown entry `index`."""
        if index <= 0:
            return 0
        return self._ends[index - 1] - self._first_row

    def rows_of(self, index: int) -> int:
        start = self._ends[index - 1] if index else self._first_row
        return self._ends[index] - start

    @property
    def row_base(self) -> int:
        """Rows trimmed from the front so far: a visual row's absolute number is row + row_base."""
        return self._first_row

    def set_layout(self, **changes: object) -> bool:
        """Change width/wrap/timestamps; returns True when rows were recomputed."""
        layout = replace(self.layout, **changes)
        if layout == self.layout:
            return False
        relayout_needed = layout.wrap or self.layout.wrap  # without wrapping every entry is one row
        self.layout = layout
        if relayout_needed:
            self._relayout()
        return relayout_needed

    def _relayout(self) -> None:
        rows_for = self.layout.rows_for
        measure = self._measure
        ends: list[int] = []
        total = self._first_row
        for entry in self._entries:
            total += rows_for(entry, measure)
            ends.append(total)
        self._ends = ends

    # -- intake --------------------------------------------------------------------------------------------

    def ingest(self, batch: Sequence[Entry]) -> Ingested:
        """Take a batch (any order, any sources) into the buffer and the view."""
        relayout = False
        mask = self._mask
        # The process-wide secrets, read once per batch instead of once per line (same result as masking.mask).
        secrets = masking.registered() if mask is masking.mask else None
        sources = self.sources
        for entry in batch:
            if entry.source not in sources:
                sources[entry.source] = len(sources)
                relayout = self._widen_prefix(entry.source) or relayout
            if type(entry) is LogLine:
                text = printable(entry.text)
                if secrets is None:
                    text = mask(text)
                else:
                    for secret in secrets:
                        if secret in text:
                            text = text.replace(secret, masking.MASK)
                entry.text = text
                if entry.level is Level.NONE:
                    entry.level = detect_level(text)
        before = len(self._entries)
        change = self.buffer.add(batch)
        trimmed = 0
        if change.evicted and len(self.buffer):
            trimmed += self._trim_before(self.buffer[0].key)
        tail = self.buffer.tail(change.start)
        if tail:
            self._truncate_from(tail[0].key)
            self._extend(tail)
        trimmed += self._apply_window()
        if relayout:
            self._relayout()
        shown = len(self._entries) - before + trimmed
        return Ingested(max(shown, 0), relayout)

    def _widen_prefix(self, source: Source) -> bool:
        width = len(source.label)
        if width <= self.layout.prefix_width:
            return False
        self.layout = replace(self.layout, prefix_width=width)
        return True

    def _extend(self, entries: Iterable[Entry]) -> None:
        accepts = self.filter.accepts
        cutoff = self._cutoff_key()
        shown = [e for e in entries if e.key >= cutoff and accepts(e)] if cutoff else list(filter(accepts, entries))
        if not shown:
            return
        self._entries.extend(shown)
        self.widest_text = max(self.widest_text, max(len(entry.text) for entry in shown) + _MARKER_DECORATION)
        rows_for = self.layout.rows_for
        measure = self._measure
        total = self._ends[-1] if self._ends else self._first_row
        ends = self._ends
        if self.layout.wrap:
            for entry in shown:
                total += rows_for(entry, measure)
                ends.append(total)
        else:
            ends.extend(range(total + 1, total + 1 + len(shown)))
        self.search.extend(shown)

    def _truncate_from(self, key: int) -> None:
        """Drop shown entries at `key` and later (the tail is about to be re-filtered)."""
        cut = bisect_left(self._entries, key, key=_key)
        if cut < len(self._entries):
            del self._entries[cut:]
            del self._ends[cut:]
            self.search.drop_from(key)

    def _trim_before(self, key: int) -> int:
        cut = bisect_left(self._entries, key, key=_key)
        return self._trim_front(cut)

    def _trim_front(self, count: int) -> int:
        if count <= 0:
            return 0
        self._first_row = self._ends[count - 1]
        first_kept_key = self._entries[count].key if count < len(self._entries) else None
        del self._entries[:count]
        del self._ends[:count]
        if first_kept_key is None:
            self.search.reset(())
        else:
            self.search.drop_before(first_kept_key)
        return count

    def _cutoff_key(self) -> int:
        cutoff = self.window.cutoff(self.clock())
        return key_floor(cutoff) if cutoff is not None else 0

    def _apply_window(self) -> int:
        if self.window.tail is not None:
            return self._trim_front(len(self._entries) - self.window.tail)
        cutoff = self._cutoff_key()
        return self._trim_before(cutoff) if cutoff else 0

    def advance_window(self) -> int:
        """Let lines older than a since-window's start leave the view (call as time passes)."""
        return self._apply_window()

    # -- changing what is shown ----------------------------------------------------------------------------

    def rebuild(self) -> None:
        """Recompute the shown list from the buffer (after a filter, window or source change)."""
        self._entries = []
        self._ends = []
        self._first_row = 0
        self.widest_text = 0
        buffer = self.buffer
        if self.window.tail is not None:
            accepts = self.filter.accepts
            picked: list[Entry] = []
            for index in range(len(buffer) - 1, -1, -1):
                entry = buffer[index]
                if accepts(entry):
                    picked.append(entry)
                    if len(picked) >= self.window.tail:
                        break
            picked.reverse()
            self.search.reset(())
            self._extend(picked)
        else:
            cutoff = self._cutoff_key()
            start = buffer.index_of_key(cutoff) if cutoff else 0
            self.search.reset(())
            self._extend(buffer.tail(start))

    def set_filter(self, text: str) -> None:
        """Filter by a regular expression (`!` first inverts); raises PatternError and changes nothing if bad."""
        self.filter = replace(self.filter, text=text)
        self.rebuild()

    def set_case_sensitive(self, case_sensitive: bool) -> None:
        self.filter = replace(self.filter, case_sensitive=case_sensitive)
        if self.search.active:
            self.search.set(self.search.text, case_sensitive=case_sensitive, entries=())
        self.rebuild()

    def toggle_level(self, level: Level) -> None:
        levels = set(self.filter.levels)
        levels.symmetric_difference_update({level})
        self.filter = replace(self.filter, levels=frozenset(levels))
        self.rebuild()

    def set_source_shown(self, source: Source, shown: bool) -> None:
        hidden = set(self.filter.hidden)
        if shown:
            hidden.discard(source)
        else:
            hidden.add(source)
        self.filter = replace(self.filter, hidden=frozenset(hidden))
        self.rebuild()

    def set_hidden(self, hidden: frozenset[Source]) -> None:
        self.filter = replace(self.filter, hidden=hidden)
        self.rebuild()

    def set_window(self, window: TimeWindow) -> None:
        self.window = window
        self.rebuild()

    def set_search(self, text: str) -> None:
        """Search for a regular expression in the shown lines; raises PatternError if bad."""
        self.search.set(text, case_sensitive=self.filter.case_sensitive, entries=self._entries)

    def step_search(self, direction: int, near_index: int) -> int | None:
        """Move to the next/previous match; returns its shown index."""
        if not self._entries:
            return None
        near = self._entries[min(max(near_index, 0), len(self._entries) - 1)].key
        match = self.search.step(direction, near)
        return None if match is None else self.index_of(match.entry)

    def current_match(self) -> Match | None:
        return self.search.current_match()

    def next_error(self, after_index: int, direction: int = 1) -> int | None:
        """Shown index of the next (or previous) ERROR line after `after_index`, wrapping around."""
        entries = self._entries
        count = len(entries)
        if not count:
            return None
        for step in range(1, count + 1):
            index = (after_index + direction * step) % count
            entry = entries[index]
            if type(entry) is LogLine and entry.level is Level.ERROR:
                return index
        return None
