"""Results (`Rows` events) printed the way Kamal prints them: `puts_by_host` blocks and the docker CLI's tables."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from app.engine.events import Event, Rows

TEXT = ("output",)  # the one column of text results
HEADER_EVEN_WHEN_QUIET = ("proxy.logs",)  # Kamal's `proxy logs` passes no `quiet` to puts_by_host


def tabulate(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """The docker CLI's tabwriter: cells at least 10 wide, 3 spaces of padding, the last column unpadded."""
    table = [list(columns), *(list(row) for row in rows)]
    widths = [max(10, max(len(row[index]) for row in table) + 3) for index in range(len(columns))]
    return ["".join(cell.ljust(widths[index]) for index, cell in enumerate(row)).rstrip() for row in table]


def result_lines(event: Rows) -> list[str]:
    if event.columns == TEXT:
        return [row[0] for row in event.rows]
    return tabulate(event.columns, event.rows)


class KamalOutput:
    """Prints each `Rows` result: with a title and a host as Kamal's `puts_by_host` (`<title> Host: <host>`
    unless -q, the lines, a blank line); untitled results as bare lines."""

    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        self.stream = stream or sys.stdout
        self.quiet = quiet
        self._closed = False

    def __call__(self, event: Event) -> None:
        if not isinstance(event, Rows):
            return
        lines = result_lines(event)
        if not event.title:
            self._write(lines)
            return
        header = [f"{event.title} Host: {event.host}"] if event.host and (
            not self.quiet or event.kind in HEADER_EVEN_WHEN_QUIET) else []
        self._write([*header, *(lines or [""]), ""])

    def _write(self, lines: list[str]) -> None:
        if self._closed:
            return
        try:
            for line in lines:
                self.stream.write(line + "\n")
            self.stream.flush()
        except (BrokenPipeError, ValueError):  # the reader went away (`| head`): keep running, quietly
            self._closed = True
