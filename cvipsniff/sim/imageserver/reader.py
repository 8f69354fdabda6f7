"""The client's reader of what a recording server sends, sans-I/O.

A server sends three kinds of messages on one stream: XML ``<methodresponse>`` answers,
XML ``<livepackage>`` status messages, and ``ImageResponse`` messages (an HTTP-like header
block, then a body of ``Content-length`` bytes or a ``multipart/related`` body, then the
double CR-LF). :class:`ServerStreamReader` cuts the stream into those messages and parses
them, recording what did not match the document as ``problems`` instead of failing, and
resynchronising on the next plausible message start after garbage. It is the reference
client's own reading of the protocol, written independently of :mod:`dissectors`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, auto

from cvipsniff.sim.imageserver.xmlread import XmlMessage, parse_int, parse_xml

TERMINATOR = b"\r\n\r\n"
CRLF = b"\r\n"
IMAGE_START = b"ImageResponse"
# Where a message may start after garbage (the client resynchronises on these).
_STARTS = (IMAGE_START, b"<?xml", b"<methodresponse", b"<livepackage")
_LONGEST_START = max(len(s) for s in _STARTS)

MAX_HEADER_BLOCK = 16 * 1024
MAX_XML = 256 * 1024
MAX_BODY = 32 * 1024 * 1024


@dataclass(slots=True)
class ImagePart:
    headers: dict[str, str]  # lower-cased names
    data: bytes


@dataclass(slots=True)
class ImageMessage:
    """An ``ImageResponse``: ordered header lines, and a body or parts."""

    headers: list[tuple[str, str]]
    body: bytes = b""
    parts: list[ImagePart] | None = None
    problems: list[str] = field(default_factory=list)
    size: int = 0  # bytes of the stream the message occupied

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    @property
    def requestid(self) -> str | None:
        return self.header("RequestId")


@dataclass(slots=True)
class XmlAnswer:
    message: XmlMessage
    size: int


@dataclass(slots=True)
class Unreadable:
    """Bytes that formed no acceptable message, and why."""

    data: bytes
    reason: str


ServerMessage = ImageMessage | XmlAnswer | Unreadable


class _State(Enum):
    IDLE = auto()
    HEADERS = auto()
    BODY = auto()
    PART_LINE = auto()
    PART_HEADERS = auto()
    PART_DATA = auto()
    END = auto()  # expecting the final double CR-LF


def _parse_header_lines(block: bytes) -> tuple[list[tuple[str, str]], list[str]]:
    headers: list[tuple[str, str]] = []
    problems: list[str] = []
    for line in block.split(CRLF):
        if not line:
            continue
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            problems.append(f"header line without a colon: {line[:40]!r}")
            continue
        headers.append((name.strip(), value.strip()))
    return headers, problems


class ServerStreamReader:
    """Feed the server→client bytes; get complete, parsed messages back."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._state = _State.IDLE
        self._scan = 0  # search resume point for the current terminator search
        self._msg: ImageMessage | None = None
        self._need = 0  # bytes of body still expected
        self._boundary = b""
        self._part_headers: dict[str, str] = {}
        self._used = 0  # bytes consumed by the message in progress
        self._end_need = TERMINATOR  # what ends the message once in the END state

    def feed(self, data: bytes) -> list[ServerMessage]:
        self._buf += data
        out: list[ServerMessage] = []
        while self._step(out):
            pass
        return out

    def close(self) -> list[ServerMessage]:
        """End of stream: a message in progress or stray bytes become Unreadable."""
        out: list[ServerMessage] = []
        if self._state is not _State.IDLE or self._buf:
            out.append(Unreadable(bytes(self._buf), "stream ended inside a message"
                                  if self._state is not _State.IDLE else "stray bytes"))
        self._buf.clear()
        self._state = _State.IDLE
        self._msg = None
        return out

    # ----------------------------------------------------------------- machinery

    def _consume(self, n: int) -> bytes:
        chunk = bytes(self._buf[:n])
        del self._buf[:n]
        self._used += n
        self._scan = 0
        return chunk

    def _finish(self, out: list[ServerMessage]) -> None:
        assert self._msg is not None
        self._msg.size = self._used
        out.append(self._msg)
        self._msg = None
        self._state = _State.IDLE

    def _find(self, needle: bytes, cap: int) -> int | None:
        """Index of ``needle`` in the buffer (resuming the previous search), or None.

        Returns -1 when the cap was exceeded without finding it.
        """
        at = self._buf.find(needle, self._scan)
        if at >= 0:
            return at
        if len(self._buf) > cap:
            return -1
        self._scan = max(0, len(self._buf) - len(needle) + 1)
        return None

    def _step(self, out: list[ServerMessage]) -> bool:
        """Advance the state machine once; False when more bytes are needed."""
        handler = {
            _State.IDLE: self._idle,
            _State.HEADERS: self._headers,
            _State.BODY: self._body,
            _State.PART_LINE: self._part_line,
            _State.PART_HEADERS: self._part_header_block,
            _State.PART_DATA: self._part_data,
            _State.END: self._end,
        }[self._state]
        return handler(out)

    def _idle(self, out: list[ServerMessage]) -> bool:
        buf = self._buf
        if not buf:
            return False
        self._used = 0
        if buf.startswith(IMAGE_START):
            self._state = _State.HEADERS
            self._scan = 0
            return True
        if buf.startswith(b"<"):
            return self._xml(out)
        if any(s.startswith(bytes(buf)) for s in _STARTS):
            return False  # a prefix of a message start: wait for more
        starts = [at for s in _STARTS if (at := buf.find(s, 1)) > 0]
        if starts:
            skip = min(starts)
        elif len(buf) > _LONGEST_START:
            skip = len(buf) - _LONGEST_START
        else:
            return False
        out.append(Unreadable(self._consume(skip), "bytes before a message start"))
        return True

    def _xml(self, out: list[ServerMessage]) -> bool:
        at = self._find(TERMINATOR, MAX_XML)
        if at is None:
            return False
        if at < 0:
            out.append(Unreadable(self._consume(len(self._buf)),
                                  f"XML message without terminator within {MAX_XML} bytes"))
            return True
        raw = self._consume(at)
        self._consume(len(TERMINATOR))
        parsed = parse_xml(raw)
        if isinstance(parsed, str):
            out.append(Unreadable(raw, parsed))
        else:
            out.append(XmlAnswer(parsed, self._used))
        return True

    def _headers(self, out: list[ServerMessage]) -> bool:
        at = self._find(TERMINATOR, MAX_HEADER_BLOCK)
        if at is None:
            return False
        if at < 0:
            out.append(Unreadable(self._consume(len(self._buf)),
                                  f"ImageResponse header block beyond {MAX_HEADER_BLOCK} bytes"))
            self._state = _State.IDLE
            return True
        block = self._consume(at)
        self._consume(len(TERMINATOR))
        lines = block.split(CRLF, 1)
        headers, problems = _parse_header_lines(lines[1] if len(lines) > 1 else b"")
        if lines[0] != IMAGE_START:
            problems.append(f"first line is {lines[0][:40]!r}, not ImageResponse")
        self._msg = ImageMessage(headers=headers, problems=problems)
        ctype = self._msg.header("Content-type") or ""
        if ctype.lower().startswith("multipart/related"):
            boundary = ""
            for param in ctype.split(";")[1:]:
                key, _, value = param.strip().partition("=")
                if key.lower() == "boundary":
                    boundary = value.strip().strip('"')
            if not boundary:
                problems.append("multipart Content-type without a boundary")
                self._msg.parts = []
                self._finish(out)  # whatever follows is resynchronised on
                return True
            self._boundary = boundary.encode("latin-1")
            self._msg.parts = []
            self._state = _State.PART_LINE
            return True
        length = parse_int(self._msg.header("Content-length"))
        if length is None or length < 0:
            problems.append("missing or invalid Content-length")
            length = 0
        if length > MAX_BODY:
            problems.append(f"Content-length {length} beyond the {MAX_BODY}-byte cap")
            length = 0
        self._need = length
        self._state = _State.BODY
        return True

    def _body(self, out: list[ServerMessage]) -> bool:
        need = self._need + len(TERMINATOR)
        if len(self._buf) < need:
            return False
        assert self._msg is not None
        if self._buf[self._need:need] == TERMINATOR:
            self._msg.body = self._consume(self._need)
            self._consume(len(TERMINATOR))
            self._finish(out)
            return True
        # The declared length lied: look for the terminator after it (a longer body).
        self._scan = max(self._scan, self._need)
        at = self._find(TERMINATOR, self._need + MAX_BODY)
        if at is None:
            return False
        self._msg.problems.append(f"Content-length {self._need} does not match the body")
        if at < 0:
            at = len(self._buf)
        self._msg.body = self._consume(at)
        self._consume(min(len(TERMINATOR), len(self._buf)))
        self._finish(out)
        return True

    def _part_line(self, out: list[ServerMessage]) -> bool:
        assert self._msg is not None
        if len(self._buf) < 2:
            return False
        if self._buf.startswith(CRLF):
            # No closing boundary: the message terminator came instead (its first CR-LF
            # was taken as the end of the part's data).
            self._msg.problems.append("multipart body without closing boundary")
            self._expect_end(CRLF)
            return True
        at = self._find(CRLF, MAX_HEADER_BLOCK)
        if at is None:
            return False
        line = self._consume(at if at >= 0 else len(self._buf))
        if at >= 0:
            self._consume(len(CRLF))
        if line == b"--" + self._boundary + b"--":
            # Its line end was the first half of the double CR-LF; one CR-LF remains.
            self._expect_end(CRLF)
        elif line == b"--" + self._boundary:
            self._state = _State.PART_HEADERS
        else:
            self._msg.problems.append(f"expected a boundary line, got {line[:40]!r}")
            self._finish(out)
        return True

    def _part_header_block(self, out: list[ServerMessage]) -> bool:
        assert self._msg is not None
        if self._buf.startswith(CRLF):
            block = b""
            self._consume(len(CRLF))
        else:
            at = self._find(TERMINATOR, MAX_HEADER_BLOCK)
            if at is None:
                return False
            if at < 0:
                self._msg.problems.append("part header block too long")
                self._finish(out)
                return True
            block = self._consume(at)
            self._consume(len(TERMINATOR))
        headers, problems = _parse_header_lines(block)
        self._msg.problems += problems
        self._part_headers = {k.lower(): v for k, v in headers}
        length = parse_int(self._part_headers.get("content-length"))
        if length is None or length < 0 or length > MAX_BODY:
            self._msg.problems.append("part without a valid Content-length")
            self._need = -1  # read up to the next boundary
        else:
            self._need = length
        self._state = _State.PART_DATA
        return True

    def _part_data(self, out: list[ServerMessage]) -> bool:
        assert self._msg is not None and self._msg.parts is not None
        if self._need < 0:
            delimiter = CRLF + b"--" + self._boundary
            at = self._find(delimiter, MAX_BODY)
            if at is None:
                return False
            if at < 0:
                self._msg.problems.append("part data without a following boundary")
                self._finish(out)
                return True
            length = at
        else:
            length = self._need
            if len(self._buf) < length + len(CRLF):
                return False
        data = self._consume(length)
        if self._buf.startswith(CRLF):
            self._consume(len(CRLF))
        else:
            self._msg.problems.append("part data not followed by CR-LF")
        self._msg.parts.append(ImagePart(self._part_headers, data))
        self._state = _State.PART_LINE
        return True

    def _expect_end(self, ending: bytes) -> None:
        self._end_need = ending
        self._state = _State.END

    def _end(self, out: list[ServerMessage]) -> bool:
        """Expect the rest of the double CR-LF that ends a multipart message."""
        assert self._msg is not None
        need = self._end_need
        if len(self._buf) < len(need) and need.startswith(bytes(self._buf)):
            return False
        if self._buf.startswith(need):
            self._consume(len(need))
        else:
            self._msg.problems.append("message not ended by the double CR-LF")
        self._finish(out)
        return True
