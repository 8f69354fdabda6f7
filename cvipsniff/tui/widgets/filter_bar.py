"""The display filter bar: the shared filter language (docs/FILTERS.md), one line.

Enter applies the text, Escape clears the filter. A filter that does not compile is
shown inline under the bar, with a caret under the offending column and the
language's own message (which names the column and suggests a spelling), and the box
turns red — the list keeps showing what it showed before, as in Wireshark.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label, Static

from cvipsniff.filter import FilterError

PROMPT = "Filter:"
PLACEHOLDER = 'e.g. cvip.method contains "describe" && latency_ms > 5   (Enter applies)'


class FilterInput(Input):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def action_clear_filter(self) -> None:
        self.value = ""
        self.post_message(FilterBar.Applied(""))


class FilterBar(Widget):
    """Filter prompt, input and inline error line."""

    DEFAULT_CSS = """
    FilterBar { height: auto; }
    FilterBar > #filter-row { height: 1; }
    FilterBar #filter-prompt { width: auto; padding: 0 1; background: $panel; }
    FilterBar FilterInput { border: none; height: 1; padding: 0 1; background: $boost; }
    FilterBar FilterInput:focus { border: none; background: $primary 20%; }
    FilterBar FilterInput.-invalid, FilterBar FilterInput.-invalid:focus {
        border: none; background: $error 30%;
    }
    FilterBar FilterInput.-active { background: $success 20%; }
    FilterBar #filter-error { height: auto; color: $text-error; display: none; }
    FilterBar.-error #filter-error { display: block; }
    """

    class Applied(Message):
        """The user asked for ``text`` to be the display filter ("" clears it)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    _error_text = ""

    def compose(self) -> ComposeResult:
        with Horizontal(id="filter-row"):
            yield Label(PROMPT, id="filter-prompt")
            yield FilterInput(placeholder=PLACEHOLDER, id="filter-input")
        yield Static(id="filter-error")

    @property
    def input(self) -> FilterInput:
        return self.query_one(FilterInput)

    @property
    def text(self) -> str:
        return self.input.value

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Applied(event.value))

    def show_error(self, error: FilterError) -> None:
        """Show ``error`` under the input, a caret under the offending text."""
        indent = len(PROMPT) + 2 + 1  # prompt padding, input padding
        caret = Text(" " * (indent + error.position) + "^" * error.length + " ", style="bold")
        caret.append(str(error))
        self.query_one("#filter-error", Static).update(caret)
        self._error_text = caret.plain
        self.add_class("-error")
        self.input.add_class("-invalid")
        self.input.remove_class("-active")

    def clear_error(self, *, active: bool) -> None:
        """No error; ``active`` colours the box as an applied filter."""
        self._error_text = ""
        self.remove_class("-error")
        self.input.remove_class("-invalid")
        self.input.set_class(active, "-active")

    @property
    def error_text(self) -> str:
        """The inline error line as shown (empty when there is none)."""
        return self._error_text
