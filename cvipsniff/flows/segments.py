"""The out-of-order buffer of one TCP direction.

Bytes that arrived ahead of a hole wait here, as sorted, non-overlapping pieces, until the
hole is filled or given up. The overlap policy lives here too: **the first bytes received
for a stream offset win** (Wireshark's and most stacks' behaviour); bytes that a later
segment carries for an already buffered range are compared and a mismatch is reported,
never substituted.

A piece may also be a *marker* (``data is None``): bytes that were on the wire but cut
by the capture's snaplen. They hold their place in the stream so the reader can report a
gap of the right size at the right offset; under first-wins a marker is not replaced by
later bytes for the same range (a capture truncates every frame alike, so a
retransmission would be cut too).

Every piece costs its payload plus :data:`PIECE_OVERHEAD` against the memory caps, so a
flood of one-byte segments cannot hide behind a small byte count.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import NamedTuple

# Approximate size of the Python objects behind one buffered piece (tuple, ints, bytes
# header), charged on top of its payload.
PIECE_OVERHEAD = 128


class Piece(NamedTuple):
    start: int
    end: int
    data: bytes | None  # None: ``end - start`` bytes cut by snaplen
    frame: int
    ts_ns: int


@dataclass(slots=True)
class Insertion:
    """What inserting one segment did to the buffer."""

    added: int = 0  # stream bytes newly buffered (captured or marked missing)
    overlap: int = 0  # bytes of the segment that were already buffered
    conflict_frame: int = 0  # frame whose buffered bytes differ from the segment's, or 0


def _piece_start(piece: Piece) -> int:
    return piece.start


class SegmentBuffer:
    """Sorted, non-overlapping :class:`Piece` list with first-wins insertion."""

    __slots__ = ("cost", "pieces")

    def __init__(self) -> None:
        # An empty tuple until a first piece waits (most flows never buffer anything, and
        # every direction of every open flow has a buffer).
        self.pieces: list[Piece] = ()  # type: ignore[assignment]
        self.cost = 0  # payload + overhead of all pieces, for the memory caps

    def __bool__(self) -> bool:
        return bool(self.pieces)

    def __len__(self) -> int:
        return len(self.pieces)

    @property
    def first(self) -> Piece:
        return self.pieces[0]

    @property
    def end(self) -> int:
        """Stream offset just past the last buffered byte (the buffer must not be empty)."""
        return self.pieces[-1].end

    def insert(self, start: int, data: bytes, missing: int, frame: int, ts_ns: int) -> Insertion:
        """Buffer ``data`` at ``start``, followed by ``missing`` snaplen-cut bytes.

        Only the parts not already buffered are added; the rest is compared with what is
        there (first wins) and reported in the result.
        """
        result = Insertion()
        stop = start + len(data)
        if data:
            self._insert(start, stop, data, frame, ts_ns, result)
        if missing > 0:
            self._insert(stop, stop + missing, None, frame, ts_ns, result)
        return result

    def _insert(self, start: int, end: int, data: bytes | None, frame: int, ts_ns: int,
                result: Insertion) -> None:
        pieces = self.pieces
        if type(pieces) is tuple:
            pieces = self.pieces = []
        i = bisect_right(pieces, start, key=_piece_start)
        if i and pieces[i - 1].end > start:
            i -= 1
        j = i
        merged: list[Piece] = []
        cursor = start
        count = len(pieces)
        while j < count and pieces[j].start < end:
            old = pieces[j]
            if old.start > cursor:
                merged.append(self._new_piece(start, end, data, cursor, old.start, frame, ts_ns,
                                              result))
            lo = max(cursor, old.start)
            hi = min(end, old.end)
            result.overlap += hi - lo
            if data is not None and old.data is not None and not result.conflict_frame:
                mine = memoryview(data)[lo - start : hi - start]
                theirs = memoryview(old.data)[lo - old.start : hi - old.start]
                if mine != theirs:
                    result.conflict_frame = old.frame
            merged.append(old)
            cursor = old.end
            j += 1
        if cursor < end:
            merged.append(self._new_piece(start, end, data, cursor, end, frame, ts_ns, result))
        pieces[i:j] = merged

    def _new_piece(self, start: int, end: int, data: bytes | None, lo: int, hi: int,
                   frame: int, ts_ns: int, result: Insertion) -> Piece:
        if data is None:
            part = None
            self.cost += PIECE_OVERHEAD
        else:
            # Slicing copies; keep the segment's own bytes object when it goes in whole.
            part = data if (lo == start and hi == end) else data[lo - start : hi - start]
            self.cost += PIECE_OVERHEAD + (hi - lo)
        result.added += hi - lo
        return Piece(lo, hi, part, frame, ts_ns)

    def pop_contiguous(self, offset: int) -> list[Piece]:
        """Remove and return the run of pieces that continues the stream at ``offset``."""
        pieces = self.pieces
        k = 0
        count = len(pieces)
        while k < count and pieces[k].start == offset:
            offset = pieces[k].end
            k += 1
        if not k:
            return []
        run = pieces[:k]
        del pieces[:k]  # one slice delete, not k pops: draining stays linear
        for piece in run:
            self._release(piece)
        return run

    def discard_from(self, offset: int) -> int:
        """Drop every buffered byte at or past ``offset``; return how many were dropped."""
        pieces = self.pieces
        dropped = 0
        while pieces and pieces[-1].end > offset:
            piece = pieces.pop()
            self._release(piece)
            if piece.start < offset:
                dropped += piece.end - offset
                kept = Piece(piece.start, offset,
                             None if piece.data is None else piece.data[: offset - piece.start],
                             piece.frame, piece.ts_ns)
                pieces.append(kept)
                self.cost += PIECE_OVERHEAD + (0 if kept.data is None else len(kept.data))
                break
            dropped += piece.end - piece.start
        return dropped

    def _release(self, piece: Piece) -> None:
        self.cost -= PIECE_OVERHEAD + (0 if piece.data is None else len(piece.data))
