"""The log view: live lines from many sources with filter, search, level chips, time windows and markers.

Feed it with `add()` / `add_many()` (display-side entries from `app.logview.model`); it batches them and takes a
batch into its `LogModel` at most every FLUSH_INTERVAL seconds, so a flood of lines costs one buffer merge and
one repaint per frame. Lines beyond `max_pending` waiting for a flush are dropped and counted, never silently.

The keys are listed in BINDINGS (each with an id for keymaps); the README's "Logs" section explains them.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Iterable
from datetime import datetime

from textual import events, on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Input, Label, SelectionList
from textual.widgets.selection_list import Selection

from app.logview import save
from app.logview.buffer import DEFAULT_CAPACITY
from app.logview.filters import PatternError, TimeWindow, preset_windows
from app.logview.model import Entry, Level, Source
from app.logview.view import LogModel, utc_now
from widgets.log_lines import LogLines

FLUSH_INTERVAL = 1 / 20  # a frame per flush: 20 a second is smooth for logs and leaves the keys room
FLOOD_BATCH = 250  # a batch this big means a flood: then flush (and repaint) every FLOOD_INTERVAL
FLOOD_INTERVAL = 1 / 10
WINDOW_TICK = 1.0
INPUT_DELAY = 0.15
_CHIPS = (Level.ERROR, Level.WARN, Level.INFO, Level.DEBUG)


class LogView(Vertical):
    """A live, filterable, searchable view of merged log streams (see module docstring)."""

    BINDINGS = [
        Binding("slash", "open_filter", "Filter", id="logs.filter"),
        Binding("f,ctrl+f", "open_search", "Search", id="logs.search"),
        Binding("n", "search_step(1)", "Next match", id="logs.search-next"),
        Binding("N", "search_step(-1)", "Previous match", show=False, id="logs.search-previous"),
        Binding("i", "toggle_case", "Case", show=False, id="logs.case"),
        Binding("E", "toggle_level('ERROR')", "ERROR chip", show=False, id="logs.level-error"),
        Binding("W", "toggle_level('WARN')", "WARN chip", show=False, id="logs.level-warn"),
        Binding("I", "toggle_level('INFO')", "INFO chip", show=False, id="logs.level-info"),
        Binding("D", "toggle_level('DEBUG')", "DEBUG chip", show=False, id="logs.level-debug"),
        Binding("e", "next_error", "Next error", id="logs.next-error"),
        Binding("t", "toggle_timestamps", "Timestamps", show=False, id="logs.timestamps"),
        Binding("w", "toggle_wrap", "Wrap", show=False, id="logs.wrap"),
        Binding("0", "window(0)", "All buffered", show=False, id="logs.window-all"),
        Binding("1", "window(1)", "Tail", show=False, id="logs.window-tail"),
        Binding("2", "window(2)", "Last 1m", show=False, id="logs.window-1m"),
        Binding("3", "window(3)", "Last 5m", show=False, id="logs.window-5m"),
        Binding("4", "window(4)", "Last 15m", show=False, id="logs.window-15m"),
        Binding("5", "window(5)", "Last 1h", show=False, id="logs.window-1h"),
        Binding("s", "toggle_sources", "Sources", id="logs.sources"),
        Binding("ctrl+s", "save", "Save view", id="logs.save"),
        Binding("v", "mark", "Mark lines", show=False, id="logs.mark"),
        Binding("y", "copy", "Copy", show=False, id="logs.copy"),
        Binding("G,end", "follow", "Follow", id="logs.follow"),
        Binding("escape", "dismiss", "Close / unmark", show=False, id="logs.dismiss"),
    ]

    def __init__(
        self,
        *,
        capacity: int = DEFAULT_CAPACITY,
        tail_lines: int = 1000,
        clock: Callable[[], datetime] = utc_now,
        save_dir: pathlib.Path | None = None,
        max_pending: int | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.model = LogModel(capacity, clock=clock)
        self.windows: list[TimeWindow] = preset_windows(tail_lines)
        self.save_dir = save_dir or pathlib.Path.cwd()
        self.max_pending = max_pending or capacity
        self.stream_state = "waiting for lines"
        self.last_saved: pathlib.Path | None = None
        self._pending: list[Entry] = []
        self._flush_timer: Timer | None = None
        self._input_timer: Timer | None = None
        self._labels: dict[str, str] = {}
        self._label_widgets: dict[str, Label] = {}
        self._listed: set[Source] = set()
        self._lines = LogLines(self.model, id="log-lines")
        self._interval = FLUSH_INTERVAL

    # -- composition -----------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="log-bar"):
            for level in _CHIPS:
                yield Label(level.name, id=f"chip-{level.name.lower()}", classes="chip")
            yield Label("", id="log-filter-state")
            yield Label("", id="log-case")
            yield Label("", id="log-window")
        with Horizontal(id="log-body"):
            yield self._lines
            yield SelectionList[Source](id="log-sources")
        yield Input(placeholder="filter: regex, !regex hides matches (Enter applies, Esc closes)", id="log-filter")
        yield Input(placeholder="search: regex (Enter finds, then n / N)", id="log-search")
        yield Label("", id="log-input-error")
        with Horizontal(id="log-status"):
            yield Label("", id="log-follow")
            yield Label("", id="log-dropped")
            yield Label("", id="log-search-count")
            yield Label("", id="log-counts")
            yield Label("", id="log-stream")

    @property
    def lines(self) -> LogLines:
        return self._lines

    def on_mount(self) -> None:
        self.set_interval(WINDOW_TICK, self._tick)
        self.lines.focus()
        self._update_bars()

    # -- intake ------------------------------------------------------------------------------------------------

    def add(self, entry: Entry) -> None:
        """Queue one entry for the next flush."""
        self._pending.append(entry)
        if len(self._pending) > self.max_pending:
            self._shed()
        if self._flush_timer is None:
            self._flush_timer = self.set_timer(self._interval, self.flush)

    def add_many(self, entries: Iterable[Entry]) -> None:
        self._pending.extend(entries)
        if len(self._pending) > self.max_pending:
            self._shed()
        if self._flush_timer is None and self._pending:
            self._flush_timer = self.set_timer(self._interval, self.flush)

    def _shed(self) -> None:
        """The view cannot keep up: drop the earliest-arrived half of the queue, counted as dropped lines."""
        excess = len(self._pending) - self.max_pending // 2
        del self._pending[:excess]
        self.model.overflow += excess

    def flush(self) -> None:
        """Take every queued entry into the view now."""
        self._flush_timer = None
        if not self._pending or not self.is_attached:
            return
        batch, self._pending = self._pending, []
        # In a flood the lines fly by unreadably anyway: fewer repaints leave the keys more room.
        self._interval = FLOOD_INTERVAL if len(batch) >= FLOOD_BATCH else FLUSH_INTERVAL
        lines = self.lines
        anchor = lines.anchor()
        span = None if lines.following else lines.visible_span()
        result = self.model.ingest(batch)
        new_sources = [source for source in self.model.sources if source not in self._listed]
        lines.ingested(result, anchor, span)
        if new_sources:
            self._add_source_options(new_sources)
        self._update_bars()

    def set_stream_state(self, state: str) -> None:
        """What the feeding stream is doing ("stream live", "stream ended", an error); shown in the status bar."""
        self.stream_state = state
        self._update_bars()

    def _tick(self) -> None:
        if self.model.window.since is None:
            return
        lines = self.lines
        anchor = lines.anchor()
        if self.model.advance_window():
            lines.reset_view(anchor)
            self._update_bars()

    # -- sources -----------------------------------------------------------------------------------------------

    def _add_source_options(self, sources: list[Source]) -> None:
        self._listed.update(sources)
        selection = self.query_one("#log-sources", SelectionList)
        selection.add_options(
            [Selection(source.description, source, source not in self.model.filter.hidden) for source in sources]
        )

    @on(SelectionList.SelectedChanged, "#log-sources")
    def _sources_changed(self, event: SelectionList.SelectedChanged) -> None:
        chosen = set(event.selection_list.selected)
        hidden = frozenset(source for source in self._listed if source not in chosen)
        if hidden != self.model.filter.hidden:
            self._rebuild(lambda: self.model.set_hidden(hidden))

    def show_source(self, source: Source, shown: bool) -> None:
        """Show or hide one source's lines (they stay in the buffer either way)."""
        self._rebuild(lambda: self.model.set_source_shown(source, shown))
        selection = self.query_one("#log-sources", SelectionList)
        if shown:
            selection.select(source)
        else:
            selection.deselect(source)

    def action_toggle_sources(self) -> None:
        panel = self.query_one("#log-sources", SelectionList)
        panel.toggle_class("-open")
        if panel.has_class("-open"):
            panel.focus()
        else:
            self.lines.focus()

    # -- filter and search -----------------------------------------------------------------------------------

    def _rebuild(self, change: Callable[[], object]) -> None:
        lines = self.lines
        anchor = lines.anchor()
        change()
        lines.reset_view(anchor)
        self._update_bars()

    def action_open_filter(self) -> None:
        self._open_input("#log-filter", self.model.filter.text)

    def action_open_search(self) -> None:
        self._open_input("#log-search", self.model.search.text)

    def _open_input(self, selector: str, value: str) -> None:
        for other in self.query(Input):
            other.remove_class("-open")
        field = self.query_one(selector, Input)
        field.value = value
        field.add_class("-open")
        field.focus()

    def _close_inputs(self) -> None:
        for field in self.query(Input):
            field.remove_class("-open")
        self._show_input_error("")
        self.lines.focus()

    def _show_input_error(self, message: str) -> None:
        error = self.query_one("#log-input-error", Label)
        error.update(message)
        error.set_class(bool(message), "-open")

    def apply_filter(self, text: str) -> bool:
        """Filter by `text` (regex; `!` first inverts). Returns False and shows why when it is not valid."""
        try:
            self._rebuild(lambda: self.model.set_filter(text))
        except PatternError as error:
            self._show_input_error(str(error))
            return False
        self._show_input_error("")
        return True

    def apply_search(self, text: str) -> bool:
        """Search for `text` (regex) in the shown lines; highlights every match."""
        try:
            self.model.set_search(text)
        except PatternError as error:
            self._show_input_error(str(error))
            return False
        self._show_input_error("")
        self.lines.reset_view(self.lines.anchor())
        self._update_bars()
        return True

    @on(Input.Changed, "#log-filter")
    @on(Input.Changed, "#log-search")
    def _input_changed(self, event: Input.Changed) -> None:
        if self._input_timer is not None:
            self._input_timer.stop()
        apply = self.apply_filter if event.input.id == "log-filter" else self.apply_search
        value = event.value
        self._input_timer = self.set_timer(INPUT_DELAY, lambda: apply(value))

    @on(Input.Submitted, "#log-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self._cancel_input_timer()
        if self.apply_filter(event.value):
            self._close_inputs()

    @on(Input.Submitted, "#log-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self._cancel_input_timer()
        if self.apply_search(event.value):
            self._close_inputs()
            if event.value:
                self.action_search_step(-1 if self.lines.following else 1)

    def _cancel_input_timer(self) -> None:
        if self._input_timer is not None:
            self._input_timer.stop()
            self._input_timer = None

    def action_search_step(self, direction: int) -> None:
        if not self.model.search.active:
            self.notify("No search: press f to search", severity="warning")
            return
        lines = self.lines
        near = lines.cursor_index()
        if near is None:
            near = lines.visible_index(bottom=lines.following)
            if lines.following:
                near += 1
        index = self.model.step_search(direction, near)
        if index is not None:
            lines.jump_to(index)
        self._update_bars()

    def action_toggle_case(self) -> None:
        self._rebuild(lambda: self.model.set_case_sensitive(not self.model.filter.case_sensitive))

    def action_toggle_level(self, name: str) -> None:
        self._rebuild(lambda: self.model.toggle_level(Level[name]))

    def action_window(self, number: int) -> None:
        self._rebuild(lambda: self.model.set_window(self.windows[number]))

    def set_window(self, window: TimeWindow) -> None:
        self._rebuild(lambda: self.model.set_window(window))

    def action_next_error(self) -> None:
        lines = self.lines
        start = lines.cursor_index()
        if start is None:
            start = len(self.model) - 1 if lines.following else lines.visible_index() - 1
        index = self.model.next_error(start)
        if index is None:
            self.notify("No ERROR line in view")
            return
        lines.jump_to(index)
        self._update_bars()

    # -- display toggles ---------------------------------------------------------------------------------------

    def action_toggle_timestamps(self) -> None:
        self._rebuild(lambda: self.model.set_layout(timestamps=not self.model.layout.timestamps))

    def action_toggle_wrap(self) -> None:
        wrap = not self.model.layout.wrap
        self.lines.set_class(wrap, "-wrap")
        self._rebuild(lambda: self.model.set_layout(wrap=wrap))

    # -- follow, mark, copy, save ------------------------------------------------------------------------------

    def action_follow(self) -> None:
        self.lines.follow()
        self._update_bars()

    def action_mark(self) -> None:
        lines = self.lines
        if lines.mark_key is not None:
            lines.mark_key = None
            lines.refresh()
            return
        if not len(self.model):
            return
        index = lines.cursor_index()
        if index is None:
            index = lines.visible_index(bottom=True)
        lines.pause()
        lines.mark_key = lines.cursor_key = self.model.entries[index].key
        lines.refresh()
        self._update_bars()

    def action_copy(self) -> None:
        lines = self.lines
        marked = lines.marked_range()
        if marked is not None:
            entries = self.model.entries[marked[0] : marked[1] + 1]
            text = "\n".join(save.saved_line(entry) for entry in entries)
            lines.mark_key = None
            lines.refresh()
            count = len(entries)
        else:
            selected = self.screen.get_selected_text()
            cursor = lines.cursor_index()
            if selected:
                text, count = selected, selected.count("\n") + 1
            elif cursor is not None:
                text, count = save.saved_line(self.model.entries[cursor]), 1
            else:
                self.notify("Nothing to copy: v marks lines (then j/k), or select with the mouse", severity="warning")
                return
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied {count:,} line{'s' if count != 1 else ''} to the clipboard")
        self._update_bars()

    def action_save(self) -> None:
        now = self.model.clock()
        name = save.default_name(now)
        path = self.save_dir / name
        suffix = 1
        while path.exists():
            path = self.save_dir / f"{name.removesuffix('.log')}~{suffix}.log"
            suffix += 1
        try:
            save.save(self.model, path, now)
        except OSError as error:
            self.notify(f"Could not save the view to {path}: {error.strerror or error}", severity="error", timeout=10)
            return
        self.last_saved = path
        self.notify(f"Saved {len(self.model):,} lines to {path}", timeout=8)

    def action_dismiss(self) -> None:
        lines = self.lines
        if any(field.has_class("-open") for field in self.query(Input)):
            self._close_inputs()
        elif self.query_one("#log-sources").has_class("-open"):
            self.action_toggle_sources()
        elif lines.mark_key is not None or lines.cursor_key is not None:
            lines.mark_key = None
            lines.cursor_key = None
            lines.reset_view(lines.anchor())
        else:
            raise SkipAction()  # nothing of ours to close: Esc goes on to the screen or App (e.g. back)

    # -- bars --------------------------------------------------------------------------------------------------

    @on(LogLines.FollowChanged)
    @on(LogLines.Moved)
    def _follow_changed(self) -> None:
        self._update_bars()

    def _set_label(self, selector: str, text: str, layout: bool | None = None, **classes: bool) -> None:
        label = self._label_widgets.get(selector)
        if label is None:
            label = self._label_widgets[selector] = self.query_one(selector, Label)
        previous = self._labels.get(selector)
        if previous != text:
            self._labels[selector] = text
            # a re-layout only when the width changes (the counts change on every flush, their width seldom)
            if layout is None:
                layout = previous is None or len(previous) != len(text)
            label.update(text, layout=layout)
            label.set_class(not text, "-empty")
        for name, on_ in classes.items():
            label.set_class(on_, name)

    def _update_bars(self) -> None:
        model = self.model
        lines = self.lines
        for level in _CHIPS:
            self._set_label(f"#chip-{level.name.lower()}", level.name, **{"-on": level in model.filter.levels})
        filter_text = model.filter.text
        self._set_label("#log-filter-state", f"filter: {filter_text}" if filter_text else "no filter",
                        **{"-active": bool(filter_text)})
        self._set_label("#log-case", "Aa match case" if model.filter.case_sensitive else "aa ignore case")
        self._set_label("#log-window", model.window.label, **{"-active": model.window != self.windows[0]})
        # One fixed-width label (logs.tcss) for follow/pause, so that pausing and resuming never re-lay out.
        if lines.following:
            self._set_label("#log-follow", "● FOLLOW", layout=False, **{"-paused": False})
        else:
            pending = lines.new_while_paused
            text = f"❚❚ PAUSED +{pending:,} new lines (G)" if pending else "❚❚ PAUSED (G follows)"
            self._set_label("#log-follow", text, layout=False, **{"-paused": True})
        self._set_label("#log-search-count", f"search: {model.search.counter()}" if model.search.active else "")
        marked = lines.marked_range()
        marked_text = f" · {marked[1] - marked[0] + 1:,} marked (y copies)" if marked else ""
        empty = "" if len(model) or not len(model.buffer) else " (nothing in this window/filter)"
        where = "" if lines.following or not len(model) else f" ({lines.position():.0%})"
        self._set_label("#log-counts",
                        f"{len(model):,} shown{where} / {len(model.buffer):,} buffered{empty}{marked_text}")
        dropped = model.dropped
        self._set_label("#log-dropped", f"⚠ {dropped:,} dropped (buffer {model.buffer.capacity:,})" if dropped
                        else "0 dropped", **{"-warn": bool(dropped)})
        self._set_label("#log-stream", self.stream_state)

    def on_click(self, event: events.Click) -> None:
        widget = event.widget
        if widget is None or not isinstance(widget, Label):
            return
        if widget.id and widget.id.startswith("chip-"):
            self.action_toggle_level(widget.id.removeprefix("chip-").upper())
        elif widget.id == "log-follow" and not self.lines.following:
            self.action_follow()
