"""The save dialog of a live capture (Ctrl+S): where to write the frames captured so far."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label


class SaveDialog(ModalScreen[str | None]):
    """Ask for a file name; dismiss with it, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    SaveDialog { align: center middle; }
    SaveDialog > Vertical { width: 70; max-width: 100%; height: auto; padding: 0 1;
                            border: round $primary; background: $surface; }
    SaveDialog #save-buttons { align-horizontal: right; height: auto; }
    SaveDialog Button { margin-left: 1; min-width: 10; }
    """

    def __init__(self, default_path: str, frames_note: str) -> None:
        super().__init__()
        self.default_path = default_path
        self.frames_note = frames_note

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("[b]Save the capture[/b] (pcapng)")
            yield Label(self.frames_note)
            yield Input(self.default_path, id="save-path")
            with Horizontal(id="save-buttons"):
                yield Button("Save", variant="primary", id="save-ok")
                yield Button("Cancel", id="save-cancel")

    def on_mount(self) -> None:
        self.query_one("#save-path", Input).focus()

    @on(Input.Submitted, "#save-path")
    @on(Button.Pressed, "#save-ok")
    def _ok(self) -> None:
        path = self.query_one("#save-path", Input).value.strip()
        if not path:
            self.notify("Give a file name", severity="warning")
            return
        self.dismiss(path)

    @on(Button.Pressed, "#save-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
