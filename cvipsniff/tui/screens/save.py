"""The save dialog of a live capture (Ctrl+S): where to write the frames captured so far."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label

from cvipsniff.tui.screens.dialog import Dialog


class SaveDialog(Dialog[str | None]):
    """Ask for a file name; dismiss with it, or None when cancelled."""

    def __init__(self, default_path: str, frames_note: str) -> None:
        super().__init__()
        self.default_path = default_path
        self.frames_note = frames_note

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("[b]Save the capture[/b] (pcapng)")
            yield Label(self.frames_note)
            yield Input(self.default_path, id="save-path")
            with Horizontal(id="save-buttons", classes="dialog-buttons"):
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
    def _cancel(self) -> None:
        self.action_cancel()
