"""Incremental framer for one direction of a CVIPv2 TCP stream (sans-I/O).

Every message carries its own length (Packet Size, header included), so framing is
"read 9 bytes, read the rest"; the work is in what happens when the stream is not clean:

* **Garbage / mid-session start**: bytes that do not start a plausible header are skipped
  until the next *resync point*: version bytes (``02 01`` or ``01 02``), then a header
  whose size is sane, and either ping-shaped (type 0x01, 16 or 37 bytes) or, for type
  0x00, a body whose first non-blank byte (a UTF-8 byte order mark counts as blank) is
  ``<``. The skipped run is reported once as
  ``Skipped(rule="cvip.framing.skipped")``.
* **Gaps**: the message in progress is emitted truncated; if the gap ended inside it, its
  remaining bytes are counted down and reported as skipped, and framing resumes on the
  next header without guessing; otherwise the framer resyncs.
* **A header is decided on all its evidence**, not on its version bytes alone (see
  ``dissectors/cvip/DECISIONS.md``, "Framing on evidence"):

  - the Packet Size in the byte order the version suggests, else in the other one
    (:func:`~dissectors.cvip.header.parse_header`), when that one is sane and the body
    fits (ping shape, or XML right after the 9 bytes);
  - version bytes other than ``02 01``/``01 02`` where a message is due: still a
    message (its dissection reports ``cvip.header.version``) if the rest is plausible
    (type 0x00 with XML right after the header, or a ping shape);
  - a size absurd in both byte orders (below 9, beyond the cap) with XML right after the
    header: the message ends where its XML root ends (``open-ended``); without XML, a
    size beyond the cap emits the header alone (``cvip.header.size_cap``) and counts the
    body down unbuffered, and one below 9 is garbage to resync past;
  - an XML message whose root element ends before its declared size, where a plausible
    header follows (after blanks): the size pointed past the next header; the message
    ends at its XML (``cvip.header.size_mismatch``) and framing resumes at that header.

  A decision waits until the bytes it needs are there (at most the header and a few
  dozen bytes of body past it); at a gap or the end of the stream, what cannot be seen
  counts as no evidence.

Linear time, as h11's receive buffer: consumed bytes are released by moving a read
position (compacting now and then), the resync scan resumes where it stopped and never
re-reads bytes it already rejected, and every wait for more bytes re-examines only a
bounded window. The results do not depend on how the stream is cut into ``feed`` calls:
one byte at a time or all at once gives the same events.
"""

from __future__ import annotations

import re
import struct
from enum import Enum

from dissectors.accel import cvip_framer
from dissectors.base import Framed, Framer, FramerEvent, Problem, Skipped
from dissectors.cvip.header import (
    HEADER_SIZE,
    SECTION,
    XML_LEAD,
    Header,
    byte_order_of,
    parse_header,
)
from dissectors.cvip.ping import REQUEST_SIZE, RESPONSE_SIZE
from dissectors.cvip.tables.enums import MSG_TYPE_NONE, MSG_TYPE_PING

DEFAULT_SIZE_CAP = 16 * 1024 * 1024
# How far into a body a resync check looks for the "<" of the XML: a body may start
# with an XML declaration after a little whitespace, never after pages of it.
MAX_LEADING_BLANKS = 64
_VERSION_BYTES = re.compile(rb"\x02\x01|\x01\x02")
# Packet Size (bytes 5..8 of the header) in each byte order.
_SIZE_BE = struct.Struct(">I")
_SIZE_LE = struct.Struct("<I")
_BLANKS = XML_LEAD
_COMPACT_AT = 64 * 1024
# The end of an XML message's root element, as far as framing needs to know it.
_ROOT_END = re.compile(rb"</[ \t\r\n]*(?:methodCall|methodResponse|AnalyticsData)[ \t\r\n]*>",
                       re.IGNORECASE)
_ROOT_END_MAX = 40  # the longest such tag a search may find cut across two feeds
_WAIT = -1  # a decision needs bytes not yet fed

SKIPPED = "cvip.framing.skipped"
TRUNCATED = "cvip.framing.truncated"
SIZE_CAP = "cvip.header.size_cap"
SIZE_MISMATCH = "cvip.header.size_mismatch"


