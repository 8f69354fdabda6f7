"""The one exception the capture reader raises: a capture that cannot be read at all."""

from __future__ import annotations


class CaptureError(Exception):
    """A fatal problem opening a capture: missing, unreadable, empty, not a capture.

    ``str()`` is one line meant for the user, e.g.
    ``cannot read 'x.pcap': not a pcap or pcapng file (starts with 3f 2a 00 00)``.
    Problems found *inside* a readable capture are never raised: they become notes.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        where = "standard input" if path == "-" else repr(path)
        super().__init__(f"cannot read {where}: {reason}")
