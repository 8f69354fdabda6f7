"""The views as a row of tabs (``1 Messages  2 Transactions …``), the current one lit,
so the number keys are discoverable without opening the help; a click switches too."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.widget import Widget

VIEW_TITLES = (("messages", "Messages"), ("transactions", "Transactions"),
               ("findings", "Findings"), ("flows", "Flows"), ("stats", "Statistics"))


class ViewTabs(Widget):
    DEFAULT_CSS = """
    ViewTabs { height: 1; background: $panel; color: $text-muted; }
    """

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current
        self._spans: list[tuple[int, int, str]] = []

    def render(self) -> Text:
        text = Text(" ")
        self._spans = []
        # Long titles when they fit, first words otherwise (80 columns hold the short set).
        long = sum(len(t) + 4 for _, t in VIEW_TITLES) + 1 <= self.size.width
        for number, (name, title) in enumerate(VIEW_TITLES, start=1):
            label = f" {number} {title if long else title[:5]} "
            start = len(text)
            if name == self.current:
                text.append(label, style="reverse bold")
            else:
                text.append(label)
            self._spans.append((start, len(text), name))
            text.append(" ")
        return text

    def on_click(self, event: events.Click) -> None:
        for start, end, name in self._spans:
            if start <= event.x < end:
                self.app.run_action(f"view('{name}')")
                return
