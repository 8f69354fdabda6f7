"""pcapng files: a sequence of self-delimiting blocks grouped in sections.

What matters for frames: the Section Header Block (byte order; it resets the interfaces),
Interface Description Blocks (link type, snaplen, ``if_tsresol`` and ``if_tsoffset`` per
interface), and the three packet blocks — Enhanced (EPB), Simple (SPB, which has neither
timestamp nor interface and uses interface 0 of its section) and the obsolete Packet
Block (OPB). Every other block (statistics, name resolution, decryption secrets, custom
blocks, types we have never heard of) is skipped by its length.

Each block repeats its total length at the end, so corruption is detectable: a block
whose lengths disagree or are absurd is reported and reading resumes at the next offset
where a well-formed block of a known type starts. See
https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcapng/.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator, Sequence
from typing import Any

from cvipsniff.capture.source import ByteSource, NoteSink, WatchedNotes
from cvipsniff.model import Frame
from cvipsniff.timestamps import END_TS_NS, MIN_TS_NS
from dissectors.accel import accelerated

__all__ = ["SHB_MAGIC", "iter_pcapng", "pcapng_magic"]

SHB_MAGIC = b"\x0a\x0d\x0d\x0a"
BT_SHB = 0x0A0D0D0A
BT_IDB = 1
BT_OPB = 2
BT_SPB = 3
BT_EPB = 6
_BYTE_ORDER_MAGIC = {b"\x4d\x3c\x2b\x1a": "<", b"\x1a\x2b\x3c\x4d": ">"}

OPT_ENDOFOPT = 0
IF_TSRESOL = 9
IF_TSOFFSET = 14

# A block longer than this is taken as corrupt: no real frame is anywhere near 16 MiB,
# and it bounds what one block can make us buffer.
MAX_BLOCK = 16 << 20
MIN_SHB = 28
EPB_FIXED = 32  # block header + 20 bytes of fields + trailing length
RESYNC_SCAN_LIMIT = 64 << 20
RESYNC_WINDOW = 1 << 20

# Where a known block type could start (lookahead, so overlapping candidates are seen).
_KNOWN_TYPE = {
    "<": re.compile(rb"(?=[\x01-\x0a]\x00\x00\x00|\x0a\x0d\x0d\x0a|\xad\x0b\x00[\x00\x40])"),
    ">": re.compile(rb"(?=\x00\x00\x00[\x01-\x0a]|\x0a\x0d\x0d\x0a|[\x00\x40]\x00\x0b\xad)"),
}

# An interface as the hot loop needs it: (link type, snaplen, ts multiplier, ts divisor,
# ts offset in ns, interface number across all sections).
Interface = tuple[int, int, int, int, int, int]


def pcapng_magic(head: bytes) -> bool:
    """True if ``head`` starts like a pcapng file."""
    return head[:4] == SHB_MAGIC


def _resolution(code: int) -> tuple[int, int]:
    """``if_tsresol`` to (multiplier, divisor) giving nanoseconds: the high bit selects a
    negative power of 2, otherwise of 10 (default 6, microseconds)."""
    exponent = code & 0x7F
    if code & 0x80:
        return 1_000_000_000, 1 << exponent
    if exponent <= 9:
        return 10 ** (9 - exponent), 1
    return 1, 10 ** (exponent - 9)


def _options(buf: bytes, start: int, stop: int, order: str) -> tuple[dict[int, bytes], bool]:
    """Options between ``start`` and ``stop`` as {code: first value}, and whether the list
    was well formed (a length running past the block is malformed)."""
    found: dict[int, bytes] = {}
    unpack = struct.Struct(order + "HH").unpack_from
    at = start
    while at + 4 <= stop:
        code, length = unpack(buf, at)
        if code == OPT_ENDOFOPT:
            return found, True
        value_end = at + 4 + length
        if value_end > stop:
            return found, False
        found.setdefault(code, buf[at + 4 : value_end])
        at = value_end + (-length % 4)
    return found, at == stop


def _interface(buf: bytes, pos: int, stop: int, order: str, number: int, note: NoteSink,
               frame: int) -> Interface:
    linktype, _reserved, snaplen = struct.unpack_from(order + "HHI", buf, pos + 8)
    options, well_formed = _options(buf, pos + 16, stop - 4, order)
    if not well_formed:
        note("capture.corrupt_block", "warning",
             f"interface {number}: malformed options in its description block "
             f"(after frame {frame}); defaults used for the rest", frame)
    resolution = options.get(IF_TSRESOL, b"\x06")
    multiplier, divisor = _resolution(resolution[0] if resolution else 6)
    offset_ns = 0
    raw_offset = options.get(IF_TSOFFSET)
    if raw_offset is not None and len(raw_offset) == 8:
        offset_ns = struct.unpack(order + "q", raw_offset)[0] * 1_000_000_000
    return (linktype, snaplen, multiplier, divisor, offset_ns, number)


def _block_ok(buf: bytes, at: int, end: int, order: str) -> int:
    """Length of a well-formed block at ``at`` (lengths agree, sane), -1 if not, or 0 if
    the buffer does not hold all of it yet."""
    if at + 12 > end:
        return 0
    if buf[at : at + 4] == SHB_MAGIC:
        shb_order = _BYTE_ORDER_MAGIC.get(buf[at + 8 : at + 12])
        if shb_order is None:
            return -1
        order = shb_order
    u32 = struct.Struct(order + "I").unpack_from
    length = u32(buf, at + 4)[0]
    if length < 12 or length & 3 or length > MAX_BLOCK:
        return -1
    if at + length > end:
        return 0
    return length if u32(buf, at + length - 4)[0] == length else -1


def _resync(source: ByteSource, buf: bytes, pos: int, order: str) -> tuple[bytes, int, int]:
    """Find the next well-formed block of a known type after a corrupt one at ``pos``.

    Returns (buffer, offset of that block in it or -1, bytes skipped)."""
    pattern = _KNOWN_TYPE[order]
    skipped = 0
    start = pos + 1
    while skipped < RESYNC_SCAN_LIMIT:
        buf = source.fill(buf, start, RESYNC_WINDOW + 12)
        end = len(buf)
        at_eof = end < RESYNC_WINDOW + 12
        for match in pattern.finditer(buf, 0, min(RESYNC_WINDOW, end)):
            at = match.start()
            length = _block_ok(buf, at, end, order)
            if length == 0 and at + 12 <= end:
                # The candidate runs past the buffer: extend for it alone (bounded by
                # MAX_BLOCK, rare since type and both lengths must agree).
                wanted = struct.unpack_from(order + "I", buf, at + 4)[0]
                if buf[at : at + 4] == SHB_MAGIC:
                    shb_order = _BYTE_ORDER_MAGIC.get(buf[at + 8 : at + 12], order)
                    wanted = struct.unpack_from(shb_order + "I", buf, at + 4)[0]
                buf = source.fill(buf, 0, at + wanted)
                end = len(buf)
                length = _block_ok(buf, at, end, order)
            if length > 0:
                return buf, at, skipped + at + 1
        if at_eof and end <= RESYNC_WINDOW:
            return buf, -1, skipped + end + 1
        skipped += RESYNC_WINDOW
        start = RESYNC_WINDOW
    return buf, -1, skipped


_NONE: tuple[Frame, ...] = ()


def _walk_none(frame_type: type, buf: bytes, pos: int, big_endian: bool,
               interfaces: list[Interface], number: int, last_ts: int, min_ts: int,
               end_ts: int, wanted: object = None, keep_first: bool = False,
               packet_type: object = None, lane: object = None,
               ) -> tuple[Sequence[Frame], int, int, int]:
    """The pure-Python stand-in of the compiled EPB walk: it walks nothing, so every block
    takes the reference loop below. The compiled ``walk_epbs`` returns the Frames of the run
    of well-formed Enhanced Packet Blocks from ``pos`` on (exactly as the loop's fast path
    builds them, stopping at a time outside ``[min_ts, end_ts)``, which the loop notes),
    the offset after them, the last frame number and timestamp. With ``wanted`` (see
    :func:`iter_pcapng`), only the Frames it keeps are built (and the first, where
    ``keep_first``); every block walked is counted in the frame numbers. With a
    ``packet_type``, a block the packet decoder's fast path reads comes as the Packet it
    would make of it instead of its Frame. With a ``lane`` (a compiled ``FastLane``, see
    :func:`.open_capture`), the blocks it takes come as what they finished, or not at
    all; it stops after handing over a packet, before one it would take (``lane.paused``)."""
    return _NONE, pos, number, last_ts


_walk = accelerated("walk_epbs", _walk_none)


def iter_pcapng(source: ByteSource, buf: bytes, note: NoteSink,
                wanted: object | None = None, packet_type: type | None = None,
                lane: Any = None) -> Iterator[Frame]:
    """Frames of a pcapng file; ``buf`` starts with its first Section Header Block.

    ``wanted``: a compiled ``FlowShare`` (a worker of a split, cvipsniff/split.py): the
    compiled walk does not build the frames of blocks it says are another worker's
    (their frame numbers are still counted); the first frame after a note always comes
    out, since that note goes out with it. ``packet_type`` (the compiled path only): a
    block the packet decoder's fast path reads comes as the Packet it would make of it
    instead of its Frame (see :func:`.open_capture`); ``lane`` likewise."""
    # (wanted or lane only) whether a note went out since the walk last returned frames: the
    # next block must come out (not skipped, not taken quietly), since the note goes with it
    watch = WatchedNotes(note) if wanted is not None or lane is not None else None
    if watch is not None:
        note = watch

    # Hot loop: struct.unpack_from on the chunk buffer (no per-block objects), the
    # interface as a plain tuple, and the Frame built with tuple.__new__ (skipping
    # NamedTuple's Python-level __new__).
    new = tuple.__new__
    frame_type = Frame
    fill = source.fill
    order = "<"
    header = struct.Struct("<II").unpack_from
    u32 = struct.Struct("<I").unpack_from
    epb = struct.Struct("<IIIII").unpack_from
    epb_block = struct.Struct("<IIIIIII").unpack_from  # with the block type and length
    interfaces: list[Interface] = []
    if_count = 0
    interface_base = 0  # interfaces of earlier sections, for numbering across sections
    pos, end = 0, len(buf)
    number = 0
    last_ts = 0

    def corrupt(reason: str) -> bool:
        """Report a corrupt block at ``pos`` and move ``pos`` to the next good block.
        False if there is none (reading stops)."""
        nonlocal buf, pos, end
        buf, found, skipped = _resync(source, buf, pos, order)
        outcome = (f"skipped {skipped} bytes to the next well-formed block" if found >= 0
                   else "no well-formed block follows; reading stopped")
        note("capture.corrupt_block", "error",
             f"pcapng block after frame {number}: {reason}; {outcome}", number)
        pos, end = found, len(buf)
        return found >= 0

    odd_interfaces: set[int] = set()

    def odd_time(if_number: int, ts_ns: int) -> None:
        """Frame ``number`` has a time no calendar can show: reported once per interface
        (its ``if_tsresol``/``if_tsoffset`` are the usual culprits); the time is kept."""
        if if_number not in odd_interfaces:
            odd_interfaces.add(if_number)
            note("capture.timestamp_range", "warning",
                 f"interface {if_number}: frame {number} has timestamp {ts_ns} ns, outside "
                 "1970-9999 (check its if_tsresol / if_tsoffset); such times are shown raw",
                 number)

    def skip_block(reason: str, outcome: str = "block skipped") -> None:
        """A block with intact framing but unusable content: report it, go on after it."""
        note("capture.corrupt_block", "warning",
             f"pcapng block after frame {number}: {reason}; {outcome}", number)

    walk = _walk
    while True:
        frames, pos, number, last_ts = walk(frame_type, buf, pos, order == ">", interfaces,
                                            number, last_ts, MIN_TS_NS, END_TS_NS, wanted,
                                            watch is not None and watch.noted, packet_type,
                                            lane)
        if frames:
            # (A frame from the loop below may have taken a note out already: keeping one
            # more first frame than needed only costs its building.)
            if watch is not None:
                watch.noted = False
            yield from frames
        if lane is not None and lane.paused:
            continue  # it stopped to let a packet handed over be seen first: walk on
        # Fast path: a well-formed EPB entirely in the buffer, checked with one unpack
        # of its fixed part and one of its trailing length. Anything else, slow path.
        if end - pos >= EPB_FIXED:
            btype, length, if_id, ts_high, ts_low, caplen, origlen = epb_block(buf, pos)
            stop = pos + length
            if (btype == BT_EPB and stop <= end and if_id < if_count
                    and caplen + EPB_FIXED <= length <= MAX_BLOCK and not length & 3
                    and u32(buf, stop - 4)[0] == length):
                linktype, _snap, multiplier, divisor, offset_ns, if_number = interfaces[if_id]
                last_ts = ((ts_high << 32) | ts_low) * multiplier // divisor + offset_ns
                number += 1
                if not MIN_TS_NS <= last_ts < END_TS_NS:
                    odd_time(if_number, last_ts)
                yield new(frame_type, (number, last_ts, caplen,
                                       origlen if origlen > caplen else caplen,
                                       linktype, buf[pos + 28 : pos + 28 + caplen], if_number))
                pos = stop
                continue
        if end - pos < 12:
            buf = fill(buf, pos, 12)
            pos, end = 0, len(buf)
            if end < 12:
                source.report_end(note, number, f"{end} bytes of a block header" if end else None)
                return
        btype, length = header(buf, pos)
        if btype == BT_SHB:
            section_order = _BYTE_ORDER_MAGIC.get(buf[pos + 8 : pos + 12])
            if section_order is None:
                if corrupt("section header with an invalid byte-order magic"):
                    continue
                return
            if section_order != order:
                order = section_order
                header = struct.Struct(order + "II").unpack_from
                u32 = struct.Struct(order + "I").unpack_from
                epb = struct.Struct(order + "IIIII").unpack_from
                epb_block = struct.Struct(order + "IIIIIII").unpack_from
                length = u32(buf, pos + 4)[0]
        if length < 12 or length & 3 or length > MAX_BLOCK:
            if corrupt(f"block type {btype:#x} declares length {length}"):
                continue
            return
        stop = pos + length
        if stop > end:
            buf = fill(buf, pos, length)
            pos, end = 0, len(buf)
            stop = length
            if stop > end:
                source.report_end(
                    note, number, f"last block (type {btype:#x}) has {end} of {length} bytes"
                )
                return
        if u32(buf, stop - 4)[0] != length:
            if corrupt(f"block type {btype:#x}: leading and trailing lengths differ"):
                continue
            return

        if btype == BT_EPB:
            if length < EPB_FIXED:
                skip_block(f"enhanced packet block of {length} bytes is too short")
            else:
                if_id, ts_high, ts_low, caplen, origlen = epb(buf, pos + 8)
                if if_id >= len(interfaces):
                    skip_block(f"enhanced packet block for undeclared interface {if_id}")
                elif caplen > length - EPB_FIXED:
                    skip_block(f"enhanced packet block: captured length {caplen} "
                               f"exceeds the block ({length} bytes)")
                else:
                    linktype, _snap, multiplier, divisor, offset_ns, if_number = (
                        interfaces[if_id])
                    last_ts = ((ts_high << 32) | ts_low) * multiplier // divisor + offset_ns
                    number += 1
                    if not MIN_TS_NS <= last_ts < END_TS_NS:
                        odd_time(if_number, last_ts)
                    yield new(frame_type, (number, last_ts, caplen,
                                           origlen if origlen > caplen else caplen,
                                           linktype, buf[pos + 28 : pos + 28 + caplen],
                                           if_number))
        elif btype == BT_SPB:
            if not interfaces:
                skip_block("simple packet block before any interface description")
            elif length < 16:
                skip_block(f"simple packet block of {length} bytes is too short")
            else:
                origlen = u32(buf, pos + 8)[0]
                linktype, snaplen, _m, _d, _o, if_number = interfaces[0]
                caplen = min(origlen, length - 16)
                if snaplen:
                    caplen = min(caplen, snaplen)
                number += 1
                # An SPB has no timestamp: it inherits the previous frame's, so latencies
                # and timeouts downstream stay sane (Wireshark shows it as time 0).
                yield new(frame_type, (number, last_ts, caplen, max(origlen, caplen),
                                       linktype, buf[pos + 12 : pos + 12 + caplen],
                                       if_number))
        elif btype == BT_IDB:
            if length < 20:
                skip_block(f"interface description block of {length} bytes is too short")
                interfaces.append((0xFFFF, 0, 1000, 1, 0, interface_base + if_count))
            else:
                interfaces.append(_interface(buf, pos, stop, order,
                                             interface_base + if_count, note, number))
            if_count = len(interfaces)
        elif btype == BT_OPB:
            if length < EPB_FIXED:
                skip_block(f"packet block of {length} bytes is too short")
            else:
                if_id, _drops, ts_high, ts_low, caplen, origlen = struct.unpack_from(
                    order + "HHIIII", buf, pos + 8)
                if if_id >= len(interfaces):
                    skip_block(f"packet block for undeclared interface {if_id}")
                elif caplen > length - EPB_FIXED:
                    skip_block(f"packet block: captured length {caplen} exceeds the block")
                else:
                    linktype, _snap, multiplier, divisor, offset_ns, if_number = (
                        interfaces[if_id])
                    last_ts = ((ts_high << 32) | ts_low) * multiplier // divisor + offset_ns
                    number += 1
                    if not MIN_TS_NS <= last_ts < END_TS_NS:
                        odd_time(if_number, last_ts)
                    yield new(frame_type, (number, last_ts, caplen, max(origlen, caplen),
                                           linktype, buf[pos + 28 : pos + 28 + caplen],
                                           if_number))
        elif btype == BT_SHB:
            if length < MIN_SHB:
                skip_block(f"section header block of {length} bytes is too short")
            else:
                major, minor = struct.unpack_from(order + "HH", buf, pos + 12)
                if major != 1:
                    skip_block(f"section of unsupported pcapng version {major}.{minor}",
                               "reading its blocks anyway")
            interface_base += if_count
            interfaces = []
            if_count = 0
        pos = stop
