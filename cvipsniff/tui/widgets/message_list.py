"""The packet list: one line per displayed message, Wireshark's columns and colours.

Rows come straight from the session's columnar store through its view (all messages or
the filter's index array), so a million messages cost no widgets and no row objects;
only the visible lines are formatted. Rows are coloured by protocol (the Protocol
column) and by their worst finding (the row background), like Wireshark's colouring
rules; marked messages carry a ``*`` before their number.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.style import Style

from cvipsniff.render import format_time
from cvipsniff.tui.columns import TIME_MODES, Column, message_cells, message_columns, time_width
from cvipsniff.tui.session import CaptureSession
from cvipsniff.tui.widgets.table import VirtualTable

_SEVERITY_CLASSES = {3: "message-list--error", 2: "message-list--warning",
                     1: "message-list--info"}
_PROTOCOL_CLASSES = {"cvip": "message-list--cvip", "cvip-ping": "message-list--cvip-ping",
                     "imageserver": "message-list--imageserver"}


class MessageList(VirtualTable):
    """The displayed messages of a :class:`CaptureSession`."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        *VirtualTable.COMPONENT_CLASSES,
        "message-list--error",
        "message-list--warning",
        "message-list--info",
        "message-list--cvip",
        "message-list--cvip-ping",
        "message-list--imageserver",
        "message-list--marked",
    }

    SORTABLE = False  # capture order: the filter, search and marks work on positions

    DEFAULT_CSS = """
    MessageList > .message-list--error { background: $error 35%; }
    MessageList > .message-list--warning { background: $warning 25%; }
    MessageList > .message-list--info { }
    MessageList > .message-list--cvip { color: $text-primary; }
    MessageList > .message-list--cvip-ping { color: $text-secondary; }
    MessageList > .message-list--imageserver { color: $text-success; }
    MessageList > .message-list--marked { text-style: bold; }
    """

    def __init__(self, session: CaptureSession, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        self.time_mode = TIME_MODES[0]
        # Store index of the time reference (Ctrl+T), or None: relative times count from
        # it (times before it are negative).
        self.time_reference: int | None = None
        self._view_generation = -1

    # ---- data --------------------------------------------------------------------------

    def row_count(self) -> int:
        return len(self.session.view)

    @property
    def selected_index(self) -> int | None:
        """The store index under the cursor, None when the list is empty."""
        view = self.session.view
        return view[self.cursor] if 0 <= self.cursor < len(view) else None

    def columns_key(self) -> tuple:
        store = self.session.store
        last = len(store) - 1
        last_ts = store.ts_ns(last) if last >= 0 else 0
        last_frame = store.frame(last) if last >= 0 else 0
        # Rounded so that a growing capture re-lays the columns rarely.
        return (self.time_mode,
                time_width(self.time_mode, last_ts, self.session.first_ts_ns)
                + (self.time_reference is not None),
                len(str(last_frame)), self.session.endpoint_cells)

    def columns(self, width: int) -> Sequence[Column]:
        _, time_cells, frame_digits, endpoint_cells = self.columns_key()
        return message_columns(width, self.time_mode, time_cells, 10 ** frame_digits - 1,
                               max(12, endpoint_cells))

    def cells(self, row: int, columns: Sequence[Column]) -> Sequence[str]:
        session = self.session
        index = session.view[row]
        r = session.store.row(index)
        prev_ts = None
        if self.time_mode == "delta" and row > 0:
            prev_ts = session.store.ts_ns(session.view[row - 1])
        info = r.info
        if r.is_response and not r.method:
            txn = session.transaction_at(index)
            if txn is not None and txn.method:
                info = f"{txn.method} {info}"
        reference = self.time_reference
        if reference is not None and reference >= len(session.store):
            reference = self.time_reference = None  # a live capture restarted
        if reference == index:
            time_text = "*REF*"
        else:
            base = (session.store.ts_ns(reference) if reference is not None
                    else session.first_ts_ns)
            time_text = format_time(r.ts_ns, self.time_mode, base,
                                    prev_ts if prev_ts is not None else r.ts_ns)
        return message_cells(
            columns, frame=r.frame, marked=index in session.marks, time_text=time_text,
            src=r.src, dst=r.dst, protocol=r.protocol, length=r.length, info=info)

    def row_style(self, row: int) -> Style | None:
        index = self.session.view[row]
        severity = self.session.store.severity(index)
        style = None
        if severity in _SEVERITY_CLASSES:
            style = self.get_component_rich_style(_SEVERITY_CLASSES[severity])
        if index in self.session.marks:
            marked = self.get_component_rich_style("message-list--marked")
            style = marked if style is None else style + marked
        return style

    def cell_styles(self, row: int) -> Sequence[Style | None] | None:
        protocol = self.session.store.protocol(self.session.view[row])
        name = _PROTOCOL_CLASSES.get(protocol)
        if name is None:
            return None
        styles: list[Style | None] = [None] * 7
        styles[4] = self.get_component_rich_style(name)
        return styles

    # ---- changes -----------------------------------------------------------------------

    def sync(self) -> None:
        """The session's view changed (more messages, a filter): redraw what's needed."""
        view = self.session.view
        if view.generation != self._view_generation:
            self._view_generation = view.generation
            self.generation += 1
            self.refresh_rows()

    def cycle_time_mode(self) -> str:
        self.time_mode = TIME_MODES[(TIME_MODES.index(self.time_mode) + 1) % len(TIME_MODES)]
        self.invalidate()
        return self.time_mode

    def select_index(self, index: int) -> bool:
        """Move the cursor to store ``index``; False if the view does not show it."""
        position = self.session.view.position_of(index)
        if position is None:
            return False
        self.move_cursor(position)
        return True
