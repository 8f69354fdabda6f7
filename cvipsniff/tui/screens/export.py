"""The export dialog: what to write (pcapng frames, JSON records, or the ImageServer
images as files in a directory — ``read --export-objects``), which messages (the
displayed ones or the marked ones) and where."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, RadioButton, RadioSet

from cvipsniff.tui.export import FORMATS
from cvipsniff.tui.screens.dialog import Dialog

EXTENSIONS = {"pcapng": ".pcapng", "json": ".json", "objects": "-objects"}


@dataclass(slots=True, frozen=True)
class ExportRequest:
    format: str  # "pcapng", "json" or "objects" (a directory)
    scope: str  # "displayed" or "marked"
    path: str


class ExportDialog(Dialog[ExportRequest | None]):
    """Ask for format, scope and path; dismiss with an :class:`ExportRequest` or None."""

    DEFAULT_CSS = """
    ExportDialog RadioSet { width: 1fr; }
    """

    def __init__(self, base_path: str, has_marks: bool) -> None:
        super().__init__()
        self.base_path = base_path
        self.has_marks = has_marks
        self.format = FORMATS[0]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("[b]Export[/b]")
            with Horizontal():
                with RadioSet(id="export-format"):
                    yield RadioButton("pcapng (frames)", value=True, id="format-pcapng")
                    yield RadioButton("JSON (records)", id="format-json")
                    yield RadioButton("images (directory)", id="format-objects")
                with RadioSet(id="export-scope"):
                    yield RadioButton("displayed messages", value=True, id="scope-displayed")
                    yield RadioButton("marked messages", id="scope-marked",
                                      disabled=not self.has_marks)
            yield Label("File:")
            yield Input(self.base_path + EXTENSIONS[self.format], id="export-path")
            with Horizontal(id="export-buttons", classes="dialog-buttons"):
                yield Button("Export", variant="primary", id="export-ok")
                yield Button("Cancel", id="export-cancel")

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    @on(RadioSet.Changed, "#export-format")
    def _format_changed(self, event: RadioSet.Changed) -> None:
        chosen = {"format-json": "json", "format-objects": "objects"}.get(
            event.pressed.id or "", "pcapng")
        path = self.query_one("#export-path", Input)
        old_ext = EXTENSIONS[self.format]
        if path.value.endswith(old_ext):
            path.value = path.value[: -len(old_ext)] + EXTENSIONS[chosen]
        self.format = chosen

    def request(self) -> ExportRequest | None:
        path = self.query_one("#export-path", Input).value.strip()
        if not path:
            return None
        scope_set = self.query_one("#export-scope", RadioSet)
        pressed = scope_set.pressed_button
        scope = "marked" if pressed is not None and pressed.id == "scope-marked" else "displayed"
        return ExportRequest(self.format, scope, path)

    @on(Input.Submitted, "#export-path")
    @on(Button.Pressed, "#export-ok")
    def _ok(self) -> None:
        request = self.request()
        if request is None:
            self.notify("Give a file name", severity="warning")
            return
        self.dismiss(request)

    @on(Button.Pressed, "#export-cancel")
    def _cancel(self) -> None:
        self.action_cancel()
