"""Incremental framer for one direction of an ImageServer connection (sans-I/O).

Message shapes (``NOTES.md`` ImageServer items 1–2):

* an XML document (``<methodcall>``, ``<methodresponse>``, ``<livepackage>``), with or
  without an XML declaration, possibly after a UTF-8 BOM or whitespace, ended by
  ``\\r\\n\\r\\n``;
* an ``ImageResponse``: an HTTP-like header block ended by a blank line, then exactly
  ``Content-length`` bytes of body and ``\\r\\n\\r\\n``; or, with
  ``Content-type: multipart/related; boundary=B``, parts up to the closing ``--B--`` and
  ``\\r\\n\\r\\n``.

Where a message ends is decided from the bytes alone, never from how they were chunked:
fed one byte at a time the framer yields exactly what it yields fed everything at once.
Each decision waits until every byte it depends on is present, and every search remembers
how far it got (the ``_receivebuffer`` idea of h11), so a header arriving byte by byte is
scanned once: linear time whatever the peer does.

Recovery: a Content-length that lies, a missing terminator, garbage, a gap. The strong sign
that a new message starts is ``\\r\\n\\r\\n`` followed by a message start
(:data:`MESSAGE_STARTS`); it is looked for inside bodies so a lying length cannot swallow
the next message. Memory is bounded by the caps; an oversized body is counted down, never
buffered.

Division of labour with the dissector: the framer reports what only the stream shows (a
gap, the end of the stream, a cap, skipped bytes, a missing terminator); the dissector
reports what the message's own bytes show (a body shorter or longer than its
Content-length, a broken multipart). See ``DECISIONS.md``.
"""

from __future__ import annotations

import re
from enum import IntEnum, auto

from dissectors.accel import imageserver_framer
from dissectors.base import Framed, Framer, FramerEvent, Problem, Skipped

from . import headers, rules
from .tables import S_IMAGE_MULTIPART, S_IMAGE_SINGLE, S_INTRO, S_LIVE_RESPONSES

BLANK_LINE = b"\r\n\r\n"
CRLF = b"\r\n"
BOM = b"\xef\xbb\xbf"
IMAGE_START = b"ImageResponse\r\n"
#: Byte sequences that begin a message; used to resynchronise and to spot a message
#: starting where the previous one should still be going on.
MESSAGE_STARTS: tuple[bytes, ...] = (
    IMAGE_START,
    b"<?xml",
    BOM + b"<?xml",
    b"<methodcall>",
    b"<methodresponse>",
    b"<livepackage>",
)
_XML_STARTS = tuple(t for t in MESSAGE_STARTS if t != IMAGE_START)
# Inside an XML message, these mean the next message has begun.
_XML_INTERRUPTIONS = (b"<?xml", IMAGE_START)
_MAX_START = max(len(t) for t in MESSAGE_STARTS)
_WHITESPACE = frozenset(b" \t\r\n")
_ROOT_NAME = re.compile(rb"<([A-Za-z_][-\w.:]{0,254})[\s/>]")
_ROOT_WINDOW = 64 * 1024  # the root start tag must appear this early to be used
_MULTIPART_PREFIX = "multipart/"  # the document's multipart/related, framed like any multipart
DEFAULT_MAX_HEADER_BYTES = 64 * 1024
DEFAULT_MAX_XML_BYTES = 1 << 20
DEFAULT_MAX_BODY = 64 << 20


class _State(IntEnum):  # IntEnum: hashed in C (a reader lookup per step)
    SEEK = auto()  # between messages
    RESYNC = auto()  # skipping garbage up to the next message start
    XML = auto()
    HEAD = auto()  # ImageResponse header block
    BODY = auto()  # Content-length body (+ trailer)
    OPEN = auto()  # ImageResponse without a usable Content-length
    MULTI = auto()  # multipart body up to the closing boundary (+ trailer)
    DISCARD = auto()  # counting down bytes not buffered (oversized or gap-cut body)


def _starts_message(buf: bytearray, i: int, limit: int, hard: bool,
                    starts: tuple[bytes, ...] = MESSAGE_STARTS) -> bool | None:
    """Whether ``buf[i:limit]`` begins with a message start: True, False, or None when
    more bytes are needed to tell (only if ``limit`` is not ``hard``, i.e. more may come)."""
    undecided = False
    for token in starts:
        end = i + len(token)
        if end <= limit:
            if buf.startswith(token, i):
                return True
        elif not hard and token.startswith(bytes(buf[i:limit])):
            undecided = True
    return None if undecided else False