class _Mode(Enum):
    SYNC = "expecting a header"
    BODY = "reading a message"
    DISCARD = "counting down bytes that are not buffered"
    RESYNC = "scanning for a plausible header"


class CvipFramer:
    """Cuts one direction's reassembled byte stream into CVIPv2 messages."""

    # Slots: one framer per flow direction, so 100,000 open flows hold 200,000 of
    # them; without a __dict__ each costs a fifth of the memory (issue 14). "__dict__" is
    # a slot too, so an attribute added later and not listed here still works (it only
    # costs that framer its dict again).
    __slots__ = (
        "__dict__",
        "_base", "_buf", "_closing", "_declared", "_discard_left", "_discard_reason",
        "_discard_rule", "_discard_seen", "_discard_start", "_end_scan", "_mode", "_msg_len",
        "_open_ended", "_pos", "_scan", "_skip_len", "_skip_start", "_xml", "size_cap",
        "size_includes_header",
    )

    def __init__(self, size_cap: int = DEFAULT_SIZE_CAP, size_includes_header: bool = True):
        self.size_cap = size_cap
        self.size_includes_header = size_includes_header
        self._buf = bytearray()
        self._pos = 0  # read position in _buf
        self._base = 0  # stream offset of _buf[0]
        self._mode = _Mode.SYNC
        self._msg_len = 0  # total length of the message being read (BODY)
        self._scan = 0  # where the resync search resumes (RESYNC)
        # Garbage not yet reported: a contiguous run ending at the read position.
        self._skip_start = 0
        self._skip_len = 0
        # DISCARD bookkeeping: bytes still to drop, and the run seen so far.
        self._discard_left = 0
        self._discard_start = 0
        self._discard_seen = 0
        self._discard_rule = SIZE_CAP
        self._discard_reason = ""
        # BODY on evidence: watch an XML body for the end of its root element.
        self._xml = False  # the message in progress is XML (its end may be found)
        self._end_scan = 0  # where the root-end search resumes (absolute in _buf)
        self._open_ended = False  # the size told nothing: the XML's end ends it
        self._declared = 0  # the Packet Size as read (for the problem texts)
        self._closing = False  # at a gap or the end: bytes not there are no evidence

    # ---- Framer protocol --------------------------------------------------------------

    def feed(self, data: bytes) -> list[FramerEvent]:
        out: list[FramerEvent] = []
        view = memoryview(data)
        if self._mode is _Mode.DISCARD and self._pos == len(self._buf):
            # Not buffering an oversized body: count it down straight from the input.
            take = min(self._discard_left, len(view))
            self._release_all(self._base + len(self._buf) + take)
            self._discard(take, out)
            view = view[take:]
        if len(view):
            self._buf += view
        self._run(out)
        self._compact()
        return out

    def gap(self, length: int) -> list[FramerEvent]:
        out: list[FramerEvent] = []
        self._decide_now(out)
        avail = len(self._buf) - self._pos
        here = self._base + self._pos
        resume = _Mode.RESYNC
        if self._mode is _Mode.DISCARD:
            self._discard(avail, out)  # whatever was buffered before the gap
            self._emit_discarded(out, cut_by_gap=True)
            left = self._discard_left - length
            if left > 0:
                # The gap fell inside the run: keep counting down after it.
                self._discard_left = left
                self._discard_start = self._base + len(self._buf) + length
                resume = _Mode.DISCARD
            else:
                self._discard_left = 0
                resume = _Mode.SYNC if left == 0 else _Mode.RESYNC
        elif self._mode is _Mode.BODY and self._open_ended:
            self._emit_truncated(out, f"message cut by a gap of {length} bytes after "
                                 f"{avail} bytes, before its XML ended")
        elif self._mode is _Mode.BODY:
            remaining = self._msg_len - avail
            self._emit_truncated(out, f"message cut by a gap of {length} bytes after "
                                 f"{avail} of {self._msg_len} bytes")
            if length < remaining:
                self._start_discard(here + avail + length, remaining - length, TRUNCATED,
                                    f"rest of a message cut by a gap ({remaining - length} "
                                    "bytes after the gap)")
                resume = _Mode.DISCARD
            elif length == remaining:
                resume = _Mode.SYNC
        elif self._mode is _Mode.SYNC and avail and self._starts_like_header():
            self._emit_truncated(out, f"header cut by a gap of {length} bytes")
        else:
            self._garbage(avail)
        self._flush_skipped(out)
        self._release_all(self._base + len(self._buf) + length)
        self._mode = resume
        self._scan = 0
        return out

    def close(self) -> list[FramerEvent]:
        out: list[FramerEvent] = []
        self._decide_now(out)
        avail = len(self._buf) - self._pos
        if self._mode is _Mode.DISCARD:
            self._discard(avail, out)
            self._emit_discarded(out, cut_by_gap=False)
        elif self._mode is _Mode.BODY and self._open_ended:
            self._emit_truncated(out, f"stream ended after {avail} bytes, before the "
                                 "message's XML did")
        elif self._mode is _Mode.BODY:
            self._emit_truncated(out, f"stream ended after {avail} of {self._msg_len} bytes")
        elif self._mode is _Mode.SYNC and avail and self._starts_like_header():
            self._emit_truncated(out, f"stream ended inside a header ({avail} of "
                                 f"{HEADER_SIZE} bytes)")
        else:
            self._garbage(avail)
        self._flush_skipped(out)
        self._release_all(self._base + len(self._buf))
        self._mode = _Mode.SYNC
        return out

    # ---- the state machine ------------------------------------------------------------

    def _run(self, out: list[FramerEvent]) -> None:
        buf = self._buf
        while True:
            avail = len(buf) - self._pos
            mode = self._mode
            if mode is _Mode.DISCARD:
                take = min(self._discard_left, avail)
                if take == 0:
                    return
                self._pos += take
                self._discard(take, out)
            elif mode is _Mode.SYNC:
                if avail < 2:
                    return
                pos = self._pos
                first, second = buf[pos], buf[pos + 1]
                if first == 0x02 and second == 0x01:
                    size_at = _SIZE_BE
                elif first == 0x01 and second == 0x02:
                    size_at = _SIZE_LE
                else:
                    verdict = self._other_version(pos)
                    if verdict is None:
                        return
                    if not verdict:
                        self._enter_resync()
                    continue
                if avail < HEADER_SIZE:
                    return
                # struct on the hot path: only the size is needed to cut the message.
                (size,) = size_at.unpack_from(buf, pos + 5)
                total = size if self.size_includes_header else size + HEADER_SIZE
                if HEADER_SIZE <= total <= self.size_cap:
                    self._start_body(pos, size, total)
                    continue
                verdict = self._absurd_size(pos)
                if verdict is None:
                    return
                if verdict:
                    continue
                if total < HEADER_SIZE:
                    self._enter_resync()
                elif total > self.size_cap:
                    self._flush_skipped(out)
                    problem = Problem(
                        SIZE_CAP, "error",
                        f"declared size {size} bytes is beyond the {self.size_cap}-byte "
                        "cap; body counted down, not buffered", SECTION, 5, 4)
                    out.append(Framed(self._base + self._pos,
                                      bytes(buf[self._pos:self._pos + HEADER_SIZE]), [problem],
                                      truncated=True))
                    self._pos += HEADER_SIZE
                    self._start_discard(self._base + self._pos, total - HEADER_SIZE, SIZE_CAP,
                                        f"body of a message declaring {size} bytes "
                                        f"(cap {self.size_cap})")
                    self._mode = _Mode.DISCARD
            elif mode is _Mode.BODY:
                if self._xml:
                    cut = self._xml_end(avail)
                    if cut == _WAIT:
                        return
                    if cut:
                        self._emit_at_xml_end(cut, out)
                        continue
                if avail < self._msg_len:
                    return
                if self._skip_len:
                    self._flush_skipped(out)
                if self._open_ended:  # no end of XML within the cap
                    self._emit_cut_at_cap(out)
                    continue
                start = self._pos
                end = self._pos = start + self._msg_len
                with memoryview(buf) as view:  # one copy, straight out of the buffer
                    out.append(Framed(self._base + start, bytes(view[start:end])))
                self._mode = _Mode.SYNC
            elif not self._resync_step():
                return

    # ---- deciding a header on its evidence ---------------------------------------------

    def _start_body(self, pos: int, size: int, total: int, *, open_ended: bool = False) -> None:
        """Read a message of ``total`` bytes at ``pos`` (or, open-ended, until its XML
        ends), watching an XML body for an end before the declared one."""
        self._msg_len = total
        self._declared = size
        self._open_ended = open_ended
        self._xml = total > HEADER_SIZE and self._buf[pos + 2] == MSG_TYPE_NONE
        self._end_scan = pos + HEADER_SIZE
        self._mode = _Mode.BODY

    def _xml_follows(self, at: int) -> bool | None:
        """Whether the first non-blank byte after a header at ``at`` opens an XML element
        (None: not enough bytes yet)."""
        buf = self._buf
        body = at + HEADER_SIZE
        stop = min(len(buf), body + MAX_LEADING_BLANKS + 1)
        for i in range(body, stop):
            if buf[i] not in _BLANKS:
                return buf[i] == 0x3C  # "<"
        if stop == body + MAX_LEADING_BLANKS + 1 or self._closing:
            return False
        return None

    def _other_version(self, pos: int) -> bool | None:
        """Version bytes other than 02 01 / 01 02 where a message is due: a message all
        the same if the rest of the header and the body fit (True; the dissector reports
        the version), garbage otherwise (False), None until the bytes are there."""
        buf = self._buf
        avail = len(buf) - pos
        # A version is a major and a minor byte: one of them 1 or 2 (0x0200, 0x0102...).
        if buf[pos] not in (1, 2) and buf[pos + 1] not in (1, 2):
            return False
        if avail >= 3 and buf[pos + 2] not in (MSG_TYPE_NONE, MSG_TYPE_PING):
            return False
        if avail < HEADER_SIZE:
            return False if self._closing else None
        header = parse_header(buf, pos, self.size_cap)
        assert header is not None
        return self._start_message(pos, header, size_trusted=True)

    def _absurd_size(self, pos: int) -> bool | None:
        """A known version with a Packet Size absurd in its byte order: read it in the
        other order if that one is sane and the body fits, or end the message where its
        XML ends. False: no evidence of a message (the caller's old rules apply)."""
        header = parse_header(self._buf, pos, self.size_cap)
        assert header is not None
        return self._start_message(pos, header, size_trusted=header.order_from_size)

    def _start_message(self, pos: int, header: Header, *, size_trusted: bool) -> bool | None:
        """Start the message whose header is at ``pos``: a ping of one of the two ping
        sizes, or an XML-RPC message whose body starts with XML. An untrusted or
        impossible size makes the XML message open-ended (it ends where its XML ends).
        False: no message here; None: not enough bytes to tell yet."""
        total = self._total(header.size)
        if header.msg_type == MSG_TYPE_PING:
            if size_trusted and total in (REQUEST_SIZE, RESPONSE_SIZE):
                self._start_body(pos, header.size, total)
                return True
            return False
        if header.msg_type != MSG_TYPE_NONE:
            return False
        xml = self._xml_follows(pos)
        if not xml:
            return xml
        if size_trusted and HEADER_SIZE < total <= self.size_cap:
            self._start_body(pos, header.size, total)
        else:
            self._start_body(pos, header.size, self.size_cap, open_ended=True)
        return True

    def _xml_end(self, avail: int) -> int:
        """Where an XML message ends before its declared size, by evidence: its root
        element's end tag, blanks, then (unless open-ended) a plausible header. Returns
        the message length, 0 for "the declared size stands", or ``_WAIT``."""
        buf = self._buf
        pos = self._pos
        limit = pos + min(avail, self._msg_len)
        match = _ROOT_END.search(buf, self._end_scan, limit)
        if match is None:
            if avail >= self._msg_len:
                self._xml = False  # nothing ends it early: the declared size stands
            else:
                self._end_scan = max(self._end_scan, limit - _ROOT_END_MAX)
            return 0
        self._end_scan = match.start()  # found again at once if a decision has to wait
        end = match.end()
        stop = len(buf)
        while end < stop and buf[end] in _BLANKS and end - pos < self._msg_len:
            end += 1
        if end - pos >= self._msg_len and not self._open_ended:
            self._xml = False  # the XML fills the declared size
            return 0
        if end == stop and not self._closing:
            return _WAIT  # the blanks may go on
        if self._open_ended:
            return end - pos
        verdict = self._plausible(end)
        if verdict is None:
            if not self._closing:
                return _WAIT
            verdict = False
        if verdict:
            return end - pos
        self._end_scan = match.end()  # something else follows inside the message
        return 0

    def _emit_at_xml_end(self, length: int, out: list[FramerEvent]) -> None:
        """Emit the message in progress as ``length`` bytes, ended by its XML."""
        self._flush_skipped(out)
        start = self._pos
        problems: list[Problem] = []
        if not self._open_ended:
            problems.append(Problem(
                SIZE_MISMATCH, "error",
                f"Packet Size says {self._declared} bytes, but the message's XML ends after "
                f"{length} and the next header starts there; message ended at its XML",
                SECTION, 5, 4))
        elif self._total(self._declared) > self.size_cap:
            problems.append(Problem(
                SIZE_CAP, "error",
                f"Packet Size {self._declared} is beyond the {self.size_cap}-byte cap in "
                f"either byte order; message ended where its XML ended", SECTION, 5, 4))
        out.append(Framed(self._base + start, bytes(self._buf[start:start + length]),
                          problems))
        self._pos = start + length
        self._xml = self._open_ended = False
        self._mode = _Mode.SYNC

    def _emit_cut_at_cap(self, out: list[FramerEvent]) -> None:
        """An open-ended message reached the size cap without its XML ending: emit what
        the cap allows, truncated, and resync after it."""
        start = self._pos
        problem = Problem(SIZE_CAP, "error",
                          f"no end of the XML within the {self.size_cap}-byte cap; message "
                          "cut there", SECTION, 5, 4)
        out.append(Framed(self._base + start, bytes(self._buf[start:start + self._msg_len]),
                          [problem], truncated=True))
        self._pos = start + self._msg_len
        self._xml = self._open_ended = False
        self._mode = _Mode.RESYNC
        self._scan = self._pos

    def _decide_now(self, out: list[FramerEvent]) -> None:
        """At a gap or the end: take the decisions that were waiting for bytes that will
        not come (they count as no evidence)."""
        self._closing = True
        try:
            self._run(out)
        finally:
            self._closing = False

    def _enter_resync(self) -> None:
        """The byte at the read position starts no message: scan from the next one."""
        self._mode = _Mode.RESYNC
        self._scan = self._pos + 1

    def _resync_step(self) -> bool:
        """Look for the next plausible header; True when found (mode is SYNC again)."""
        buf = self._buf
        scan = max(self._scan, self._pos)
        while True:
            match = _VERSION_BYTES.search(buf, scan)
            if match is None:
                # Everything before the last byte is garbage; the last byte may still be
                # the first half of a version pair.
                end = len(buf)
                if end > scan and buf[end - 1] in (0x01, 0x02):
                    end -= 1
                self._garbage(max(0, end - self._pos))
                self._scan = self._pos
                return False
            candidate = match.start()
            verdict = self._plausible(candidate)
            if verdict is None:
                self._garbage(candidate - self._pos)
                self._scan = candidate
                return False
            if verdict:
                self._garbage(candidate - self._pos)
                self._mode = _Mode.SYNC
                return True
            scan = candidate + 1

    def _plausible(self, at: int) -> bool | None:
        """Whether a header at ``at`` is a believable resync point; None until enough
        bytes are there to tell (the answer never depends on how the bytes arrived)."""
        buf = self._buf
        avail = len(buf) - at
        if avail < HEADER_SIZE:
            return None
        header = parse_header(buf, at)
        assert header is not None
        total = self._total(header.size)
        if header.msg_type == MSG_TYPE_PING:
            return total in (REQUEST_SIZE, RESPONSE_SIZE)
        if header.msg_type != MSG_TYPE_NONE or total <= HEADER_SIZE or total > self.size_cap:
            return False
        window = min(total - HEADER_SIZE, MAX_LEADING_BLANKS + 1)
        body = at + HEADER_SIZE
        for i in range(body, body + min(window, avail - HEADER_SIZE)):
            byte = buf[i]
            if byte not in _BLANKS:
                return byte == 0x3C  # "<"
        return None if avail - HEADER_SIZE < window else False

    # ---- helpers ------------------------------------------------------------------------

    def _total(self, declared: int) -> int:
        return declared if self.size_includes_header else declared + HEADER_SIZE

    def _starts_like_header(self) -> bool:
        head = bytes(self._buf[self._pos:self._pos + 2])
        return byte_order_of(head) is not None or head in (b"\x01", b"\x02")

    def _garbage(self, length: int) -> None:
        """Mark ``length`` bytes at the read position as skipped (reported later, merged
        with the run they continue)."""
        if length <= 0:
            return
        if self._skip_len == 0:
            self._skip_start = self._base + self._pos
        self._skip_len += length
        self._pos += length

    def _flush_skipped(self, out: list[FramerEvent]) -> None:
        if self._skip_len:
            out.append(Skipped(self._skip_start, self._skip_len, SKIPPED,
                               "bytes before a plausible CVIP header (garbage, a capture that "
                               "starts mid-message, or resync after a gap)"))
            self._skip_len = 0

    def _emit_truncated(self, out: list[FramerEvent], why: str) -> None:
        self._flush_skipped(out)
        data = bytes(self._buf[self._pos:])
        problem = Problem(TRUNCATED, "error", why, SECTION, 0, len(data))
        out.append(Framed(self._base + self._pos, data, [problem], truncated=True))
        self._pos = len(self._buf)

    def _start_discard(self, start: int, length: int, rule: str, reason: str) -> None:
        self._discard_left = length
        self._discard_start = start
        self._discard_seen = 0
        self._discard_rule = rule
        self._discard_reason = reason

    def _discard(self, take: int, out: list[FramerEvent]) -> None:
        """Count ``take`` bytes of the discarded run (already consumed by the caller)."""
        take = min(take, self._discard_left)
        self._discard_left -= take
        self._discard_seen += take
        if self._discard_left == 0 and self._mode is _Mode.DISCARD:
            self._emit_discarded(out, cut_by_gap=False)
            self._mode = _Mode.SYNC

    def _emit_discarded(self, out: list[FramerEvent], cut_by_gap: bool) -> None:
        if self._discard_seen:
            reason = self._discard_reason
            if cut_by_gap:
                reason += "; interrupted by a gap"
            elif self._discard_left:
                reason += f"; stream ended {self._discard_left} bytes short"
            out.append(Skipped(self._discard_start, self._discard_seen, self._discard_rule,
                               reason))
        self._discard_start += self._discard_seen
        self._discard_seen = 0

    def _release_all(self, new_base: int) -> None:
        """Drop the buffer; the next byte fed has stream offset ``new_base``."""
        self._buf = bytearray()
        self._pos = 0
        self._base = new_base

    def _compact(self) -> None:
        if self._pos and (self._pos >= _COMPACT_AT or self._pos * 2 >= len(self._buf)):
            del self._buf[:self._pos]
            self._base += self._pos
            self._scan = max(0, self._scan - self._pos)
            self._end_scan = max(0, self._end_scan - self._pos)
            self._pos = 0


_compiled_framer = cvip_framer(Framed, Skipped, Problem, SECTION)
# The compiled framer counts in unsigned 64-bit integers; any other cap (never the
# engine's) keeps the reference.
_COMPILED_CAPS = range(1 << 63)


def new_framer(size_cap: int = DEFAULT_SIZE_CAP, size_includes_header: bool = True) -> Framer:
    """A framer for one direction of a CVIP stream (what ``PROTOCOL.new_framer`` makes):
    the compiled twin of :class:`CvipFramer` where the accelerator is built (the same
    events, whatever the input; ``tests/test_cvip_framer_equivalence.py``), else
    :class:`CvipFramer` itself."""
    if _compiled_framer is not None and type(size_cap) is int and size_cap in _COMPILED_CAPS:
        return _compiled_framer(size_cap, bool(size_includes_header))
    return CvipFramer(size_cap, size_includes_header)
