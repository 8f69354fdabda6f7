"""Follow stream: the reassembled bytes of one flow, client → server in one colour and
server → client in another, gaps as markers (never invented bytes) — Wireshark's Follow
TCP Stream, on top of ``cvipsniff follow``'s :func:`flow_chunks`.

The capture is read again in a worker thread (it touches only the file, not the
session). What is shown is capped: a flow carrying gigabytes of video would otherwise
fill the memory; the header says so and points at ``cvipsniff follow`` for all of it.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Footer, Static

from cvipsniff.commands.follow import flow_chunks, hexdump
from cvipsniff.render import endpoint_text
from cvipsniff.tui.session import FlowSummary

MAX_BYTES = 2 * 1024 * 1024

# (direction, text); direction -1 marks a gap or a note.
Line = tuple[int, str]


def ascii_lines(chunks: list[tuple[int, bytes | int]]) -> list[Line]:
    """Printable text of each chunk, line by line; other bytes as dots."""
    lines: list[Line] = []
    for direction, chunk in chunks:
        if isinstance(chunk, int):
            lines.append((-1, f"[{chunk} bytes missing from the capture]"))
            continue
        text = "".join(c if c in "\r\n\t" or 32 <= ord(c) < 127 else "."
                       for c in chunk.decode("latin-1"))
        lines.extend((direction, line.replace("\t", "    ").rstrip("\r"))
                     for line in text.split("\n"))
    return lines


def hex_lines(chunks: list[tuple[int, bytes | int]]) -> list[Line]:
    """Hex dump of each chunk, offsets counted per direction like Wireshark."""
    lines: list[Line] = []
    offsets = [0, 0]
    for direction, chunk in chunks:
        if isinstance(chunk, int):
            lines.append((-1, f"[{chunk} bytes missing from the capture]"))
            offsets[direction] += chunk
            continue
        indent = "    " if direction else ""
        lines.extend((direction, indent + line) for line in hexdump(chunk, offsets[direction]))
        offsets[direction] += len(chunk)
    return lines


class FollowView(ScrollView, can_focus=True):
    """The stream's lines, coloured by direction."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "follow-view--client", "follow-view--server", "follow-view--note"}

    DEFAULT_CSS = """
    FollowView { height: 1fr; background: $surface; }
    FollowView > .follow-view--client { color: $text-error; }
    FollowView > .follow-view--server { color: $text-primary; }
    FollowView > .follow-view--note { color: $text-warning; text-style: reverse; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: list[Line] = []

    def set_lines(self, lines: list[Line]) -> None:
        self.lines = lines
        width = max((len(text) for _, text in lines[:5000]), default=0)
        self.virtual_size = Size(width, len(lines))
        self.refresh()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        line = scroll_y + y
        width = self.size.width
        base = self.rich_style
        if line >= len(self.lines):
            return Strip.blank(width, base)
        direction, text = self.lines[line]
        name = {0: "follow-view--client", 1: "follow-view--server"}.get(
            direction, "follow-view--note")
        strip = Strip([Segment(text, base + self.get_component_rich_style(name))])
        return strip.crop_extend(scroll_x, scroll_x + width, base)


class FollowScreen(Screen):
    """One flow's bytes; ``h`` switches between text and hex, Esc goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back"),
        Binding("h", "toggle_hex", "Text/Hex"),
    ]

    DEFAULT_CSS = """
    FollowScreen #follow-title { height: auto; background: $panel; padding: 0 1; }
    """

    def __init__(self, path: str, flow: FlowSummary) -> None:
        super().__init__()
        self.path = path
        self.flow = flow
        self.hex_mode = False
        self.chunks: list[tuple[int, bytes | int]] = []
        self.truncated = 0
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Static(id="follow-title")
        yield FollowView(id="follow")
        yield Footer()

    @property
    def view(self) -> FollowView:
        return self.query_one(FollowView)

    def on_mount(self) -> None:
        self._title("reading…")
        self.view.focus()
        self._read()

    def _title(self, state: str) -> None:
        f = self.flow
        title = Text(f"Follow {f.transport} flow {f.id}: ")
        title.append(endpoint_text(f.client), style="bold")
        title.append(" (client) → ")
        title.append(endpoint_text(f.server), style="bold")
        title.append(f" (server) — {state}")
        self.query_one("#follow-title", Static).update(title)

    @work(thread=True, exclusive=True, group="follow")
    def _read(self) -> None:
        chunks: list[tuple[int, bytes | int]] = []
        total = 0
        skipped = 0
        error = None
        try:
            for direction, chunk in flow_chunks(self.path, self.flow.id, (0, 1)):
                if isinstance(chunk, int):
                    chunks.append((direction, chunk))
                    continue
                if total >= MAX_BYTES:
                    skipped += len(chunk)
                    continue
                room = MAX_BYTES - total
                if len(chunk) > room:
                    skipped += len(chunk) - room
                    chunk = chunk[:room]
                chunks.append((direction, chunk))
                total += len(chunk)
        except Exception as exc:  # the file went away or became unreadable
            error = str(exc)
        self.app.call_from_thread(self._loaded, chunks, total, skipped, error)

    def _loaded(self, chunks, total: int, skipped: int, error: str | None) -> None:
        self.chunks = chunks
        self.truncated = skipped
        self.loaded = True
        if error:
            self._title(f"could not read: {error}")
        else:
            note = (f", first {total:,} shown — cvipsniff follow -r FILE {self.flow.id} "
                    "prints all" if skipped else "")
            self._title(f"{total + skipped:,} bytes{note}  (h: text/hex)")
        self._render_lines()

    def _render_lines(self) -> None:
        lines = hex_lines(self.chunks) if self.hex_mode else ascii_lines(self.chunks)
        if not lines:
            lines = [(-1, "[no payload in this flow]")]
        self.view.set_lines(lines)

    def action_toggle_hex(self) -> None:
        self.hex_mode = not self.hex_mode
        if self.loaded:
            self._render_lines()
