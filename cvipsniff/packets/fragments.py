"""IP fragment reassembly, for IPv4 and IPv6 alike.

A datagram is keyed as the RFCs say — IPv4 by (source, destination, protocol,
identification) (RFC 791), IPv6 by (source, destination, identification) (RFC 8200) —
and the caller puts the IP version in the key. Fragments may arrive in any order and
more than once.

Overlap policy: **the bytes received first win** (what Wireshark's reassembly shows, and
the only policy that never changes bytes a reader already saw). A later fragment whose
overlapping bytes *differ* from those already held is reported as
``ip.fragment_overlap`` (the teardrop/evasion signature); the datagram is still completed.
Fragments that disagree about where the datagram ends, or that reach past 65535 bytes,
make the datagram invalid: it is dropped with an ``ip.malformed`` note.

Bounded memory: at most ``max_datagrams`` pending datagrams, ``max_bytes`` buffered
bytes and ``max_fragments`` fragments per datagram; the oldest pending datagram is given
up (``ip.fragment_incomplete``) to make room. A datagram not completed ``timeout_ns``
after its first fragment (capture time, like Linux's ``ipfrag_time``) is given up too.

Fragments cut by snaplen are accepted: their missing tail is a hole. The reassembled
payload is the captured prefix up to the first hole, and ``missing`` counts everything
after it — bytes beyond a hole cannot be placed without inventing the hole's contents.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cvipsniff.packets.addresses import format_address

__all__ = ["FragmentTable", "Reassembled"]

DEFAULT_TIMEOUT_NS = 30 * 1_000_000_000
DEFAULT_MAX_DATAGRAMS = 4096
DEFAULT_MAX_BYTES = 64 << 20
DEFAULT_MAX_FRAGMENTS = 512
MAX_DATAGRAM_PAYLOAD = 65535

# (kind, severity, message, frame number)
NoteSink = Callable[[str, str, str, int], None]
# The reassembled payload, bytes on the wire not in it, all fragment frames (ascending),
# and the upper-layer protocol given by the first fragment.
Reassembled = tuple[bytes, int, tuple[int, ...], int]


@dataclass(slots=True)
class _Pending:
    first_ts_ns: int
    upper: int  # protocol (IPv4) / next header (IPv6) as the fragments declare it
    # (offset, end on the wire, captured bytes) in arrival order
    pieces: list[tuple[int, int, bytes]] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)
    total: int = -1  # payload length, known once the last fragment (no MF) arrived
    buffered: int = 0
    conflict_reported: bool = False


def _describe(key: tuple) -> str:
    """'IPv4 10.0.0.1 → 10.0.0.2 id 0x1c46' for notes."""
    version, src, dst = key[0], key[1], key[2]
    return f"IPv{version} {format_address(src)} → {format_address(dst)} id {key[-1]:#x}"


class FragmentTable:
    """Pending fragmented datagrams; :meth:`add` returns a datagram once complete."""

    def __init__(
        self,
        note: NoteSink,
        *,
        timeout_ns: int = DEFAULT_TIMEOUT_NS,
        max_datagrams: int = DEFAULT_MAX_DATAGRAMS,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_fragments: int = DEFAULT_MAX_FRAGMENTS,
    ) -> None:
        self._note = note
        self.timeout_ns = timeout_ns
        self.max_datagrams = max_datagrams
        self.max_bytes = max_bytes
        self.max_fragments = max_fragments
        self._pending: dict[tuple, _Pending] = {}  # insertion order = oldest first
        self.buffered = 0

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, key: tuple, offset: int, more: bool, data: bytes, missing: int,
            frame: int, ts_ns: int, upper: int) -> Reassembled | None:
        """Take one fragment: payload ``data`` at ``offset`` with ``missing`` further
        bytes on the wire not captured, ``more`` = the MF flag. Returns the datagram when
        this fragment completes it."""
        self.expire(ts_ns)
        end = offset + len(data) + missing
        if end > MAX_DATAGRAM_PAYLOAD:
            self._note("ip.malformed", "warning",
                       f"{_describe(key)}: fragment at offset {offset} reaches byte {end}, "
                       f"beyond the {MAX_DATAGRAM_PAYLOAD}-byte maximum; dropped", frame)
            return None
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = _Pending(ts_ns, upper)
        if not more:
            if pending.total not in (-1, end):
                return self._invalid(key, pending, frame,
                                     f"two last fragments end at {pending.total} and {end}")
            pending.total = end
        if pending.total != -1 and end > pending.total:
            return self._invalid(key, pending, frame,
                                 f"fragment reaches byte {end}, past the end at {pending.total}")
        piece = (offset, end, data)
        pending.frames.append(frame)
        if piece in pending.pieces:  # a duplicate fragment: nothing new to hold
            return None
        if len(pending.pieces) >= self.max_fragments:
            self._give_up(key, frame, f"more than {self.max_fragments} fragments")
            return None
        if not self._make_room(len(data), frame, key):
            self._give_up(key, frame, "alone larger than the reassembly memory cap")
            return None
        if not pending.conflict_reported and self._conflicts(pending, offset, data):
            pending.conflict_reported = True
            self._note("ip.fragment_overlap", "warning",
                       f"{_describe(key)}: overlapping fragment at offset {offset} carries "
                       "different bytes; the bytes received first are kept", frame)
        pending.pieces.append(piece)
        pending.buffered += len(data)
        self.buffered += len(data)
        if pending.total == -1 or not _covers(pending.pieces, pending.total):
            return None
        del self._pending[key]
        self.buffered -= pending.buffered
        return _assemble(pending)

    def expire(self, now_ns: int) -> None:
        """Give up datagrams whose first fragment is older than the timeout."""
        limit = now_ns - self.timeout_ns
        while self._pending:
            key, pending = next(iter(self._pending.items()))
            if pending.first_ts_ns >= limit:
                return
            self._give_up(key, pending.frames[-1] if pending.frames else 0,
                          f"not completed within {self.timeout_ns / 1e9:g} s")

    def flush(self) -> None:
        """End of capture: give up every pending datagram."""
        for key in list(self._pending):
            pending = self._pending[key]
            self._give_up(key, pending.frames[-1] if pending.frames else 0,
                          "not completed by the end of the capture")

    # ---- internals ---------------------------------------------------------------

    def _make_room(self, incoming: int, frame: int, keep: tuple) -> bool:
        """Give up the oldest other datagrams until the caps allow ``incoming`` more
        bytes for ``keep``. False if even that is not enough."""
        while (len(self._pending) > self.max_datagrams
               or self.buffered + incoming > self.max_bytes):
            victim = next((k for k in self._pending if k != keep), None)
            if victim is None:
                return False
            self._give_up(victim, frame, "given up to stay within the reassembly caps")
        return True

    def _give_up(self, key: tuple, frame: int, why: str) -> None:
        pending = self._pending.pop(key)
        self.buffered -= pending.buffered
        total = f"{pending.total}" if pending.total != -1 else "an unknown number of"
        frames = ", ".join(map(str, sorted(set(pending.frames)))) or "none"
        self._note("ip.fragment_incomplete", "warning",
                   f"{_describe(key)}: {len(pending.pieces)} fragment(s) (frames {frames}) "
                   f"hold {pending.buffered} of {total} bytes; {why}", frame)

    def _invalid(self, key: tuple, pending: _Pending, frame: int, why: str) -> None:
        del self._pending[key]
        self.buffered -= pending.buffered
        self._note("ip.malformed", "warning",
                   f"{_describe(key)}: fragments disagree ({why}); datagram dropped", frame)
        return None

    @staticmethod
    def _conflicts(pending: _Pending, offset: int, data: bytes) -> bool:
        """True if ``data`` at ``offset`` differs from held bytes where they overlap."""
        stop = offset + len(data)
        for other_offset, _end, other in pending.pieces:
            lo = max(offset, other_offset)
            hi = min(stop, other_offset + len(other))
            if lo < hi and (data[lo - offset : hi - offset]
                            != other[lo - other_offset : hi - other_offset]):
                return True
        return False


def _covers(pieces: list[tuple[int, int, bytes]], total: int) -> bool:
    """True if the pieces' wire ranges cover [0, total) without a hole."""
    reached = 0
    for offset, end, _data in sorted(pieces):
        if offset > reached:
            return False
        reached = max(reached, end)
    return reached >= total


def _assemble(pending: _Pending) -> Reassembled:
    """Lay the captured bytes out, first arrival winning, and cut at the first hole."""
    total = pending.total
    buffer = bytearray(total)
    for offset, _end, data in reversed(pending.pieces):  # earlier pieces overwrite later
        buffer[offset : offset + len(data)] = data
    captured = 0
    for offset, _end, data in sorted(pending.pieces):
        if offset > captured:
            break
        captured = max(captured, offset + len(data))
    captured = min(captured, total)
    return (bytes(buffer[:captured]), total - captured, tuple(sorted(set(pending.frames))),
            pending.upper)
