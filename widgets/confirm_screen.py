"""The engine's `ConfirmationRequest` as a modal: what will happen, the exact commands per host, the
consequence, and — where data would be deleted — a field where the target must be typed before the
confirm button is enabled. Focus starts on Cancel; Escape cancels. Dismisses with True or False."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from app.engine.api import ConfirmationRequest


def effects_by_host(request: ConfirmationRequest) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for effect in request.effects:
        grouped.setdefault(effect.host, []).append(effect.description)
    return grouped


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="confirm-cancel")]
    AUTO_FOCUS = "#cancel"

    def __init__(self, request: ConfirmationRequest, *, confirm_label: str | None = None, where: str = "") -> None:
        """`where` names what the request acts on (service and destination), shown on the dialog's frame."""
        super().__init__(classes="-destroys-data" if request.destroys_data else "")
        self.request = request
        self.confirm_label = confirm_label or ("Delete" if request.destroys_data else "Confirm")
        self.where = where

    def compose(self) -> ComposeResult:
        request = self.request
        with Vertical(id="dialog") as dialog:
            dialog.border_title = self.where or None
            yield Label(request.title, id="confirm-title", markup=False)
            yield Static(request.consequence, id="consequence", markup=False)
            with VerticalScroll(id="effects", can_focus=False):
                for host, descriptions in effects_by_host(request).items():
                    yield Label(host, classes="effect-host", markup=False)
                    for description in descriptions:
                        yield Static(description, classes="effect", markup=False)
            if request.destroys_data:
                yield Label(f"Type {request.typed_target} to enable {self.confirm_label}:", id="target-prompt",
                            markup=False)
                yield Input(placeholder=request.typed_target, id="target")
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel", variant="primary")
                yield Button(self.confirm_label, id="confirm", variant="error", disabled=request.destroys_data)

    @property
    def typed_target_matches(self) -> bool:
        if not self.request.destroys_data:
            return True
        return self.query_one("#target", Input).value.strip() == self.request.typed_target

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#confirm", Button).disabled = not self.typed_target_matches

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if self.typed_target_matches:
            self.dismiss(True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "confirm" and self.typed_target_matches:
            self.dismiss(True)
        elif event.button.id == "cancel":
            self.dismiss(False)

    def action_cancel(self) -> None:
        self.dismiss(False)
