"""Quitting a live capture whose frames are only in a temporary file: save, quit anyway,
or stay (Wireshark's "Unsaved packets…" question)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label

from cvipsniff.tui.screens.dialog import Dialog


class QuitDialog(Dialog[str | None]):
    """Dismiss with "save", "quit", or None (stay)."""

    def __init__(self, packets: int) -> None:
        super().__init__()
        self.packets = packets

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("[b]Unsaved packets[/b]")
            yield Label(f"{self.packets:,} captured frames are only in a temporary file, "
                        "deleted on exit.")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save…", variant="primary", id="quit-save")
                yield Button("Quit without saving", variant="error", id="quit-anyway")
                yield Button("Cancel", id="quit-cancel")

    def on_mount(self) -> None:
        self.query_one("#quit-save", Button).focus()

    @on(Button.Pressed, "#quit-save")
    def _save(self) -> None:
        self.dismiss("save")

    @on(Button.Pressed, "#quit-anyway")
    def _quit(self) -> None:
        self.dismiss("quit")

    @on(Button.Pressed, "#quit-cancel")
    def _cancel(self) -> None:
        self.action_cancel()
