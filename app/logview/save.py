"""The saved file: a header that says what the view showed (sources, filter, window, counts), then the shown
lines in order with full UTC timestamps. Text passes through the secret mask once more on the way out.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable, Iterable
from datetime import datetime

from app.logview.layout import entry_text, full_time
from app.logview.model import Entry
from app.logview.view import LogModel
from app.secrets import masking


def saved_line(entry: Entry) -> str:
    """`2026-05-01T12:00:01.234567Z web-1/web text` (a marker's sentence in place of the text)."""
    return f"{full_time(entry.timestamp)} {entry.source.label} {entry_text(entry)}"


def header_lines(model: LogModel, now: datetime) -> list[str]:
    shown = [source for source in model.sources if source not in model.filter.hidden]
    hidden = [source for source in model.sources if source in model.filter.hidden]
    lines = [
        f"# shipdeck logs, saved {full_time(now)}",
        "# sources: " + (", ".join(source.description for source in shown) or "none"),
    ]
    if hidden:
        lines.append("# hidden sources: " + ", ".join(source.description for source in hidden))
    lines += [
        f"# filter: {model.filter.describe()}",
        f"# window: {model.window.describe(now)}",
        f"# lines: {len(model):,} shown of {len(model.buffer):,} buffered",
    ]
    if model.dropped:
        lines.append(
            f"# dropped: {model.dropped:,} older lines are no longer in the buffer (capacity"
            f" {model.buffer.capacity:,}); they are not in this file"
        )
    return lines


def render(model: LogModel, now: datetime, entries: Iterable[Entry] | None = None,
           mask: Callable[[str], str] = masking.mask) -> str:
    """The file's whole text: header, then each shown entry (or the given ones)."""
    body = model.entries if entries is None else entries
    lines = header_lines(model, now) + [saved_line(entry) for entry in body]
    return "".join(mask(line) + "\n" for line in lines)


def save(model: LogModel, path: pathlib.Path, now: datetime) -> pathlib.Path:
    """Write the current view to `path` (readable by its owner only: logs can hold personal data)."""
    text = render(model, now)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def default_name(now: datetime) -> str:
    return f"shipdeck-logs-{now:%Y%m%d-%H%M%S}.log"
