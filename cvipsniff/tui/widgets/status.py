"""The status line: what is loaded and displayed, and a progress bar while loading (or
while a filter, search or export runs over a big capture)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import ProgressBar, Static


class StatusBar(Widget):
    """One line: a text on the left, a progress bar on the right when busy."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; layout: horizontal; }
    StatusBar > #status-text { width: 1fr; height: 1; padding: 0 1; }
    StatusBar > ProgressBar { width: auto; height: 1; display: none; padding: 0 1 0 0; }
    StatusBar > ProgressBar Bar { width: 16; }
    StatusBar.-busy > ProgressBar { display: block; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="status-text")
        yield ProgressBar(total=100, show_eta=False, id="status-progress")

    def set_text(self, text: str) -> None:
        self.query_one("#status-text", Static).update(text)
        self._text = text

    _text = ""

    @property
    def text(self) -> str:
        return self._text

    def set_progress(self, fraction: float | None) -> None:
        """Show the bar at ``fraction`` (0..1); None hides it."""
        if fraction is None:
            self.remove_class("-busy")
            return
        self.add_class("-busy")
        self.query_one(ProgressBar).update(total=100, progress=round(fraction * 100, 1))