def _find_next_start(buf: bytearray, pos: int, limit: int, hard: bool) -> tuple[int, int]:
    """First ``\\r\\n\\r\\n`` at or after ``pos`` that is followed by a message start lying
    wholly before ``limit``. Returns (its index or -1, where to resume next time)."""
    while True:
        p = buf.find(BLANK_LINE, pos, limit)
        if p < 0:
            return -1, max(pos, limit - len(BLANK_LINE) + 1)
        verdict = _starts_message(buf, p + len(BLANK_LINE), limit, hard)
        if verdict:
            return p, p
        if verdict is None:
            return -1, p
        pos = p + 1


def _message_follows(buf: bytearray, i: int) -> int | None:
    """After a body ending at ``i`` without its trailer: where the next message starts if
    it follows at once (``i``, or ``i + 2`` after a lone CR-LF); -1 if what follows is no
    message start; None if more bytes are needed."""
    n = len(buf)
    here = _starts_message(buf, i, n, hard=False)
    if here:
        return i
    if buf.startswith(CRLF, i):
        after = _starts_message(buf, i + 2, n, hard=False)
        if after:
            return i + 2
        if after is None:
            return None
    elif n - i < 2 and CRLF.startswith(bytes(buf[i:])):
        return None
    return None if here is None else -1


def _framing(rule: str, message: str, spec: str) -> Problem:
    return rules.problem(rule, message, spec)


