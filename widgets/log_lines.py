"""The scrolling part of the log view: a line-API widget that draws only the rows on screen.

Each visible row is built once from its entry (timestamp, coloured source prefix, text with level colour and
search highlights) and cached, so a flood of lines costs the buffer work, not the drawing. It follows the newest
line until the user scrolls up (`following` turns False and new lines are counted), and resumes on `G`/End or
when the user scrolls back to the bottom.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollDown, ScrollTo, ScrollUp
from textual.selection import Selection
from textual.strip import Strip

from app.logview.layout import entry_text, short_time
from app.logview.model import Entry, Level, LogLine, Source, Switch
from app.logview.view import Ingested, LogModel

SOURCE_COLOURS = 8
_SOURCE_CLASSES = [f"log-lines--source-{n}" for n in range(SOURCE_COLOURS)]
_LEVEL_CLASSES = {
    Level.ERROR: "log-lines--error",
    Level.WARN: "log-lines--warn",
    Level.INFO: "log-lines--info",
    Level.DEBUG: "log-lines--debug",
}

Anchor = tuple[int, int]  # (entry key, row within the entry) of the top visible row


def _cut_ascii(segments: list[Segment], start: int, end: int, indent: int, width: int, pad: Style) -> list[Segment]:
    """Cells [start, end) of a line of ASCII segments (one cell per character), after `indent` blanks, padded
    to `width`: the common case, without building and cropping intermediate strips."""
    out: list[Segment] = [Segment(" " * indent, pad)] if indent else []
    position = 0
    for text, style, _ in segments:
        following = position + len(text)
        if following > start and position < end:
            out.append(Segment(text[max(start - position, 0) : end - position], style))
        position = following
        if position >= end:
            break
    used = indent + max(0, min(position, end) - start)
    if used < width:
        out.append(Segment(" " * (width - used), pad))
    return out


class LogLines(ScrollView, can_focus=True, inherit_bindings=False):
    """Draws a LogModel's shown entries; scrolling, following, the cursor and the marked range."""

    ALLOW_SELECT = True

    BINDINGS = [
        Binding("up,k", "scroll_up", "Up", show=False, id="logs.scroll-up"),
        Binding("down,j", "scroll_down", "Down", show=False, id="logs.scroll-down"),
        Binding("pageup,b", "page_up", "Page up", show=False, id="logs.page-up"),
        Binding("pagedown,space", "page_down", "Page down", show=False, id="logs.page-down"),
        Binding("home,g", "scroll_home", "Oldest line", show=False, id="logs.home"),
        Binding("left,h", "scroll_left", "Left", show=False, id="logs.scroll-left"),
        Binding("right,l", "scroll_right", "Right", show=False, id="logs.scroll-right"),
    ]

    COMPONENT_CLASSES = {
        "log-lines--timestamp",
        *(f"log-lines--source-{n}" for n in range(SOURCE_COLOURS)),
        "log-lines--error",
        "log-lines--warn",
        "log-lines--info",
        "log-lines--debug",
        "log-lines--match",
        "log-lines--match-current",
        "log-lines--gap",
        "log-lines--switch",
        "log-lines--cursor",
        "log-lines--marked",
    }

    class FollowChanged(Message):
        """Following started or paused (the status bar shows it)."""

        def __init__(self, following: bool) -> None:
            super().__init__()
            self.following = following

    class Moved(Message):
        """The paused view scrolled (the status bar shows where it is)."""

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, LogLines.Moved)

    def __init__(self, model: LogModel, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.model = model
        self.following = True
        self.new_while_paused = 0
        self.cursor_key: int | None = None
        self.mark_key: int | None = None
        self._strips: LRUCache[tuple[int, int, int], Strip] = LRUCache(2048)
        self._base = Style()
        self._styles_for: Style | None = None
        self._styles: dict[str, Style] = {}
        self._width = 0
        self._marked: tuple[int, int] | None = None
        self._selection: Selection | None = None
        self._framing = False
        self._prefixes: dict[tuple[Source, int], str] = {}

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if not self.following and round(old_value) != round(new_value):
            self.post_message(self.Moved())

    def position(self) -> float:
        """How far down the shown lines the bottom of the screen is, 0 to 1."""
        rows = self.model.row_count
        if not rows:
            return 1.0
        return min(1.0, (round(self.scroll_y) + self.scrollable_content_region.height) / rows)

    # -- state changes ---------------------------------------------------------------------------------------

    def set_following(self, following: bool) -> None:
        if following == self.following:
            return
        self.following = following
        if following:
            self.new_while_paused = 0
        self.post_message(self.FollowChanged(following))

    def follow(self) -> None:
        """Jump to the newest line and keep following it."""
        self.mark_key = None
        self.cursor_key = None
        self.set_following(True)
        self.scroll_to(y=self.max_scroll_y, animate=False)
        self.refresh()

    def pause(self) -> None:
        self.set_following(False)

    def anchor(self) -> Anchor | None:
        """The entry at the top of the screen (to keep it there while lines come and go)."""
        located = self.model.locate(round(self.scroll_y))
        if located is None:
            return None
        index, subrow = located
        return self.model.entries[index].key, subrow

    def restore(self, anchor: Anchor | None) -> None:
        """Sync sizes after the model changed; keep following, or keep `anchor` at the top."""
        self._update_virtual_size()
        if self.following:
            self.scroll_to(y=self.max_scroll_y, animate=False)
        elif anchor is not None:
            key, subrow = anchor
            index = self.model.index_at_or_after(key)
            if index < len(self.model) and self.model.entries[index].key == key:
                row = self.model.row_of(index) + min(subrow, self.model.rows_of(index) - 1)
            else:
                row = self.model.row_of(index)
            self.scroll_to(y=row, animate=False)
        self.refresh()

    def visible_span(self) -> tuple[int, int] | None:
        """Keys of the entries on the first and last visible rows."""
        top = self.model.locate(round(self.scroll_y))
        if top is None:
            return None
        last_row = min(round(self.scroll_y) + self.scrollable_content_region.height, self.model.row_count) - 1
        bottom = self.model.locate(last_row)
        entries = self.model.entries
        return entries[top[0]].key, entries[bottom[0]].key if bottom else entries[top[0]].key

    def ingested(self, result: Ingested, anchor: Anchor | None, span: tuple[int, int] | None) -> None:
        """Called after `model.ingest` with the anchor and visible span from before it: count new lines while
        paused, re-sync rows and position, and repaint only if what is on screen changed."""
        if self.following or result.relayout:
            if result.relayout:
                self._strips.clear()
            self.restore(anchor)
            return
        self.new_while_paused += result.shown
        self._update_virtual_size()
        if anchor is not None:
            key, subrow = anchor
            index = self.model.index_at_or_after(key)
            if index < len(self.model) and self.model.entries[index].key == key:
                row = self.model.row_of(index) + min(subrow, self.model.rows_of(index) - 1)
            else:
                row = self.model.row_of(index)
            if row != round(self.scroll_y):
                self.scroll_to(y=row, animate=False)
        if self.visible_span() != span or span is None:
            self.refresh()

    def reset_view(self, anchor: Anchor | None) -> None:
        """Called after the model's shown list or layout changed as a whole (filter, toggles, resize)."""
        self._strips.clear()
        self.restore(anchor)

    def _update_virtual_size(self) -> None:
        layout = self.model.layout
        width = layout.width if layout.wrap else layout.text_column + self.model.widest_text
        size = Size(width, self.model.row_count)
        if size.width == self.virtual_size.width and not self.styles.scrollbar_size_vertical:
            # Only the height changed (a flush) and there is no scrollbar to appear or move (logs.tcss), so nothing
            # else on the screen moves: setting the reactive would re-lay out the whole screen on every flush.
            self.set_reactive(LogLines.virtual_size, size)
            self._scroll_update(size)
        else:
            self.virtual_size = size

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def on_resize(self, event: events.Resize) -> None:
        anchor = self.anchor()
        if self.model.set_layout(width=max(1, self.scrollable_content_region.width)):
            self._strips.clear()
        self.restore(anchor)

    # -- positions -------------------------------------------------------------------------------------------

    def visible_index(self, bottom: bool = False) -> int:
        """Shown index of the entry at the top (or bottom) of the screen."""
        row = round(self.scroll_y) + (self.scrollable_content_region.height - 1 if bottom else 0)
        located = self.model.locate(min(row, max(self.model.row_count - 1, 0)))
        return located[0] if located else 0

    def cursor_index(self) -> int | None:
        if self.cursor_key is None:
            return None
        index = self.model.index_at_or_after(self.cursor_key)
        return min(index, len(self.model) - 1) if len(self.model) else None

    def jump_to(self, index: int) -> None:
        """Put the cursor on shown entry `index`, scroll it into the middle of the screen, pause following."""
        if not 0 <= index < len(self.model):
            return
        self.pause()
        self.cursor_key = self.model.entries[index].key
        self._strips.clear()
        row = self.model.row_of(index)
        height = self.scrollable_content_region.height
        self.scroll_to(y=max(0, row - height // 2), animate=False)
        self.refresh()

    def move_cursor(self, delta: int) -> None:
        index = self.cursor_index()
        if index is None:
            index = self.visible_index(bottom=True)
        index = min(max(index + delta, 0), len(self.model) - 1)
        if index < 0:
            return
        self.pause()
        self.cursor_key = self.model.entries[index].key
        self._strips.clear()
        row = self.model.row_of(index)
        self.scroll_to_region(Region(0, row, 1, self.model.rows_of(index)), animate=False, immediate=True)
        self.refresh()

    def marked_range(self) -> tuple[int, int] | None:
        """First and last shown index of the marked lines."""
        if self.mark_key is None:
            return None
        cursor = self.cursor_index()
        mark = self.model.index_at_or_after(self.mark_key)
        if cursor is None or mark >= len(self.model):
            return None
        return min(mark, cursor), max(mark, cursor)

    # -- scrolling: up pauses, reaching the bottom resumes -------------------------------------------------

    def _after_scroll_down(self) -> None:
        if not self.following and self.mark_key is None and self.scroll_y >= self.max_scroll_y:
            self.follow()

    def action_scroll_up(self) -> None:
        if self.mark_key is not None:
            self.move_cursor(-1)
            return
        self.pause()
        self.scroll_up(animate=False)

    def action_scroll_down(self) -> None:
        if self.mark_key is not None:
            self.move_cursor(+1)
            return
        self.scroll_down(animate=False)
        self._after_scroll_down()

    def action_page_up(self) -> None:
        self.pause()
        self.scroll_page_up(animate=False)

    def action_page_down(self) -> None:
        self.scroll_page_down(animate=False)
        self._after_scroll_down()

    def action_scroll_home(self) -> None:
        self.pause()
        self.scroll_to(y=0, animate=False)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self.pause()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self.call_after_refresh(self._after_scroll_down)

    def on_scroll_to(self, message: ScrollTo) -> None:
        if message.y is not None and message.y < self.max_scroll_y:
            self.pause()
        else:
            self.call_after_refresh(self._after_scroll_down)

    def on_scroll_up(self, message: ScrollUp) -> None:
        self.pause()

    def on_scroll_down(self, message: ScrollDown) -> None:
        self.call_after_refresh(self._after_scroll_down)

    # -- drawing ---------------------------------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        # What every row of this frame shares, computed once per frame rather than once per row.
        base = self._base = self.rich_style
        if base != self._styles_for:
            self._styles_for = base
            self._styles = {name: base + self.get_component_rich_style(name) for name in self.COMPONENT_CLASSES}
        self._width = self.scrollable_content_region.width
        self._marked = self.marked_range()
        self._selection = self.text_selection
        self._framing = True
        try:
            return super().render_lines(crop)
        finally:
            self._framing = False

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        row = scroll_y + y
        located = self.model.locate(row)
        if located is None:
            return Strip.blank(self._width, self._base)
        index, subrow = located
        entry = self.model.entries[index]
        wrap = self.model.layout.wrap
        key = (entry.key, subrow if wrap else -1 - scroll_x, self._highlight_generation(entry))
        strip = self._strips.get(key)
        if strip is None:
            strip = self._strips[key] = self._row_strip(entry, subrow if wrap else None, scroll_x)
        highlight = self._line_highlight(entry.key, index)
        if highlight is not None:
            strip = strip.apply_style(highlight)
        absolute_row = row + self.model.row_base
        if self._selection is not None:
            strip = self._select(strip, self._selection, absolute_row)
        if self._framing:
            return strip
        # Called alone, by the compositor looking up where a mouse selection starts: only then does a row need
        # the character offsets (they cost more than the rest of the row, so frames go without them).
        return strip.apply_offsets(0 if wrap else scroll_x, absolute_row)

    def _row_strip(self, entry: Entry, subrow: int | None, scroll_x: int) -> Strip:
        """One screen row of `entry`, exactly as wide as the view: row `subrow` when wrapping, else the cells
        from `scroll_x` on."""
        width = self._width
        base = self._base
        segments = self._segments(entry)
        if subrow is not None:
            start, end, indent = self.model.layout.row_cells(subrow)
        else:
            start, end, indent = scroll_x, scroll_x + width, 0
        if all(segment.text.isascii() for segment in segments):
            return Strip(_cut_ascii(segments, start, end, indent, width, base), width)
        strip = Strip(segments).crop(start, end)
        if indent:
            strip = Strip.join([Strip.blank(indent, base), strip])
        return strip.extend_cell_length(width, base)

    def _line_highlight(self, key: int, index: int) -> Style | None:
        marked = self._marked
        if marked is not None and marked[0] <= index <= marked[1]:
            return self.get_component_rich_style("log-lines--marked", partial=True)
        if self.cursor_key == key:
            return self.get_component_rich_style("log-lines--cursor", partial=True)
        return None

    def _select(self, strip: Strip, selection: Selection, absolute_row: int) -> Strip:
        span = selection.get_span(absolute_row)
        if span is None:
            return strip
        start, end = span
        end = strip.cell_length if end == -1 else end
        style = self.screen.get_component_rich_style("screen--selection")
        return Strip.join([strip.crop(0, start), strip.crop(start, end).apply_style(style), strip.crop(end)])

    def _highlight_generation(self, entry: Entry) -> int:
        current = self.model.current_match()
        return current.start + 1 if current is not None and current.entry is entry else 0

    def _segments(self, entry: Entry) -> list[Segment]:
        model = self.model
        layout = model.layout
        styles = self._styles
        base = self._base
        segments: list[Segment] = []
        if layout.timestamps:
            segments.append(Segment(short_time(entry.timestamp) + " ", styles["log-lines--timestamp"]))
        if layout.prefix_width:
            source = entry.source
            colour = styles[_SOURCE_CLASSES[model.colour(source) % SOURCE_COLOURS]]
            prefix = self._prefixes.get((source, layout.prefix_width))
            if prefix is None:
                prefix = self._prefixes[source, layout.prefix_width] = source.label.ljust(layout.prefix_width) + " "
            segments.append(Segment(prefix, colour))
        if type(entry) is LogLine:
            level_class = _LEVEL_CLASSES.get(entry.level)
            text_style = styles[level_class] if level_class else base
            segments.extend(self._text_segments(entry, text_style))
        else:
            segments.append(Segment(entry_text(entry), styles["log-lines--switch" if type(entry) is Switch else
                                                              "log-lines--gap"]))
        return segments

    def _text_segments(self, entry: LogLine, style: Style) -> list[Segment]:
        text = entry.text
        spans = self.model.search.spans(text)
        if not spans:
            return [Segment(text, style)]
        match_style = style + self.get_component_rich_style("log-lines--match", partial=True)
        current = self.model.current_match()
        current_start = current.start if current is not None and current.entry is entry else -1
        current_style = style + self.get_component_rich_style("log-lines--match-current", partial=True)
        segments = []
        position = 0
        for start, end in spans:
            if start > position:
                segments.append(Segment(text[position:start], style))
            segments.append(Segment(text[start:end], current_style if start == current_start else match_style))
            position = end
        if position < len(text):
            segments.append(Segment(text[position:], style))
        return segments

    # -- text selection with the mouse -----------------------------------------------------------------------

    def row_text(self, absolute_row: int) -> str:
        """The characters drawn on a visual row (for copying a mouse selection)."""
        located = self.model.locate(absolute_row - self.model.row_base)
        if located is None:
            return ""
        index, subrow = located
        entry = self.model.entries[index]
        plain = self.model.layout.plain(entry, entry.source.label)
        if not self.model.layout.wrap:
            return plain
        start, end, indent = self.model.layout.row_cells(subrow)
        return " " * indent + plain[start:end]

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        start, end = selection
        first = start.y if start is not None else self.model.row_base
        last = end.y if end is not None else self.model.row_base + self.model.row_count - 1
        rows = [self.row_text(row) for row in range(first, last + 1)]
        rebased = Selection(
            start._replace(y=start.y - first) if start is not None else None,
            end._replace(y=end.y - first) if end is not None else None,
        )
        return rebased.extract("\n".join(rows)), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self.refresh()
