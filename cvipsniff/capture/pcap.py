"""Classic libpcap files: a 24-byte global header, then records of a 16-byte header and
the captured bytes.

Variants read: microsecond and nanosecond magic, both byte orders, and the "modified"
(Kuznetzov) format whose record headers carry 8 extra bytes. The file format has no
framing beyond the lengths in each record header, so a corrupt length is recovered by a
heuristic resync: the next offset where two consecutive plausible record headers follow
each other (timestamps near the last good one) is taken as the next record. See
https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcap/.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from cvipsniff.capture.source import ByteSource, NoteSink, WatchedNotes
from cvipsniff.model import Frame
from dissectors.accel import accelerated

__all__ = ["GLOBAL_HEADER_SIZE", "PcapHeader", "iter_pcap", "parse_pcap_header", "pcap_magic"]

GLOBAL_HEADER_SIZE = 24

# First four file bytes -> (struct byte order, nanosecond timestamps, record header size).
_MAGICS: dict[bytes, tuple[str, bool, int]] = {
    b"\xd4\xc3\xb2\xa1": ("<", False, 16),
    b"\xa1\xb2\xc3\xd4": (">", False, 16),
    b"\x4d\x3c\xb2\xa1": ("<", True, 16),
    b"\xa1\xb2\x3c\x4d": (">", True, 16),
    b"\x34\xcd\xb2\xa1": ("<", False, 24),  # modified libpcap (Kuznetzov patches)
    b"\xa1\xb2\xcd\x34": (">", False, 24),
}

# A record claiming more captured bytes than this is corrupt (Wireshark uses 262144 as
# its standard maximum; a larger declared snaplen raises the limit up to MAX_RECORD).
STANDARD_MAX_CAPLEN = 262144
MAX_RECORD = 16 << 20
MAX_ORIGLEN = 1 << 26
# Resync: how far to search, and how close in time a record must be to the last good one.
RESYNC_SCAN_LIMIT = 64 << 20
RESYNC_BLIND_SCAN_LIMIT = 1 << 20  # byte-by-byte, used when no good record came before
RESYNC_WINDOW = 1 << 16
RESYNC_TIME_WINDOW = 3600
_LINKTYPE_MASK = 0x03FFFFFF  # the upper bits of the link type field carry FCS information


@dataclass(frozen=True, slots=True)
class PcapHeader:
    byte_order: str
    nanosecond: bool
    record_header_size: int
    version: tuple[int, int]
    snaplen: int
    linktype: int

    @property
    def max_caplen(self) -> int:
        return min(max(self.snaplen, STANDARD_MAX_CAPLEN), MAX_RECORD)


def pcap_magic(head: bytes) -> bool:
    """True if ``head`` starts like a classic pcap file."""
    return head[:4] in _MAGICS


def parse_pcap_header(head: bytes) -> PcapHeader:
    """Decode the global header; ValueError (with a user-facing reason) if truncated."""
    byte_order, nanosecond, record_header_size = _MAGICS[head[:4]]
    if len(head) < GLOBAL_HEADER_SIZE:
        raise ValueError(f"pcap file header cut short ({len(head)} of 24 bytes)")
    _magic, major, minor, _zone, _sigfigs, snaplen, network = struct.unpack_from(
        byte_order + "IHHiIII", head
    )
    return PcapHeader(
        byte_order, nanosecond, record_header_size, (major, minor), snaplen,
        network & _LINKTYPE_MASK,
    )


class _Plausibility:
    """Decides whether bytes at an offset look like a record header (for resync)."""

    def __init__(self, header: PcapHeader) -> None:
        self.unpack = struct.Struct(header.byte_order + "IIII").unpack_from
        self.header_size = header.record_header_size
        self.max_caplen = header.max_caplen
        self.frac_limit = 1_000_000_000 if header.nanosecond else 1_000_000

    def record_length(self, buf: bytes, at: int, near_sec: int | None) -> int:
        """Header + data length of a plausible record at ``at``, else -1. A frame was
        at least one byte on the wire, which rules out runs of zeros."""
        sec, frac, incl, orig = self.unpack(buf, at)
        if incl > self.max_caplen or orig < incl or orig > MAX_ORIGLEN or orig == 0:
            return -1
        if frac >= self.frac_limit:
            return -1
        if near_sec is not None and abs(sec - near_sec) > RESYNC_TIME_WINDOW:
            return -1
        return self.header_size + incl


def _candidates(buf: bytes, start: int, stop: int, near_sec: int | None, big_endian: bool
                ) -> Iterator[int]:
    """Offsets in [start, stop) worth testing as a record header.

    With a reference time, only offsets where the upper three bytes of the seconds field
    match a time within ~4 minutes of it (found with ``bytes.find``, in C); otherwise
    every offset.
    """
    if near_sec is None:
        yield from range(start, stop)
        return
    shift = 0 if big_endian else 1  # where the upper 3 bytes sit inside the 4-byte field
    hits: set[int] = set()
    for bucket in {(near_sec >> 8) - 1, near_sec >> 8, (near_sec >> 8) + 1}:
        if not 0 <= bucket < 1 << 24:
            continue
        pattern = bucket.to_bytes(3, "big" if big_endian else "little")
        at = buf.find(pattern, start + shift, stop + shift + 2)
        while at != -1:
            hits.add(at - shift)
            at = buf.find(pattern, at + 1, stop + shift + 2)
    yield from sorted(h for h in hits if start <= h < stop)


def _resync(source: ByteSource, buf: bytes, pos: int, header: PcapHeader,
            near_sec: int | None) -> tuple[bytes, int, int]:
    """Search past a corrupt record at ``pos`` for the next plausible record.

    Returns (buffer, offset of the record or -1, bytes skipped). The buffer returned
    holds the found record at the returned offset.
    """
    check = _Plausibility(header)
    hsize = header.record_header_size
    lookahead = RESYNC_WINDOW + 2 * (hsize + header.max_caplen)
    limit = RESYNC_SCAN_LIMIT if near_sec is not None else RESYNC_BLIND_SCAN_LIMIT
    big_endian = header.byte_order == ">"
    skipped = 0
    start = pos + 1
    while skipped < limit:
        buf = source.fill(buf, start, lookahead)
        start = 0
        end = len(buf)
        at_eof = end < lookahead
        stop = min(RESYNC_WINDOW, end - hsize + 1)
        for at in _candidates(buf, 0, max(stop, 0), near_sec, big_endian):
            length = check.record_length(buf, at, near_sec)
            if length < 0:
                continue
            follower = at + length
            if follower == end and at_eof:
                return buf, at, skipped + at + 1
            # The follower must be close in time to this candidate (not only to near_sec).
            candidate_sec = check.unpack(buf, at)[0]
            if follower + hsize <= end and check.record_length(buf, follower, candidate_sec) >= 0:
                return buf, at, skipped + at + 1
        if at_eof and end - hsize + 1 <= RESYNC_WINDOW:
            return buf, -1, skipped + end + 1
        skipped += RESYNC_WINDOW
        start = RESYNC_WINDOW
    return buf, -1, skipped


def _walk_none(frame_type: type, buf: bytes, pos: int, big_endian: bool, header_size: int,
               nanosecond: bool, linktype: int, max_caplen: int, number: int,
               wanted: object = None, keep_first: bool = False, packet_type: object = None,
               lane: object = None) -> tuple[Sequence[Frame], int, int, int | None]:
    """The pure-Python stand-in of the compiled record walk: it walks nothing (and is
    never called: see ``_WALKS``). The compiled ``walk_pcap`` walks the run of records
    whole in ``buf`` from ``pos`` on that the loop below would read without a note (no
    resync, no refill), counting each in the frame numbers but building only the Frames
    ``wanted`` keeps (every one without it; and the first, where ``keep_first``), exactly
    as the loop builds them, or with a ``packet_type`` the Packet the decoder's fast path
    makes of a record it reads; it returns them, the offset after the run, the last
    frame number and the seconds of the last record walked. With a ``lane`` (a compiled
    ``FastLane``, see :func:`.open_capture`), the records it takes come as what they
    finished, or not at all; it stops after handing over a packet, before one it would
    take (``lane.paused``)."""
    return (), pos, number, None


_walk = accelerated("walk_pcap", _walk_none)
_WALKS = _walk is not _walk_none  # the compiled walk is there to be asked


def iter_pcap(source: ByteSource, buf: bytes, header: PcapHeader, note: NoteSink,
              wanted: object | None = None, packet_type: type | None = None,
              lane: Any = None) -> Iterator[Frame]:
    """Frames of a classic pcap file; ``buf`` starts with the global header.

    ``wanted``: a compiled ``FlowShare`` (a worker of a split, cvipsniff/split.py): the
    frames of well-formed records it says are another worker's are not built (their
    frame numbers are still counted, so the others keep the capture's); the first frame
    after a note always comes out, since that note goes out with it. ``packet_type``
    (the compiled path only): a record the packet decoder's fast path reads comes as
    the Packet it would make of it instead of its Frame (see :func:`.open_capture`);
    ``lane`` likewise."""
    # Hot loop: one unpack_from per record on the chunk buffer, one slice for the data,
    # and the Frame built with tuple.__new__ (skipping NamedTuple's Python-level __new__).
    # (wanted or lane only) whether a note went out since the last frame: the next record
    # must come out (not be skipped, not be taken quietly), since the note goes out with it
    watch = WatchedNotes(note) if wanted is not None or lane is not None else None
    if watch is not None:
        note = watch
    walks = _WALKS and (wanted is not None or packet_type is not None)
    walk = _walk
    big_endian = header.byte_order == ">"
    unpack = struct.Struct(header.byte_order + "IIII").unpack_from
    hsize = header.record_header_size
    scale = 1 if header.nanosecond else 1000
    linktype = header.linktype
    max_caplen = header.max_caplen
    new = tuple.__new__
    frame_type = Frame
    fill = source.fill
    pos = GLOBAL_HEADER_SIZE
    end = len(buf)
    number = 0
    last_sec: int | None = None  # seconds of the last good record, to guide a resync
    while True:
        if walks:  # a split worker's or a decoding reader's: the compiled walk
            frames, pos, number, walked_sec = walk(
                frame_type, buf, pos, big_endian, hsize, header.nanosecond, linktype,
                max_caplen, number, wanted, watch is not None and watch.noted, packet_type,
                lane)
            if walked_sec is not None:
                last_sec = walked_sec
            if frames:
                if watch is not None:
                    watch.noted = False
                yield from frames
            if lane is not None and lane.paused:
                continue  # it stopped to let a packet handed over be seen first: walk on
        if end - pos < hsize:
            buf = fill(buf, pos, hsize)
            pos, end = 0, len(buf)
            if end < hsize:
                partial = f"{end} bytes of a record header" if end else None
                source.report_end(note, number, partial)
                return
        sec, frac, incl, orig = unpack(buf, pos)
        if incl > max_caplen:
            buf, found, skipped = _resync(source, buf, pos, header, last_sec)
            outcome = (f"skipped {skipped} bytes to the next plausible record" if found >= 0
                       else "no plausible record follows; reading stopped")
            note("capture.corrupt_block", "error",
                 f"pcap record after frame {number} declares {incl} captured bytes "
                 f"(limit {max_caplen}); {outcome}", number)
            if found < 0:
                return
            pos, end = found, len(buf)
            continue
        stop = pos + hsize + incl
        if stop > end:
            buf = fill(buf, pos, hsize + incl)
            pos, end = 0, len(buf)
            stop = hsize + incl
            if stop > end:
                source.report_end(
                    note, number, f"last record has {end - hsize} of {incl} captured bytes"
                )
                return
        number += 1
        last_sec = sec
        if watch is not None:
            watch.noted = False
        yield new(frame_type, (number, sec * 1_000_000_000 + frac * scale, incl,
                               orig if orig > incl else incl, linktype,
                               buf[pos + hsize:stop], 0))
        pos = stop
