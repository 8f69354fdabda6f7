"""Go to frame (Ctrl+G, as in Wireshark): ask for a frame number."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label

from cvipsniff.tui.screens.dialog import Dialog


class GotoDialog(Dialog[int | None]):
    """Dismiss with the frame number typed, or None when cancelled."""

    DEFAULT_CSS = """
    GotoDialog > Vertical { width: 40; }
    """

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("[b]Go to frame[/b]")
            yield Input(placeholder="frame number", type="integer", id="goto-frame")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Go", variant="primary", id="goto-ok")
                yield Button("Cancel", id="goto-cancel")

    def on_mount(self) -> None:
        self.query_one("#goto-frame", Input).focus()

    @on(Input.Submitted, "#goto-frame")
    @on(Button.Pressed, "#goto-ok")
    def _ok(self) -> None:
        text = self.query_one("#goto-frame", Input).value.strip()
        if not text.isdigit() or int(text) < 1:
            self.notify("Give a frame number (1 or more)", severity="warning")
            return
        self.dismiss(int(text))

    @on(Button.Pressed, "#goto-cancel")
    def _cancel(self) -> None:
        self.action_cancel()
