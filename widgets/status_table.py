"""A DataTable that is given whole rows and changes only what differs (rows added, removed, cells
updated in place), so a live status keeps the cursor where the operator put it and repaints little."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from widgets.cells import Cell

Row = tuple[str, tuple[Cell, ...]]  # (row key, cells)


class StatusTable(DataTable):
    """Columns are fixed at construction; `sync(rows)` brings the table to exactly `rows`."""

    COMPONENT_CLASSES = DataTable.COMPONENT_CLASSES | {
        "status--ok", "status--warn", "status--bad", "status--muted", "status--accent",
    }

    def __init__(self, columns: Sequence[tuple[str, str]], **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self._column_spec = tuple(columns)  # (key, label)
        self._shown: dict[str, tuple[Cell, ...]] = {}

    def on_mount(self) -> None:
        for key, label in self._column_spec:
            self.add_column(label, key=key)

    def _styled(self, cell: Cell) -> Text:
        text, tone = cell
        if not tone:
            return Text(text)
        return Text(text, style=self.get_component_rich_style(f"status--{tone}", partial=True))

    @property
    def row_keys(self) -> list[str]:
        return list(self._shown)

    @property
    def selected_key(self) -> str | None:
        """The key of the row under the cursor, if any."""
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:
            return None

    def sync(self, rows: Sequence[Row]) -> None:
        wanted = dict(rows)
        kept = [key for key in self._shown if key in wanted]
        if kept + [key for key in wanted if key not in self._shown] != list(wanted):
            self._rebuild(rows)
            return
        for key in [key for key in self._shown if key not in wanted]:
            self.remove_row(key)
            del self._shown[key]
        keys = [key for key, _ in self._column_spec]
        for key, cells in rows:
            previous = self._shown.get(key)
            if previous is None:
                self.add_row(*(self._styled(cell) for cell in cells), key=key)
            elif previous != cells:
                for column, old, new in zip(keys, previous, cells, strict=True):
                    if old != new:
                        self.update_cell(key, column, self._styled(new), update_width=True)
            self._shown[key] = cells
        self._fit_columns()

    def _fit_columns(self) -> None:
        """Each column exactly as wide as its label or widest cell now. DataTable only ever widens a column,
        by the cells updated since its last frame, so without this the width would depend on which states
        happened to be drawn (a longer value shown once keeps its column wide)."""
        for index, (key, label) in enumerate(self._column_spec):
            column = self.columns.get(ColumnKey(key))
            if column is not None and column.auto_width:
                column.content_width = max([cell_len(label), *(cell_len(cells[index][0])
                                                                 for cells in self._shown.values())])
        self.refresh()

    def _rebuild(self, rows: Sequence[Row]) -> None:
        """A new row in the middle: lay the table out again, the cursor staying on its row."""
        selected = self.selected_key
        self.clear()
        self._shown = {}
        for key, cells in rows:
            self.add_row(*(self._styled(cell) for cell in cells), key=key)
            self._shown[key] = cells
        self._fit_columns()
        if selected in self._shown:
            self.move_cursor(row=list(self._shown).index(selected))

    def refresh_tones(self) -> None:
        """Render every cell again (after a theme change the tones' colours differ)."""
        self._rebuild([(key, cells) for key, cells in self._shown.items()])