class ImageServerFramer:
    """Cuts one direction of an ImageServer TCP stream into messages.

    Caps (keyword arguments): ``max_header_bytes`` for an ImageResponse header block,
    ``max_xml_bytes`` for an XML message, ``max_body`` for a body or a multipart body.
    """

    # Slots: one framer per flow direction, so 100,000 open flows hold 200,000 of
    # them; without a __dict__ each costs a fifth of the memory (issue 14). "__dict__" is
    # a slot too, so an attribute added later and not listed here still works (it only
    # costs that framer its dict again).
    __slots__ = (
        "__dict__",
        "_base", "_blank_end", "_body_end", "_body_start", "_buf", "_close_delimiter",
        "_close_end", "_close_scan", "_close_tag", "_closing", "_cut_at", "_cut_scan",
        "_early_rule", "_embedded", "_expect_trailer", "_lead", "_next_scan", "_overrun",
        "_part_at", "_part_end", "_part_scan", "_remaining", "_root", "_root_scan", "_scan",
        "_skip_len", "_skip_reason", "_skip_rule", "_skip_start", "_state", "_strict",
        "_ws_scan", "max_body", "max_header_bytes", "max_xml_bytes",
    )

    def __init__(self, *, max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
                 max_xml_bytes: int = DEFAULT_MAX_XML_BYTES,
                 max_body: int = DEFAULT_MAX_BODY) -> None:
        # A header or XML cap of 0 leaves no room for any message: every one would be cut
        # before its first byte and sought again at the same place, forever.
        for name, cap, least in (("max_header_bytes", max_header_bytes, 1),
                                 ("max_xml_bytes", max_xml_bytes, 1), ("max_body", max_body, 0)):
            if cap < least:
                raise ValueError(f"{name} must be at least {least}, not {cap!r}")
        self.max_header_bytes = max_header_bytes
        self.max_xml_bytes = max_xml_bytes
        self.max_body = max_body
        # Front deletion from a bytearray is amortised O(1) in CPython, so consumed bytes
        # are deleted at once and every index below is relative to the current message.
        self._buf = bytearray()
        self._base = 0  # stream offset of _buf[0]
        self._state = _State.SEEK
        self._strict = False  # after a gap or garbage only MESSAGE_STARTS begin a message
        # RESYNC / DISCARD bookkeeping: a run of skipped bytes reported as one Skipped.
        self._skip_start = 0
        self._skip_len = 0
        self._skip_rule = rules.SKIPPED
        self._skip_reason = ""
        self._remaining = 0  # DISCARD: declared bytes still to come
        self._expect_trailer = False  # DISCARD: a trailer follows the counted bytes
        self._early_rule = rules.SKIPPED  # DISCARD: rule if a message starts early
        self._closing = False  # at a gap or the end: bytes not yet there never come
        self._new_message()

    def _new_message(self) -> None:
        self._lead = 0  # index of the message's first markup byte (after BOM/whitespace)
        self._scan = 0  # generic remembered search position
        self._blank_end = -1  # XML: end of the first blank line
        self._root: bytes | None = None
        self._root_scan: int | None = 0
        self._close_tag = b""
        self._close_scan = 0
        self._close_end = -1
        self._ws_scan = 0
        self._cut_scan = 0  # XML: search for _XML_INTERRUPTIONS
        self._cut_at = -1
        self._body_start = 0
        self._body_end = 0
        self._next_scan = 0
        self._overrun = False
        self._close_delimiter = b""
        self._embedded = -1  # BODY: a blank line + message start inside the declared body
        self._part_at = -1  # MULTI: where the next part's delimiter is due (parts walk)
        self._part_scan = 0  # MULTI: where the search for that part's header end resumes
        self._part_end = -1  # MULTI: where that part's data ends, once its header is read

    # ---- Framer protocol ------------------------------------------------------------------

    def feed(self, data: bytes) -> list[FramerEvent]:
        out: list[FramerEvent] = []
        if data:
            self._buf += data
            readers = _READERS
            while readers[self._state](self, out):  # _step, inlined: once per segment
                pass
        return out

    def gap(self, length: int) -> list[FramerEvent]:
        out: list[FramerEvent] = []
        if length <= 0:
            return out
        self._settle(out)
        self._give_up(out, gap=length)
        return out

    def close(self) -> list[FramerEvent]:
        out: list[FramerEvent] = []
        self._settle(out)
        self._give_up(out, gap=0)
        return out

    def _settle(self, out: list[FramerEvent]) -> None:
        """Take the decisions that wait for bytes the stream will not bring any more (at a
        gap or its end), then stop where nothing more can be decided."""
        self._closing = True
        try:
            while self._step(out):
                pass
        finally:
            self._closing = False

    # ---- steps ----------------------------------------------------------------------------

    def _step(self, out: list[FramerEvent]) -> bool:
        """One step of the state's reader; True when it made progress (call again)."""
        return _READERS[self._state](self, out)

    def _seek(self, out: list[FramerEvent]) -> bool:
        buf = self._buf
        n = len(buf)
        if not n:
            return False
        i = self._scan
        if i == 0:
            if n < len(BOM) and BOM.startswith(bytes(buf)):
                return False
            if buf.startswith(BOM):
                i = len(BOM)
        while i < n and buf[i] in _WHITESPACE:
            i += 1
        self._scan = i
        if i == n:
            if n > self.max_header_bytes:
                self._skip_now(out, n, rules.SKIPPED, "whitespace between messages")
            return False
        kind = self._classify(i)
        if kind is None:
            return False
        self._lead = i
        if kind == "image":
            self._state, self._scan = _State.HEAD, i
        elif kind == "xml":
            self._state, self._scan = _State.XML, i
            self._cut_scan = self._root_scan = i
        else:
            self._start_resync(rules.SKIPPED, "bytes that start no ImageServer message")
            self._strict = True
            return True
        self._strict = False
        return True

    def _classify(self, i: int) -> str | None:
        """"image", "xml", "garbage", or None to wait for more bytes."""
        buf, n = self._buf, len(self._buf)
        if buf.startswith(IMAGE_START, i):
            return "image"
        head = bytes(buf[i: i + _MAX_START])
        if len(head) < len(IMAGE_START) and IMAGE_START.startswith(head):
            return None
        if buf[i] != 0x3C:  # '<'
            return "garbage"
        if not self._strict:
            return "xml"
        verdict = _starts_message(buf, i, n, hard=False, starts=_XML_STARTS)
        if verdict is None:
            return None
        return "xml" if verdict else "garbage"

    def _start_resync(self, rule: str, reason: str) -> None:
        self._state = _State.RESYNC
        self._skip_start, self._skip_len = self._base, 0
        self._skip_rule, self._skip_reason = rule, reason
        self._scan = 0

    def _resync(self, out: list[FramerEvent]) -> bool:
        buf = self._buf
        found = -1
        for token in MESSAGE_STARTS:
            i = buf.find(token, self._scan)
            if i >= 0 and (found < 0 or i < found):
                found = i
        if found >= 0:
            self._consume_skipped(found)
            self._flush_skipped(out)
            self._state = _State.SEEK
            self._new_message()
            return True
        # Keep only what could be the beginning of a message start.
        self._consume_skipped(max(len(buf) - (_MAX_START - 1), 0))
        self._scan = 0
        return False

    def _xml(self, out: list[FramerEvent]) -> bool:
        buf, n, lead = self._buf, len(self._buf), self._lead
        cap = lead + self.max_xml_bytes
        limit = min(n, cap)
        if self._root is None and self._root_scan is not None:
            window = min(limit, lead + _ROOT_WINDOW)
            m = _ROOT_NAME.search(buf, self._root_scan, window)
            if m is not None:
                self._root = m.group(1)
                self._close_tag = b"</" + self._root + b">"
                self._close_scan = m.end()
            elif window >= lead + _ROOT_WINDOW or window == cap:
                self._root_scan = None  # no usable root: the blank line alone decides
            else:
                self._root_scan = max(self._root_scan, window - 257)
        if self._blank_end < 0:
            p = buf.find(BLANK_LINE, self._scan, limit)
            if p >= 0:
                self._blank_end = p + len(BLANK_LINE)
            else:
                self._scan = max(self._scan, limit - len(BLANK_LINE) + 1)
        if self._close_tag and self._close_end < 0:
            c = buf.find(self._close_tag, self._close_scan, limit)
            if c >= 0:
                self._close_end = self._ws_scan = c + len(self._close_tag)
            else:
                self._close_scan = max(self._close_scan, limit - len(self._close_tag) + 1)
        after_close = -1
        if self._close_end >= 0:
            k = self._ws_scan
            while k < limit and buf[k] in _WHITESPACE:
                k += 1
            self._ws_scan = k
            if k < limit:
                after_close = k
        if self._cut_at < 0:
            for token in _XML_INTERRUPTIONS:
                t = buf.find(token, self._cut_scan + 1, limit)
                if t >= 0 and (self._cut_at < 0 or t < self._cut_at):
                    self._cut_at = t
            if self._cut_at < 0:
                self._cut_scan = max(self._cut_scan, limit - _MAX_START)
        ends = [e for e in (self._blank_end, after_close, self._cut_at) if e >= 0]
        if ends:
            end = min(ends)
            problems = []
            if end != self._blank_end:
                problems.append(_framing(
                    rules.TERMINATOR,
                    "XML message not ended by the double CR-LF; the next message starts "
                    "right after it", S_INTRO))
            self._emit(out, end, problems)
            return True
        if n >= cap:
            self._cut_over_cap(out, cap, rules.HEADER_CAP,
                               f"XML message longer than {self.max_xml_bytes} bytes without "
                               "its terminator; cut there", S_INTRO,
                               "rest of an over-long XML message")
            return True
        return False

    def _head(self, out: list[FramerEvent]) -> bool:
        buf, n, lead = self._buf, len(self._buf), self._lead
        cap = lead + self.max_header_bytes
        limit = min(n, cap)
        p = buf.find(BLANK_LINE, self._scan, limit)
        if p < 0:
            self._scan = max(self._scan, limit - len(BLANK_LINE) + 1)
            if n >= cap:
                self._cut_over_cap(out, cap, rules.HEADER_CAP,
                                   "ImageResponse header block longer than "
                                   f"{self.max_header_bytes} bytes; cut there", S_IMAGE_SINGLE,
                                   "rest of an over-long header block")
                return True
            return False
        start = p + len(BLANK_LINE)
        ctype, clen, boundary = headers.quick_scan(bytes(buf[lead:p]))
        self._body_start = start
        if ctype is not None and ctype.startswith(_MULTIPART_PREFIX) and boundary:
            self._state = _State.MULTI
            self._close_delimiter = b"\r\n--" + boundary.encode("latin-1") + b"--"
            self._close_scan = start - len(CRLF)
            self._next_scan = p
            self._part_at = start
        elif clen is None:
            self._state, self._next_scan = _State.OPEN, p
        elif clen > self.max_body:
            self._emit(out, start, [_framing(
                rules.LENGTH_CAP,
                f"Content-length {clen} exceeds the {self.max_body}-byte cap; the body is "
                "skipped, not buffered", S_IMAGE_SINGLE)])
            self._start_discard(clen, rules.LENGTH_CAP,
                                f"body of {clen} bytes beyond the length cap")
        else:
            self._state = _State.BODY
            self._body_end = start + clen
            self._next_scan = p
        return True

    def _body(self, out: list[FramerEvent]) -> bool:
        """A body of known length. A binary body may hold any bytes, a blank line and a
        message start included: such an *embedded* start only means the length lied when
        the declared end is not followed by the trailer and then a message start (or the
        end of the stream). Until the bytes at the declared end are there, nothing is
        decided (DECISIONS.md, "An honest Content-length")."""
        buf, n = self._buf, len(self._buf)
        start, end = self._body_start, self._body_end
        if not self._overrun:
            limit = min(n, end)
            if self._embedded < 0:
                # Most segments of an image hold no blank line at all: answered here.
                if buf.find(BLANK_LINE, self._next_scan, limit) < 0:
                    self._next_scan = max(self._next_scan, limit - len(BLANK_LINE) + 1)
                else:
                    p, self._next_scan = _find_next_start(buf, self._next_scan, limit,
                                                          n >= end or self._closing)
                    if p >= 0:
                        self._embedded = p
            if n < end + len(BLANK_LINE):
                if self._closing and self._embedded >= 0:
                    return self._emit_at_embedded(out)  # the stream ends before the length
                return False
            if buf.startswith(BLANK_LINE, end):
                if self._embedded >= 0:
                    after = end + len(BLANK_LINE)
                    honest = _starts_message(buf, after, n, hard=self._closing)
                    if honest is None:
                        return False
                    if not honest and not (self._closing and after == n):
                        return self._emit_at_embedded(out)
                self._emit(out, end + len(BLANK_LINE), [])
                return True
            if self._embedded >= 0:
                return self._emit_at_embedded(out)
            follows = _message_follows(buf, end)
            if follows is None:
                return False
            if follows >= 0:
                self._emit(out, follows, [_framing(
                    rules.TERMINATOR, "ImageResponse body not followed by the double CR-LF",
                    S_IMAGE_SINGLE)])
                return True
            # Body longer than declared, or junk after it: on to the next message start.
            self._overrun = True
            self._next_scan = max(start - len(BLANK_LINE),
                                  end - len(BLANK_LINE) - _MAX_START)
        return self._to_next_start(out, "ImageResponse body ran past its Content-length")

    def _emit_at_embedded(self, out: list[FramerEvent]) -> bool:
        """The Content-length lied: end the message at the blank line before the message
        start found inside its declared body (the dissector reports the short body)."""
        p = self._embedded
        problems = []
        if p + len(BLANK_LINE) == self._body_start:
            # The bytes alone cannot show this one to the dissector: say it here.
            problems.append(_framing(
                rules.IMAGE_CONTENT_LENGTH,
                f"Content-length {self._body_end - self._body_start} but the next message "
                "starts right after the header block", S_IMAGE_SINGLE))
        self._emit(out, p + len(BLANK_LINE), problems)
        return True

    def _open(self, out: list[FramerEvent]) -> bool:
        return self._to_next_start(out, "ImageResponse without a usable Content-length")

    def _to_next_start(self, out: list[FramerEvent], what: str) -> bool:
        """End the message at the next ``\\r\\n\\r\\n`` + message start (bounded)."""
        buf, n = self._buf, len(self._buf)
        cap = self._body_start + self.max_body
        p, self._next_scan = _find_next_start(buf, self._next_scan, min(n, cap), n >= cap)
        if p >= 0:
            problems = []
            if p + len(BLANK_LINE) == self._body_start and self._state is _State.BODY:
                problems.append(_framing(
                    rules.IMAGE_CONTENT_LENGTH,
                    f"Content-length {self._body_end - self._body_start} but the next message "
                    "starts right after the header block", S_IMAGE_SINGLE))
            self._emit(out, p + len(BLANK_LINE), problems)
            return True
        if n >= cap:
            self._cut_over_cap(out, cap, rules.LENGTH_CAP,
                               f"{what}, beyond the {self.max_body}-byte cap; cut there",
                               S_IMAGE_SINGLE, f"rest of an {what}")
            return True
        return False

    def _walk_parts(self) -> tuple[str, int] | None:
        """Follow the parts by their own Content-lengths (DECISIONS.md, "An honest
        Content-length"): part data may hold any bytes, so nothing inside it is searched.
        Returns ("close", i) when the closing delimiter starts at ``i``, ("end", i) when
        the last part's data is followed at ``i`` by the double CR-LF and a message start
        (no closing boundary: the parts' lengths end the body), ("search", i) when the
        parts stop making sense at ``i`` (searching takes over from there), or None to
        wait for more bytes."""
        buf, n = self._buf, len(self._buf)
        dash = self._close_delimiter[len(CRLF):-2]  # b"--" + boundary
        q = self._part_at
        while True:
            if n < q + len(dash) + 2:
                return ("search", q) if self._closing else None
            if not buf.startswith(dash, q):
                return "search", q
            after = q + len(dash)
            if buf.startswith(b"--", after):
                return "close", q - len(CRLF)
            if not buf.startswith(CRLF, after):
                return "search", q
            data_end = self._part_end
            if data_end < 0:
                limit = min(n, after + self.max_header_bytes)
                head_end = buf.find(BLANK_LINE, max(after, self._part_scan), limit)
                if head_end < 0:
                    if limit == n and not self._closing:
                        self._part_scan = max(after, n - len(BLANK_LINE) + 1)
                        return None
                    return "search", q
                _, clen, _ = headers.quick_scan(bytes(buf[after + len(CRLF):head_end]))
                if clen is None:
                    return "search", q
                data_end = self._part_end = head_end + len(BLANK_LINE) + clen
            if data_end > self._body_start + self.max_body:
                return "search", q  # beyond the cap: the search below cuts it there
            need = data_end + len(CRLF) + len(dash)
            if n < need:
                return ("search", q) if self._closing else None
            if buf.startswith(CRLF + dash, data_end):
                q = self._part_at = data_end + len(CRLF)
                self._part_end = -1
                self._close_scan = max(self._close_scan, data_end)
                self._next_scan = max(self._next_scan, data_end)
                continue
            if buf.startswith(BLANK_LINE, data_end):
                verdict = _starts_message(buf, data_end + len(BLANK_LINE), n,
                                          hard=self._closing)
                if verdict is None:
                    return None
                if verdict:
                    return "end", data_end
            return "search", data_end

    def _multi(self, out: list[FramerEvent]) -> bool:
        buf, n = self._buf, len(self._buf)
        if self._close_end < 0 and self._part_at >= 0:
            walked = self._walk_parts()
            if walked is None:
                if n >= self._body_start + self.max_body:
                    self._part_at = -1  # let the cap below cut it
                else:
                    return False
            else:
                kind, at = walked
                self._part_at = -1
                if kind == "close":
                    self._close_end = at + len(self._close_delimiter)
                elif kind == "end":
                    # No closing boundary: the parts' lengths end the body; the message
                    # takes the double CR-LF (the dissector reports the missing boundary).
                    self._emit(out, at + len(BLANK_LINE), [])
                    return True
                else:
                    self._close_scan = max(self._close_scan, at - len(CRLF))
                    self._next_scan = max(self._next_scan, at - len(BLANK_LINE))
        if self._close_end < 0:
            cap = self._body_start + self.max_body
            limit = min(n, cap)
            delimiter = self._close_delimiter
            c = buf.find(delimiter, self._close_scan, limit)
            p, self._next_scan = _find_next_start(buf, self._next_scan, limit, n >= cap)
            if c >= 0 and (p < 0 or c < p):
                self._close_end = c + len(delimiter)
            elif p >= 0:
                # A new message began before the closing boundary; the dissector reports
                # the unclosed multipart from the bytes.
                self._emit(out, p + len(BLANK_LINE), [])
                return True
            else:
                self._close_scan = max(self._close_scan, limit - len(delimiter) + 1)
                if n >= cap:
                    self._cut_over_cap(out, cap, rules.LENGTH_CAP,
                                       f"multipart body longer than {self.max_body} bytes "
                                       "without its closing boundary; cut there",
                                       S_IMAGE_MULTIPART, "rest of an over-long multipart body")
                    return True
                return False
        end = self._close_end
        if buf.startswith(BLANK_LINE, end):
            self._emit(out, end + len(BLANK_LINE), [])
            return True
        if n < end + len(BLANK_LINE) and BLANK_LINE.startswith(bytes(buf[end:])):
            return False
        follows = _message_follows(buf, end)
        if follows is None:
            return False
        if follows < 0:
            follows = end + (len(CRLF) if buf.startswith(CRLF, end) else 0)
        self._emit(out, follows, [_framing(
            rules.TERMINATOR, "closing boundary not followed by the double CR-LF",
            S_IMAGE_MULTIPART)])
        return True

    # ---- counting down ----------------------------------------------------------------------

    def _start_discard(self, count: int, rule: str, reason: str,
                       early_rule: str = rules.IMAGE_CONTENT_LENGTH) -> None:
        self._state = _State.DISCARD
        self._remaining = count
        self._expect_trailer = True
        self._skip_start, self._skip_len = self._base, 0
        self._skip_rule, self._skip_reason = rule, reason
        self._early_rule = early_rule
        self._next_scan = 0

    def _discard(self, out: list[FramerEvent]) -> bool:
        buf, n = self._buf, len(self._buf)
        if self._remaining > 0:
            limit = min(n, self._remaining)
            p, resume = _find_next_start(buf, self._next_scan, limit, n >= self._remaining)
            if p >= 0:
                # The declared length lied: a message starts inside it.
                self._consume_skipped(p + len(BLANK_LINE))
                self._skip_rule = self._early_rule
                self._skip_reason += (
                    f"; the next message starts after {self._skip_len} bytes, "
                    "before the declared end")
                self._flush_skipped(out)
                self._state = _State.SEEK
                self._new_message()
                return True
            take = limit if n >= self._remaining else resume
            self._consume_skipped(take)
            self._remaining -= take
            self._next_scan = max(resume - take, 0)
            if self._remaining > 0:
                return False
        if self._expect_trailer:
            n = len(buf)
            if n < len(BLANK_LINE) and BLANK_LINE.startswith(bytes(buf)):
                return False
            if buf.startswith(BLANK_LINE):
                self._consume_skipped(len(BLANK_LINE))
        self._flush_skipped(out)
        self._state = _State.SEEK
        self._strict = True
        self._new_message()
        return True

    # ---- gap / end of stream ------------------------------------------------------------------

    def _give_up(self, out: list[FramerEvent], gap: int) -> None:
        """Flush whatever is in progress, then (for a gap) step over ``gap`` lost bytes."""
        cause = f"a gap of {gap} bytes" if gap else "the end of the stream"
        state = self._state
        # Declared body bytes (then a trailer) still expected at the current offset.
        body_left = 0
        if state is _State.SEEK:
            if self._buf:
                what = "whitespace" if self._scan >= len(self._buf) else \
                    "an incomplete message start"
                self._skip_now(out, len(self._buf), rules.SKIPPED, f"{what} before {cause}")
        elif state is _State.RESYNC:
            self._consume_skipped(len(self._buf))
            self._flush_skipped(out)
        elif state is _State.DISCARD:
            body_left = self._flush_discard(out, cause, gap)
        else:
            body_left = self._flush_message(out, cause)
        if self._buf:  # bytes after a counted-down body that are not its trailer
            self._skip_now(out, len(self._buf), rules.SKIPPED, f"bytes before {cause}")
        self._new_message()
        self._state = _State.SEEK
        self._strict = True
        if gap:
            self._base += gap
            if body_left > gap:
                # The lost bytes ended inside a body of known length: skip the rest of it
                # exactly, then expect its trailer.
                self._start_discard(body_left - gap, rules.TRUNCATED,
                                    f"rest of an ImageResponse body cut by {cause}",
                                    early_rule=rules.TRUNCATED)

    def _flush_discard(self, out: list[FramerEvent], cause: str, gap: int) -> int:
        """Give up a count-down; return the body bytes still expected."""
        take = min(len(self._buf), self._remaining)
        self._consume_skipped(take)
        self._remaining -= take
        if not self._remaining and self._expect_trailer:
            trailer = bytes(self._buf[: len(BLANK_LINE)])
            if BLANK_LINE.startswith(trailer):
                self._consume_skipped(len(trailer))
        elif self._remaining and not gap:
            self._skip_reason += f"; the stream ended {self._remaining} bytes early"
        self._flush_skipped(out)
        return self._remaining

    def _flush_message(self, out: list[FramerEvent], cause: str) -> int:
        """Emit a message in progress as it is; return the body bytes still expected
        (an ImageResponse body of known length cut short)."""
        state, n = self._state, len(self._buf)
        if state is _State.XML:
            # Without its root's end tag the message was cut; with it, only the terminator
            # is missing.
            truncated = self._close_end < 0
            problem = _framing(rules.TRUNCATED, f"XML message cut by {cause}", S_INTRO) \
                if truncated else _framing(
                    rules.TERMINATOR,
                    f"XML message not ended by the double CR-LF before {cause}", S_INTRO)
            self._emit(out, n, [problem], truncated=truncated)
        elif state is _State.HEAD:
            self._emit(out, n, [_framing(
                rules.TRUNCATED, f"ImageResponse header block cut by {cause}",
                S_IMAGE_SINGLE)], truncated=True)
        elif state is _State.BODY and not self._overrun and n < self._body_end:
            start, end = self._body_start, self._body_end
            self._emit(out, n, [_framing(
                rules.TRUNCATED,
                f"ImageResponse body cut by {cause} after {n - start} of {end - start} bytes",
                S_IMAGE_SINGLE)], truncated=True)
            return end - n
        elif state is _State.MULTI and self._close_end < 0:
            self._emit(out, n, [_framing(
                rules.TRUNCATED, f"multipart body cut by {cause} before its closing boundary",
                S_IMAGE_MULTIPART)], truncated=True)
        elif self._buf.endswith(BLANK_LINE):  # OPEN: ended by its trailer after all
            self._emit(out, n, [])
        else:  # complete but for the trailer: BODY, MULTI, OPEN or an overrun BODY
            self._emit(out, n, [_framing(
                rules.TERMINATOR,
                f"ImageResponse not followed by the double CR-LF before {cause}",
                S_LIVE_RESPONSES)])
        return 0

    # ---- output -------------------------------------------------------------------------------

    def _cut_over_cap(self, out: list[FramerEvent], cap: int, rule: str, message: str,
                      spec: str, rest: str) -> None:
        """A message grew past a cap: hand over its first ``cap`` bytes, cut, with the
        cap's problem, and skip what follows until a plausible message start."""
        self._emit(out, cap, [_framing(rule, message, spec)], truncated=True)
        self._start_resync(rule, rest)

    def _emit(self, out: list[FramerEvent], end: int, problems: list[Problem],
              truncated: bool = False) -> None:
        """Cut ``_buf[:end]`` as one message (one copy of its bytes)."""
        if end <= 0:
            return
        with memoryview(self._buf) as view:
            data = view[:end].tobytes()
        del self._buf[:end]
        out.append(Framed(start=self._base, data=data, problems=problems, truncated=truncated))
        self._base += end
        self._state = _State.SEEK
        self._new_message()

    def _consume_skipped(self, count: int) -> None:
        if count > 0:
            del self._buf[:count]
            self._base += count
            self._skip_len += count

    def _flush_skipped(self, out: list[FramerEvent]) -> None:
        if self._skip_len:
            out.append(Skipped(self._skip_start, self._skip_len, self._skip_rule,
                               self._skip_reason))
        self._skip_start, self._skip_len = self._base, 0

    def _skip_now(self, out: list[FramerEvent], count: int, rule: str, reason: str) -> None:
        out.append(Skipped(self._base, count, rule, reason))
        del self._buf[:count]
        self._base += count
        self._new_message()


