"""The bytes pane: a hex dump of the selected message with the selected field's bytes
highlighted, in hex and in the ASCII column, like Wireshark's packet bytes pane.

Line API again: a 10 MB ImageResponse is 650k lines, of which only the visible ones are
formatted. Offsets are the message's own (the field offsets of :class:`Field` are
relative to the message), 16 bytes a line in two groups of eight.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

BYTES_PER_LINE = 16
LINE_CELLS = 8 + 2 + 16 * 3 + 1 + 1 + 16  # offset, gap, hex (+ group gap), gap, ascii


def _printable(byte: int) -> str:
    return chr(byte) if 32 <= byte < 127 else "."


class HexView(ScrollView, can_focus=True):
    """Hex dump of ``data`` with ``[start, end)`` highlighted."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "scroll_up", "Up", show=False),
        Binding("down,j", "scroll_down", "Down", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {"hex-view--offset", "hex-view--highlight"}

    DEFAULT_CSS = """
    HexView { background: $surface; overflow-x: auto; overflow-y: auto;
              scrollbar-size-vertical: 1; scrollbar-size-horizontal: 1; }
    HexView > .hex-view--offset { color: $text-muted; }
    HexView > .hex-view--highlight { background: $accent; color: $text; text-style: bold; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.data = b""
        self.start = 0
        self.end = 0

    @property
    def highlight(self) -> tuple[int, int]:
        """The highlighted byte range ``(offset, length)``; length 0 when none."""
        return self.start, self.end - self.start

    def show(self, data: bytes) -> None:
        self.data = data
        self.start = self.end = 0
        lines = (len(data) + BYTES_PER_LINE - 1) // BYTES_PER_LINE
        self.virtual_size = Size(LINE_CELLS, lines)
        self.scroll_to(0, 0, animate=False, immediate=True)
        self.refresh()

    def set_highlight(self, offset: int, length: int) -> None:
        """Highlight ``length`` bytes from ``offset`` (clamped to the data) and scroll
        them into view; a negative offset or zero length clears the highlight."""
        if offset < 0 or length <= 0 or offset >= len(self.data):
            self.start = self.end = 0
        else:
            self.start, self.end = offset, min(len(self.data), offset + length)
            first = self.start // BYTES_PER_LINE
            last = (self.end - 1) // BYTES_PER_LINE
            top = round(self.scroll_y)
            height = max(1, self.size.height)
            if first < top or last >= top + height:
                self.scroll_to(y=first, animate=False, immediate=True)
        self.refresh()

    def line_text(self, line: int) -> str:
        """The plain text of dump line ``line`` (for tests and copying)."""
        return "".join(segment.text for segment in self._segments(line))

    def _segments(self, line: int) -> list[Segment]:
        base = self.rich_style
        hi = base + self.get_component_rich_style("hex-view--highlight")
        offset_style = base + self.get_component_rich_style("hex-view--offset")
        begin = line * BYTES_PER_LINE
        chunk = self.data[begin:begin + BYTES_PER_LINE]
        segments = [Segment(f"{begin:08X}", offset_style), Segment("  ", base)]
        start, end = self.start, self.end
        for i in range(BYTES_PER_LINE):
            position = begin + i
            if i == 8:
                segments.append(Segment(" ", base))
            if i < len(chunk):
                lit = start <= position < end
                segments.append(Segment(f"{chunk[i]:02x}", hi if lit else base))
                # The gap is part of the highlight only between two highlighted bytes.
                gap_lit = lit and start <= position + 1 < end and i != 7 and i != 15
                segments.append(Segment(" ", hi if gap_lit else base))
            else:
                segments.append(Segment("   ", base))
        segments.append(Segment(" ", base))
        for i, byte in enumerate(chunk):
            lit = start <= begin + i < end
            segments.append(Segment(_printable(byte), hi if lit else base))
        return segments

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        line = scroll_y + y
        width = self.size.width
        if line * BYTES_PER_LINE >= len(self.data):
            return Strip.blank(width, self.rich_style)
        strip = Strip(self._segments(line))
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style)
