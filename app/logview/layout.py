"""How an entry becomes text on screen: the timestamp column, the padded source prefix, the text, and (when
wrapping) how many rows it takes and which cells each row shows. Shared by the widget, the row index and the
saved file, so that what is counted is what is drawn.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from app.logview.model import Entry, Gap, LogLine, Switch, Unreachable

TIMESTAMP_WIDTH = 12  # HH:MM:SS.mmm
MIN_WRAP_ROOM = 20  # below this many cells beside the prefix, continuation rows start at column 0


_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")


def printable(text: str) -> str:
    """`text` without terminal escape sequences (colours, titles), tabs expanded, other controls shown as ·."""
    if text.isprintable():
        return text
    text = _ESCAPES.sub("", text).expandtabs(4).rstrip("\r\n")
    return _CONTROLS.sub("·", text)


def cell_width(text: str) -> int:
    """Terminal cells `text` takes (wide East Asian characters count 2, combining marks 0)."""
    if text.isascii():
        return len(text)
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in "WF" else 1
    return width


def short_time(moment: datetime) -> str:
    """`12:00:01.234` (UTC), the view's timestamp column."""
    return f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}.{moment.microsecond // 1000:03d}"


def full_time(moment: datetime) -> str:
    """`2026-05-01T12:00:01.234567Z`, the saved file's timestamp column."""
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}Z"


MARKER_SIGNS = {Gap: "⚠ gap", Switch: "⇄ switch", Unreachable: "✖ unreachable"}


def entry_text(entry: Entry) -> str:
    """The text part of an entry: the line's text, or a marker's sentence with its sign."""
    if type(entry) is LogLine:
        return entry.text
    return f"── {MARKER_SIGNS[type(entry)]}: {entry.text} ──"


@dataclass(frozen=True)
class Layout:
    """The geometry every row computation depends on; a change of any field means a relayout."""

    width: int = 80
    wrap: bool = False
    timestamps: bool = True
    prefix_width: int = 0

    @property
    def text_column(self) -> int:
        """Cell where an entry's text starts: after `HH:MM:SS.mmm ` and the padded prefix and a space."""
        column = TIMESTAMP_WIDTH + 1 if self.timestamps else 0
        return column + (self.prefix_width + 1 if self.prefix_width else 0)

    @property
    def indent(self) -> int:
        """Blank cells before a continuation row's text (hanging indent under the text column)."""
        column = self.text_column
        return column if self.width - column >= MIN_WRAP_ROOM else 0

    def rows_for(self, entry: Entry, measure: Callable[[str], int] = cell_width) -> int:
        if not self.wrap:
            return 1
        width = max(1, self.width)
        total = self.text_column + measure(entry_text(entry))
        if total <= width:
            return 1
        room = width - self.indent
        return 1 + -(-(total - width) // room)

    def row_cells(self, subrow: int) -> tuple[int, int, int]:
        """For row `subrow` of a wrapped entry: (first cell, end cell) of the full line, and the indent."""
        width = max(1, self.width)
        if subrow == 0:
            return 0, width, 0
        indent = self.indent
        room = width - indent
        start = width + (subrow - 1) * room
        return start, start + room, indent

    def plain(self, entry: Entry, label: str) -> str:
        """The entry as one line of plain text, as drawn (without colours or wrapping)."""
        parts = []
        if self.timestamps:
            parts.append(short_time(entry.timestamp))
        if self.prefix_width:
            parts.append(label.ljust(self.prefix_width))
        parts.append(entry_text(entry))
        return " ".join(parts)
