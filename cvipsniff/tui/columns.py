"""Column layout and cell text for the line-rendered tables (pure functions, no widgets).

The message list shows Wireshark's columns (No., Time, Source, Destination, Protocol,
Length, Info) in whatever width the terminal has: fixed columns keep their width, the
endpoints share what is left with Info, and below 96 columns the Length column makes
room (at 80 columns Info would otherwise get a dozen characters).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size

from cvipsniff.render import endpoint_text, format_time
from cvipsniff.time_column import absolute_text

ELLIPSIS = "…"

# Time display modes, in the order the time key cycles through them.
TIME_MODES = ("relative", "delta", "absolute", "epoch")
TIME_TITLES = {"relative": "Time", "delta": "Delta", "absolute": "Date/Time",
               "epoch": "Epoch"}
WIDE_LIST = 96  # from this width on, the list has room for the Length column
SHORT_PROTOCOLS = {"cvip": "CVIP", "cvip-ping": "CVIP-Ping", "imageserver": "ImageSrv"}


@dataclass(slots=True, frozen=True)
class Column:
    """A resolved column: its title, width in cells and alignment."""

    title: str
    width: int
    right: bool = False


def fit(text: str, width: int, *, right: bool = False, keep_end: bool = False) -> str:
    """``text`` padded or cut to exactly ``width`` cells; a cut is marked with an
    ellipsis, at the start with ``keep_end`` (an endpoint keeps its port)."""
    if width <= 0:
        return ""
    length = cell_len(text)
    if length <= width:
        pad = " " * (width - length)
        return pad + text if right else text + pad
    if width == 1:
        return ELLIPSIS
    if keep_end:
        cut = text[-(width - 1):]
        while cell_len(cut) > width - 1:
            cut = cut[1:]
        return set_cell_size(ELLIPSIS + cut, width)
    return set_cell_size(text, width - 1) + ELLIPSIS


def fit_endpoint(text: str, width: int) -> str:
    """An endpoint (``host:port``) in ``width`` cells: the port is always kept whole and
    the host is cut in its middle (``192.0…100:53050``), so both the network and the
    host part stay readable, as Wireshark elides columns."""
    if cell_len(text) <= width:
        return fit(text, width)
    host, sep, port = text.rpartition(":")
    if not sep or width - len(port) - 1 < 3:
        return fit(text, width, keep_end=True)
    room = width - len(port) - 1 - 1  # the colon, the ellipsis
    head = (room + 1) // 2
    tail = room - head
    return host[:head] + ELLIPSIS + (host[-tail:] if tail else "") + ":" + port


def time_width(mode: str, last_ts_ns: int, first_ts_ns: int) -> int:
    """Cells the time column needs for a capture spanning first → last."""
    if mode == "absolute":
        return cell_len(absolute_text(last_ts_ns, utc=False, date=True, zone=True))
    if mode == "epoch":
        return 17
    return max(8, len(format_time(last_ts_ns, "relative", first_ts_ns)))


def message_columns(width: int, mode: str, time_cells: int, last_frame: int,
                    endpoint_cells: int = 23) -> list[Column]:
    """The message list's columns for a list ``width`` cells wide; ``endpoint_cells``
    is the longest endpoint text of the capture (wider is never needed)."""
    number = max(4, len(str(last_frame)) + 1)  # one cell for the mark
    protocol = 9
    show_length = width >= WIDE_LIST
    fixed = number + time_cells + protocol + (7 if show_length else 0)
    separators = 6 if show_length else 5
    rest = width - fixed - separators
    # Info needs ~26 cells for its first words (method and kind: "system.describe
    # response"); the endpoints share the rest, elided in the middle when short of room.
    endpoint = max(12, min(23, endpoint_cells, (rest - 26) // 2))
    info = max(8, rest - 2 * endpoint)
    columns = [
        Column("No.", number, right=True),
        Column(TIME_TITLES[mode], time_cells, right=True),
        Column("Source", endpoint),
        Column("Destination", endpoint),
        Column("Protocol", protocol),
    ]
    if show_length:
        columns.append(Column("Length", 6, right=True))
    columns.append(Column("Info", info))
    return columns


def message_cells(columns: Sequence[Column], *, frame: int, marked: bool, time_text: str,
                  src: tuple[str, int], dst: tuple[str, int], protocol: str, length: int,
                  info: str) -> list[str]:
    """The cell texts of one message row, fitted to ``columns``."""
    number = columns[0].width
    texts = [
        fit(("*" if marked else "") + str(frame), number, right=True),
        fit(time_text, columns[1].width, right=True),
        fit_endpoint(endpoint_text(src), columns[2].width),
        fit_endpoint(endpoint_text(dst), columns[3].width),
        fit(SHORT_PROTOCOLS.get(protocol, protocol), columns[4].width),
    ]
    if len(columns) == 7:
        texts.append(fit(str(length), columns[5].width, right=True))
    texts.append(fit(info, columns[-1].width))
    return texts


def spread(width: int, fixed: Sequence[tuple[str, int, bool]], flexible: str,
           minimum: int = 10) -> list[Column]:
    """Columns of fixed widths plus one flexible column taking the rest (appended
    last), separated by one cell."""
    used = sum(w for _, w, _ in fixed) + len(fixed)
    columns = [Column(title, w, right) for title, w, right in fixed]
    columns.append(Column(flexible, max(minimum, width - used)))
    return columns
