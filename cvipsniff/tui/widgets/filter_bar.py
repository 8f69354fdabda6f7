"""The display filter bar: the shared filter language (docs/FILTERS.md), one line.

Enter applies the text, Escape clears the filter. A filter that does not compile is
shown inline under the bar, with a caret under the offending column and the
language's own message (which names the column and suggests a spelling), and the box
turns red — the list keeps showing what it showed before, as in Wireshark.

While typing, the prompt turns green with a ✓ when the text compiles and red with a ✗
when it does not (Wireshark's and termshark's cue), and Tab completes the field name being typed
from the registry (``cvipsniff fields``), as a shell completes file names.
"""

from __future__ import annotations

import re
from functools import cache
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input, Label, Static

from cvipsniff.filter import FilterError, compile_filter, default_registry
from cvipsniff.filter.registry import wildcard_prefix

PROMPT = "Filter:"
PLACEHOLDER = 'e.g. cvip.method contains "describe" && latency_ms > 5   (Enter applies)'


_NAME_AT_END = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*$")


@cache
def field_names() -> tuple[str, ...]:
    """Every name a filter may use, sorted (wildcards by their prefix: ``attrs.``)."""
    names = set()
    for info in default_registry():
        prefix = wildcard_prefix(info.key)
        names.add(prefix if prefix is not None else info.key)
    return tuple(sorted(names))


def complete(value: str) -> str | None:
    """``value`` with the field name at its end completed as a shell does: to the one
    name that fits, or to the longest prefix all fitting names share (None: nothing to
    add). Nothing inside a string literal. Case-sensitive, like the language."""
    if value.count('"') % 2:
        return None
    match = _NAME_AT_END.search(value)
    if match is None:
        return None
    typed = match.group()
    fitting = [name for name in field_names() if name.startswith(typed)]
    if not fitting:
        return None
    common = fitting[0]
    for name in fitting[1:]:  # the longest prefix they share (strings, not paths)
        while not name.startswith(common):
            common = common[:-1]
    if len(common) <= len(typed):
        return None
    return value[: match.start()] + common


class FilterInput(Input):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("tab", "complete", "Complete field", show=False),
    ]

    def action_complete(self) -> None:
        """Tab: complete the field name being typed (else Tab moves on, as anywhere)."""
        completed = complete(self.value) if self.cursor_at_end else None
        if completed is None:
            self.screen.focus_next()
            return
        self.value = completed
        self.cursor_position = len(completed)

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
    _typing = ""

    def compose(self) -> ComposeResult:
        with Horizontal(id="filter-row"):
            yield Label(PROMPT + "  ", id="filter-prompt")
            yield FilterInput(placeholder=PLACEHOLDER, id="filter-input")
        yield Static(id="filter-error")

    @property
    def input(self) -> FilterInput:
        return self.query_one(FilterInput)

    @property
    def text(self) -> str:
        return self.input.value

    VALIDATE_AFTER_S = 0.12  # typing pauses this long before the text is checked

    _validate_timer: Timer | None = None

    def on_input_changed(self, event: Input.Changed) -> None:
        """Colour the box by whether the text compiles, once typing pauses (a burst of
        keys, or a paste, is checked once)."""
        if event.input is not self.input:
            return
        if self._validate_timer is not None:
            self._validate_timer.stop()
        self._validate_timer = self.set_timer(self.VALIDATE_AFTER_S, self._validate)

    def _validate(self) -> None:
        self._validate_timer = None
        text = self.input.value
        ok: bool | None = None
        if text.strip():
            try:
                compile_filter(text)
                ok = True
            except FilterError:
                ok = False
        self._set_typing("" if ok is None else ("valid" if ok else "invalid"))

    def _set_typing(self, state: str) -> None:
        """The prompt's own text and colour (a content update: restyling the focused
        input's box while keys arrive made a real terminal lose keys to the list)."""
        self._typing = state
        style = {"valid": "bold green", "invalid": "bold red"}.get(state, "")
        self.query_one("#filter-prompt", Label).update(Text(self._prompt_text(), style=style))

    def _prompt_text(self) -> str:
        # Always as wide: a prompt growing and shrinking would re-lay the row per key.
        return PROMPT + {"valid": " ✓", "invalid": " ✗"}.get(self._typing, "  ")

    @property
    def typing_state(self) -> str:
        """"valid", "invalid" or "" (empty): what the colour says."""
        return self._typing

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Applied(event.value))

    def show_error(self, error: FilterError) -> None:
        """Show ``error`` under the input, a caret under the offending text."""
        self._set_typing("invalid")
        indent = len(self._prompt_text()) + 2 + 1  # prompt padding, input padding
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
