"""The help screen (``?``): every key of every view, on one page."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

SECTIONS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("Everywhere", (
        ("1 2 3 4 5", "Messages, Transactions, Findings, Flows, Statistics"),
        ("?", "this help"),
        ("T", "dark / light theme"),
        ("q", "quit (Esc or q closes a dialog or the stream view)"),
        ("Tab / Shift+Tab", "next / previous pane"),
        ("↑ ↓ PgUp PgDn Home End", "move (also j k space g G); the mouse works too"),
    )),
    ("Messages", (
        ("/", "display filter: type (✓/✗: valid or not, Tab completes a field name), "
              "Enter applies, Esc clears (docs/FILTERS.md)"),
        ("Enter", "open the message's details; Esc back to the list"),
        ("r", "jump request ↔ response"),
        ("Ctrl+F, n, N", "find text in summaries and fields; next, previous"),
        ("t", "time column: relative, delta, absolute (local, with its zone), epoch"),
        ("m, ], [", "mark / unmark; next, previous marked"),
        ("c", "copy: the list's row, the details' field value, or the bytes (focused pane)"),
        ("C, x", "copy the selected subtree (the whole tree from the list); the hex dump"),
        ("Ctrl+G", "go to frame"),
        ("Ctrl+T", "time reference: relative times count from this message (again: off)"),
        ("s", "follow the selected message's stream"),
        ("e", "export the displayed or marked messages (pcapng, JSON, or the images)"),
        ("z", "maximize the focused pane (list, details or bytes); z or Esc restores"),
        ("+ -", "more / fewer lines for the list against the panes"),
        ("b, d", "collapse / show the bytes pane, the details pane"),
        ("F", "bytes pane: the frames as captured / the message's reassembled bytes"),
    )),
    ("Live capture (tui -i)", (
        ("End", "follow new messages (moving up pauses, the status line says which)"),
        ("Ctrl+E", "stop the capture; once stopped, start a new one"),
        ("Ctrl+R", "restart: discard the messages so far and capture afresh (a -w file "
                   "that holds frames is kept: the new capture goes to name-1.pcapng)"),
        ("Ctrl+S", "save the frames captured so far as pcapng (q asks when unsaved)"),
    )),
    ("Details", (
        ("↑ ↓ ← →", "move, collapse, expand; the field's bytes light up in the hex pane"),
        ("Enter", "expand; on a request/response line, jump there"),
    )),
    ("Transactions", (("Enter", "open the request"), ("r", "open the response"),
                      ("o, O", "sort by the next column; reverse (a click on a title too)"))),
    ("Findings", (("Enter", "expand a rule; on a finding, open its message"),)),
    ("Flows", (("Enter", "follow the stream (h: text / hex)"),
               ("f", "filter the messages to this flow (a broadcast ping: and its answers)"),
               ("o, O", "sort by the next column; reverse"))),
    ("Statistics", (("↑ ↓", "latency histogram of the method"), ("o, O", "sort; reverse"),
                    ("F5", "recompute"))),
)


def help_table() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for title, keys in SECTIONS:
        table.add_row(Text(title, style="bold underline"), "")
        for key, what in keys:
            table.add_row(key, what)
        table.add_row("", "")
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close"),
    ]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90; max-width: 100%; height: 90%;
                                  border: round $primary; background: $surface;
                                  padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "cvipsniff — keys"
            yield Static(help_table())

    def action_close(self) -> None:
        self.dismiss(None)
