"""The activity of the current or last run: a host × step matrix (state and duration per cell) and,
beside it, the output of the selected cell. The cursor follows the step that is running until the
operator moves it; then it stays where they put it."""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Label, Log

from app.tui.state import Activity, Cell, CellState
from widgets import cells

_GLYPH = {
    CellState.PENDING: "·",
    CellState.RUNNING: "▶",
    CellState.OK: "✓",
    CellState.FAILED: "✗",
    CellState.SKIPPED: "–",
    CellState.CANCELLED: "⊘",
}

HOST_COLUMN = "__host__"
# New output is written at most this often: each write grows the log, and a log that grows lays the
# screen out again; four times a second reads as live and leaves the keys responsive.
OUTPUT_FRAME_S = 0.25


def cell_text(cell: Cell | None, now: float) -> tuple[str, str]:
    """(text, state name) of one matrix cell."""
    if cell is None:
        return ("", "")
    state = cell.state
    return (f"{_GLYPH[state]} {cells.duration(cell.duration(now))}", state.value)


def run_title(activity: Activity, now: float) -> tuple[str, str]:
    """The line above the matrix, and its tone."""
    version = f" {cells.version(activity.version)}" if activity.version else ""
    elapsed = cells.duration(activity.elapsed(now))
    if not activity.finished:
        state = "cancelling…" if activity.cancelling else "running"
        return (f"{activity.command}{version}: {state} {elapsed}", "running")
    if activity.ok:
        return (f"{activity.command}{version}: done in {elapsed}", "ok")
    if activity.error and ("cancel" in activity.error.lower()):
        return (f"{activity.command}{version}: cancelled after {elapsed}", "cancelled")
    return (f"{activity.command}{version}: failed after {elapsed}: {activity.error or ''}".rstrip(": "), "failed")


