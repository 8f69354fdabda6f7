"""Splitting a byte stream at the ImageServer message terminator (double CR-LF).

Used by the reference server for requests and by the client for XML answers. Like h11's
receive buffer it remembers how far it has already searched, so a message arriving a byte
at a time is scanned once (linear, not quadratic), and it caps how much it buffers so a
peer that never sends the terminator cannot grow it without bound.
"""

from __future__ import annotations

from dataclasses import dataclass

TERMINATOR = b"\r\n\r\n"


@dataclass(frozen=True, slots=True)
class Overflow:
    """``length`` bytes were discarded because no terminator came within the cap."""

    length: int


class TerminatedSplitter:
    """Feed bytes, get back each complete message (terminator stripped) or an Overflow."""

    def __init__(self, cap: int = 64 * 1024) -> None:
        self._buf = bytearray()
        self._searched = 0  # bytes of _buf known not to start a terminator
        self.cap = cap

    @property
    def pending(self) -> int:
        """Bytes buffered that are not yet a complete message."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes | Overflow]:
        self._buf += data
        out: list[bytes | Overflow] = []
        while True:
            at = self._buf.find(TERMINATOR, self._searched)
            if at < 0:
                break
            out.append(bytes(self._buf[:at]))
            del self._buf[:at + len(TERMINATOR)]
            self._searched = 0
        if len(self._buf) > self.cap:
            # Keep the last 3 bytes: they may be the start of a terminator.
            dropped = len(self._buf) - 3
            del self._buf[:dropped]
            out.append(Overflow(dropped))
        self._searched = max(0, len(self._buf) - 3)
        return out

    def take_rest(self) -> bytes:
        """Whatever is buffered (at end of stream), emptying the buffer."""
        rest = bytes(self._buf)
        self._buf.clear()
        self._searched = 0
        return rest
