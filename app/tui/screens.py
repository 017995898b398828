"""The dashboard's own modal screens: the key help, and a choice among a few options (which version
to roll back to, which accessory, rolling or all-at-once proxy reboot)."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, OptionList
from textual.widgets.option_list import Option

from app.tui.keymap import KEYS, display_key


class HelpScreen(ModalScreen[None]):
    """Every binding: its keys (after the user's keymap), its id (what the keymap file names) and
    what it does."""

    BINDINGS = [Binding("escape", "close", "Close", id="help-close")]

    def __init__(self, keys: dict[str, str], *, keymap_file: str, read_only: bool) -> None:
        super().__init__()
        self.keys = keys
        self.keymap_file = keymap_file
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Label("Keys", id="help-title")
            yield DataTable(id="help-keys", cursor_type="row", show_cursor=False)
            note = f"Remap any key in {self.keymap_file}, one `binding-id: key` per line (e.g. `deploy: ctrl+d`)."
            if self.read_only:
                note += " Server mode is read-only: operations are off."
            yield Label(note, id="help-note", markup=False)
            yield Label("Mouse: click a row or cell to select it, a key in the footer to press it; the wheel "
                        "scrolls.", id="help-mouse")

    def on_mount(self) -> None:
        table = self.query_one("#help-keys", DataTable)
        table.add_column("Key", key="key")
        table.add_column("Binding id", key="id")
        table.add_column("What it does", key="what")
        for group in dict.fromkeys(spec.group for spec in KEYS):
            for spec in KEYS:
                if spec.group != group:
                    continue
                what = spec.description + (" (off: read-only)" if self.read_only and spec.writes else "")
                table.add_row(display_key(self.keys[spec.id]), spec.id, what, key=spec.id)
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)

    def key_q(self) -> None:
        self.dismiss(None)


class ChoiceScreen(ModalScreen[str | None]):
    """Pick one option (Enter or a click); Escape picks none."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="choice-cancel")]

    def __init__(self, title: str, options: Sequence[tuple[str, str]], *, explanation: str = "",
                 highlighted: int = 0) -> None:
        super().__init__()
        self.title_text = title
        self.options = list(options)
        self.explanation = explanation
        self.highlighted = highlighted

    def compose(self) -> ComposeResult:
        with Vertical(id="choice-dialog"):
            yield Label(self.title_text, id="choice-title", markup=False)
            if self.explanation:
                yield Label(self.explanation, id="choice-explanation", markup=False)
            yield OptionList(*(Option(label, id=option_id) for option_id, label in self.options), id="choices")
            yield Label("Enter chooses, Esc cancels.", id="choice-hint")

    def on_mount(self) -> None:
        choices = self.query_one("#choices", OptionList)
        choices.highlighted = min(self.highlighted, len(self.options) - 1) if self.options else None
        choices.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