class StepMatrix(Vertical):
    """`show(activity, now)` renders; call it again after the activity changed (it redraws only the
    cells the activity reports as changed) or on a clock tick (running cells count their time)."""

    class CellSelected(Message):
        def __init__(self, host: str, step: str) -> None:
            self.host = host
            self.step = step
            super().__init__()

    def __init__(self, placeholder: str = "No operation yet.", **kwargs) -> None:
        """`placeholder` is shown until the first operation starts."""
        super().__init__(**kwargs)
        self.placeholder = placeholder
        self._activity: Activity | None = None
        self._run_id: str | None = None
        self._selected: tuple[str, str] | None = None
        self._written = 0  # lines of the selected cell already in the log
        self._follow = True
        self._title = ""
        self._output_written_at = 0.0

    def compose(self) -> ComposeResult:
        yield Label(self.placeholder, id="activity-title")
        with Horizontal(id="activity-body"):
            yield MatrixTable(id="matrix", cursor_type="cell", header_height=2, fixed_columns=1)
            yield Log(id="cell-output", max_lines=5_000, auto_scroll=True)

    @property
    def table(self) -> MatrixTable:
        return self.query_one(MatrixTable)

    @property
    def output(self) -> Log:
        return self.query_one("#cell-output", Log)

    @property
    def selected(self) -> tuple[str, str] | None:
        return self._selected

    def show(self, activity: Activity | None, now: float) -> None:
        title = self.query_one("#activity-title", Label)
        if activity is None:
            return
        text, tone = run_title(activity, now)
        if text != self._title:
            self._title = text
            title.update(text, layout=False)  # the stylesheet fixes its size: no layout pass per tick
        title.set_classes(f"-{tone}")
        if activity.run_id != self._run_id:
            self._run_id = activity.run_id
            self._activity = activity
            self._follow = True
            self.table.navigated_by_user = False
            self._selected = None
            self._written = 0
            self.output.clear()
            activity.layout_changed = True
        if self.table.navigated_by_user:
            self._follow = False
        layout, changed = activity.take_changes()
        table = self.table
        if layout:
            self._lay_out(activity, now)
        else:
            running = {key for key, cell in activity.cells.items() if cell.state is CellState.RUNNING}
            for row, step in changed | running:
                table.update_cell(row, step, table.styled_cell(activity.cells.get((row, step)), now))
        if self._follow:
            self._follow_running(activity)
        if activity.finished or time.monotonic() - self._output_written_at >= OUTPUT_FRAME_S:
            self._write_output(activity)

    def _lay_out(self, activity: Activity, now: float) -> None:
        table = self.table
        table.clear(columns=True)
        # An explicit width: an auto-width column laid out in the same frame as its rows may keep the
        # header's width and cut the host names.
        table.add_column("Host", key=HOST_COLUMN, width=max([len("Host"), *(len(row) for row in activity.rows)]))
        for step in activity.steps:
            family, _, name = step.rpartition(".")
            table.add_column(Text(f"{family}\n{name}" if family else name), key=step)
        for row in activity.rows:
            table.add_row(Text(row), *(table.styled_cell(activity.cells.get((row, step)), now)
                                       for step in activity.steps), key=row)
        if self._selected and self._selected[0] in activity.rows and self._selected[1] in activity.steps:
            self._move_to(activity, self._selected)

    def _follow_running(self, activity: Activity) -> None:
        """Keep the cursor on the latest running (else the latest failed, else the last) cell."""
        candidates = list(activity.cells.values())
        if not candidates:
            return
        running = [cell for cell in candidates if cell.state is CellState.RUNNING]
        failed = [cell for cell in candidates if cell.state is CellState.FAILED]
        target = max(running or failed or candidates, key=lambda cell: cell.started_at)
        key = (target.host, target.step)
        if key != self._selected:
            self._move_to(activity, key)

    def _move_to(self, activity: Activity, key: tuple[str, str]) -> None:
        row, step = key
        if row not in activity.rows or step not in activity.steps:
            return
        self.table.move_cursor(row=activity.rows.index(row), column=activity.steps.index(step) + 1)
        self._select(key)

    def _select(self, key: tuple[str, str] | None) -> None:
        if key == self._selected:
            return
        self._selected = key
        self._written = 0
        self.output.clear()
        if key is not None:
            self.post_message(self.CellSelected(*key))
        if self._activity is not None:
            self._write_output(self._activity)

    def _write_output(self, activity: Activity) -> None:
        self._output_written_at = time.monotonic()
        if self._selected is None:
            lines = list(activity.messages)
            total = activity.total_messages
        else:
            cell = activity.cells.get(self._selected)
            if cell is None:
                return
            lines = list(cell.lines)
            total = cell.total_lines
        new = total - self._written
        if new <= 0:
            return
        fresh = lines[-new:] if new <= len(lines) else lines
        self.output.write_lines([f"$ {text}" if stream == "command" and not text.startswith("$ ") else text
                                 for stream, text in fresh])
        self._written = total

    def on_data_table_cell_highlighted(self, event: DataTable.CellHighlighted) -> None:
        """Show the output of the cell under the cursor, however it got there (the message may arrive
        after later moves, so the cursor is read now rather than taken from the message)."""
        event.stop()
        table = self.table
        if self._activity is None or not table.row_count:
            return
        if table.navigated_by_user:
            self._follow = False
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate)
        except Exception:
            return
        row, step = key.row_key.value, key.column_key.value
        if step == HOST_COLUMN or row is None or step is None:
            return
        self._select((row, step))


class MatrixTable(DataTable):
    """The matrix itself; it notes when the operator moves the cursor (keys or mouse), which stops
    the cursor from following the running step."""

    COMPONENT_CLASSES = DataTable.COMPONENT_CLASSES | {
        "matrix--pending", "matrix--running", "matrix--ok", "matrix--failed", "matrix--skipped", "matrix--cancelled",
    }
    navigated_by_user = False

    def _user_moved(self) -> None:
        self.navigated_by_user = True

    def action_cursor_up(self) -> None:
        self._user_moved()
        super().action_cursor_up()

    def action_cursor_down(self) -> None:
        self._user_moved()
        super().action_cursor_down()

    def action_cursor_left(self) -> None:
        self._user_moved()
        super().action_cursor_left()

    def action_cursor_right(self) -> None:
        self._user_moved()
        super().action_cursor_right()

    async def _on_click(self, event) -> None:
        self._user_moved()
        await super()._on_click(event)

    def styled_cell(self, cell: Cell | None, now: float) -> Text:
        text, state = cell_text(cell, now)
        if not state:
            return Text(text)
        return Text(text, style=self.get_component_rich_style(f"matrix--{state}", partial=True))
