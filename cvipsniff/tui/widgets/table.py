"""A table drawn with Textual's Line API: only the visible lines are ever rendered.

Textual's DataTable keeps a row object per row and re-measures on change (seconds to
first paint at 100k rows); this widget keeps nothing per row. A subclass says how many
rows there are and what the cells of row ``n`` are; :meth:`render_line` is called for
the lines on screen only, and rendered lines are kept in a small LRU cache keyed by
(row, width, cursor, focus, generation) so scrolling back and forth is cheap. Anything
that changes what rows look like bumps :attr:`generation`, which retires the cache.

The first line is a sticky header; row ``n`` is drawn on line ``n + 1`` of the virtual
canvas, which scrolls under it.

Any column sorts (``o`` the next column, ``O`` reverses, or a click on its title): the
table then keeps a permutation of the rows (a display row's :meth:`source` row), sorted
by the column's text, numbers as numbers, and re-sorts when rows are added. Subclasses
keep speaking of source rows; only code that starts from the cursor maps it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from cvipsniff.tui.columns import Column, fit


class VirtualTable(ScrollView, can_focus=True):
    """A cursor-driven table over ``row_count()`` rows produced on demand."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown,space", "page(1)", "Page down", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "last", "Last", show=False),
        Binding("enter", "select", "Open", show=False),
        Binding("o", "sort_next", "Sort", show=False),
        Binding("O", "sort_reverse", "Reverse sort", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "virtual-table--header",
        "virtual-table--cursor",
        "virtual-table--cursor-blurred",
    }

    DEFAULT_CSS = """
    VirtualTable {
        overflow-x: hidden;
        overflow-y: scroll;
        scrollbar-size-vertical: 1;
        background: $surface;
    }
    VirtualTable > .virtual-table--header {
        text-style: bold;
        background: $panel;
        color: $foreground;
    }
    VirtualTable > .virtual-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    VirtualTable > .virtual-table--cursor-blurred {
        background: $block-cursor-blurred-background;
        color: $block-cursor-blurred-foreground;
    }
    """

    CACHE_SIZE = 256
    SORTABLE = True  # False for a list whose order is the capture's (the message list)

    class Highlighted(Message):
        """The cursor moved to ``position``."""

        def __init__(self, table: VirtualTable, position: int) -> None:
            super().__init__()
            self.table = table
            self.position = position

        @property
        def control(self) -> VirtualTable:
            return self.table

    class Selected(Message):
        """Enter (or a double click) on the row at ``position``."""

        def __init__(self, table: VirtualTable, position: int) -> None:
            super().__init__()
            self.table = table
            self.position = position

        @property
        def control(self) -> VirtualTable:
            return self.table

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.cursor = 0
        self.generation = 0
        self._lines: LRUCache[tuple, Strip] = LRUCache(self.CACHE_SIZE)
        self._columns: tuple[tuple, list[Column]] | None = None
        self.sort_column: str | None = None
        self.sort_reverse = False
        self._order: list[int] | None = None

    # ---- sorting ------------------------------------------------------------------------

    def source(self, row: int) -> int:
        """The subclass's row shown at display row ``row``."""
        order = self._order
        if self.sort_column is None:
            return row
        if order is None or len(order) != self.row_count():
            order = self._sort()
        return order[row] if row < len(order) else row

    def sort_by(self, title: str | None, reverse: bool = False) -> None:
        """Sort by the column titled ``title`` (None: the subclass's own order)."""
        self.sort_column, self.sort_reverse = title, reverse
        self._order = None
        self.invalidate()

    def _sort(self) -> list[int]:
        title = self.sort_column
        wide = [Column(c.title, 10_000, c.right) for c in self._resolved_columns(
            self.size.width or 80)]
        position = next((i for i, c in enumerate(wide) if c.title == title), None)
        rows = range(self.row_count())
        if position is None:
            self._order = list(rows)
            return self._order

        keys: dict[int, tuple] = {}
        empty: list[int] = []
        for row in rows:
            try:
                text = self.cells(row, wide)[position].strip()
            except IndexError:
                text = ""
            if not text:
                empty.append(row)  # no value: last whichever the direction
                continue
            number = text.replace(",", "").split("+")[0]
            try:
                keys[row] = (0, float(number), "")
            except ValueError:
                keys[row] = (1, 0.0, text.lower())
        self._order = sorted(keys, key=keys.__getitem__, reverse=self.sort_reverse) + empty
        return self._order

    def action_sort_next(self) -> None:
        if not self.SORTABLE:
            return
        titles = [c.title for c in self._resolved_columns(self.size.width or 80)]
        if self.sort_column not in titles:
            following = titles[0] if titles else None
        else:
            i = titles.index(self.sort_column) + 1
            following = titles[i] if i < len(titles) else None
        self.sort_by(following)
        self._announce_sort()

    def action_sort_reverse(self) -> None:
        if not self.SORTABLE:
            return
        if self.sort_column is None:
            self.action_sort_next()
            return
        self.sort_by(self.sort_column, not self.sort_reverse)
        self._announce_sort()

    def _announce_sort(self) -> None:
        if self.sort_column is None:
            self.notify("Original order", timeout=1.5)
        else:
            way = "descending" if self.sort_reverse else "ascending"
            self.notify(f"Sorted by {self.sort_column}, {way}", timeout=1.5)
        self.move_cursor(0)

    # ---- what a subclass provides --------------------------------------------------------

    def row_count(self) -> int:
        raise NotImplementedError

    def columns(self, width: int) -> Sequence[Column]:
        """The columns for a table ``width`` cells wide."""
        raise NotImplementedError

    def cells(self, row: int, columns: Sequence[Column]) -> Sequence[str]:
        """The texts of row ``row``, already fitted to ``columns`` (see :func:`fit`)."""
        raise NotImplementedError

    def row_style(self, row: int) -> Style | None:
        """A style for the whole row (e.g. a severity background)."""
        return None

    def cell_styles(self, row: int) -> Sequence[Style | None] | None:
        """Per-cell styles layered on the row style (e.g. the protocol's colour)."""
        return None

    def columns_key(self) -> tuple:
        """Whatever, besides the width, changes the column layout."""
        return ()

    # ---- state changes ----------------------------------------------------------------

    def invalidate(self) -> None:
        """Rows changed looks (filter, time format, theme, marks): redraw everything."""
        self.generation += 1
        self._columns = None
        self._order = None  # rows may have changed: sorted again when next drawn
        self.refresh_rows()

    def refresh_rows(self) -> None:
        """The number of rows may have changed: resize the canvas and repaint."""
        count = self.row_count()
        self.virtual_size = Size(self.size.width, count + 1)
        if count and self.cursor >= count:
            self.cursor = count - 1
        self.refresh()

    def move_cursor(self, row: int, *, announce: bool = True) -> None:
        """Put the cursor on ``row`` (clamped) and scroll it into view."""
        count = self.row_count()
        row = max(0, min(row, count - 1)) if count else 0
        self.cursor = row
        self._scroll_to_cursor()
        self.refresh()
        if announce and count:
            self.post_message(self.Highlighted(self, row))

    def _scroll_to_cursor(self) -> None:
        visible = max(1, self.size.height - 1)
        top = round(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False, immediate=True)

    @property
    def visible_rows(self) -> range:
        top = round(self.scroll_y)
        return range(top, min(self.row_count(), top + max(0, self.size.height - 1)))

    # ---- actions ---------------------------------------------------------------------------

    def action_cursor(self, delta: int) -> None:
        self.move_cursor(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self.move_cursor(self.cursor + direction * max(1, self.size.height - 2))

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(self.row_count() - 1)

    def action_select(self) -> None:
        if self.row_count():
            self.post_message(self.Selected(self, self.cursor))

    # ---- events ----------------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        self._columns = None
        self.refresh_rows()
        self._scroll_to_cursor()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        if event.y < 1:  # a column title: sort by it (again: reverse)
            if not self.SORTABLE:
                return
            x = 0
            for column in self._resolved_columns(self.scrollable_content_region.width
                                                 or self.size.width):
                if x <= event.x < x + column.width + 1:
                    if self.sort_column == column.title:
                        self.sort_by(column.title, not self.sort_reverse)
                    else:
                        self.sort_by(column.title)
                    self._announce_sort()
                    return
                x += column.width + 1
            return
        row = round(self.scroll_y) + event.y - 1
        if row < self.row_count():
            self.move_cursor(row)
            if event.chain >= 2:
                self.post_message(self.Selected(self, row))

    def notify_style_update(self) -> None:
        """The theme changed: component styles are different now."""
        super().notify_style_update()
        self.generation += 1

    # ---- rendering -------------------------------------------------------------------------

    def _resolved_columns(self, width: int) -> list[Column]:
        key = (width, *self.columns_key())
        if self._columns is None or self._columns[0] != key:
            self._columns = (key, list(self.columns(width)))
        return self._columns[1]

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width or self.size.width
        base = self.rich_style
        if y == 0:
            return self._header(width, base)
        row = round(self.scroll_y) + y - 1
        if row >= self.row_count():
            return Strip.blank(width, base)
        cursor = row == self.cursor
        focused = self.has_focus
        key = (row, width, cursor, cursor and focused, self.generation)
        strip = self._lines.get(key)
        if strip is None:
            strip = self._render_row(row, width, base, cursor, focused)
            self._lines.set(key, strip)
        return strip

    def _header(self, width: int, base: Style) -> Strip:
        columns = self._resolved_columns(width)
        style = base + self.get_component_rich_style("virtual-table--header")
        arrow = "▼" if self.sort_reverse else "▲"
        text = " ".join(fit(c.title + (arrow if c.title == self.sort_column else ""),
                            c.width, right=c.right) for c in columns)
        return Strip([Segment(fit(text, width), style)], width)

    def _render_row(self, row: int, width: int, base: Style, cursor: bool,
                    focused: bool) -> Strip:
        columns = self._resolved_columns(width)
        try:
            source = self.source(row)
            texts = self.cells(source, columns)
            row_style = self.row_style(source)
            styles = self.cell_styles(source)
        except IndexError:  # the rows changed under us; the next refresh redraws
            return Strip.blank(width, base)
        style = base + row_style if row_style is not None else base
        if cursor:
            name = "virtual-table--cursor" if focused else "virtual-table--cursor-blurred"
            over = self.get_component_rich_style(name)
        else:
            over = None
        segments: list[Segment] = []
        used = 0
        for i, text in enumerate(texts):
            cell_style = style
            if styles is not None and styles[i] is not None:
                cell_style = cell_style + styles[i]
            if over is not None:
                cell_style = cell_style + over
            if i:
                segments.append(Segment(" ", style + over if over is not None else style))
                used += 1
            segments.append(Segment(text, cell_style))
            used += columns[i].width
        if used < width:
            segments.append(Segment(" " * (width - used),
                                    style + over if over is not None else style))
        return Strip(segments).crop(0, width)
