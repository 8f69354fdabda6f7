"""The one stderr line a reader prints for a damaged capture, as tshark does ("appears to
have been cut short in the middle of a packet", "appears to be damaged or corrupt").

The reader already reports each cut or unreadable record as a note (``report`` shows it
as a finding); a person reading messages on a terminal would not see that, and a capture
cut short looks exactly like a short exchange. Watching the notes costs one comparison
per note.
"""

from __future__ import annotations

import sys
from typing import TextIO

from cvipsniff.model import TransportNote

TRUNCATED = "capture.truncated_record"
CORRUPT = "capture.corrupt_block"


class DamageWatch:
    """Counts a capture's cut and unreadable records from the notes that pass by."""

    __slots__ = ("corrupt", "truncated")

    def __init__(self) -> None:
        self.truncated = 0
        self.corrupt = 0

    def see(self, item: object) -> None:
        if type(item) is TransportNote:
            if item.kind == TRUNCATED:
                self.truncated += 1
            elif item.kind == CORRUPT:
                self.corrupt += 1

    def line(self, path: str) -> str | None:
        """The warning, or None for an intact capture."""
        what = []
        if self.corrupt:
            what.append(f"to be damaged or corrupt ({self.corrupt} record"
                        f"{'s' if self.corrupt != 1 else ''} could not be read)")
        if self.truncated:
            what.append("to have been cut short in the middle of a packet")
        if not what:
            return None
        name = "standard input" if path == "-" else repr(path)
        return f"cvipsniff: warning: the capture {name} appears {' and '.join(what)}"

    def warn(self, path: str, stream: TextIO | None = None) -> None:
        line = self.line(path)
        if line is not None:
            print(line, file=stream or sys.stderr)