# The reader of each state (a table, as h11 maps states to readers).
_READERS = {
    _State.SEEK: ImageServerFramer._seek,
    _State.RESYNC: ImageServerFramer._resync,
    _State.XML: ImageServerFramer._xml,
    _State.HEAD: ImageServerFramer._head,
    _State.BODY: ImageServerFramer._body,
    _State.OPEN: ImageServerFramer._open,
    _State.MULTI: ImageServerFramer._multi,
    _State.DISCARD: ImageServerFramer._discard,
}


_compiled_framer = imageserver_framer(Framed, Skipped, rules.problem,
                                      (S_INTRO, S_IMAGE_SINGLE, S_IMAGE_MULTIPART,
                                       S_LIVE_RESPONSES))
# The compiled framer counts in unsigned 64-bit integers, and takes no header or XML cap
# of 0 (with one, the reference cuts empty messages for ever: see
# tests/test_imageserver_framer_equivalence.py); any other cap (never the engine's) keeps
# the reference.
_COMPILED_CAPS = range(1, 1 << 63)
_COMPILED_BODY_CAPS = range(1 << 63)


def new_framer(*, max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
               max_xml_bytes: int = DEFAULT_MAX_XML_BYTES,
               max_body: int = DEFAULT_MAX_BODY) -> Framer:
    """A framer for one direction of an ImageServer stream (what ``PROTOCOL.new_framer``
    makes): the compiled twin of :class:`ImageServerFramer` where the accelerator is built
    (the same events, whatever the input; ``tests/test_imageserver_framer_equivalence.py``),
    else :class:`ImageServerFramer` itself."""
    if (_compiled_framer is not None
            and all(type(cap) is int for cap in (max_header_bytes, max_xml_bytes, max_body))
            and max_header_bytes in _COMPILED_CAPS and max_xml_bytes in _COMPILED_CAPS
            and max_body in _COMPILED_BODY_CAPS):
        return _compiled_framer(max_header_bytes, max_xml_bytes, max_body)
    return ImageServerFramer(max_header_bytes=max_header_bytes, max_xml_bytes=max_xml_bytes,
                             max_body=max_body)
